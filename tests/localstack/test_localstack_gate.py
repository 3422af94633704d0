"""The gate against an API Gateway we did not write: a REST API deployed into LocalStack community.

LocalStack implements API keys, request validators, Missing Authentication Token and request ids as
AWS does, and never throttles nor counts quotas. So the gate must pass every conformance rule but the
known deviations (localstack.deviations.toml, applied as strict xfail) and FAIL the load part, with
the tolerances of stages/staging.example.toml and with the defaults. Each run deploys its own API,
usage plans and keys (deploy.py, boto3 in LocalStack's venv) and writes its stage file (from
stage.toml.template) into a temporary folder; key values live only in the gate's environment.

Any change of outcome fails: a rule that starts failing (or skips, or stops running), a deviation
that starts passing, a load scenario that stops failing.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any

import pytest

from tests.localstack.server import LocalStack

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CONTRACT = HERE / "orders.openapi.json"
TEMPLATE = HERE / "stage.toml.template"
DEVIATIONS = HERE / "localstack.deviations.toml"
API = "orders"
GATE_TIMEOUT_S = 420.0
DEPLOY_TIMEOUT_S = 60.0

# What deploy.py configures; the stage file (stage.toml.template) declares the same limits.
KEY_ENV = {
    "throttle-a": "STAGEGATE_LS_THROTTLE_KEY_A",
    "throttle-b": "STAGEGATE_LS_THROTTLE_KEY_B",
    "quota-a": "STAGEGATE_LS_QUOTA_KEY_A",
    "quota-b": "STAGEGATE_LS_QUOTA_KEY_B",
    "disabled-key": "STAGEGATE_LS_DISABLED_KEY",
}
DEPLOYMENT: dict[str, Any] = {
    "stage": "v1",
    "stage_throttle": {"rate": 50, "burst": 25},
    "route_throttle": {"GET /catalog/{sku}": {"rate": 5, "burst": 5}},
    "plans": [
        {
            "name": "throttle-test-plan",
            "rate": 10,
            "burst": 5,
            "keys": [{"name": k, "value_env": KEY_ENV[k]} for k in ("throttle-a", "throttle-b")],
        },
        {
            "name": "quota-test-plan",
            "rate": 40,
            "burst": 20,
            "quota": 50,
            "period": "DAY",
            "offset": 0,
            "keys": [
                {"name": "quota-a", "value_env": KEY_ENV["quota-a"]},
                {"name": "quota-b", "value_env": KEY_ENV["quota-b"]},
                {"name": "disabled-key", "value_env": KEY_ENV["disabled-key"], "enabled": False},
            ],
        },
    ],
}

# Rules that must have run and passed on LocalStack as on AWS (a subset named so that a rule that
# silently stops running is caught too; every other rule that runs must pass as well).
MUST_PASS = (
    "test_key_route_accepts_valid_api_key[orders GET /orders]",
    "test_key_route_rejects_missing_api_key[orders GET /orders]",
    "test_key_route_rejects_missing_api_key[orders POST /orders]",
    "test_key_route_rejects_missing_api_key[orders GET /orders/{id}]",
    "test_key_route_rejects_unknown_api_key[orders GET /orders]",
    "test_key_route_rejects_unknown_api_key[orders GET /orders/{id}]",
    "test_key_route_rejects_disabled_api_key[orders GET /orders key disabled-key]",
    "test_key_route_rejects_disabled_api_key[orders POST /orders key disabled-key]",
    "test_valid_body_is_accepted[orders POST /orders]",
    "test_invalid_body_is_rejected[orders POST /orders missing sku]",
    "test_invalid_body_is_rejected[orders POST /orders wrong type quantity]",
    "test_invalid_body_is_rejected[orders POST /orders sku breaks pattern]",
    "test_invalid_body_is_rejected[orders POST /orders channel not in enum]",
    "test_invalid_body_is_rejected[orders POST /orders additional property]",
    "test_invalid_body_is_rejected[orders POST /orders not json]",
    "test_invalid_body_is_rejected[orders POST /orders empty body]",
    "test_missing_required_parameter_is_rejected[orders GET /orders query warehouse]",
    "test_missing_required_parameter_is_rejected[orders POST /orders header X-Partner-Id]",
    "test_unknown_path_is_rejected[orders]",
    "test_unknown_path_error_has_gateway_envelope[orders]",
    "test_response_has_request_id[orders GET /orders]",
    "test_response_has_request_id[orders GET /health]",
    "test_success_body_matches_response_schema[orders POST /orders]",
    "test_preflight_from_allowed_origin_is_allowed[orders https://partner.example.com GET /orders]",
    "test_preflight_from_attacker_origin_gets_no_allow_origin[orders unrelated origin https://evil.example]",
)

# Load: LocalStack accepts every request (no usage-plan throttle, no quota, no stage or method
# throttling), so every scenario that needs a 429 fails; under-rate (zero 429 allowed) passes.
LOAD_EXPECTED: Mapping[str, tuple[str, str]] = {
    f"{API}.burst": ("fail", "no stage throttling: the whole burst is accepted"),
    f"{API}.over-rate": ("fail", "no stage throttling: 2x the rate is accepted"),
    f"{API}.under-rate": ("pass", "nothing throttled below the rate, as on AWS"),
    f"{API}.per-route": ("fail", "no method throttling: the route override is not enforced"),
    f"{API}.plan-throttle": ("fail", "no usage-plan throttle"),
    f"{API}.key-isolation": ("fail", "the first key is never throttled"),
    f"{API}.quota": ("fail", "no quota: more than the quota is accepted, never 429 Limit Exceeded"),
}


def staging_tolerance() -> dict[str, Any]:
    """The tolerances of stages/staging.example.toml (its REST API's), read, not copied."""
    with open(ROOT / "stages" / "staging.example.toml", "rb") as handle:
        stage = tomllib.load(handle)
    return dict(stage["apis"]["partner"]["tolerance"])


def known_deviations() -> dict[str, str]:
    with open(DEVIATIONS, "rb") as handle:
        return dict(tomllib.load(handle).get("deviations", {}))


def known_waivers() -> dict[str, str]:
    with open(DEVIATIONS, "rb") as handle:
        return dict(tomllib.load(handle).get("waivers", {}))


def _toml_value(value: Any) -> str:
    return (
        json.dumps(value)
        if isinstance(value, str)
        else repr(value).lower()
        if isinstance(value, bool)
        else str(value)
    )


def render_stage(name: str, stack: LocalStack, api_id: str, tolerance: Mapping[str, Any] | None) -> str:
    """The stage file's text: the template with the invoke URL and the tolerances (None: defaults)."""
    block = ""
    if tolerance:
        lines = [f"{key} = {_toml_value(value)}" for key, value in tolerance.items()]
        block = "\n".join([f"[apis.{API}.tolerance]", *lines])
    return Template(TEMPLATE.read_text()).substitute(
        name=name,
        port=stack.port,
        api_id=api_id,
        contract=str(CONTRACT),
        base_url=f"{stack.endpoint}/restapis/{api_id}/{DEPLOYMENT['stage']}/_user_request_",
        tolerance=block,
    )


def deploy(python: Path, stack: LocalStack, key_env: Mapping[str, str]) -> dict[str, Any]:
    spec = {**DEPLOYMENT, "endpoint": stack.endpoint, "region": "us-east-1", "contract": str(CONTRACT)}
    done = subprocess.run(
        [str(python), str(HERE / "deploy.py")],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        env={**os.environ, **key_env},
        timeout=DEPLOY_TIMEOUT_S,
    )
    assert done.returncode == 0, f"deployment into LocalStack failed: {done.stderr.strip()[-500:]}"
    return dict(json.loads(done.stdout))


def gate_command(stage_file: Path, out: Path) -> list[str]:
    """`stagegate gate` when installed, else `python -m reports.run` (same options, same exit codes)."""
    stagegate = Path(sys.executable).parent / "stagegate"
    head = [str(stagegate), "gate"] if stagegate.exists() else [sys.executable, "-m", "reports.run"]
    return [*head, "--stage", str(stage_file), "--out", str(out), "--no-html"]


@dataclass(frozen=True)
class GateRun:
    name: str
    exit_code: int
    seconds: float
    output: str
    gate: dict[str, Any]
    outcomes: dict[str, tuple[str, str]]  # test id -> (outcome, message)


def junit_outcomes(path: Path) -> dict[str, tuple[str, str]]:
    """Test id -> (passed | failed | error | xfailed | xpassed | skipped, message)."""
    found: dict[str, tuple[str, str]] = {}
    for case in ET.parse(path).iter("testcase"):
        outcome, message = "passed", ""
        for child in case:
            text = child.get("message") or ""
            if child.tag in ("failure", "error"):
                outcome = (
                    "xpassed"
                    if text.startswith("[XPASS(strict)]")
                    else child.tag.replace("failure", "failed")
                )
                message = text
            elif child.tag == "skipped":
                outcome = "xfailed" if child.get("type") == "pytest.xfail" else "skipped"
                message = text
        found[str(case.get("name"))] = (outcome, message[:300])
    return found


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    """Stage files and results: $STAGEGATE_LOCALSTACK_OUT (kept, e.g. a CI artifact), else a temporary
    folder of our own (pytest's basetemp rotation in a shared /tmp may remove it during a run)."""
    kept = os.environ.get("STAGEGATE_LOCALSTACK_OUT")
    if kept:
        Path(kept).mkdir(parents=True, exist_ok=True)
        yield Path(kept).resolve()
        return
    with tempfile.TemporaryDirectory(prefix="stagegate-localstack-gate-") as folder:
        yield Path(folder)


@pytest.fixture(scope="module", params=["staging-tolerances", "default-tolerances"])
def gate_run(
    request: pytest.FixtureRequest,
    localstack: LocalStack,
    localstack_python: Path,
    workdir: Path,
    say: Callable[[str], None],
) -> GateRun:
    """One gate run (conformance + load) on a freshly deployed API with its own keys."""
    name = f"localstack-{request.param}"
    folder = workdir / name
    folder.mkdir(parents=True, exist_ok=True)
    key_env = {env: f"sg-{key}-{secrets.token_hex(12)}" for key, env in KEY_ENV.items()}
    deployed = deploy(localstack_python, localstack, key_env)
    tolerance = staging_tolerance() if request.param == "staging-tolerances" else None
    stage_file = folder / f"{name}.toml"
    stage_file.write_text(render_stage(name, localstack, deployed["api_id"], tolerance))
    shutil.copyfile(DEVIATIONS, folder / f"{name}.deviations.toml")
    out = folder / "out"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "GATE_"))}
    started = time.monotonic()
    done = subprocess.run(
        gate_command(stage_file, out),
        cwd=ROOT,
        env={**env, **key_env},
        capture_output=True,
        text=True,
        timeout=GATE_TIMEOUT_S,
    )
    seconds = time.monotonic() - started
    output = done.stdout + done.stderr
    results = out / name
    assert (results / "gate.json").is_file(), (
        f"the gate wrote no gate.json (exit {done.returncode}):\n{output[-3000:]}"
    )
    assert (results / "junit.xml").is_file(), (
        f"the gate wrote no junit.xml (exit {done.returncode}):\n{output[-3000:]}"
    )
    for path in (p for p in folder.rglob("*") if p.is_file()):  # secrets never reach a file
        data = path.read_bytes()
        leaked = [env for env, value in key_env.items() if value.encode() in data]
        assert not leaked, f"{path.relative_to(folder)} holds the value of {', '.join(leaked)}"
    say(f"tests/localstack: gate run {name}: exit {done.returncode} in {seconds:.1f} s")
    gate = json.loads((results / "gate.json").read_text())
    return GateRun(name, done.returncode, seconds, output, gate, junit_outcomes(results / "junit.xml"))


