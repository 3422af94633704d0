"""Failure diagnosis: what was sent, what came back, what was expected, and the likely cause.

Everything shown passes through the redactor: tokens and API keys never reach a message. The likely
causes come from the seed's debugging table (403 on every request -> authorizer audience/issuer
mismatch; CORS failures -> allow_origins; 502 -> the function crashes or answers a malformed
response), extended with the gateway's other well-known answers. A rejection is explained by what
the gateway says it is (REST `x-amzn-ErrorType`, the body's message) and by how the route is
protected (authorizer, API key, none), never by the status alone: a REST 403 `ForbiddenException`
on a route that requires only an API key is the key, not the authorizer.

A failing rule raises RuleFailure carrying its FailureRecord (fixtures/failure_record.py); the
conformance plugin keeps the record in junit.xml, where reports/ read its fields (never the text).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from _pytest.outcomes import Failed  # pytest.fail.Exception: `except pytest.fail.Exception` catches a rule

from conformance.harness.client import Exchange
from fixtures.failure_record import TELLING_HEADERS, FailureRecord, RuleKind

# Response headers worth showing: the ones the rules look at.
RELEVANT_HEADERS = (
    "content-type",
    "www-authenticate",
    "x-amzn-errortype",
    "apigw-requestid",
    "x-amzn-requestid",
    "x-amz-apigw-id",
    "allow",
    "vary",
)
MAX_BODY_CHARS = 400
SHORT_BODY_CHARS = 80
_NOISE = ("user-agent", "connection", "accept", "accept-encoding")


class Redacts(Protocol):
    def text(self, s: str) -> str: ...

    def headers(self, h: Mapping[str, str] | Iterable[tuple[str, str]]) -> Any: ...


@dataclass(frozen=True)
class Protection:
    """How the route a request went to is protected, per the contract (None: not known here)."""

    authorizer: str | None = None  # "JWT", "Cognito", "Lambda" (None: no authorizer)
    api_key: bool = False  # REST apiKeyRequired

    @property
    def words(self) -> str:
        parts = [f"{self.authorizer} authorizer"] if self.authorizer else []
        parts += ["API key"] if self.api_key else []
        return " + ".join(parts) or "no authorizer, no API key"


@dataclass(frozen=True)
class Cause:
    """One row of the diagnosis table: a stable id (reports group by it) and the explanation."""

    id: str
    text: str


class RuleFailure(Failed):
    """A failing rule: pytest shows the record as text; the conformance plugin keeps `record`."""

    def __init__(self, record: FailureRecord) -> None:
        super().__init__(record.render(), pytrace=False)
        self.record = record


def _pairs(headers: Any) -> list[tuple[str, str]]:
    return list(headers.items()) if isinstance(headers, Mapping) else list(headers)


def _body_text(body: bytes, limit: int = MAX_BODY_CHARS) -> str:
    text = body.decode("utf-8", "replace")
    return text if len(text) <= limit else text[:limit] + f"... ({len(body)} bytes)"


def describe_sent(exchange: Exchange, redactor: Redacts) -> str:
    """Method, URL, request headers and body, redacted."""
    headers = _pairs(redactor.headers(list(exchange.request_headers)))
    shown = ", ".join(f"{k}: {v}" for k, v in headers if k.lower() not in _NOISE)
    body = f" body={_body_text(exchange.request_body)!r}" if exchange.request_body else ""
    return redactor.text(f"{exchange.method} {exchange.url} [{shown}]{body}")


def describe_received(exchange: Exchange, redactor: Redacts) -> str:
    """Status, relevant headers (and every access-control-* one) and body, redacted."""
    picked = [
        (k, v)
        for k, v in exchange.headers
        if k.lower() in RELEVANT_HEADERS or k.lower().startswith("access-control-")
    ]
    headers = _pairs(redactor.headers(picked))
    shown = ", ".join(f"{k}: {v}" for k, v in headers)
    return redactor.text(f"{exchange.status} [{shown}] body={_body_text(exchange.body)!r}")


def telling_headers(exchange: Exchange, redactor: Redacts) -> tuple[tuple[str, str], ...]:
    """The response headers that explain the answer: error type, challenge, Allow, every CORS one."""
    picked = [
        (k.lower(), v)
        for k, v in exchange.headers
        if k.lower() in TELLING_HEADERS or k.lower().startswith("access-control-")
    ]
    return tuple((k, redactor.text(str(v))) for k, v in _pairs(redactor.headers(picked)))


def _error_type(exchange: Exchange) -> str:
    return (exchange.header("x-amzn-errortype") or "").split(":")[0].strip()


CAUSES: Mapping[str, str] = {
    "cors.config": (
        "CORS configuration: check allow_origins (exact origins, no wildcard with credentials, no "
        "prefix/suffix matching), allow_methods/allow_headers, and gateway responses for errors"
    ),
    "integration.malformed": (
        "the Lambda function crashes or returns a malformed proxy response (statusCode/body/headers)"
    ),
    "authorizer.crash": (
        "the Lambda authorizer crashes, times out or answers a bad format, or API Gateway lacks "
        "permission to invoke it (AuthorizerConfigurationException)"
    ),
    "integration.crash": (
        "the function or the Lambda authorizer crashes, answers a bad format, or lacks invoke permission"
    ),
    "route.not_deployed": (
        "no such resource/method on this stage: wrong base URL or stage name, or route not deployed"
    ),
    "api_key.refused": (
        "the API key was refused (REST ForbiddenException): the key is unknown, disabled, or not in "
        "a usage plan attached to this stage; check the stage file's key and the usage plan's stages"
    ),
    "api_key.demanded": (
        "the stage demands an API key (ForbiddenException) on a method the contract leaves without "
        "one: apiKeyRequired differs between the contract and the deployment"
    ),
    "authorizer.denied": (
        "the authorizer denies this identity (AccessDeniedException): its policy or simple response "
        "refuses the caller, or a resource policy does not cover the method"
    ),
    "authorizer.token": (
        "requests with valid credentials are refused: authorizer audience/issuer mismatch "
        "(token aud/client_id or iss differs from the authorizer), wrong JWKS, or an expired token"
    ),
    "authorizer.scope": (
        "the token lacks a scope the route requires (authorizationScopes), or the app client is not "
        "allowed that scope"
    ),
    "route.protected": (
        "the route is public in the contract but the stage protects it: an authorizer (or API key) "
        "is attached on the deployed route"
    ),
    "auth.refused": (
        "requests with valid credentials are refused: authorizer audience/issuer mismatch "
        "(token aud/client_id or iss differs from the authorizer), wrong JWKS, or a missing scope"
    ),
    "route.not_found": (
        "route not deployed on this stage (HTTP API answers 404 Not Found for an unknown route)"
    ),
    "throttled": (
        "throttled or quota exhausted: stage/route/usage-plan limits are lower than the test traffic"
    ),
    "integration.timeout": (
        "integration timeout: the function runs longer than the gateway's integration timeout"
    ),
    "auth.missing": "the route has no authorizer attached, or the authorizer accepts what it must refuse",
    "api_key.unchecked": "the method does not require an API key (apiKeyRequired) or the key is not checked",
    "validation.missing": "no request validator on the method, or the handler does not validate its input",
    "routing.bypass": "a path or method variant reaches the integration without the authorizer",
}
_ACCEPTED_WHAT_MUST_BE_REFUSED = {
    "auth": "auth.missing",
    "api_keys": "api_key.unchecked",
    "validation": "validation.missing",
    "routing": "routing.bypass",
}


def _cause(cause_id: str) -> Cause:
    return Cause(cause_id, CAUSES[cause_id])


def _refused(exchange: Exchange, protection: Protection | None) -> Cause:
    """A valid request refused with 401/403: what the gateway says it is, and how the route is protected."""
    error_type, message = _error_type(exchange), exchange.body.decode("utf-8", "replace")
    sent_key = any(k.lower() == "x-api-key" for k, _ in exchange.request_headers)
    if error_type == "ForbiddenException" or (not error_type and sent_key and "Forbidden" in message):
        if protection is not None and not protection.api_key and sent_key is False:
            return _cause("api_key.demanded")
        if protection is None or protection.api_key or sent_key:
            return _cause("api_key.refused")
    lambda_deny = exchange.status == 403 and protection is not None and protection.authorizer == "Lambda"
    if (
        error_type == "AccessDeniedException"
        or "not authorized to access this resource" in message
        or lambda_deny
    ):
        return _cause("authorizer.denied")
    if protection is not None and protection.authorizer is None and not protection.api_key:
        return _cause("route.protected")
    if protection is not None and protection.authorizer is None and protection.api_key:
        return _cause("api_key.refused")
    challenge = (exchange.header("www-authenticate") or "").lower()
    if "insufficient_scope" in challenge or (
        exchange.status == 403 and protection is not None and protection.authorizer in ("JWT", "Cognito")
    ):
        return _cause("authorizer.scope")
    if error_type == "UnauthorizedException" or exchange.status == 401 or "invalid_token" in challenge:
        return _cause("authorizer.token")
    return _cause("auth.refused")


def likely_cause(
    exchange: Exchange,
    expected_status: int | None,
    family: str,
    protection: Protection | None = None,
    kind: RuleKind = "answer",
) -> Cause | None:
    """The most likely misconfiguration behind this answer (the seed's debugging table, extended)."""
    status = exchange.status
    message = exchange.body.decode("utf-8", "replace")
    error_type = _error_type(exchange)
    wanted_success = kind == "control" or (expected_status is not None and 200 <= expected_status < 300)
    if family == "cors" and not (wanted_success and status >= 400):
        return _cause("cors.config")
    if status == 502:
        return _cause("integration.malformed")
    if status == 500 and error_type == "AuthorizerConfigurationException":
        return _cause("authorizer.crash")
    if status == 500 and "internal server error" in message.lower():
        return _cause("integration.crash")
    if status == 403 and (
        error_type == "MissingAuthenticationTokenException" or "Missing Authentication Token" in message
    ):
        return _cause("route.not_deployed")
    if wanted_success and status in (401, 403):
        return _refused(exchange, protection)
    if wanted_success and status == 404:
        return _cause("route.not_found")
    if status == 429:
        return _cause("throttled")
    if status in (503, 504):
        return _cause("integration.timeout")
    if family == "cors":
        return _cause("cors.config")
    if expected_status is not None and expected_status >= 400 and 200 <= status < 300:
        found = _ACCEPTED_WHAT_MUST_BE_REFUSED.get(family)
        return _cause(found) if found else None
    return None


def failure_kind(exchange: Exchange, expected: str, expected_status: int | None) -> RuleKind:
    """control when the rule's positive control failed; status when the status is not the expected one."""
    if expected.startswith("control:") or "positive control" in expected:
        return "control"
    if expected_status is not None and exchange.status != expected_status:
        return "status"
    return "answer"


def diagnose(
    rule: str,
    exchange: Exchange,
    expected: str,
    redactor: Redacts,
    family: str,
    expected_status: int | None = None,
    protection: Protection | None = None,
    kind: RuleKind | None = None,
) -> FailureRecord:
    """The failure record of one failing exchange, every text redacted."""
    found = kind or failure_kind(exchange, expected, expected_status)
    cause = likely_cause(exchange, expected_status, family, protection, found)
    return FailureRecord(
        rule=rule,
        family=family,
        sent=describe_sent(exchange, redactor),
        received=describe_received(exchange, redactor),
        expected=redactor.text(expected),
        likely_cause=cause.text if cause else "",
        kind=found,
        cause=cause.id if cause else "",
        status=exchange.status,
        expected_status=expected_status,
        headers=telling_headers(exchange, redactor),
        body=redactor.text(_body_text(exchange.body, SHORT_BODY_CHARS)),
        protection=protection.words if protection else "",
    )
