"""The conformance plugin: stage loading, parametrization from the contracts, markers, deviations.

Exit codes (the gate maps them): a bad stage file or contract ends the run as a pytest usage error
(exit 4, one line, no traceback); an unreachable stage ends it with exit 3 and one line; an embedded
emulator that does not start also exits 3. Nothing here runs unless conformance tests are collected.

Selection: a rule the stage gives no case (no failure probe, no API-key route, every route writes
on a read-only API) is deselected at collection and named on one summary line, never skipped. On a
read-only API the catalog builds no case that sends POST/PUT/PATCH/DELETE, not even a request a
correct stage rejects (invalid body, undefined method, method override): a faulty stage would
execute it. `writes` marks every case that sends such a request; `smoke` never does.

Records (fixtures/failure_record.py): every conformance test's family, and for every test that
fails, errors or strictly passes a known deviation a failure record, go into junit.xml as
properties; the reports read those fields, never the failure's text.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from conformance import catalog
from conformance.catalog.records import sends_write
from conformance.coverage import (
    Empty,
    ItemResult,
    Outcome,
    cells,
    excluded_note,
    explain_empty,
    route_gaps,
)
from conformance.harness.diagnosis import RuleFailure
from fixtures.contract import Contract, identity_headers
from fixtures.errors import ConfigError
from fixtures.failure_record import FAILURE_PROPERTY, FAMILY_PROPERTY, FailureRecord, first_line
from fixtures.redact import Redactor
from fixtures.stage import StageConfig

ROOT = Path(__file__).resolve().parent.parent
SUITE_DIR = ROOT / "conformance"
UNREACHABLE_EXIT = 3
PROBE_TIMEOUT_S = 3.0

FAMILIES = ("auth", "api_keys", "validation", "cors", "shape", "routing", "contract")
SEVERITY = {"auth": "critical", "api_keys": "critical", "routing": "critical", "cors": "normal"}
SEVERITY_DEFAULT = "normal"
# The quick subset (`-m smoke`, the gate's choice for a read-only stage that forbids load): the
# positive controls and a few cheap rejections per family, one request or two per case, no flood.
# Only cases that send no writing request get the marker, whatever the stage.
SMOKE_RULES = frozenset(
    {
        # auth: controls, then the rejections that need no signing key
        "test_protected_route_accepts_valid_token",
        "test_lambda_route_accepts_allowed_identity",
        "test_public_route_does_not_demand_auth",
        "test_protected_route_rejects_missing_token",
        "test_protected_route_rejects_alg_none_token",
        "test_lambda_route_rejects_missing_identity",
        # api_keys
        "test_key_route_accepts_valid_api_key",
        "test_key_route_rejects_missing_api_key",
        "test_key_route_rejects_unknown_api_key",
        # validation (a required query/header parameter left out of a read)
        "test_missing_required_parameter_is_rejected",
        # routing
        "test_unknown_path_is_rejected",
        "test_protected_route_not_reachable_via_trailing_slash",
        "test_protected_route_not_reachable_via_head",
        # cors
        "test_preflight_from_allowed_origin_is_allowed",
        "test_preflight_is_not_blocked_by_the_authorizer",
        "test_gateway_error_carries_cors_headers",
        # shape
        "test_success_body_matches_response_schema",
        "test_response_has_request_id",
        "test_unknown_path_error_has_gateway_envelope",
    }
)


@dataclass(frozen=True)
class Loaded:
    """The stage as loaded from its file (base URLs may still hold {port}) and its contracts."""

    stage: StageConfig
    contracts: dict[str, Contract]
    faults: tuple[str, ...]
    expectations: dict[str, str]

    def identity_headers(self) -> tuple[str, ...]:
        """The headers the contracts' authorizers read credentials from: redacted by name."""
        return tuple(sorted({h for contract in self.contracts.values() for h in identity_headers(contract)}))


@dataclass(frozen=True)
class NoCase:
    """Stands in for the cases of a rule this stage gives none; such items are deselected."""

    @property
    def id(self) -> str:
        return "no-case"


NO_CASE = NoCase()


@dataclass
class RunRecord:
    """What the run did, for its coverage: why rules lack cases, and each item's outcome."""

    empty: dict[tuple[str, str], tuple[str, Empty]] = field(default_factory=dict)  # (rule, api)
    items: dict[str, ItemResult] = field(default_factory=dict)  # nodeid -> result
    notes: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)  # (gap, excluded)


