"""Route selection rules (docs/aws-behaviour.md s1, s9; DOCS http-api-develop-routes)."""

from __future__ import annotations

from fixtures.contract import Integration, Route
from fixtures.emulator.policy.routing import RouteTable, rest_resource_path, select_route


def _route(method: str, path: str) -> Route:
    return Route(
        method=method,
        path=path,
        operation_id=None,
        authorizer=None,
        scopes=(),
        api_key_required=False,
        parameters=(),
        request_bodies={},
        body_required=False,
        request_example=None,
        validator=None,
        integration=Integration(type="mock"),
        responses={},
    )


DOCS_EXAMPLE = [
    _route("GET", "/pets/dog/1"),
    _route("GET", "/pets/dog/{id}"),
    _route("GET", "/pets/{proxy+}"),
    _route("ANY", "/{proxy+}"),
    _route("ANY", "$default"),
]


def _key(table: RouteTable, method: str, path: str) -> str | None:
    match = table.select(method, path)
    return None if match is None else match.route.route_key


def test_http_priority_follows_the_docs_worked_example() -> None:
    table = RouteTable(DOCS_EXAMPLE, "http")
    assert _key(table, "GET", "/pets/dog/1") == "GET /pets/dog/1"
    assert _key(table, "GET", "/pets/dog/2") == "GET /pets/dog/{id}"
    assert _key(table, "GET", "/pets/cat/1") == "GET /pets/{proxy+}"
    assert _key(table, "POST", "/pets/dog/1") == "ANY /{proxy+}"
    assert _key(table, "GET", "/") == "$default"


def test_http_exact_route_params_and_no_match() -> None:
    routes = [_route("GET", "/appointments"), _route("PUT", "/appointments/{id}")]
    table = RouteTable(routes, "http")
    match = table.select("PUT", "/appointments/appt-1")
    assert match is not None and match.route.route_key == "PUT /appointments/{id}"
    assert match.path_params == {"id": "appt-1"}
    assert table.select("GET", "/appointments").path_params == {}  # type: ignore[union-attr]
    assert table.select("DELETE", "/appointments/appt-1") is None  # method not defined: no route
    assert table.select("GET", "/unknown") is None


def test_http_default_route_catches_options_and_unknown_methods() -> None:
    table = RouteTable([_route("GET", "/health"), _route("ANY", "$default")], "http")
    assert _key(table, "OPTIONS", "/health") == "$default"
    assert _key(table, "GET", "/health") == "GET /health"


def test_any_matches_only_methods_not_defined_explicitly() -> None:
    routes = [_route("GET", "/items/{id}"), _route("ANY", "/items/{id}")]
    for flavor in ("http", "rest"):
        table = RouteTable(routes, flavor)  # type: ignore[arg-type]
        assert _key(table, "GET", "/items/7") == "GET /items/{id}"
        assert _key(table, "PATCH", "/items/7") == "ANY /items/{id}"


def test_greedy_longest_prefix_wins() -> None:
    routes = [_route("ANY", "/{proxy+}"), _route("ANY", "/a/{proxy+}"), _route("ANY", "/a/b/{proxy+}")]
    table = RouteTable(routes, "http")
    assert table.select("GET", "/a/b/c/d").path_params == {"proxy": "c/d"}  # type: ignore[union-attr]
    assert table.select("GET", "/a/x").path_params == {"proxy": "x"}  # type: ignore[union-attr]
    assert table.select("GET", "/z/y").path_params == {"proxy": "z/y"}  # type: ignore[union-attr]
    assert table.select("GET", "/a").path_params == {"proxy": "a"}  # type: ignore[union-attr]


def test_path_param_is_a_whole_non_empty_segment() -> None:
    table = RouteTable([_route("GET", "/clinics/{id}")], "http")
    assert table.select("GET", "/clinics/7/staff") is None
    assert table.select("GET", "/clinics//") is None
    assert table.select("GET", "/clinics/7") is not None


def test_rest_most_specific_resource_with_the_method_wins() -> None:
    routes = [_route("GET", "/appointments/{id}"), _route("ANY", "/{proxy+}")]
    table = RouteTable(routes, "rest")
    assert _key(table, "GET", "/appointments/1") == "GET /appointments/{id}"
    # POST is not defined on /appointments/{id}: a less specific resource defining it answers.
    assert _key(table, "POST", "/appointments/1") == "ANY /{proxy+}"
    assert _key(table, "POST", "/other/1") == "ANY /{proxy+}"


