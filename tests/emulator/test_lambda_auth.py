"""Lambda authorizers: identity sources, simple and IAM responses, errors, cache.

Facts: docs/aws-behaviour.md s3.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from fixtures.behaviour import Kind
from fixtures.contract import LambdaAuthorizer
from fixtures.emulator.policy.lambda_auth import LambdaAuth, resource_matches
from fixtures.emulator.wire import Rejection, Request

from ._kit import TOKEN_AUTHORIZER, Clock

ARN = "arn:aws:execute-api:us-east-1:123456789012:api/v1/GET/reports"
OTHER_ARN = "arn:aws:execute-api:us-east-1:123456789012:api/v1/GET/reports/2024"

SIMPLE = LambdaAuthorizer("kiosk", "request", "kiosk-fn", "2.0", True, ("$request.header.X-Token",), 300)
TOKEN = TOKEN_AUTHORIZER


def _policy(effect: str, resource: str | list[str], **extra: Any) -> dict:
    return {
        "principalId": "user-1",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
        },
        **extra,
    }


class Fake:
    """An authorizer function returning (or raising) a fixed answer, counting calls."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.events: list[dict] = []

    async def __call__(self, event: dict) -> Any:
        self.events.append(event)
        if isinstance(self.answer, BaseException):
            raise self.answer
        return self.answer


def _run(auth: LambdaAuth, headers=(("X-Token", "t1"),), arn: str = ARN, query: str = ""):
    request = Request("GET", "/reports", query, tuple(headers), b"")
    return asyncio.run(auth.authorize(request, "GET /reports", arn, lambda: {"headers": {}, "body": "x"}))


def _rejected(auth: LambdaAuth, **kw) -> Kind:
    with pytest.raises(Rejection) as info:
        _run(auth, **kw)
    return info.value.kind


def test_simple_allow_passes_context_as_lambda() -> None:
    fake = Fake({"isAuthorized": True, "context": {"clinic_id": "42"}})
    grant = _run(LambdaAuth(SIMPLE, "http", fake, Clock()))
    assert grant.event_context("2.0") == {"lambda": {"clinic_id": "42"}}
    event = fake.events[0]
    assert event["type"] == "REQUEST" and event["identitySource"] == ["t1"] and event["routeArn"] == ARN
    assert "body" not in event


def test_simple_deny_is_authorizer_deny() -> None:
    assert (
        _rejected(LambdaAuth(SIMPLE, "http", Fake({"isAuthorized": False}), Clock())) is Kind.AUTHORIZER_DENY
    )


def test_missing_identity_source_is_401_without_invoking() -> None:
    """DOCS http-api-lambda-authorizer: missing identity source -> 401, Lambda not invoked."""
    fake = Fake({"isAuthorized": True})
    assert _rejected(LambdaAuth(SIMPLE, "http", fake, Clock()), headers=()) is Kind.UNAUTHORIZED
    assert (
        _rejected(LambdaAuth(SIMPLE, "http", fake, Clock()), headers=(("X-Token", ""),)) is Kind.UNAUTHORIZED
    )
    assert fake.events == []


def test_query_identity_source_is_case_sensitive() -> None:
    auth = LambdaAuthorizer("q", "request", "f", "2.0", True, ("$request.querystring.token",), 0)
    fake = Fake({"isAuthorized": True})
    assert _run(LambdaAuth(auth, "http", fake, Clock()), headers=(), query="token=abc") is not None
    assert (
        _rejected(LambdaAuth(auth, "http", fake, Clock()), headers=(), query="TOKEN=abc") is Kind.UNAUTHORIZED
    )


def test_token_regex_mismatch_is_401_without_invoking() -> None:
    fake = Fake(_policy("Allow", ARN))
    auth = LambdaAuth(TOKEN, "rest", fake, Clock())
    assert _rejected(auth, headers=(("Authorization", "bogus"),)) is Kind.UNAUTHORIZED
    assert fake.events == []
    grant = _run(auth, headers=(("Authorization", "allow-partner-7"),))  # control
    assert fake.events[0] == {"type": "TOKEN", "authorizationToken": "allow-partner-7", "methodArn": ARN}
    assert grant.principal_id == "user-1"


def test_raised_unauthorized_is_401_other_errors_500() -> None:
    hdr = (("Authorization", "error-x"),)
    assert (
        _rejected(LambdaAuth(TOKEN, "rest", Fake(Exception("Unauthorized")), Clock()), headers=hdr)
        is Kind.UNAUTHORIZED
    )
    assert (
        _rejected(LambdaAuth(TOKEN, "rest", Fake(RuntimeError("boom")), Clock()), headers=hdr)
        is Kind.AUTHORIZER_ERROR
    )


