"""Redaction during a conformance run: the stage's secrets plus tokens learnt on the way, and
failure text redacted in place before any report reads it."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.harness.credentials import ApiCredentials
from fixtures.redact import Redactor
from fixtures.stage import StageConfig


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