LOADED = pytest.StashKey[Loaded]()
RUN = pytest.StashKey[RunRecord]()
# The suite's redaction of text (stage secrets, tokens learnt during the run, credential headers),
# set by session.py's `suite` fixture: the plugin cannot import session.py (session imports it).
REDACT = pytest.StashKey[Callable[[str], str]]()
STAGE_REDACTOR = pytest.StashKey[Redactor]()  # before the suite fixture: stage_redactor()
NO_CASE_RULES = pytest.StashKey[tuple[str, ...]]()


def _collects_conformance(config: pytest.Config) -> bool:
    for arg in config.args or [str(SUITE_DIR)]:
        path = Path(arg.split("::", 1)[0]).resolve()
        if path == SUITE_DIR or SUITE_DIR in path.parents or path in SUITE_DIR.parents:
            return True
    return False


def pytest_configure(config: pytest.Config) -> None:
    if not _collects_conformance(config) or not hasattr(config.option, "stage"):
        return
    from fixtures.stage import load_stage
    from fixtures.stage.deviations import load_deviations
    from fixtures.stage.routes import load_contracts

    faults = tuple(config.getoption("fault") or ())
    try:
        stage = load_stage(config.getoption("stage"), root=str(ROOT))
        contracts = load_contracts(stage)
        deviations = load_deviations(stage, str(ROOT))
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    if faults and not stage.embedded:
        raise pytest.UsageError(
            f"--fault applies to the embedded emulator only; stage {stage.name} is remote"
        )
    loaded = Loaded(stage, contracts, faults, dict(deviations.deviations))
    config.stash[LOADED] = loaded
    config.stash[RUN] = record = RunRecord()
    config.pluginmanager.register(Recorder(record, loaded, config.getoption("stagegate_coverage")))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    loaded = metafunc.config.stash.get(LOADED, None)
    if loaded is None:
        return
    for name in catalog.BUILDERS:
        if name in metafunc.fixturenames:
            # No case (no failure probe, no API-key route, every route writes on a read-only API):
            # one placeholder item, deselected at collection instead of pytest's "empty parameter
            # set" skip, which is noise on a real stage and an unexpected skip on the embedded one.
            cases = catalog.cases(name, loaded.stage, loaded.contracts) or [NO_CASE]
            metafunc.parametrize(name, cases, ids=[c.id for c in cases], scope="function")
            _record_empty(metafunc, name, loaded)
            return


def _record_empty(metafunc: pytest.Metafunc, fixture: str, loaded: Loaded) -> None:
    """For each API where the rule has no case: why (the coverage shows it, the gate may block)."""
    record = metafunc.config.stash.get(RUN, None)
    family = _module_family(metafunc.module.__name__)
    if record is None or family is None:
        return
    build = catalog.BUILDERS[fixture]
    for api in loaded.stage.apis:
        contract = loaded.contracts[api.name]
        key = (metafunc.function.__name__, api.name)
        if not build(api, contract):
            record.empty[key] = (family, explain_empty(fixture, api, contract, build))
            continue
        notes = (route_gaps(fixture, api, contract, build), excluded_note(fixture, api, contract, build))
        if any(notes):
            record.notes[key] = notes


def _module_family(module_name: str) -> str | None:
    """The rule family of a test module: conformance/test_<family>.py (None: not a rule module)."""
    family = module_name.rsplit(".", 1)[-1].removeprefix("test_")
    return family if family in FAMILIES else None


def family_of(item: pytest.Item) -> str | None:
    """The rule family of a test (its module's); the one place that decides it."""
    return _module_family(getattr(getattr(item, "module", None), "__name__", ""))


def _case_of(item: pytest.Item) -> Any:
    callspec = getattr(item, "callspec", None)
    return next(iter(callspec.params.values()), None) if callspec else None


def _api_of(case: Any) -> str | None:
    inner = getattr(case, "case", case)
    return getattr(inner, "api", None)


