"""render(): the one place a Rejection becomes HTTP (exact bytes per flavour, gateway responses)."""

from __future__ import annotations

from fixtures.behaviour import Kind
from fixtures.contract import GatewayResponse
from fixtures.emulator.gateway.render import apigw_id, render
from fixtures.emulator.wire import Rejection

from .asgi_client import header, headers_named

RID = "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d"
CORS_GW = {
    "DEFAULT_4XX": GatewayResponse(
        "DEFAULT_4XX", None, {"Access-Control-Allow-Origin": "https://p.example"}, None
    ),
    "DEFAULT_5XX": GatewayResponse(
        "DEFAULT_5XX", None, {"Access-Control-Allow-Origin": "https://p.example"}, None
    ),
}


def test_http_unauthorized_is_compact_json_with_request_id() -> None:
    """HTTP API 401: '{"message":"Unauthorized"}' (Content-Length 26, DOCS troubleshooting-jwt)."""
    resp = render("http", Rejection(Kind.UNAUTHORIZED), "Mc7UVioPPHcEKPA=")
    assert resp.status == 401
    assert resp.body == b'{"message":"Unauthorized"}' and len(resp.body) == 26
    assert header(resp, "apigw-requestid") == "Mc7UVioPPHcEKPA="
    assert header(resp, "content-type") == "application/json"
    assert header(resp, "x-amzn-ErrorType") is None


def test_rest_not_found_is_missing_authentication_token() -> None:
    """REST unknown path: 403 Missing Authentication Token (SNAP test_routing_not_found)."""
    resp = render("rest", Rejection(Kind.NOT_FOUND), RID)
    assert resp.status == 403
    assert resp.body == b'{"message": "Missing Authentication Token"}'
    assert header(resp, "x-amzn-ErrorType") == "MissingAuthenticationTokenException"
    assert header(resp, "x-amzn-RequestId") == RID
    assert header(resp, "x-amz-apigw-id") == apigw_id(RID)


def test_rest_integration_error_body_has_length_36() -> None:
    """SNAP: '{"message": "Internal server error"}' is 36 bytes, status 502 for a bad proxy answer."""
    resp = render("rest", Rejection(Kind.INTEGRATION_ERROR), RID)
    assert (resp.status, len(resp.body)) == (502, 36)


def test_message_override_carries_missing_parameters() -> None:
    msg = "Missing required request parameters: [clinic_id]"
    resp = render("rest", Rejection(Kind.BAD_REQUEST_PARAMETERS, message=msg), RID)
    assert resp.status == 400
    assert resp.body == b'{"message": "Missing required request parameters: [clinic_id]"}'
    assert header(resp, "x-amzn-ErrorType") == "BadRequestException"


def test_rejection_headers_are_sent() -> None:
    rej = Rejection(Kind.UNAUTHORIZED, headers=(("www-authenticate", "Bearer"),))
    assert header(render("http", rej, "x"), "www-authenticate") == "Bearer"


def test_default_4xx_and_5xx_gateway_responses_add_their_headers() -> None:
    """DOCS gateway responses: DEFAULT_4XX/5XX response parameters apply to every 4xx/5xx."""
    four = render("rest", Rejection(Kind.INVALID_API_KEY), RID, CORS_GW)
    five = render("rest", Rejection(Kind.INTEGRATION_ERROR), RID, CORS_GW)
    plain = render("rest", Rejection(Kind.INVALID_API_KEY), RID, {})
    assert header(four, "Access-Control-Allow-Origin") == "https://p.example"
    assert header(five, "Access-Control-Allow-Origin") == "https://p.example"
    assert header(plain, "Access-Control-Allow-Origin") is None  # control: no gateway responses


