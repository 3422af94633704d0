"""The ASGI app: mounts, health, issuer documents, access log, lifespan, malformed requests."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
import time
from typing import Any

import pytest

from fixtures.emulator.integration.invoke import Invoker
from fixtures.emulator.serve.accesslog import AccessLog
from fixtures.emulator.serve.server import App, Mount, base_path_of, build_mounts, encode_headers
from fixtures.emulator.wire import Request, sendable
from fixtures.stage import SigningKey, contract_of, load_stage
from fixtures.tokens import TokenFactory, ensure_signing_key, jwks

from . import _kit as kit
from .asgi_client import header

ROUTES = (
    kit.route("GET", "/health", function="ok"),
    kit.route("POST", "/echo", function="parse"),
)


def _parse(event: dict, context: Any) -> dict:
    data = json.loads(event.get("body") or "")  # raises on bad JSON: the gateway must survive it
    return {"statusCode": 200, "body": json.dumps(data)}


@pytest.fixture
def app(tmp_path) -> App:
    key = str(tmp_path / "k.pem")
    ensure_signing_key(key)
    handlers = {"ok": kit.json_handler({"ok": 1}), "parse": _parse}
    portal = kit.gateway(kit.api("portal", "http"), kit.contract("http", ROUTES), handlers)
    partner = kit.gateway(kit.api("partner", "rest"), kit.contract("rest", ROUTES), handlers)
    doc = json.dumps(jwks(key, "kid-1")).encode()
    return App(
        [Mount("/portal", portal, doc, kit.ISSUER), Mount("/partner/v1", partner)],
        AccessLog(str(tmp_path / "access.log")),
    )


def test_base_path_of() -> None:
    assert base_path_of("http://127.0.0.1:{port}/partner/v1/") == "/partner/v1"


def test_health(app: App) -> None:
    resp = kit.send(app, "GET", "/_stagegate/health")
    assert (resp.status, resp.body) == (200, b'{"status":"ok"}')


def test_mounts_route_to_their_flavour(app: App) -> None:
    assert kit.send(app, "GET", "/portal/health").status == 200
    assert kit.send(app, "GET", "/partner/v1/health").status == 200
    assert kit.send(app, "GET", "/portal/nope").body == b'{"message":"Not Found"}'
    assert kit.send(app, "GET", "/partner/v1/nope").body == b'{"message": "Missing Authentication Token"}'
    outside = kit.send(app, "GET", "/elsewhere")
    assert (outside.status, outside.body) == (404, b'{"message":"Not Found"}')


def test_issuer_documents(app: App) -> None:
    keys = json.loads(kit.send(app, "GET", "/portal/_stagegate/issuer/.well-known/jwks.json").body)
    assert keys["keys"][0]["kid"] == "kid-1" and keys["keys"][0]["kty"] == "RSA"
    conf = kit.send(
        app,
        "GET",
        "/portal/_stagegate/issuer/.well-known/openid-configuration",
        headers=[("Host", "127.0.0.1:9")],
    )
    doc = json.loads(conf.body)
    assert doc["issuer"] == kit.ISSUER
    assert doc["jwks_uri"] == "http://127.0.0.1:9/portal/_stagegate/issuer/.well-known/jwks.json"
    assert kit.send(app, "GET", "/partner/v1/_stagegate/issuer/.well-known/jwks.json").status == 404  # no key


def test_content_length_set_and_handler_length_dropped(app: App) -> None:
    resp = kit.send(app, "GET", "/portal/health")
    assert header(resp, "content-length") == str(len(resp.body))


def test_access_log_line_per_request(app: App, tmp_path) -> None:
    kit.send(app, "GET", "/portal/health", query="api_key=secret-value-123")
    kit.send(app, "POST", "/partner/v1/echo", body=b"{bad")
    lines = (tmp_path / "access.log").read_text().splitlines()
    first, second = (json.loads(line) for line in lines)
    assert set(first) == {
        "requestId",
        "ip",
        "requestTime",
        "httpMethod",
        "routeKey",
        "status",
        "protocol",
        "responseLength",
        "integrationError",
    }
    assert (first["routeKey"], first["status"], first["integrationError"]) == ("GET /health", 200, "-")
    assert (second["status"], second["integrationError"]) == (502, "handler raised JSONDecodeError")
    assert "secret-value-123" not in "\n".join(lines)


@pytest.mark.parametrize(
    ("path", "query"),
    [(b"/portal/\xff\xfe", b""), (b"/portal/health", b"a=\xff"), (b"/partner/v1/\xc3", b"")],
)
def test_invalid_utf8_is_400_and_server_keeps_serving(app: App, path: bytes, query: bytes) -> None:
    resp = kit.send(app, "GET", path, query=query)
    assert resp.status == 400
    assert header(resp, "apigw-requestid") or header(resp, "x-amzn-RequestId")
    assert kit.send(app, "GET", "/portal/health").status == 200


def test_percent_encoded_garbage_and_bad_bodies_do_not_crash(app: App) -> None:
    assert kit.send(app, "GET", "/portal/%FF%FE", query="x=%FF").status == 404
    assert kit.send(app, "POST", "/portal/echo", body=b"{not json").status == 500
    assert (
        kit.send(
            app, "POST", "/portal/echo", body=b"\xff\xfe\x00", headers=[("Content-Type", "image/png")]
        ).status
        == 500
    )
    ok = kit.send(app, "POST", "/portal/echo", body=b'{"a": 1}', headers=[("Content-Type", "text/plain")])
    assert (ok.status, ok.body) == (200, b'{"a": 1}')


def test_huge_headers_get_the_documented_413_and_do_not_crash(app: App) -> None:
    """400 KB of headers: over API Gateway's 10,240 bytes (DOCS limits), REQUEST_TOO_LARGE, per flavour."""
    headers = [(f"X-Big-{i}", "v" * 8000) for i in range(50)]
    resp = kit.send(app, "GET", "/portal/health", headers=headers)
    assert (resp.status, resp.body) == (413, b'{"message":"Request Too Large"}')
    assert kit.send(app, "GET", "/partner/v1/health", headers=headers).status == 413
    assert kit.send(app, "GET", "/portal/health", headers=[("X-Big", "v" * 9000)]).status == 200