@pytest.hookimpl(tryfirst=True)  # before `-m`/`-k` deselect: the record holds the whole catalogue
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    loaded = config.stash.get(LOADED, None)
    if loaded is None:
        return
    _deselect_rules_without_cases(config, items)
    record = config.stash[RUN]
    seen: set[str] = set()
    for item in items:
        family = family_of(item)
        if family is None:
            continue
        item.user_properties.append((FAMILY_PROPERTY, family))
        rule = getattr(item, "originalname", item.name)
        case = _case_of(item)
        item.add_marker(getattr(pytest.mark, family))
        writes = sends_write(case)
        if writes:
            item.add_marker(pytest.mark.writes)
        smoke = rule in SMOKE_RULES and not writes
        if smoke:
            item.add_marker(pytest.mark.smoke)
        api = _api_of(case) or loaded.stage.name
        module = getattr(getattr(item, "module", None), "__name__", "")
        record.items[item.nodeid] = ItemResult(item.name, module, rule, family, api, smoke, "deselected")
        item.add_marker(pytest.mark.allure_label(api, label_type="epic"))
        item.add_marker(pytest.mark.allure_label(family, label_type="feature"))
        item.add_marker(
            pytest.mark.allure_label(rule.removeprefix("test_").replace("_", " "), label_type="story")
        )
        # The report's tree: conformance > test_<family> > <rule> > its cases (the coverage page's names).
        item.add_marker(pytest.mark.allure_label(rule.removeprefix("test_"), label_type="subSuite"))
        item.add_marker(
            pytest.mark.allure_label(SEVERITY.get(family, SEVERITY_DEFAULT), label_type="severity")
        )
        reason = loaded.expectations.get(item.name)
        if reason is not None:
            seen.add(item.name)
            item.add_marker(pytest.mark.xfail(reason=f"known deviation: {reason}", strict=True))
    stale = sorted(set(loaded.expectations) - seen)
    if stale and len(items) > 0 and not config.getoption("-k") and not config.getoption("-m"):
        config.issue_config_time_warning(
            pytest.PytestConfigWarning(f"expectations for tests that do not exist: {', '.join(stale[:5])}"),
            stacklevel=2,
        )


def _deselect_rules_without_cases(config: pytest.Config, items: list[pytest.Item]) -> None:
    empty = [item for item in items if isinstance(_case_of(item), NoCase)]
    if not empty:
        return
    config.stash[NO_CASE_RULES] = tuple(
        dict.fromkeys(getattr(item, "originalname", item.name) for item in empty)
    )
    config.hook.pytest_deselected(items=empty)
    items[:] = [item for item in items if not isinstance(_case_of(item), NoCase)]


def pytest_report_collectionfinish(config: pytest.Config) -> list[str]:
    """One line naming the rules that have no case on this stage (they are not run, not skipped)."""
    rules = config.stash.get(NO_CASE_RULES, ())
    if not rules:
        return []
    noun = "rule has" if len(rules) == 1 else "rules have"
    return [f"stagegate: {len(rules)} {noun} no case on this stage: {', '.join(rules)}"]


def _outcome(report: pytest.TestReport) -> tuple[Outcome, str] | None:
    """The item's outcome from one phase's report, or None when this phase decides nothing."""
    if report.when == "call" or (report.when == "setup" and not report.passed):
        if hasattr(report, "wasxfail"):
            return ("xfailed", str(report.wasxfail)) if report.skipped else ("xpassed", "")
        if report.skipped:
            longrepr = report.longrepr
            reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
            return "skipped", reason.removeprefix("Skipped: ")
        if report.failed:
            return ("failed" if report.when == "call" else "error"), ""
        return "passed", ""
    if report.when == "teardown" and report.failed:
        return "error", ""
    return None


def failure_record(
    rule: str, family: str, phase: str, error: BaseException | None, xfail_reason: str = ""
) -> FailureRecord:
    """The record of a failed phase: a rule's own (RuleFailure, also when re-raised from one), else
    the exception's type and first line; no exception at all is a known deviation that passed."""
    if error is None:  # the phase raised nothing and still failed: a strict xfail that passed
        return FailureRecord(rule, family, "xpass", message=xfail_reason)
    seen: list[BaseException] = []
    found: BaseException | None = error
    while found is not None and found not in seen:
        if isinstance(found, RuleFailure):
            return found.record
        seen.append(found)
        found = found.__cause__ or found.__context__
    words = "" if isinstance(error, pytest.fail.Exception) else type(error).__name__
    return FailureRecord(rule, family, "error", exception=words, message=first_line(str(error)), phase=phase)


def stage_redactor(config: pytest.Config) -> Redactor:
    """Redaction before the suite fixture exists (a setup that fails first): the stage's secrets and
    the contracts' identity-source headers, what the suite's redactor starts from."""
    found = config.stash.get(STAGE_REDACTOR, None)
    if found is None:
        loaded = config.stash[LOADED]
        found = Redactor.for_stage(loaded.stage, headers=loaded.identity_headers())
        config.stash[STAGE_REDACTOR] = found
    return found


def redaction(config: pytest.Config) -> Callable[[str], str]:
    """The suite's redaction of text, else (no suite yet) the stage's."""
    return config.stash.get(REDACT, None) or stage_redactor(config).text


