"""API key rules (REST): a method that requires a key refuses a missing, unknown or disabled key.

https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-usage-plans.html
"""

from __future__ import annotations

from conformance.catalog.records import KeyCase, RouteCase
from conformance.harness.expect import Check
from conformance.session import Suite, api_of
from fixtures.behaviour import Kind

UNKNOWN_KEY = "stagegate-unknown-key-0000000000000000"


def test_key_route_accepts_valid_api_key(suite: Suite, check: Check, key_route: RouteCase) -> None:
    """Positive control: the stage's key passes."""
    check.success(api_of(suite, key_route).control(key_route.route), "a valid API key")


def test_key_route_rejects_missing_api_key(suite: Suite, check: Check, key_route: RouteCase) -> None:
    api = api_of(suite, key_route)
    check.control(api, key_route.route)
    spec = api.valid_request(key_route.route).without_headers("x-api-key")
    check.rejected(api, api.send(spec), Kind.INVALID_API_KEY)


def test_key_route_rejects_unknown_api_key(suite: Suite, check: Check, key_route: RouteCase) -> None:
    api = api_of(suite, key_route)
    check.control(api, key_route.route)
    spec = api.valid_request(key_route.route).merge_headers({"x-api-key": UNKNOWN_KEY})
    check.rejected(api, api.send(spec), Kind.INVALID_API_KEY)


def test_key_route_rejects_disabled_api_key(suite: Suite, check: Check, disabled_key_case: KeyCase) -> None:
    """A key the stage file lists as disabled is refused like an unknown one."""
    api = api_of(suite, disabled_key_case)
    route = disabled_key_case.case.route
    check.control(api, route)
    spec = api.valid_request(route).merge_headers({"x-api-key": disabled_key_case.key.value.value})
    check.rejected(api, api.send(spec), Kind.INVALID_API_KEY)