@pytest.mark.parametrize(
    "answer",
    [
        "yes",
        {"principalId": "u"},
        {"principalId": "u", "policyDocument": {}},
        _policy("Maybe", ARN),
        _policy("Allow", ARN, context={"nested": {"a": 1}}),
    ],
)
def test_bad_format_is_authorizer_error(answer: Any) -> None:
    auth = LambdaAuth(TOKEN, "rest", Fake(answer), Clock())
    assert _rejected(auth, headers=(("Authorization", "allow-x"),)) is Kind.AUTHORIZER_ERROR


def test_simple_response_without_boolean_is_authorizer_error() -> None:
    assert (
        _rejected(LambdaAuth(SIMPLE, "http", Fake({"isAuthorized": "yes"}), Clock())) is Kind.AUTHORIZER_ERROR
    )


def test_explicit_deny_and_implicit_deny() -> None:
    hdr = (("Authorization", "deny-x"),)
    explicit = LambdaAuth(TOKEN, "rest", Fake(_policy("Deny", ARN)), Clock())
    implicit = LambdaAuth(TOKEN, "rest", Fake(_policy("Allow", OTHER_ARN)), Clock())
    assert _rejected(explicit, headers=hdr) is Kind.ACCESS_DENIED_EXPLICIT
    assert _rejected(implicit, headers=hdr) is Kind.ACCESS_DENIED_IMPLICIT


def test_wildcard_resources() -> None:
    assert resource_matches("arn:aws:execute-api:us-east-1:123456789012:api/v1/*", OTHER_ARN)
    assert resource_matches(
        "arn:aws:execute-api:*:*:api/v1/GET/report?", "arn:aws:execute-api:x:y:api/v1/GET/reports"
    )
    assert not resource_matches("arn:aws:execute-api:us-east-1:123456789012:api/v1/POST/*", ARN)
    auth = LambdaAuth(
        TOKEN, "rest", Fake(_policy("Allow", ["arn:aws:execute-api:*:*:api/v1/GET/*"])), Clock()
    )
    assert _run(auth, headers=(("Authorization", "allow-x"),)).principal_id == "user-1"


def test_context_and_usage_identifier_key_passed_on() -> None:
    answer = _policy("Allow", ARN, context={"partner": "7", "n": 1, "b": True}, usageIdentifierKey="k-1")
    grant = _run(LambdaAuth(TOKEN, "rest", Fake(answer), Clock()), headers=(("Authorization", "allow-7"),))
    assert grant.event_context("1.0") == {"partner": "7", "n": 1, "b": True, "principalId": "user-1"}
    assert grant.usage_identifier_key == "k-1"


def test_cache_keyed_by_identity_with_ttl() -> None:
    clock = Clock()
    fake = Fake({"isAuthorized": True})
    auth = LambdaAuth(SIMPLE, "http", fake, clock)
    _run(auth)
    _run(auth)
    assert len(fake.events) == 1  # cached by identity value
    _run(auth, headers=(("X-Token", "t2"),))
    assert len(fake.events) == 2  # another identity: invoked
    clock.advance(301)
    _run(auth)
    assert len(fake.events) == 3  # TTL 300 s passed


def test_cached_deny_applies_to_later_requests() -> None:
    fake = Fake({"isAuthorized": False})
    auth = LambdaAuth(SIMPLE, "http", fake, Clock())
    _rejected(auth)
    fake.answer = {"isAuthorized": True}
    assert _rejected(auth) is Kind.AUTHORIZER_DENY and len(fake.events) == 1


def test_zero_ttl_never_caches() -> None:
    fake = Fake({"isAuthorized": True})
    auth = LambdaAuth(
        LambdaAuthorizer("n", "request", "f", "2.0", True, ("$request.header.X-Token",), 0),
        "http",
        fake,
        Clock(),
    )
    _run(auth)
    _run(auth)
    assert len(fake.events) == 2


def test_cached_policy_for_another_path_denies_proxy_trap() -> None:
    """SEC KC lambda-authorization-errors: a cached policy naming one path denies the next path."""
    fake = Fake(_policy("Allow", ARN))
    auth = LambdaAuth(TOKEN, "rest", fake, Clock())
    hdr = (("Authorization", "allow-7"),)
    assert _run(auth, headers=hdr).principal_id == "user-1"
    with pytest.raises(Rejection) as info:
        _run(auth, headers=hdr, arn=OTHER_ARN)
    assert info.value.kind is Kind.ACCESS_DENIED_IMPLICIT and len(fake.events) == 1


def test_fault_lambda_deny_allows() -> None:
    faults = frozenset({"auth.lambda_deny_allows"})
    assert _run(LambdaAuth(SIMPLE, "http", Fake({"isAuthorized": False}), Clock(), faults)) is not None
    hdr = (("Authorization", "deny-x"),)
    assert (
        _run(LambdaAuth(TOKEN, "rest", Fake(_policy("Deny", ARN)), Clock(), faults), headers=hdr) is not None
    )
