"""Fixtures the rules use (APIs under test, the per-test check) and the hooks that redact and attach.

The machinery lives in conformance/harness/ (attachments.py, redaction.py); this module wires it
into pytest.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from conformance.harness.api import ApiUnderTest
from conformance.harness.attachments import ExchangeLog, attach_exchanges
from conformance.harness.client import HttpClient
from conformance.harness.credentials import ApiCredentials, Unavailable
from conformance.harness.expect import Check
from conformance.harness.redaction import SuiteRedactor, redact_exception
from conformance.plugin import LOADED, REDACT, Loaded, family_of, stage_redactor
from fixtures.stage import StageConfig


class Suite:
    """Session state: the APIs under test, the redactor and the exchange log."""

    def __init__(self, stage: StageConfig, loaded: Loaded) -> None:
        self.stage = stage
        self.log = ExchangeLog()
        self.apis: dict[str, ApiUnderTest] = {}
        for config in stage.apis:
            contract = loaded.contracts[config.name]
            creds = ApiCredentials(config, contract, stage.timeout_s)
            client = HttpClient(config.base_url, stage.timeout_s, on_exchange=self.log.add)
            self.apis[config.name] = ApiUnderTest(config, contract, client, creds, stage.embedded)
        every = [api.creds for api in self.apis.values()]
        self.redactor = SuiteRedactor(stage, every, loaded.identity_headers())

    def api(self, name: str) -> ApiUnderTest:
        return self.apis[name]

    def close(self) -> None:
        for api in self.apis.values():
            api.client.close()


SUITE = pytest.StashKey[Suite]()


@pytest.fixture(scope="session")
def suite(live_stage: StageConfig, loaded: Loaded, pytestconfig: pytest.Config) -> Iterator[Suite]:
    state = Suite(live_stage, loaded)
    pytestconfig.stash[SUITE] = state
    pytestconfig.stash[REDACT] = state.redactor.text  # the plugin's records, a passing deviation's reason
    yield state
    state.close()


@pytest.fixture
def check(request: pytest.FixtureRequest, suite: Suite) -> Check:
    """Assertions for this test's rule, failing with a redacted diagnosis (the plugin records it)."""
    suite.log.reset()
    return Check(request.node.name, family_of(request.node) or "other", suite.redactor)


class _Shown:
    """A parameter value Allure shows as its text (it quotes a str, and shows other objects' repr)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Allure parameters as the case's short label ("portal GET /health"), not the record's repr."""
    callspec = getattr(item, "callspec", None)
    if callspec is None or LOADED not in item.config.stash:
        return
    try:
        import allure
    except ImportError:
        return
    for name, value in callspec.params.items():
        label = getattr(value, "id", None)
        if isinstance(label, str):
            allure.dynamic.parameter(name, _Shown(label))


def api_of(suite: Suite, case: Any) -> ApiUnderTest:
    """The API a parametrization case belongs to."""
    inner = getattr(case, "case", case)
    return suite.api(inner.api)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    yield
    state = item.config.stash.get(SUITE, None)
    if state is None or LOADED not in item.config.stash:
        return
    attach_exchanges(state.log, state.redactor)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Safety net: every failure text goes through the redactor before any report sees it.

    Covers failures and known deviations (xfail), the exception Allure reads for its status message,
    and captured output. Runs inside Allure's own makereport wrapper, so Allure sees the result.
    """
    outcome: Any = yield
    report: pytest.TestReport = outcome.get_result()
    if LOADED not in item.config.stash:
        return
    state = item.config.stash.get(SUITE, None)
    # Before the suite fixture exists (a setup failing first), the stage's secrets.
    redactor = state.redactor if state is not None else stage_redactor(item.config)
    redact_exception(call, redactor)
    failed = report.failed or hasattr(report, "wasxfail")
    if failed and report.longrepr is not None and not isinstance(report.longrepr, tuple):
        report.longrepr = redactor.text(str(report.longrepr))
    report.sections = [(title, redactor.text(text)) for title, text in report.sections]


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Iterator[None]:
    """A credential the stage file does not give, wherever a rule needs it (its positive control
    included): the case is skipped with the reason, so the coverage shows it not exercised."""
    try:
        return (yield)
    except Unavailable as exc:
        pytest.skip(str(exc))