@pytest.mark.parametrize("suspends", [False, True], ids=["sync-step", "awaited-step"])
def test_gateway_bug_is_500_not_a_crash(app: App, monkeypatch: pytest.MonkeyPatch, suspends: bool) -> None:
    async def broken_later() -> None:
        raise RuntimeError("bug")

    def broken(request: Request) -> Any:
        if suspends:  # the bug is met after an await (Lambda authorizer, pooled handler)
            return broken_later()
        raise RuntimeError("bug")

    portal = next(m.gateway for m in app.mounts if m.base_path == "/portal")
    monkeypatch.setattr(portal, "begin", broken)  # the server's entry into the gateway
    resp = kit.send(app, "GET", "/portal/health")
    assert (resp.status, resp.body) == (500, b'{"message":"Internal Server Error"}')
    assert kit.send(app, "GET", "/partner/v1/health").status == 200


def test_lifespan_startup_and_shutdown(app: App) -> None:
    messages = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict] = []

    async def receive() -> dict:
        return messages.pop(0)

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(app({"type": "lifespan"}, receive, send))
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


def _local_app(tmp_path, faults: frozenset[str]) -> tuple[App, str]:
    """The local stage's APIs in-process (real contracts and clinic handlers), with a private issuer key."""
    stage = load_stage("local").with_port(8000)
    key = str(tmp_path / "portal.pem")
    ensure_signing_key(key)
    portal = stage.api("portal")
    signing = SigningKey(key, portal.credentials.signing_key.kid)
    portal = dataclasses.replace(
        portal, credentials=dataclasses.replace(portal.credentials, signing_key=signing)
    )
    stage = dataclasses.replace(stage, apis=(portal,))
    jwt = contract_of(portal).authorizers["clinic-cognito"]
    token = TokenFactory(key, signing.kid, jwt.issuer, jwt.audience).valid(["appointments/write"])
    return App(build_mounts(stage, faults)), token


