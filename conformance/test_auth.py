"""Authorizer rules: every protected route refuses each defective credential; valid ones pass.

https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html
https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-integrate-with-cognito.html
"""

from __future__ import annotations

import pytest

from conformance.catalog.records import RouteCase
from conformance.harness.credentials import Unavailable
from conformance.harness.expect import Check
from conformance.session import Suite, api_of
from fixtures.behaviour import Kind


def _token_or_skip(suite: Suite, case: RouteCase, variant: str) -> str:
    try:
        return api_of(suite, case).creds.token(case.route, variant)
    except Unavailable as exc:
        pytest.skip(str(exc))


def _reject_token(suite: Suite, check: Check, case: RouteCase, value: str | None, kind: Kind) -> None:
    """Send the route's valid request with the identity header set to `value` (None: left out)."""
    api = api_of(suite, case)
    check.control(api, case.route)
    spec = api.valid_request(case.route).merge_headers({api.creds.token_header(case.route): value})
    check.rejected(api, api.send(spec), kind, fallback=(401, 403))


def _reject_variant(suite: Suite, check: Check, case: RouteCase, variant: str) -> None:
    token = _token_or_skip(suite, case, variant)
    _reject_token(suite, check, case, f"Bearer {token}", Kind.UNAUTHORIZED)


def test_protected_route_accepts_valid_token(suite: Suite, check: Check, token_route: RouteCase) -> None:
    """Positive control: a valid token with the route's scopes is accepted."""
    _token_or_skip(suite, token_route, "valid")
    check.success(api_of(suite, token_route).control(token_route.route), "a valid token")


def test_protected_route_accepts_cognito_access_token(
    suite: Suite, check: Check, jwt_route: RouteCase
) -> None:
    """A Cognito access token (client_id instead of aud) is accepted by the JWT authorizer."""
    api = api_of(suite, jwt_route)
    token = _token_or_skip(suite, jwt_route, "cognito_access_token")
    spec = api.valid_request(jwt_route.route).merge_headers(
        {api.creds.token_header(jwt_route.route): f"Bearer {token}"}
    )
    check.success(api.send(spec), "an access token whose client_id is an audience")


def test_protected_route_rejects_missing_token(suite: Suite, check: Check, token_route: RouteCase) -> None:
    _reject_token(suite, check, token_route, None, Kind.UNAUTHORIZED)


def test_protected_route_rejects_empty_bearer(suite: Suite, check: Check, token_route: RouteCase) -> None:
    _reject_token(suite, check, token_route, "Bearer ", Kind.UNAUTHORIZED)


def test_protected_route_rejects_malformed_token(suite: Suite, check: Check, token_route: RouteCase) -> None:
    _reject_variant(suite, check, token_route, "malformed")


def test_protected_route_rejects_foreign_key_token(
    suite: Suite, check: Check, token_route: RouteCase
) -> None:
    _reject_variant(suite, check, token_route, "foreign_key_same_kid")


def test_protected_route_rejects_alg_none_token(suite: Suite, check: Check, token_route: RouteCase) -> None:
    _reject_variant(suite, check, token_route, "alg_none")


def test_protected_route_rejects_hs256_confusion_token(
    suite: Suite, check: Check, token_route: RouteCase
) -> None:
    _reject_variant(suite, check, token_route, "hs256_key_confusion")


def test_protected_route_rejects_tampered_token(suite: Suite, check: Check, token_route: RouteCase) -> None:
    _reject_variant(suite, check, token_route, "tampered_payload")


def test_protected_route_rejects_expired_token(suite: Suite, check: Check, token_route: RouteCase) -> None:
    _reject_variant(suite, check, token_route, "expired")


def test_protected_route_rejects_not_yet_valid_token(
    suite: Suite, check: Check, token_route: RouteCase
) -> None:
    _reject_variant(suite, check, token_route, "not_yet_valid")


def test_protected_route_rejects_wrong_issuer_token(
    suite: Suite, check: Check, token_route: RouteCase
) -> None:
    _reject_variant(suite, check, token_route, "wrong_issuer")


def test_protected_route_rejects_wrong_audience_token(
    suite: Suite, check: Check, jwt_route: RouteCase
) -> None:
    _reject_variant(suite, check, jwt_route, "wrong_audience")


def test_protected_route_rejects_token_without_scope(
    suite: Suite, check: Check, scoped_route: RouteCase
) -> None:
    token = _token_or_skip(suite, scoped_route, "missing_scope")
    _reject_token(suite, check, scoped_route, f"Bearer {token}", Kind.INSUFFICIENT_SCOPE)


def test_lambda_route_accepts_allowed_identity(suite: Suite, check: Check, lambda_route: RouteCase) -> None:
    """Positive control: the stage's allow token passes the Lambda authorizer."""
    api = api_of(suite, lambda_route)
    try:
        api.creds.lambda_token()
    except Unavailable as exc:
        pytest.skip(str(exc))
    check.success(api.control(lambda_route.route), "the Lambda authorizer's allow token")


def test_lambda_route_rejects_missing_identity(suite: Suite, check: Check, lambda_route: RouteCase) -> None:
    """No identity source -> 401 and the authorizer is not invoked."""
    api = api_of(suite, lambda_route)
    check.control(api, lambda_route.route)
    spec = api.unauthenticated(lambda_route.route)
    check.rejected(api, api.send(spec), Kind.UNAUTHORIZED)


def test_lambda_route_rejects_denied_identity(suite: Suite, check: Check, lambda_route: RouteCase) -> None:
    """A deny from the Lambda authorizer -> 403."""
    api = api_of(suite, lambda_route)
    try:
        deny = api.creds.lambda_token(deny=True)
    except Unavailable as exc:
        pytest.skip(str(exc))
    check.control(api, lambda_route.route)
    names = tuple(api.creds.identity_headers(lambda_route.route))
    spec = api.valid_request(lambda_route.route).merge_headers({names[0]: deny})
    kind = Kind.AUTHORIZER_DENY if api.flavor == "http" else Kind.ACCESS_DENIED_EXPLICIT
    check.rejected(api, api.send(spec), kind, fallback=(403,))


def test_public_route_does_not_demand_auth(suite: Suite, check: Check, public_route: RouteCase) -> None:
    """A route with no authorizer and no API key answers a request without any credential."""
    api = api_of(suite, public_route)
    check.success(api.send(api.valid_request(public_route.route)), "a public route without credentials")
