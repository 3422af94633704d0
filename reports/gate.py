"""PURE gate policy: results of one run -> pass / fail / inconclusive, with every blocking reason.

The policy is data (`POLICY`: one `Rule` per thing that blocks promotion, with the outcome it
forces); `evaluate` only applies it. No I/O here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from fixtures.cell_states import CellState

Verdict = Literal["pass", "fail", "inconclusive"]
PartState = Literal["ran", "skipped_by_policy", "skipped_by_request", "missing", "aborted"]

EXIT_CODES: Mapping[str, int] = {"pass": 0, "fail": 1, "inconclusive": 3}
EXIT_CONFIG_ERROR = 2


@dataclass(frozen=True)
class Counts:
    """Test outcomes; xfailed/xpassed are the known deviations of the stage (strict xfail)."""

    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    xfailed: int = 0
    xpassed: int = 0

    @property
    def executed(self) -> int:
        return self.passed + self.failed + self.errors + self.xfailed + self.xpassed

    @property
    def total(self) -> int:
        return self.executed + self.skipped

    def plus(self, other: Counts) -> Counts:
        return Counts(
            self.passed + other.passed,
            self.failed + other.failed,
            self.errors + other.errors,
            self.skipped + other.skipped,
            self.xfailed + other.xfailed,
            self.xpassed + other.xpassed,
        )


@dataclass(frozen=True)
class TestIssue:
    """One test that blocks: its id (reads as the broken rule), family and first message line."""

    __test__ = False  # a record, not a pytest test class

    test_id: str
    family: str
    message: str
    cases: int = 1  # failing cases of the rule with the same cause (one issue per rule and cause)
    detail: Mapping[str, Any] = field(default_factory=dict)  # structured: received, expected, cause...


@dataclass(frozen=True)
class ConformanceResult:
    counts: Counts
    families: Mapping[str, Counts]
    failures: tuple[TestIssue, ...]  # unexpected failures and errors
    xpasses: tuple[TestIssue, ...]  # known deviations that now pass (strict xfail)
    exit_code: int | None = None  # pytest: 0 ok, 1 failures, 2 interrupted, 3 internal, 4 usage, 5 none


@dataclass(frozen=True)
class SecondSample:
    """One second of a load scenario: what was offered, accepted, throttled, and what the model allows."""

    t: float
    offered: int
    accepted: int
    throttled: int
    model_accepted: float | None = None


@dataclass(frozen=True)
class ScenarioResult:
    api: str
    scenario: str
    verdict: str  # "pass" | "fail" | "inconclusive" (anything else is treated as inconclusive)
    reasons: tuple[str, ...] = ()
    params: Mapping[str, float | int | str | None] = field(default_factory=dict)
    per_second: tuple[SecondSample, ...] = ()
    observations: Mapping[str, object] = field(default_factory=dict)
    files: tuple[str, ...] = ()  # Locust CSV/HTML and other files to attach (absolute paths)
    detail: str = ""  # one compact line of what happened (accepted vs model, 429s, fitted limits)
    checks: tuple[Mapping[str, Any], ...] = ()  # the comparisons that failed, with their numbers
    chart: Mapping[str, Any] = field(default_factory=dict)  # series at the scale of the behaviour

    @property
    def key(self) -> str:
        return f"{self.api}.{self.scenario}"


@dataclass(frozen=True)
class LoadResult:
    scenarios: tuple[ScenarioResult, ...]
    verdict: str | None = None  # the locustfile's overall verdict, if it wrote one
    reasons: tuple[str, ...] = ()
    exit_code: int | None = None  # locust: 0 pass, 1 fail, 3 inconclusive, 2 config error
    selection: tuple[str, ...] = ()  # --scenario filters the load run used (load/run.json)


@dataclass(frozen=True)
class CoverageCell:
    """One rule (conformance test or load scenario) on one API, and what became of it."""

    part: str  # "conformance" | "load"
    rule: str  # test name without its case ("test_x"), or the scenario name ("burst")
    family: str  # conformance family, or "load"
    api: str
    state: CellState
    detail: str
    cases: int = 0
    waiver: str = ""  # the reason a person gave for accepting what could not be exercised

    @property
    def key(self) -> str:
        return f"{self.rule}[{self.api}]" if self.part == "conformance" else f"{self.api}.{self.rule}"


@dataclass(frozen=True)
class Part:
    """Whether a part ran, and why not when it did not."""

    state: PartState
    detail: str = ""


@dataclass(frozen=True)
class GateInputs:
    conformance_part: Part
    load_part: Part
    conformance: ConformanceResult | None = None
    load: LoadResult | None = None
    unreachable: str = ""  # non-empty: the stage could not be reached (one line, why)
    config_errors: tuple[str, ...] = ()  # config_errors(): a part's own configuration error, by exit code
    coverage: tuple[CoverageCell, ...] = ()  # every rule x API, waivers applied (apply_waivers)
    narrowed: tuple[str, ...] = ()  # how this run covers less than the stage declares (scope_gaps)
    unverified: tuple[str, ...] = ()  # what ran cannot be checked against what should have run
    drift: tuple[str, ...] = ()  # stagegate drift before load: one line per difference from the stage file
    drift_error: str = ""  # drift_check = true but the deployed stage could not be read (one line)


@dataclass(frozen=True)
class Reason:
    rule: str
    outcome: Verdict
    message: str
    detail: Mapping[str, Any] = field(default_factory=dict)  # structured fields (gate.json), never parsed


Finding = str | tuple[str, Mapping[str, Any]]  # a check's message, or its message and structured fields


@dataclass(frozen=True)
class Rule:
    """One thing that blocks promotion: id, the outcome it forces, what it means, and its check."""

    id: str
    outcome: Verdict
    description: str
    check: Callable[[GateInputs], tuple[Finding, ...]]  # one per occurrence; () = rule holds


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reasons: tuple[Reason, ...]
    notes: tuple[str, ...]  # non-blocking facts worth showing (a part skipped by policy)

    @property
    def partial(self) -> bool:
        """Everything that ran passed, but the run covered less than the stage declares."""
        return bool(self.reasons) and all(r.rule == PARTIAL_RULE for r in self.reasons)

    @property
    def headline(self) -> str:
        return "PASS (partial)" if self.partial else self.verdict.upper()

    @property
    def exit_code(self) -> int:
        """A part's configuration error exits 2 (fix the setup) unless something failed outright."""
        if self.verdict != "fail" and any(r.rule == CONFIG_RULE for r in self.reasons):
            return EXIT_CONFIG_ERROR
        return EXIT_CODES[self.verdict]