def redacted(record: FailureRecord, redact: Callable[[str], str]) -> FailureRecord:
    """The record with every free text through `redact` (its ids, family, kind, cause and phase are
    the suite's own words): a rule's record already is, an exception's message or a deviation's
    reason may not be (raised before the suite fixture, it met no redactor)."""
    return dataclasses.replace(
        record,
        sent=redact(record.sent),
        received=redact(record.received),
        expected=redact(record.expected),
        likely_cause=redact(record.likely_cause),
        body=redact(record.body),
        protection=redact(record.protection),
        exception=redact(record.exception),
        message=redact(record.message),
        headers=tuple((name, redact(value)) for name, value in record.headers),
    )


# tryfirst: the outermost wrapper, so the exception read here has been through session.py's redaction.
@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failed conformance test's record, once (the first failing phase), as a junit.xml property."""
    outcome: Any = yield
    report: pytest.TestReport = outcome.get_result()
    family = family_of(item)
    if not report.failed or family is None or LOADED not in item.config.stash:
        return
    if any(name == FAILURE_PROPERTY for name, _ in item.user_properties):
        return
    marker = item.get_closest_marker("xfail")
    reason = str(marker.kwargs.get("reason", "")) if marker is not None else ""
    error = call.excinfo.value if call.excinfo is not None else None
    record = redacted(failure_record(item.name, family, report.when, error, reason), redaction(item.config))
    recorded = (FAILURE_PROPERTY, record.to_json())
    item.user_properties.append(recorded)
    if report.when == "teardown":  # this report copied the item's properties before the record
        report.user_properties.append(recorded)


class Recorder:
    """Registered per run (pytest_configure): each item's outcome, then the coverage file."""

    def __init__(self, record: RunRecord, loaded: Loaded, path: str | None) -> None:
        self.record, self.loaded, self.path = record, loaded, path

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        items = self.record.items
        outcome = _outcome(report) if report.nodeid in items else None
        if outcome is None:
            return
        previous = items[report.nodeid]
        if previous.outcome in ("failed", "error", "xpassed") and outcome[0] != "error":
            return  # a failed call stays failed whatever teardown says
        items[report.nodeid] = dataclasses.replace(previous, outcome=outcome[0], reason=outcome[1])

    def cells(self) -> list[Any]:
        return cells(self.record.empty, list(self.record.items.values()), self.record.notes)

    def pytest_sessionfinish(self) -> None:
        if not self.path:
            return
        document = {
            "schema": 1,
            "stage": self.loaded.stage.name,
            "cells": [dataclasses.asdict(c) for c in self.cells()],
            "items": [dataclasses.asdict(i) for i in self.record.items.values()],
        }
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        Path(self.path).write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """Rules the stage gave no way to exercise: named, never counted as passed."""
        missing = [c for c in self.cells() if c.state == "not_exercised"]
        if missing:
            terminalreporter.write_sep("-", f"stagegate: {len(missing)} rule x API cells not exercised")
            for c in missing:
                terminalreporter.write_line(f"{c.rule} [{c.api}]: {c.detail}")


# --- session fixtures --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def loaded(pytestconfig: pytest.Config) -> Loaded:
    found = pytestconfig.stash.get(LOADED, None)
    if found is None:
        pytest.fail("the conformance plugin did not load a stage", pytrace=False)
    return found


@pytest.fixture(scope="session")
def live_stage(loaded: Loaded) -> Iterator[StageConfig]:
    """The stage with real base URLs: the embedded emulator started once, or a reachable stage."""
    if loaded.stage.needs_emulator:
        from fixtures.emulator.serve.runner import start_emulator

        try:
            running = start_emulator(loaded.stage.path, port=0, faults=loaded.faults, fresh_keys=True)
        except Exception as exc:  # a start failure is one line, not a traceback
            pytest.exit(f"stagegate: the embedded emulator did not start: {exc}", returncode=UNREACHABLE_EXIT)
        with running:
            yield running.stage
        return
    _probe(loaded.stage)
    yield loaded.stage


def _probe(stage: StageConfig) -> None:
    """One GET per API base URL; an unreachable stage ends the session at once with one line."""
    from fixtures.reachability import unreachable

    why = unreachable(stage, min(stage.timeout_s, PROBE_TIMEOUT_S))
    if why:
        pytest.exit(f"stagegate: stage {stage.name} unreachable: {why}", returncode=UNREACHABLE_EXIT)
