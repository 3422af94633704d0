"""CORS rules: allowed origins get their headers, attacker origins get none, errors carry them.

https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html
https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-cors.html
"""

from __future__ import annotations

from conformance.catalog_cors import cors_origins, cors_paths, error_cors_origin
from conformance.catalog_records import CONCRETE_METHODS, ApiCase, OriginCase, PreflightCase, RouteCase
from conformance.catalog_routes import all_routes, protected_routes, public_routes
from conformance.expect import Check
from conformance.session import Suite, api_of
from conformance.support import ApiUnderTest
from fixtures.http import Exchange

DISALLOWED_HEADER = "X-Stagegate-Not-Allowed"


def _listed(value: str | None) -> set[str]:
    return {part.strip().lower() for part in (value or "").split(",") if part.strip()}


def _preflight(
    api: ApiUnderTest, path: str, origin: str, method: str, headers: str | None = None
) -> Exchange:
    sent = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers:
        sent["Access-Control-Request-Headers"] = headers
    return api.client.send("OPTIONS", path, headers=sent)


def _allowed_headers(api: ApiUnderTest) -> list[str]:
    cors = api.contract.cors
    return list(cors.allow_headers) if cors is not None else ["Content-Type"]


def _sample_path(api: ApiUnderTest, path: str) -> str:
    route = next(r for r in api.contract.routes if r.path == path)
    return api.path_for(route)


def _first_cors_path(api: ApiUnderTest) -> str:
    return next(iter(cors_paths(api.config, api.contract)))


def _actual_route(api: ApiUnderTest):  # noqa: ANN202 - a Route
    """A route to send an actual (non-preflight) request to: a public one if there is one.

    Both come from the catalog, so a read-only API is never sent a request to a writing route.
    """
    public = public_routes(api.config, api.contract)
    return (public or all_routes(api.config, api.contract))[0].route


def _no_attacker_origin(check: Check, api: ApiUnderTest, exchange: Exchange, origin: str) -> None:
    allow = exchange.header("access-control-allow-origin")
    if allow is not None and (allow in (origin, "*") or (api.embedded and api.flavor == "http")):
        check.fail(exchange, f"no Access-Control-Allow-Origin for the attacker origin {origin}")


def _preflight_control(check: Check, api: ApiUnderTest, path: str, origin: str, method: str) -> None:
    """Positive control: an allowed origin's preflight is answered with its origin and method."""
    exchange = _preflight(api, path, origin, method)
    if not 200 <= exchange.status < 300 or exchange.header("access-control-allow-origin") != origin:
        check.fail(exchange, f"control: 2xx with Access-Control-Allow-Origin: {origin}", 204)
    methods = _listed(exchange.header("access-control-allow-methods"))
    if method.lower() not in methods and "*" not in methods:
        check.fail(exchange, f"control: Access-Control-Allow-Methods listing {method}", 204)


def _no_wildcard_with_credentials(check: Check, exchange: Exchange) -> None:
    allow = exchange.header("access-control-allow-origin")
    credentials = (exchange.header("access-control-allow-credentials") or "").lower()
    if allow == "*" and credentials == "true":
        check.fail(exchange, "never Access-Control-Allow-Origin: * together with Allow-Credentials: true")


def test_preflight_from_allowed_origin_is_allowed(
    suite: Suite, check: Check, preflight_case: PreflightCase
) -> None:
    api = api_of(suite, preflight_case)
    headers = _allowed_headers(api)
    path = _sample_path(api, preflight_case.path)
    exchange = _preflight(api, path, preflight_case.origin, preflight_case.method, ",".join(headers))
    if not 200 <= exchange.status < 300:
        check.fail(exchange, "2xx for a preflight from an allowed origin", 204)
    if exchange.header("access-control-allow-origin") != preflight_case.origin:
        check.fail(exchange, f"Access-Control-Allow-Origin: {preflight_case.origin}")
    methods = _listed(exchange.header("access-control-allow-methods"))
    if preflight_case.method.lower() not in methods and "*" not in methods:
        check.fail(exchange, f"Access-Control-Allow-Methods listing {preflight_case.method}")
    allowed = _listed(exchange.header("access-control-allow-headers"))
    missing = [h for h in headers if h.lower() not in allowed and "*" not in allowed]
    if missing:
        check.fail(exchange, f"Access-Control-Allow-Headers listing {', '.join(missing)}")


