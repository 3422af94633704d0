"""REST behaviour recorded on AWS (fixtures/behaviour.py REST_FACTS): the emulator's side of issue 15.

Each test names the recording (LocalStack's AWS-validated snapshots); tests/fidelity replays them whole.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any

import pytest
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from fixtures.behaviour import EVENT_DROPPED_HEADERS, REST_FACTS, Kind
from fixtures.contract import GatewayResponse, MockResponse, Route
from fixtures.emulator.gateway.faults import known_faults
from fixtures.emulator.gateway.ids import TraceIds
from fixtures.emulator.integration import proxy_v1
from fixtures.emulator.serve.protocol import CaseKeepingProtocol
from fixtures.emulator.wire import HEADER_NAMES, Request

from . import _kit as kit
from .asgi_client import header

FULL_TRACE = "Root=1-3152b799-8954dae64eda91bc9a23a7e8;Parent=7fa8c0f79203be72;Sampled=1"


def _proxy_route(method: str, path: str, http_method: str | None = "POST", **kw: Any) -> Route:
    route = kit.route(method, path, function="echo", version="1.0", **kw)
    return dataclasses.replace(
        route, integration=dataclasses.replace(route.integration, http_method=http_method)
    )


def _echo(event: dict, context: Any) -> dict:
    return {"statusCode": 200, "body": json.dumps(event)}


ROUTES = (
    _proxy_route("ANY", "/{proxy+}"),
    _proxy_route("ANY", "/hardcoded"),
    _proxy_route("GET", "/get-method", http_method="GET"),
    kit.route("GET", "/mock", mock=MockResponse(200, {}, '{"statusCode": 200}')),
    kit.route("GET", "/mock-typed", mock=MockResponse(200, {"Content-Type": "text/plain"}, "x")),
)


def _app(faults: tuple[str, ...] = (), gateway_responses: dict[str, GatewayResponse] | None = None) -> Any:
    contract = kit.contract("rest", ROUTES, gateway_responses=gateway_responses)
    return kit.app(kit.gateway(kit.api("rec", "rest"), contract, {"echo": _echo}, faults=faults))


def _event(app: Any, path: str, headers: list[tuple[str, str]] | None = None) -> tuple[Any, dict]:
    resp = kit.send(app, "GET", f"/rec/v1{path}", headers=headers or [("Host", "127.0.0.1:9")])
    assert resp.status == 200, resp
    return resp, json.loads(resp.body)


# --- the payload 1.0 event ---------------------------------------------------------------------


def test_event_keeps_the_client_header_case_and_drops_hop_by_hop_headers() -> None:
    """SNAP test_lambda_aws_proxy_integration [invocation-payload-without-trailing-slash]: `tEsT-HEADeR`
    kept, `authorization` arrives as Authorization; Connection and Content-Length never arrive."""
    sent = [
        ("Host", "127.0.0.1:9"),
        ("tEsT-HEADeR", "aValUE"),
        ("authorization", "random-value"),
        ("Connection", "keep-alive"),
        ("Content-Length", "0"),
        ("X-Forwarded-For", "198.51.100.7"),
    ]
    _, event = _event(_app(), "/proxy-value", sent)
    headers = event["headers"]
    assert headers["tEsT-HEADeR"] == "aValUE" and headers["Authorization"] == "random-value"
    assert "Connection" not in headers and "Content-Length" not in headers
    assert event["multiValueHeaders"]["tEsT-HEADeR"] == ["aValUE"]
    # Added by the gateway (SNAP header_remapping_aws[AWS_PROXY] no-param-integration, values masked).
    assert headers["X-Forwarded-For"] == "198.51.100.7, 127.0.0.1"
    assert headers["X-Forwarded-Port"] == "9" and headers["X-Forwarded-Proto"] == "http"
    assert headers["X-Amzn-Trace-Id"].startswith("Root=1-")


def test_rest_headers_without_the_server_names_use_the_request_names() -> None:
    request = Request("GET", "/x", "", (("X-A", "1"), ("te", "trailers"), ("AUTHORIZATION", "t")), b"")
    assert proxy_v1.rest_headers(request) == [("X-A", "1"), ("Authorization", "t")]
    named = request._replace(headers=(("x-a", "1"), ("te", "t"), ("authorization", "t")))
    named = named._replace(header_names=[b"X-a", b"TE", b"Authorization"])
    named = named._replace(headers=(*named.headers, ("x-forwarded-for", "1.2.3.4")))
    named = named._replace(header_names=[*named.header_names, b"x-forwarded-for"])
    added = (("X-Forwarded-For", "1.2.3.4, 10.0.0.1"),)  # the gateway's replaces the client's
    assert proxy_v1.rest_headers(named, added) == [("X-a", "1"), ("Authorization", "t"), *added]
    assert "transfer-encoding" in EVENT_DROPPED_HEADERS


def test_every_recorded_fact_names_its_recording() -> None:
    for name, fact in REST_FACTS.items():
        assert fact.confidence == "SNAP" and ("snapshot.json" in fact.source or ".py " in fact.source), name


def test_leading_slashes_select_the_resource_and_the_event_path() -> None:
    """SNAP [invocation-hardcoded, invocation-payload-with-prepended-slash]."""
    app = _app()
    _, hard = _event(app, "//hardcoded")
    assert (hard["resource"], hard["path"], hard["pathParameters"]) == ("/hardcoded", "/hardcoded", None)
    assert hard["requestContext"]["path"] == "/v1//hardcoded"
    _, proxy = _event(app, "//proxy-value")
    assert proxy["path"] == "/proxy-value" and proxy["pathParameters"] == {"proxy": "proxy-value"}
    _, inner = _event(app, "/proxy-value//double-slash")  # kept further in
    assert inner["path"] == "/proxy-value//double-slash"


def test_slashes_before_a_rest_stage_are_one() -> None:
    """SNAP [invocation-payload-with-prepended-slash-to-stage]: `//stage/x` is the stage's /x."""
    resp = kit.send(_app(), "GET", "//rec/v1/proxy-value", headers=[("Host", "h")])
    assert resp.status == 200 and json.loads(resp.body)["requestContext"]["path"] == "/v1/proxy-value"