def test_handler_fault_reaches_make_handlers(tmp_path) -> None:
    """handler.skip_body_validation is passed to make_handlers: an invalid body is accepted."""
    bad = json.dumps({"clinic_id": "c1"}).encode()  # patient_id and datetime missing
    for faults, expected in ((frozenset(), 400), (frozenset({"handler.skip_body_validation"}), 201)):
        app, token = _local_app(tmp_path, faults)
        headers = [("Authorization", f"Bearer {token}"), ("Content-Type", "application/json")]
        resp = kit.send(app, "POST", "/portal/appointments", headers=headers, body=bad)
        assert resp.status // 100 == expected // 100, (faults, resp.status, resp.body)


# ---- the handler invoker: thread pool with timeout, inline once proven fast ------------------------------


def _invoke_many(invoker: Invoker, handler: Any, times: int, timeout_s: float = 1.0) -> list[Any]:
    async def run() -> list[Any]:
        return [await invoker(handler, {}, None, timeout_s) for _ in range(times)]

    return asyncio.run(run())


def test_fast_handler_goes_inline_after_probation() -> None:
    invoker = Invoker()
    seen: list[str] = []

    def fast(event: dict, context: Any) -> str:
        seen.append(threading.current_thread().name)
        return "ok"

    assert _invoke_many(invoker, fast, Invoker.PROBATION + 3) == ["ok"] * (Invoker.PROBATION + 3)
    assert all(name.startswith("lambda") for name in seen[: Invoker.PROBATION])  # probation: the pool
    assert seen[-1] == threading.main_thread().name  # then inline on the loop
    invoker.close()


def test_sleeping_handler_stays_in_the_pool_and_times_out() -> None:
    invoker = Invoker()

    def sleepy(event: dict, context: Any) -> str:
        time.sleep(0.06)  # no CPU, but more than PROBATION_WALL_S of wall time
        return "late"

    _invoke_many(invoker, sleepy, Invoker.PROBATION + 1)
    with pytest.raises(TimeoutError):
        _invoke_many(invoker, sleepy, 1, timeout_s=0.01)
    invoker.close()


def test_inline_handler_turning_slow_is_demoted() -> None:
    invoker = Invoker()
    delay = [0.0]

    def variable(event: dict, context: Any) -> str:
        time.sleep(delay[0])
        return threading.current_thread().name

    _invoke_many(invoker, variable, Invoker.PROBATION + 1)
    delay[0] = Invoker.SLOW_S * 2
    first, second = _invoke_many(invoker, variable, Invoker.SLOW_STRIKES)
    assert first == threading.main_thread().name  # one late call alone does not demote
    assert second == threading.main_thread().name
    assert _invoke_many(invoker, variable, 1)[0].startswith("lambda")  # demoted: back to the pool
    invoker.close()


def test_inline_handler_past_its_timeout_is_a_timeout() -> None:
    invoker = Invoker()
    delay = [0.0]

    def variable(event: dict, context: Any) -> str:
        time.sleep(delay[0])
        return "done"

    assert _invoke_many(invoker, variable, Invoker.PROBATION + 1) == ["done"] * (Invoker.PROBATION + 1)
    assert _invoke_many(invoker, variable, 1, timeout_s=0.5) == ["done"]  # control: inline, in time
    delay[0] = 0.03
    with pytest.raises(TimeoutError):  # inline held the loop, but the answer is still the timeout
        _invoke_many(invoker, variable, 1, timeout_s=0.01)
    invoker.close()


def test_thread_mode_never_goes_inline() -> None:
    invoker = Invoker(mode="thread")
    names = _invoke_many(invoker, lambda e, c: threading.current_thread().name, Invoker.PROBATION + 3)
    assert all(name.startswith("lambda") for name in names)
    invoker.close()


# ---- request ids and response headers --------------------------------------------------------------