def test_specific_gateway_response_overrides_status_and_template() -> None:
    custom = dict(CORS_GW)
    custom["UNAUTHORIZED"] = GatewayResponse(
        "UNAUTHORIZED", 418, {"X-Why": "custom"}, '{"error":$context.error.messageString,"t":"x"}'
    )
    resp = render("rest", Rejection(Kind.UNAUTHORIZED), RID, custom)
    assert resp.status == 418
    assert resp.body == b'{"error":"Unauthorized","t":"x"}'
    assert header(resp, "X-Why") == "custom"
    # A customised type takes nothing from DEFAULT_4XX (SNAP test_apigateway_api.snapshot.json
    # TestApiGatewayGatewayResponse::test_gateway_response_put [put-gateway-response-default-ignored]).
    assert header(resp, "Access-Control-Allow-Origin") is None
    other = render("rest", Rejection(Kind.THROTTLED), RID, custom)
    assert other.status == 429 and other.body == b'{"message": "Too Many Requests"}'
    assert header(other, "Access-Control-Allow-Origin") == "https://p.example"  # not customised: DEFAULT_4XX


def test_customised_type_without_status_keeps_its_own_and_only_its_parameters() -> None:
    """SNAP test_gateway_response_put [get-gateway-responses]: DEFAULT_5XX 599 + a header; a type
    customised with a header only keeps its own status; a type left alone takes DEFAULT_5XX's."""
    custom = {
        "DEFAULT_5XX": GatewayResponse("DEFAULT_5XX", 599, {"x-request-header": "a"}, '{"m":1}'),
        "INTEGRATION_FAILURE": GatewayResponse("INTEGRATION_FAILURE", None, {"foo": "bar"}, None),
    }
    own = render("rest", Rejection(Kind.INTEGRATION_MISCONFIGURED), RID, custom)
    assert own.status == 500 and own.body == b'{"message": "Internal server error"}'
    assert header(own, "foo") == "bar" and header(own, "x-request-header") is None
    inherited = render("rest", Rejection(Kind.AUTHORIZER_ERROR), RID, custom)
    assert inherited.status == 599 and inherited.body == b'{"m":1}'
    assert header(inherited, "x-request-header") == "a" and header(inherited, "foo") is None


def test_request_too_large_is_not_customisable() -> None:
    """DOCS limits: the 413 gateway response cannot be customised."""
    custom = {"DEFAULT_4XX": GatewayResponse("DEFAULT_4XX", 400, {"X-A": "b"}, '{"x":1}')}
    resp = render("rest", Rejection(Kind.REQUEST_TOO_LARGE), RID, custom)
    assert resp.status == 413 and header(resp, "X-A") is None


def test_kind_missing_in_flavour_answers_generic_500() -> None:
    resp = render("http", Rejection(Kind.INVALID_API_KEY), "id")
    assert resp.status == 500 and resp.body == b'{"message":"Internal Server Error"}'


def test_http_cors_headers_on_gateway_errors() -> None:
    cors = (("access-control-allow-origin", "https://portal.example"),)
    resp = render("http", Rejection(Kind.UNAUTHORIZED), "id", cors_headers=cors)
    assert header(resp, "access-control-allow-origin") == "https://portal.example"


def test_fault_no_headers_on_error_drops_cors_on_4xx() -> None:
    cors = (("access-control-allow-origin", "https://portal.example"),)
    faults = frozenset({"cors.no_headers_on_error"})
    http = render("http", Rejection(Kind.UNAUTHORIZED), "id", cors_headers=cors, faults=faults)
    rest = render("rest", Rejection(Kind.INVALID_API_KEY), RID, CORS_GW, faults=faults)
    assert header(http, "access-control-allow-origin") is None
    assert header(rest, "Access-Control-Allow-Origin") is None


def test_fault_non_gateway_error_bodies() -> None:
    faults = frozenset({"shape.non_gateway_error_bodies"})
    resp = render("http", Rejection(Kind.UNAUTHORIZED), "id", faults=faults)
    assert resp.status == 401 and resp.body == b'{"error": "Unauthorized"}'


def test_fault_missing_request_id() -> None:
    faults = frozenset({"shape.missing_request_id"})
    assert (
        headers_named(render("rest", Rejection(Kind.NOT_FOUND), RID, faults=faults), "x-amzn-RequestId") == []
    )
    assert (
        headers_named(render("http", Rejection(Kind.NOT_FOUND), "i", faults=faults), "apigw-requestid") == []
    )