# --- X-Amzn-Trace-Id ---------------------------------------------------------------------------


def test_trace_id_on_proxy_answers_and_in_the_event_not_on_mock_answers() -> None:
    """SNAP test_invocation_trace_id [normal-req-headers-AWS_PROXY, normal-req-headers-MOCK]."""
    app = _app()
    resp, event = _event(app, "/proxy-value")
    assert header(resp, "X-Amzn-Trace-Id") == event["headers"]["X-Amzn-Trace-Id"]
    mock = kit.send(app, "GET", "/rec/v1/mock")
    assert header(mock, "X-Amzn-Trace-Id") is None
    full, _ = _event(app, "/proxy-value", [("Host", "h"), ("X-Amzn-Trace-Id", FULL_TRACE)])
    assert header(full, "X-Amzn-Trace-Id") == FULL_TRACE


def test_trace_ids_keep_a_client_trace_and_complete_a_root() -> None:
    """SNAP [trace-id-req-headers-AWS_PROXY, trace-id-small-req-headers-AWS_PROXY]."""
    traces = TraceIds()
    assert traces(FULL_TRACE, 0.0) == FULL_TRACE
    root = "Root=1-3152b799-8954dae64eda91bc9a23a7e8"
    made = traces(root, 0.0).split(";")
    assert made[0] == root and made[1].startswith("Parent=") and len(made[1]) == 23
    new = traces(None, 1_800_000_000.0)
    assert new.startswith("Root=1-6b49d200-") and traces(None, 0.0) != traces(None, 0.0)
    assert traces("Self=1-abc;xRoot=2", 0.0).startswith("Root=1-00000000-")  # no Root: a new trace


# --- MOCK answers, non-POST Lambda proxy integrations -------------------------------------------


def test_mock_answers_are_json_unless_they_say_otherwise() -> None:
    """SNAP test_invocation_trace_id [normal-req-headers-MOCK]: content-type application/json."""
    app = _app()
    assert header(kit.send(app, "GET", "/rec/v1/mock"), "Content-Type") == "application/json"
    assert header(kit.send(app, "GET", "/rec/v1/mock-typed"), "Content-Type") == "text/plain"


def test_lambda_proxy_with_a_non_post_method_fails_every_call_with_500() -> None:
    """SNAP test_lambda_aws_proxy_integration_non_post_method: 500, the function never runs."""
    calls: list[dict] = []
    contract = kit.contract("rest", ROUTES)
    gw = kit.gateway(kit.api("rec", "rest"), contract, {"echo": lambda e, c: calls.append(e) or _echo(e, c)})
    resp = kit.send(kit.app(gw), "GET", "/rec/v1/get-method")
    assert (resp.status, resp.body) == (500, b'{"message": "Internal server error"}')
    assert header(resp, "x-amzn-ErrorType") == "InternalServerErrorException" and calls == []
    # INTEGRATION_FAILURE customised without a status keeps 500 (the recording's own gateway response).
    custom = {"INTEGRATION_FAILURE": GatewayResponse("INTEGRATION_FAILURE", None, {}, None)}
    assert kit.send(_app(gateway_responses=custom), "GET", "/rec/v1/get-method").status == 500