def test_request_ids_have_the_aws_shapes_and_do_not_repeat() -> None:
    import base64
    import uuid

    from fixtures.emulator.gateway.ids import RequestIds, new_request_id

    for make in (RequestIds("http"), lambda: new_request_id("http")):
        ids = {make() for _ in range(2000)}
        assert len(ids) == 2000
        assert all(len(i) == 16 and len(base64.b64decode(i)) == 11 for i in ids)
    for make in (RequestIds("rest"), lambda: new_request_id("rest")):
        ids = {make() for _ in range(2000)}
        assert len(ids) == 2000
        assert all(str(uuid.UUID(i)) == i and uuid.UUID(i).version == 4 for i in ids)
        assert all(uuid.UUID(i).variant == uuid.RFC_4122 for i in ids)


def test_response_headers_encoded_and_server_owned_ones_dropped(tmp_path) -> None:
    handlers = {
        "ok": lambda e, c: {
            "statusCode": 200,
            "headers": {"X-Split": "a\r\nInjected: 1", "Content-Length": "999", "Connection": "close"},
            "body": "abc",
        }
    }
    app = kit.app(kit.gateway(kit.api("portal", "http"), kit.contract("http", ROUTES), handlers))
    for _ in range(2):  # the same answer twice: nothing remembered changes it
        resp = kit.send(app, "GET", "/portal/health")
        assert resp.status == 200 and resp.body == b"abc"
        assert header(resp, "x-split") == "a  Injected: 1"  # no response splitting
        assert header(resp, "content-length") == "3"  # the server's own length, once
        assert [k for k, _ in resp.headers if k.lower() == "content-length"] == ["content-length"]
        assert header(resp, "connection") is None
        assert header(resp, "apigw-requestid")


def test_encode_headers_in_order_with_the_length() -> None:
    headers = (("content-type", "application/json"), ("X-Name", "café"), ("empty", ""))
    assert encode_headers(headers, 17) == [
        (b"content-type", b"application/json"),
        (b"X-Name", "café".encode("latin-1")),
        (b"empty", b""),
        (b"content-length", b"17"),
    ]
    assert encode_headers((), 0) == [(b"content-length", b"0")]
    assert encode_headers((("x", "snow \u2603"),), 1)[0] == (b"x", b"snow ?")  # not latin-1: replaced


@pytest.mark.parametrize(
    ("value", "sent"),
    [
        ("a\r\nInjected: 1", "a  Injected: 1"),
        ("nul\x00byte", "nul byte"),
        ("bell\x07", "bell "),
        ("tab\tok", "tab\tok"),
        ("nbsp\xa0kept", "nbsp\xa0kept"),  # not printable, not a control character
    ],
)
def test_sendable_control_characters_become_spaces(value: str, sent: str) -> None:
    assert sendable((("x-a", "1"), ("x-b", value))) == (("x-a", "1"), ("x-b", sent))


def test_sendable_framing_headers_dropped_whatever_their_case() -> None:
    headers = (
        ("Content-Length", "999"),
        ("x-keep", "connection"),
        ("TRANSFER-ENCODING", "chunked"),
        ("connection", "close"),
    )
    assert sendable(headers) == (("x-keep", "connection"),)
    plain = (("content-type", "application/json"), ("x-a", "b"))
    assert sendable(plain) == plain
    assert sendable(()) == ()


def test_a_request_without_length_or_chunking_has_no_body_to_read(app: App) -> None:
    """RFC 9112 6.3: the gateway does not wait for a body the request cannot have."""
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": "POST",
        "path": "/portal/echo",
        "raw_path": b"/portal/echo",
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 1),
    }
    sent: list[dict] = []

    async def receive() -> dict:
        raise AssertionError("receive called for a request without a body")

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 500  # the echo handler's json.loads("") raised: an empty body, read as such
    resp = kit.send(app, "POST", "/portal/echo", body=b'{"a": 1}')  # framed: read and echoed
    assert (resp.status, json.loads(resp.body)) == (200, {"a": 1})