def test_stage_template_declares_what_deploy_configures() -> None:
    """The stage file's limits and keys are those deploy.py puts on LocalStack (one source each)."""
    stage = tomllib.loads(
        Template(TEMPLATE.read_text()).substitute(
            name="x", port=1, api_id="x", contract="x", base_url="http://127.0.0.1:1", tolerance=""
        )
    )
    api = stage["apis"][API]
    assert {k: api["throttle"][k] for k in ("rate", "burst")} == DEPLOYMENT["stage_throttle"]
    assert api["throttle"].get("routes", {}) == DEPLOYMENT["route_throttle"]
    declared = {  # test_key is the stage file's own permission, not a deployed setting
        name: {
            **plan,
            "keys": [
                {"enabled": True, **{k: v for k, v in key.items() if k != "test_key"}} for key in plan["keys"]
            ],
        }
        for name, plan in api["usage_plans"].items()
    }
    deployed = {
        plan["name"]: {
            **{k: v for k, v in plan.items() if k != "name"},
            "keys": [{"enabled": True, **key} for key in plan["keys"]],
        }
        for plan in DEPLOYMENT["plans"]
    }
    assert declared == deployed
    assert api["credentials"]["api_key_env"] in KEY_ENV.values()


def test_gate_fails_on_localstack_because_of_load_only(gate_run: GateRun) -> None:
    """Exit 1 (FAIL): LocalStack enforces no throttle or quota; nothing else may block."""
    reasons = gate_run.gate.get("reasons", [])
    others = [r for r in reasons if not str(r.get("rule", "")).startswith("load.fail")]
    assert gate_run.exit_code == 1 and gate_run.gate.get("verdict") == "fail", (
        f"{gate_run.name}: expected FAIL (exit 1), got exit {gate_run.exit_code} "
        f"verdict {gate_run.gate.get('verdict')}:\n{gate_run.output[-2500:]}"
    )
    assert not others, f"{gate_run.name}: blocked for other reasons than load failures: {others}"