CONFIG_RULE = "part.config_error"
PARTIAL_RULE = "run.partial"
DRIFT_RULE = "stage.drift"
DRIFT_UNCHECKED_RULE = "stage.drift_unchecked"
NOT_BLOCKING_LOAD = frozenset({"pass", "not_applicable"})  # a scenario verdict that blocks nothing
PYTEST_CONFIG_EXIT = 4  # conformance/plugin.py: a ConfigError becomes a pytest usage error
LOCUST_CONFIG_EXIT = 2  # load/locustfile.py: a ConfigError before any traffic


def config_errors(conformance_exit: int | None, load_exit: int | None) -> tuple[str, ...]:
    """One line per part whose exit code says configuration error (also when it left no results)."""
    out = []
    if conformance_exit == PYTEST_CONFIG_EXIT:
        out.append("pytest exited with code 4: a configuration error (stage, contract or deviations file)")
    if load_exit == LOCUST_CONFIG_EXIT:
        out.append("locust exited with code 2: a configuration error (stage or contract)")
    return tuple(out)


def _unreachable(g: GateInputs) -> tuple[str, ...]:
    return (f"stage unreachable: {g.unreachable}",) if g.unreachable else ()


def _missing(g: GateInputs) -> tuple[str, ...]:
    if g.unreachable:  # nothing could run; stage.unreachable already says why
        return ()
    out = []
    for name, part, result in (
        ("conformance", g.conformance_part, g.conformance),
        ("load", g.load_part, g.load),
    ):
        known = part.state in ("ran", "aborted") or part.state.startswith("skipped_")
        if not known or (part.state == "ran" and result is None):  # "missing" or an unknown state
            out.append(f"{name} part produced no results" + (f" ({part.detail})" if part.detail else ""))
    return tuple(out)


PYTEST_NORMAL_EXITS = (0, 1, 5, PYTEST_CONFIG_EXIT)  # 5: none collected (run.zero_tests); 4: config
LOCUST_NORMAL_EXITS = (0, 1, 3, LOCUST_CONFIG_EXIT)  # the locustfile's pass, fail, inconclusive; config


def _config_error(g: GateInputs) -> tuple[str, ...]:
    derived = config_errors(
        g.conformance.exit_code if g.conformance else None, g.load.exit_code if g.load else None
    )
    return tuple(dict.fromkeys((*g.config_errors, *derived)))


