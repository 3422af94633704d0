"""Fixtures the rules use (APIs under test, the per-test check) and redacted attachments/reports."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import pytest

from conformance.harness.api import ApiUnderTest
from conformance.harness.client import Exchange, HttpClient
from conformance.harness.credentials import ApiCredentials, Unavailable
from conformance.harness.expect import Check
from conformance.plugin import LOADED, REDACT, Loaded, family_of, stage_redactor
from fixtures.redact import Redactor
from fixtures.stage import StageConfig

MAX_ATTACHED = 12  # exchanges attached per test


class ExchangeLog:
    """The exchanges of the running test (reset per test; bounded)."""

    def __init__(self) -> None:
        self.items: list[Exchange] = []

    def add(self, exchange: Exchange) -> None:
        if len(self.items) < 200:
            self.items.append(exchange)

    def reset(self) -> None:
        self.items = []


class SuiteRedactor:
    """The stage's secrets plus those learnt during the run: an OAuth2 access token is fetched lazily,
    after the suite starts, and an opaque (non-JWT) one matches no pattern."""

    def __init__(
        self, stage: StageConfig, creds: list[ApiCredentials], headers: tuple[str, ...] = ()
    ) -> None:
        self._stage = stage
        self._creds = creds
        self._headers = headers  # the contracts' identity-source headers: credentials by name
        self._known: tuple[str, ...] | None = None
        self._redactor = Redactor(headers=headers)

    def current(self) -> Redactor:
        secrets = tuple(value for creds in self._creds for value in creds.secrets())
        if secrets != self._known:
            self._redactor = Redactor.for_stage(self._stage, extra=secrets, headers=self._headers)
            self._known = secrets
        return self._redactor

    def text(self, s: str) -> str:
        return self.current().text(s)

    def headers(self, headers: Any) -> Any:
        return self.current().headers(headers)

    def json(self, obj: Any) -> Any:
        return self.current().json(obj)


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


def _render(exchange: Exchange, redactor: Redactor | SuiteRedactor) -> str:
    lines = [f"{exchange.method} {exchange.url}"]
    lines += [f"{k}: {v}" for k, v in redactor.headers(list(exchange.request_headers))]
    if exchange.request_body:
        lines += ["", exchange.request_body.decode("utf-8", "replace")[:4000]]
    lines += ["", f"HTTP {exchange.status}  ({exchange.elapsed_ms:.1f} ms)"]
    lines += [f"{k}: {v}" for k, v in redactor.headers(list(exchange.headers))]
    if exchange.body:
        body = exchange.body.decode("utf-8", "replace")
        with contextlib.suppress(ValueError):  # not JSON: attached as text
            body = json.dumps(redactor.json(json.loads(body)), indent=2)
        lines += ["", body[:4000]]
    return redactor.text("\n".join(lines))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    yield
    state = item.config.stash.get(SUITE, None)
    if state is None or LOADED not in item.config.stash:
        return
    try:
        import allure
    except ImportError:  # allure-pytest is a dependency; without it there is nothing to attach to
        return
    for index, exchange in enumerate(state.log.items[:MAX_ATTACHED], start=1):
        allure.attach(
            _render(exchange, state.redactor),
            name=f"{index}. {exchange.method} {exchange.status}",
            attachment_type=allure.attachment_type.TEXT,
        )


class RedactedError(Exception):
    """Stands in for an exception whose own str() would still show a secret after redaction."""


def redact_exception(call: pytest.CallInfo[None], redactor: Redactor | SuiteRedactor) -> None:
    """The exception's text redacted in place: Allure's status message reads `call.excinfo`."""
    if call.excinfo is None:
        return
    exc = call.excinfo.value
    shown = str(exc)
    clean = redactor.text(shown)
    if clean == shown:
        return
    message = getattr(exc, "msg", None)
    if isinstance(message, str):  # pytest.fail/skip outcomes print `.msg`
        setattr(exc, "msg", redactor.text(message))  # noqa: B010 (no attribute in the type)
    exc.args = tuple(redactor.text(a) if isinstance(a, str) else a for a in exc.args)
    if redactor.text(str(exc)) != str(exc):  # a custom __str__ built from other fields
        kind = AssertionError if isinstance(exc, AssertionError) else RedactedError
        try:
            raise kind(clean) from None
        except kind:
            call.excinfo = pytest.ExceptionInfo.from_current()


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