def test_conformance_rules_pass_as_on_aws_except_known_deviations(gate_run: GateRun) -> None:
    """Per rule: every test passes, each known deviation is a strict xfail, none is skipped."""
    deviations = known_deviations()
    outcomes = gate_run.outcomes
    wrong = []
    for test_id, (outcome, message) in sorted(outcomes.items()):
        expected = "xfailed" if test_id in deviations else "passed"
        if outcome != expected:
            wrong.append(f"{test_id}: {outcome}, expected {expected} {message!r}")
    missing = [t for t in (*MUST_PASS, *deviations) if t not in outcomes]
    assert not wrong and not missing, (
        f"{gate_run.name}: conformance outcomes differ from LocalStack's known behaviour\n"
        + "\n".join(wrong + [f"{t}: did not run" for t in missing])
    )


def test_load_scenarios_fail_where_localstack_does_not_throttle(gate_run: GateRun) -> None:
    """Per scenario: every one that needs a 429 fails; under-rate passes."""
    scenarios = gate_run.gate["counts"]["load"]["scenarios"]
    got = {sid: s.get("verdict") for sid, s in scenarios.items()}
    expected = {sid: verdict for sid, (verdict, _) in LOAD_EXPECTED.items()}
    wrong = [
        f"{sid}: {got.get(sid, 'not run')}, expected {verdict} ({LOAD_EXPECTED[sid][1]}); "
        f"{'; '.join(scenarios.get(sid, {}).get('reasons', []))[:300]}"
        for sid, verdict in expected.items()
        if got.get(sid) != verdict
    ]
    extra = sorted(set(got) - set(expected))
    assert not wrong and not extra, f"{gate_run.name}: load verdicts differ\n" + "\n".join(
        wrong + [f"{sid}: unexpected scenario ({got[sid]})" for sid in extra]
    )


