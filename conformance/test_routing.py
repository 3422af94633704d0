"""Routing rules: unknown paths and methods are refused per flavour; no path or method variant
reaches a protected route (one that needs an identity or an API key) without credentials.

Each bypass variant is its own rule, checked per protected route, after that route's positive
control (valid credentials, canonical request) has succeeded: a stage that refuses everything
proves nothing.

https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-known-issues.html
"""

from __future__ import annotations

from dataclasses import replace

from conformance.catalog.records import ApiCase, MethodCase, OverrideCase, RouteCase
from conformance.harness.api import ApiUnderTest
from conformance.harness.expect import Check
from conformance.session import Suite, api_of
from fixtures.behaviour import Kind
from fixtures.contract import Route


def _variant(check: Check, api: ApiUnderTest, route: Route, path: str, method: str | None = None) -> None:
    check.control(api, route)
    spec = api.without_credentials(route)  # neither identity nor API key
    spec = replace(spec, path=path, method=method or spec.method)
    check.not_reached(api.send(spec), f"{spec.method} {path} without credentials")


def _case_changed(path: str) -> str:
    head, _, rest = path.lstrip("/").partition("/")
    changed = head[:1].upper() + head[1:] if head[:1].islower() else head.lower()
    return "/" + changed + (("/" + rest) if rest else "")


def test_unknown_path_is_rejected(suite: Suite, check: Check, api_case: ApiCase) -> None:
    api = api_of(suite, api_case)
    check.api_control(api)  # a stage that refuses every path proves nothing here
    check.rejected(api, api.client.send("GET", "/stagegate-no-such-route"), Kind.NOT_FOUND)


def test_wrong_method_is_rejected(suite: Suite, check: Check, wrong_method_case: MethodCase) -> None:
    """A method the path does not define is refused (HTTP API 404, REST 403)."""
    route = wrong_method_case.case.route
    api = api_of(suite, wrong_method_case)
    check.control(api, route)
    spec = replace(api.valid_request(route), method=wrong_method_case.method)
    check.rejected(api, api.send(spec), Kind.NOT_FOUND)


def test_protected_route_not_reachable_via_trailing_slash(
    suite: Suite, check: Check, protected_route: RouteCase
) -> None:
    api = api_of(suite, protected_route)
    _variant(check, api, protected_route.route, api.path_for(protected_route.route) + "/")


def test_protected_route_not_reachable_via_double_slash(
    suite: Suite, check: Check, protected_route: RouteCase
) -> None:
    api = api_of(suite, protected_route)
    _variant(check, api, protected_route.route, "/" + api.path_for(protected_route.route))


def test_protected_route_not_reachable_via_case_change(
    suite: Suite, check: Check, protected_route: RouteCase
) -> None:
    api = api_of(suite, protected_route)
    _variant(check, api, protected_route.route, _case_changed(api.path_for(protected_route.route)))


def test_protected_route_not_reachable_via_encoded_slash(
    suite: Suite, check: Check, protected_route: RouteCase
) -> None:
    api = api_of(suite, protected_route)
    path = api.path_for(protected_route.route)
    encoded = "/" + path.lstrip("/").replace("/", "%2F") if path.count("/") > 1 else "/%2F" + path.lstrip("/")
    _variant(check, api, protected_route.route, encoded)


def test_protected_route_not_reachable_via_dot_segment(
    suite: Suite, check: Check, protected_route: RouteCase
) -> None:
    api = api_of(suite, protected_route)
    _variant(check, api, protected_route.route, "/." + api.path_for(protected_route.route))


def test_protected_route_not_reachable_via_head(
    suite: Suite, check: Check, protected_get_route: RouteCase
) -> None:
    """HEAD on a protected GET route is protected like the GET."""
    api = api_of(suite, protected_get_route)
    _variant(check, api, protected_get_route.route, api.path_for(protected_get_route.route), "HEAD")


def test_protected_route_not_reachable_via_method_override(
    suite: Suite, check: Check, override_case: OverrideCase
) -> None:
    """X-HTTP-Method-Override naming a stronger route is refused or ignored, never served.

    The answer must be a 4xx rejection, or the sent route's own answer: a success with the status
    its control got. A 5xx proves neither (the target's handler may have run on the sent request).
    """
    api = api_of(suite, override_case)
    sent, target = override_case.case.route, override_case.target
    control = check.control(api, sent)
    spec = api.valid_request(sent)
    body = api.valid_request(target, authenticated=False).body
    spec = replace(spec, body=body).merge_headers(
        {"X-HTTP-Method-Override": target.method, "Content-Type": "application/json" if body else None}
    )
    exchange = api.send(spec)
    rejected = 400 <= exchange.status < 500
    own_answer = exchange.status == control.status and str(exchange.status) in sent.responses
    if not (rejected or own_answer):
        check.fail(
            exchange,
            f"a 4xx rejection or {sent.route_key}'s own {control.status}, not {target.route_key}'s answer",
            403,
        )