def _aborted(g: GateInputs) -> tuple[str, ...]:
    out = [f"{name} part ended abnormally: {p.detail}" for name, p in _parts(g) if p.state == "aborted"]
    c, load = g.conformance, g.load
    if c is not None and c.exit_code is not None:
        if c.exit_code not in PYTEST_NORMAL_EXITS:  # 2 interrupted, 3 internal or unreachable, <0 a signal
            out.append(f"pytest exited with code {c.exit_code} (interrupted, internal error, or killed)")
        elif c.exit_code == 1 and not (c.failures or c.xpasses):  # junit.xml does not hold the failure
            out.append("pytest exited with code 1 but junit.xml records no failure")
    if load is not None and load.exit_code is not None:
        if load.exit_code not in LOCUST_NORMAL_EXITS:
            out.append(f"locust exited with code {load.exit_code} (crashed or killed)")
        elif load.exit_code in (1, 3) and not _load_with(frozenset({"fail", "inconclusive"}), g):
            # Locust exits 3 when a scenario is inconclusive or none passed: explained when those are
            # waived here (the locustfile cannot know waivers) or not applicable on this stage.
            waived = {c.key for c in g.coverage if c.part == "load" and c.state == "waived"}
            explained = any(s.verdict == "not_applicable" or s.key in waived for s in load.scenarios)
            if load.exit_code == 1 or not explained:
                out.append(f"locust exited with code {load.exit_code} but every scenario result says pass")
    return tuple(out)


def _none_run(g: GateInputs) -> tuple[str, ...]:
    out = []
    if g.conformance_part.state == "ran" and g.conformance is not None and g.conformance.counts.executed == 0:
        out.append(f"zero conformance tests ran ({g.conformance.counts.skipped} skipped)")
    if g.load_part.state == "ran" and g.load is not None and not g.load.scenarios:
        out.append("zero load scenarios ran")
    if all(p.state.startswith("skipped_") for _, p in _parts(g)):
        out.append("no part ran: both conformance and load were skipped")
    return tuple(out)


def _conformance_failures(g: GateInputs) -> tuple[Finding, ...]:
    if g.conformance is None:
        return ()
    return tuple((f"{i.test_id} [{i.family}]: {i.message}", i.detail) for i in g.conformance.failures)


def _xpasses(g: GateInputs) -> tuple[Finding, ...]:
    if g.conformance is None:
        return ()
    return tuple(
        (f"{i.test_id} [{i.family}] now passes: {i.message}", i.detail) for i in g.conformance.xpasses
    )


def _load_with(verdicts: frozenset[str], g: GateInputs) -> tuple[Finding, ...]:
    if g.load is None:
        return ()
    out: list[Finding] = []
    waived = {c.key for c in g.coverage if c.part == "load" and c.state == "waived"}
    for s in g.load.scenarios:
        if s.verdict == "not_applicable" or s.key in waived:
            continue  # nothing to judge on this stage, or a person accepted that it cannot be judged
        verdict = s.verdict if s.verdict in ("pass", "fail") else "inconclusive"
        if verdict in verdicts:
            detail = {
                "type": "load",
                "scenario": s.key,
                "checks": [dict(c) for c in s.checks],
                "detail": s.detail,
            }
            out.append((f"{s.key}: " + ("; ".join(s.reasons) or verdict), detail))
    overall = g.load.verdict
    if overall == "inconclusive" and any(s.key in waived for s in g.load.scenarios) and not out:
        overall = None  # the locustfile cannot know the waivers: its inconclusive scenarios are waived
    if overall is not None and overall not in NOT_BLOCKING_LOAD | {"fail"}:
        overall = "inconclusive"  # an unknown overall verdict never passes
    if not out and overall in verdicts:  # overall verdict without a scenario to blame
        out.append("load: " + ("; ".join(g.load.reasons) or str(g.load.verdict)))
    return tuple(out)


def _load_fail(g: GateInputs) -> tuple[Finding, ...]:
    return _load_with(frozenset({"fail"}), g)


def _load_inconclusive(g: GateInputs) -> tuple[Finding, ...]:
    return _load_with(frozenset({"inconclusive"}), g)


def _not_exercised(g: GateInputs) -> tuple[str, ...]:
    return tuple(
        f"{c.key} not exercised: {c.detail}"
        for c in g.coverage
        if c.part == "conformance" and c.state == "not_exercised"
    )


def _drift(g: GateInputs) -> tuple[str, ...]:
    return g.drift


def _drift_unchecked(g: GateInputs) -> tuple[str, ...]:
    return (g.drift_error,) if g.drift_error else ()


def _partial(g: GateInputs) -> tuple[str, ...]:
    return g.narrowed


def _unverified(g: GateInputs) -> tuple[str, ...]:
    return g.unverified


def _parts(g: GateInputs) -> tuple[tuple[str, Part], ...]:
    return (("conformance", g.conformance_part), ("load", g.load_part))