def test_coverage_matrix_has_nothing_unexercised(gate_run: GateRun) -> None:
    """Every rule x API is passed, failed (load), waived (a deviation) or not applicable."""
    cells = coverage_cells(gate_run.gate)
    if cells is None:
        pytest.fail(f"{gate_run.name}: gate.json carries no coverage matrix", pytrace=False)
    deviation_rules = {t.split("[", 1)[0] for t in known_deviations()}
    wrong = []
    for cell in cells:
        rule, state, part = cell.get("rule"), cell.get("state"), cell.get("part")
        if part == "load":
            scenario = str(rule) if "." in str(rule) else f"{cell.get('api')}.{rule}"
            expected = "passed" if LOAD_EXPECTED.get(scenario, ("",))[0] == "pass" else "failed"
            ok = state == expected
        elif rule in deviation_rules or f"{rule}[{cell.get('api')}]" in known_waivers():
            ok = state == "waived"
        else:
            ok = state in ("passed", "not_applicable")
        if not ok:
            wrong.append(f"{part} {rule}[{cell.get('api')}]: {state} ({cell.get('detail', '')})")
    assert not wrong, f"{gate_run.name}: coverage differs\n" + "\n".join(wrong)


def coverage_cells(gate: Mapping[str, Any]) -> list[Mapping[str, Any]] | None:
    coverage = gate.get("coverage")
    if isinstance(coverage, Mapping):
        cells = coverage.get("cells")
        return list(cells) if isinstance(cells, list) else None
    return list(coverage) if isinstance(coverage, list) else None
