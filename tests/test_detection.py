"""The suite's worth: every seeded fault makes the suite fail, through the rule named for it.

The faults and what must catch them come from one table, fixtures/emulator/gateway/faults.py. The
table checks (fast, no emulator): every fault names rules or load scenarios that exist, and every
fault name the code tests is in the table, so a fault cannot exist without the rule that catches
it. The runs (slow): the conformance suite against the embedded stage once per fault that names
conformance rules (each run starts its own emulator with `--fault`; two runs in parallel, each with
its own issuer keys) and once clean; they print the detection table (fault -> failing rules) and
the score. The throttle faults' load scenarios run in tests/load/test_locust_runs.py.
"""

from __future__ import annotations

import ast
import re
import tempfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from fixtures.emulator.gateway.faults import FAULTS, Fault, known_faults
from fixtures.stage import contract_of, load_stage
from load.scenarios import Bounds
from load.timeline import plan_stage
from tests.conformance_runs import ROOT, SuiteRun, local_stage_copy, run_suite

# Fault -> the rules (test functions) that must fail when the emulator commits it.
EXPECTED: dict[str, frozenset[str]] = {fault.name: frozenset(fault.rules) for fault in FAULTS if fault.rules}
PARALLEL_RUNS = 2


def conformance_rules(family: str = "*") -> frozenset[str]:
    """The rules of conformance/test_<family>.py: its test functions, read from the source."""
    return frozenset(
        node.name
        for path in (ROOT / "conformance").glob(f"test_{family}.py")
        for node in ast.parse(path.read_text()).body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    )


# The contract family's rules, which every example-only rule misses, and the faults only they catch.
CONTRACT_RULES = conformance_rules("contract")
GENERATED_ONLY = sorted(name for name, rules in EXPECTED.items() if rules <= CONTRACT_RULES)


def load_scenarios() -> frozenset[str]:
    """The load scenarios that run on the embedded stage (a scenario not applicable there catches nothing)."""
    stage = load_stage("local").with_port(8999)
    contracts = {api.name: contract_of(api) for api in stage.apis}
    return frozenset(sc.id for sc in plan_stage(stage, contracts, Bounds()).scenarios if sc.runs)


def table_problems(faults: Iterable[Fault], rules: frozenset[str], scenarios: frozenset[str]) -> list[str]:
    """A fault that names nothing to catch it, or a rule or scenario that does not exist."""
    problems = []
    for fault in faults:
        if not fault.rules and not fault.scenarios:
            problems.append(f"{fault.name}: names no rule and no load scenario")
        problems += [f"{fault.name}: no conformance rule {r}" for r in fault.rules if r not in rules]
        problems += [f"{fault.name}: no load scenario {s}" for s in fault.scenarios if s not in scenarios]
    return problems


FAULT_NAME = re.compile(r"[a-z]+\.[a-z][a-z0-9_]*")


def faults_tested_in(source: str) -> frozenset[str]:
    """The fault names a module tests: strings (or module constants) tested `in` something named
    *fault*, and every other string of those families (names kept in tuples, tested through a loop)."""
    tree = ast.parse(source)
    constants = {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    tested = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Compare)
            and isinstance(node.ops[0], (ast.In, ast.NotIn))
            and "fault" in ast.unparse(node.comparators[0])
        ):
            left = node.left
            if isinstance(left, ast.Constant) and isinstance(left.value, str):
                tested.add(left.value)
            elif isinstance(left, ast.Name) and left.id in constants:
                tested.add(constants[left.id])
    families = {name.split(".", 1)[0] for name in tested if FAULT_NAME.fullmatch(name)}
    return frozenset(
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and FAULT_NAME.fullmatch(node.value)
        and node.value.split(".", 1)[0] in families
    )


def faults_the_code_tests() -> frozenset[str]:
    """Every fault name tested anywhere under fixtures/ (the emulator and the example API)."""
    table = ROOT / "fixtures" / "emulator" / "gateway" / "faults.py"
    return frozenset().union(
        *(faults_tested_in(path.read_text()) for path in (ROOT / "fixtures").rglob("*.py") if path != table)
    )


# --- the table ---------------------------------------------------------------------------------------


def test_every_fault_names_rules_that_exist() -> None:
    assert len(known_faults()) == len(FAULTS), "a fault name is listed twice"
    assert table_problems(FAULTS, conformance_rules(), load_scenarios()) == []
    assert len(EXPECTED) > 40 and GENERATED_ONLY  # positive control: the table was read