def test_preflight_does_not_allow_unlisted_method_or_header(
    suite: Suite, check: Check, cors_api: ApiCase
) -> None:
    api = api_of(suite, cors_api)
    cors = api.contract.cors
    listed = {m.upper() for m in cors.allow_methods} if cors is not None else {"GET", "POST", "OPTIONS"}
    method = next((m for m in CONCRETE_METHODS if m not in listed), "PATCH")
    origin = cors_origins(api.contract)[0]
    path = _sample_path(api, _first_cors_path(api))
    _preflight_control(check, api, path, origin, "GET")
    exchange = _preflight(api, path, origin, method, DISALLOWED_HEADER)
    methods = _listed(exchange.header("access-control-allow-methods"))
    if method.lower() in methods or "*" in methods and "*" not in listed:
        check.fail(exchange, f"Access-Control-Allow-Methods without {method} (not configured)")
    if DISALLOWED_HEADER.lower() in _listed(exchange.header("access-control-allow-headers")):
        check.fail(exchange, f"Access-Control-Allow-Headers without {DISALLOWED_HEADER} (not configured)")


def test_preflight_from_attacker_origin_gets_no_allow_origin(
    suite: Suite, check: Check, origin_case: OriginCase
) -> None:
    api = api_of(suite, origin_case)
    path = _sample_path(api, origin_case.path)
    _preflight_control(check, api, path, origin_case.allowed, "GET")
    exchange = _preflight(api, path, origin_case.origin, "GET")
    _no_attacker_origin(check, api, exchange, origin_case.origin)


def test_actual_request_from_attacker_origin_gets_no_allow_origin(
    suite: Suite, check: Check, origin_case: OriginCase
) -> None:
    api = api_of(suite, origin_case)
    spec = api.valid_request(_actual_route(api))
    control = api.send(spec.merge_headers({"Origin": origin_case.allowed}))
    check.success(control, "control: a valid request from the allowed origin")
    # HTTP API adds the configured headers to integration responses (DOCS http-api-cors).
    if api.flavor == "http" and control.header("access-control-allow-origin") != origin_case.allowed:
        check.fail(control, f"control: Access-Control-Allow-Origin: {origin_case.allowed}", 200)
    exchange = api.send(spec.merge_headers({"Origin": origin_case.origin}))
    _no_attacker_origin(check, api, exchange, origin_case.origin)


def test_wildcard_origin_is_never_combined_with_credentials(
    suite: Suite, check: Check, cors_api: ApiCase
) -> None:
    api = api_of(suite, cors_api)
    origin = cors_origins(api.contract)[0]
    path = _sample_path(api, _first_cors_path(api))
    preflight = _preflight(api, path, origin, "GET")
    check.success(preflight, "a preflight from an allowed origin")
    _no_wildcard_with_credentials(check, preflight)
    actual = api.send(api.valid_request(_actual_route(api)).merge_headers({"Origin": origin}))
    _no_wildcard_with_credentials(check, actual)


def test_actual_response_carries_cors_headers(suite: Suite, check: Check, cors_http_api: ApiCase) -> None:
    """HTTP API adds the configured headers to integration responses."""
    api = api_of(suite, cors_http_api)
    origin = cors_origins(api.contract)[0]
    exchange = api.send(api.valid_request(_actual_route(api)).merge_headers({"Origin": origin}))
    check.success(exchange, "a valid request from an allowed origin")
    if exchange.header("access-control-allow-origin") != origin:
        check.fail(exchange, f"Access-Control-Allow-Origin: {origin} on the integration response")


def test_gateway_error_carries_cors_headers(suite: Suite, check: Check, cors_error_api: ApiCase) -> None:
    """4xx from the gateway (HTTP API authorizer; REST DEFAULT_4XX) carry the configured origin."""
    api = api_of(suite, cors_error_api)
    expected = error_cors_origin(api.contract)
    protected = protected_routes(api.config, api.contract)  # no writing route on a read-only API
    if api.flavor == "http" and protected:
        route = protected[0].route
        check.control(api, route)
        spec = api.unauthenticated(route)
    else:
        check.api_control(api)
        spec = api.valid_request(_actual_route(api))
        spec = spec.__class__("GET", "/stagegate-no-such-route", {}, spec.headers, None)
    exchange = api.send(spec.merge_headers({"Origin": expected or ""}))
    if not 400 <= exchange.status < 500:
        check.fail(exchange, "a 4xx gateway error", 401)
    if exchange.header("access-control-allow-origin") != expected:
        check.fail(exchange, f"Access-Control-Allow-Origin: {expected} on the gateway's 4xx")


def test_preflight_is_not_blocked_by_the_authorizer(
    suite: Suite, check: Check, cors_protected_route: RouteCase
) -> None:
    """Preflights carry no credentials; the gateway answers them before any authorizer."""
    api = api_of(suite, cors_protected_route)
    route = cors_protected_route.route
    origin = cors_origins(api.contract)[0]
    exchange = _preflight(api, api.path_for(route), origin, route.method, "Authorization")
    if not 200 <= exchange.status < 300:
        check.fail(exchange, "2xx for a preflight without credentials on a protected route", 204)
    if exchange.header("access-control-allow-origin") != origin:
        check.fail(exchange, f"Access-Control-Allow-Origin: {origin}")