def test_fault_deploys_the_first_lambda_proxy_integration_with_get() -> None:
    assert "shape.lambda_proxy_not_post" in known_faults()
    app = _app(faults=("shape.lambda_proxy_not_post",))
    assert kit.send(app, "GET", "/rec/v1/proxy-value").status == 500  # ANY /{proxy+}: the first one
    assert kit.send(app, "GET", "/rec/v1/hardcoded").status == 200


def test_double_slash_fault_still_skips_the_authorizer_on_rest() -> None:
    """The resource of `//x` is /x's (with its authorizer); the fault skips it."""
    routes = (_proxy_route("GET", "/secure", authorizer="tok"),)
    contract = kit.contract("rest", routes, authorizers={"tok": kit.TOKEN_AUTHORIZER})
    handlers = {"echo": _echo, "tok-fn": lambda e, c: {"principalId": "p"}}
    plain = kit.app(kit.gateway(kit.api("rec", "rest"), contract, handlers))
    assert kit.send(plain, "GET", "/rec/v1//secure").status == 401  # routed to /secure, guarded
    faulty = kit.gateway(kit.api("rec", "rest"), contract, handlers, faults=("routing.double_slash_bypass",))
    assert kit.send(kit.app(faulty), "GET", "/rec/v1//secure").status == 200


# --- the server: header names as sent ----------------------------------------------------------


class _Transport:
    def __init__(self) -> None:
        self.data = b""

    def get_extra_info(self, name: str, default: object = None) -> object:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 40000)}.get(name, default)

    def write(self, data: bytes) -> None:
        self.data += data

    def is_closing(self) -> bool:
        return False

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...

    def close(self) -> None: ...


def _serve_once(request: bytes, protocol_class: type = CaseKeepingProtocol) -> tuple[dict, bytes]:
    """One request through the protocol in-process: the scope the app saw, the bytes written."""
    from uvicorn.config import Config
    from uvicorn.server import ServerState

    seen: dict = {}

    async def app(scope: dict, receive: Any, send: Any) -> None:
        seen.update(scope)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"tesT-Multi", b"v")]})
        await send({"type": "http.response.body", "body": b""})

    async def run() -> bytes:
        config = Config(app, http=protocol_class, lifespan="off", access_log=False)
        config.load()
        protocol = protocol_class(config=config, server_state=ServerState(), app_state={})
        transport = _Transport()
        protocol.connection_made(transport)  # type: ignore[arg-type]
        protocol.data_received(request)
        for _ in range(20):
            await asyncio.sleep(0)
        return transport.data

    return seen, asyncio.run(run())


def test_the_server_passes_the_header_names_as_sent() -> None:
    request = b"GET /x HTTP/1.1\r\nHost: h\r\ntEsT-HEADeR: v\r\nExpect: 100-Continue\r\n\r\n"
    scope, _ = _serve_once(request)
    assert scope["extensions"][HEADER_NAMES]["names"] == [b"Host", b"tEsT-HEADeR", b"Expect"]
    plain, _ = _serve_once(request, HttpToolsProtocol)  # uvicorn's own: the same ASGI headers
    assert (
        scope["headers"]
        == plain["headers"]
        == [(b"host", b"h"), (b"test-header", b"v"), (b"expect", b"100-Continue")]
    )
    assert "extensions" not in plain


def test_known_deviation_response_header_names_go_out_lower_case() -> None:
    """README, Assumptions and limits: uvicorn's httptools server lower-cases response header names
    (AWS keeps `tesT-Multi`, SNAP [invocation-api-multi-headers-overwrite-casing])."""
    _, written = _serve_once(b"GET /x HTTP/1.1\r\nHost: h\r\n\r\n")
    assert b"\r\ntest-multi: v\r\n" in written and b"tesT-Multi" not in written


@pytest.mark.parametrize("kind", [Kind.INTEGRATION_MISCONFIGURED])
def test_recorded_kinds_have_rest_answers(kind: Kind) -> None:
    from fixtures.behaviour import answer

    assert answer("rest", kind).confidence == "SNAP"