def test_a_fault_without_a_rule_or_with_a_made_up_one_is_named() -> None:
    bad = (
        Fault("cors.nothing_catches_it", "an example"),
        Fault(
            "cors.made_up_rule", "an example", rules=("test_unknown_path_is_rejected", "test_no_such_rule")
        ),
        Fault("throttle.made_up_scenario", "an example", scenarios=("portal.burst", "portal.quota")),
    )
    assert table_problems(bad, conformance_rules(), load_scenarios()) == [
        "cors.nothing_catches_it: names no rule and no load scenario",
        "cors.made_up_rule: no conformance rule test_no_such_rule",
        "throttle.made_up_scenario: no load scenario portal.quota",  # not applicable to an HTTP API
    ]


def test_every_fault_the_code_tests_is_in_the_table() -> None:
    implemented, listed = faults_the_code_tests(), set(known_faults())
    assert not implemented - listed, (
        f"faults implemented but not in the table: {sorted(implemented - listed)}"
    )
    assert not listed - implemented, f"faults in the table that no code tests: {sorted(listed - implemented)}"


def test_the_scan_finds_faults_tested_directly_by_constant_and_through_a_loop() -> None:
    source = """
SKIP = "handler.skip_it"
def f(faults, self):
    if "cors.direct" in faults or SKIP not in self._faults:
        pass
    for fault in ("cors.in_a_tuple", "http.request"):
        if fault in faults:
            pass
    return "lifespan.startup", "cors.a" in {"x"}, "keys.x" in names
"""
    assert faults_tested_in(source) == {"cors.direct", "handler.skip_it", "cors.in_a_tuple", "cors.a"}


# --- the runs ---------------------------------------------------------------------------------------


def _run_with_fault(fault: str | None) -> SuiteRun:
    with tempfile.TemporaryDirectory(prefix="stagegate-detect-") as tmp:
        stage = local_stage_copy(Path(tmp))
        args = ["--stage", str(stage)] + (["--fault", fault] if fault else [])
        return run_suite(*args)


@pytest.fixture(scope="module")
def runs(request: pytest.FixtureRequest) -> dict[str | None, SuiteRun]:
    # Only the runs the selected tests read (-k narrows the minutes too): a fault, or None for clean.
    wanted: set[str | None] = {
        item.callspec.params["fault"] if hasattr(item, "callspec") else None
        for item in request.session.items
        if getattr(item, "module", None) is request.module and "runs" in getattr(item, "fixturenames", ())
    }
    names = sorted(wanted, key=lambda name: name or "")
    with ThreadPoolExecutor(PARALLEL_RUNS) as pool:
        results = dict(zip(names, pool.map(_run_with_fault, names), strict=True))
    _print_table(results)
    return results


def _print_table(results: dict[str | None, SuiteRun]) -> None:
    caught = 0
    ran = sorted(fault for fault in results if fault is not None)
    lines = ["", "detection table (fault -> failing rules):"]
    for fault in ran:
        run = results[fault]
        ok = run.returncode != 0 and EXPECTED[fault] <= run.failed_rules
        caught += ok
        rules = ", ".join(sorted(run.failed_rules)) or "-"
        lines.append(f"  {'CAUGHT' if ok else 'MISSED'} {fault}: {rules}")
    clean = results.get(None)
    if clean is not None:
        lines.append(
            f"clean stage: exit {clean.returncode}, {clean.passed} passed, {len(clean.failed)} failed"
        )
    lines.append(f"score: {caught}/{len(ran)} faults caught by their rule (of {len(EXPECTED)} with rules)")
    print("\n".join(lines))


@pytest.mark.slow
def test_the_clean_stage_passes(runs: dict[str | None, SuiteRun]) -> None:
    clean = runs[None]
    assert clean.returncode == 0, clean.output[-2000:]
    assert clean.passed > 0 and not clean.failed


@pytest.mark.slow
@pytest.mark.parametrize("fault", sorted(EXPECTED))
def test_fault_is_caught_by_its_rule(runs: dict[str | None, SuiteRun], fault: str) -> None:
    run = runs[fault]
    assert run.returncode == 1, f"{fault}: the suite did not fail (exit {run.returncode})"
    missing = EXPECTED[fault] - run.failed_rules
    assert not missing, f"{fault}: rules that should have failed but passed: {sorted(missing)}"


@pytest.mark.slow
@pytest.mark.parametrize("fault", GENERATED_ONLY)
def test_contract_fault_is_missed_by_the_example_rules(runs: dict[str | None, SuiteRun], fault: str) -> None:
    """The proof that the contract family adds something: no example-only rule fails on these."""
    assert runs[fault].failed_rules and runs[fault].failed_rules <= CONTRACT_RULES, runs[fault].failed_rules