POLICY: tuple[Rule, ...] = (
    Rule("conformance.unexpected_failure", "fail", "a conformance test failed or errored unexpectedly",
         _conformance_failures),
    Rule("conformance.xpass", "fail", "a known deviation (strict xfail) now passes: update the deviations",
         _xpasses),
    Rule(DRIFT_RULE, "fail",
         "the deployed stage differs from the stage file (drift_check): load skipped, its verdict would be "
         "judged against the wrong limits", _drift),
    Rule(DRIFT_UNCHECKED_RULE, "inconclusive",
         "drift_check = true but the deployed stage could not be read: load skipped", _drift_unchecked),
    Rule("load.fail", "fail", "a load scenario's verdict is fail", _load_fail),
    Rule("load.inconclusive", "inconclusive", "a load scenario could not decide (e.g. generator fell short)",
         _load_inconclusive),
    Rule("stage.unreachable", "inconclusive", "the stage could not be reached", _unreachable),
    Rule("part.missing", "inconclusive", "a part that should have run left no results", _missing),
    Rule("part.aborted", "inconclusive", "a part ended abnormally (crash, interrupt, usage error)", _aborted),
    Rule("run.zero_tests", "inconclusive", "zero tests (or scenarios) ran: nothing was checked", _none_run),
    Rule(CONFIG_RULE, "inconclusive", "a part reported a configuration error (the gate exits 2)",
         _config_error),
    Rule("coverage.not_exercised", "inconclusive",
         "a rule applies to the stage but the stage file gave no way to exercise it, and no waiver says why",
         _not_exercised),
    Rule(PARTIAL_RULE, "inconclusive",
         "the run covered less than the stage declares (PASS (partial), exit 3)", _partial),
    Rule("run.unverified", "inconclusive",
         "what ran cannot be checked against what the stage declares (a part's coverage record is missing)",
         _unverified),
)  # fmt: skip


def apply_waivers(cells: tuple[CoverageCell, ...], waivers: Mapping[str, str]) -> tuple[CoverageCell, ...]:
    """Cells a person waived: only what could not be exercised (a failure is never waived)."""
    out = []
    for c in cells:
        reason = waivers.get(c.key) or waivers.get(c.rule if c.part == "conformance" else c.key)
        if reason and c.state == "not_exercised":
            c = replace(c, state="waived", waiver=reason)
        out.append(c)
    return tuple(out)


def stale_waivers(cells: tuple[CoverageCell, ...], waivers: Mapping[str, str]) -> tuple[str, ...]:
    """Waivers that waive nothing on this run (a rule that now runs and passes, or a typo)."""
    used = {c.key for c in cells if c.waiver}
    used |= {c.rule for c in cells if c.waiver and c.part == "conformance"}
    return tuple(sorted(set(waivers) - used))


def scope_gaps(
    declared: str,
    smoke: bool,
    load_skipped_by_request: bool,
    unselected: int,
    without_load: tuple[str, ...] = (),
    load_selection: str = "",
) -> tuple[str, ...]:
    """How a run is narrower than the stage's declared scope (PURE); each blocks a plain PASS.

    declared: gate_scope "full" (conformance and load), "conformance" (no load), "smoke";
    without_load: APIs whose load_allowed = false; load_selection: a scenario filter the load run used.
    """
    out = []
    if smoke and declared != "smoke":
        out.append(f'smoke subset only: the stage declares gate_scope = "{declared}"')
    if load_skipped_by_request and declared == "full":
        out.append("load part skipped on request (--no-load) on a stage that allows load")
    if without_load and declared == "full":
        out.append(
            f"load is not allowed on {', '.join(without_load)} (load_allowed = false) but the stage "
            'declares gate_scope = "full": its limits go untested (gate_scope = "conformance" accepts that)'
        )
    if load_selection:
        out.append(f"the load run was narrowed to scenario {load_selection!r}")
    if unselected:
        out.append(f"{unselected} conformance tests the catalogue selects did not run")
    return tuple(out)


def _reason(rule: Rule, found: Finding) -> Reason:
    message, detail = (found, {}) if isinstance(found, str) else found
    return Reason(rule.id, rule.outcome, message, detail)


def evaluate(inputs: GateInputs, policy: tuple[Rule, ...] = POLICY) -> Decision:
    """Apply the policy: any fail reason -> fail; else any inconclusive reason -> inconclusive; else pass."""
    reasons = tuple(_reason(rule, found) for rule in policy for found in rule.check(inputs))
    outcomes = {r.outcome for r in reasons}
    verdict: Verdict = "fail" if "fail" in outcomes else "inconclusive" if outcomes else "pass"
    notes = tuple(
        f"{name} skipped ({part.state.removeprefix('skipped_').replace('_', ' ')})"
        + (f": {part.detail}" if part.detail else "")
        for name, part in _parts(inputs)
        if part.state.startswith("skipped_")
    )
    return Decision(verdict, reasons, notes)