def test_rest_method_missing_on_a_resource_falls_back_to_the_greedy_one() -> None:
    """AWS-validated test_proxy_routing_with_hardcoded_resource_sibling: OPTIONS /test (POST only on
    /test) is answered by /{proxy+}'s OPTIONS; /test/any's ANY answers every method there."""
    routes = [_route("POST", "/test"), _route("ANY", "/test/any"), _route("OPTIONS", "/{proxy+}")]
    table = RouteTable(routes, "rest")
    assert _key(table, "OPTIONS", "/test") == "OPTIONS /{proxy+}"
    assert _key(table, "POST", "/test") == "POST /test"
    assert _key(table, "OPTIONS", "/test/any") == "ANY /test/any"
    assert table.select("GET", "/test") is None  # no resource defines GET: 403


def test_rest_leading_slashes_select_the_resource_without_them() -> None:
    """SNAP test_lambda_aws_proxy_integration [invocation-hardcoded, ...-with-prepended-slash]."""
    table = RouteTable([_route("ANY", "/{proxy+}"), _route("ANY", "/hardcoded")], "rest")
    assert _key(table, "GET", "//hardcoded") == "ANY /hardcoded"
    match = table.select("GET", "//proxy-value")
    assert match is not None and match.path_params == {"proxy": "proxy-value"}
    assert rest_resource_path("//a//b") == "/a//b" and rest_resource_path("/a") == "/a"
    http = RouteTable([_route("GET", "/health")], "http")
    assert http.select("GET", "//health") is None  # HTTP API: unknown, not collapsed


def test_rest_wrong_method_on_exact_resource_is_no_route() -> None:
    table = RouteTable([_route("GET", "/appointments")], "rest")
    assert table.select("POST", "/appointments") is None
    assert table.select("GET", "/appointments") is not None
    assert table.path_exists("/appointments") and table.methods_at("/appointments") == {"GET"}
    assert not table.path_exists("/nothing")


def test_rest_trailing_slash_matches_proxy_without_the_slash() -> None:
    table = RouteTable([_route("ANY", "/{proxy+}")], "rest")
    assert table.select("GET", "/proxy-value/").path_params == {"proxy": "proxy-value"}  # type: ignore[union-attr]
    match = table.select("GET", "/proxy-value//double-slash")
    assert match is not None and match.path_params == {"proxy": "proxy-value//double-slash"}


def test_http_trailing_slash_is_not_stripped_by_default() -> None:
    table = RouteTable([_route("GET", "/health")], "http")
    assert table.select("GET", "/health/") is None
    assert (
        RouteTable([_route("GET", "/health")], "http", strip_trailing_slash=True).select("GET", "/health/")
        is not None
    )


def test_encoded_plus_stays_encoded_in_proxy_param() -> None:
    table = RouteTable([_route("ANY", "/{proxy+}")], "rest")
    match = table.select("GET", "/users/a%2Bb@example.com")
    assert match is not None and match.path_params == {"proxy": "users/a%2Bb@example.com"}


def test_greedy_does_not_match_the_root() -> None:
    assert RouteTable([_route("ANY", "/{proxy+}")], "rest").select("GET", "/") is None
    assert RouteTable([_route("GET", "/")], "rest").select("GET", "/") is not None


def test_case_sensitive_by_default_and_configurable() -> None:
    routes = [_route("GET", "/Health"), _route("GET", "/clinics/{id}")]
    assert RouteTable(routes, "http").select("GET", "/health") is None
    assert RouteTable(routes, "http").select("GET", "/Health") is not None
    folded = RouteTable(routes, "http", case_sensitive=False)
    assert folded.select("GET", "/health") is not None
    match = folded.select("GET", "/CLINICS/AbC")
    assert match is not None and match.path_params == {"id": "AbC"}  # params keep their case


def test_method_is_case_insensitive_and_select_route_helper() -> None:
    match = select_route([_route("GET", "/health")], "get", "/health", "http")
    assert match is not None and match.route.path == "/health"
    assert select_route([_route("GET", "/health")], "GET", "/nope", "rest") is None
