"""The ASGI app: mounts, health, issuer documents, access log, lifespan, malformed requests."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from fixtures.emulator.accesslog import AccessLog
from fixtures.emulator.asgi_client import header
from fixtures.emulator.server import App, Mount, base_path_of
from fixtures.emulator.wire import Request
from fixtures.tokens import ensure_signing_key, jwks

from . import _kit as kit

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


def test_huge_headers_do_not_crash(app: App) -> None:
    headers = [(f"X-Big-{i}", "v" * 8000) for i in range(50)]
    assert kit.send(app, "GET", "/portal/health", headers=headers).status == 200


def test_gateway_bug_is_500_not_a_crash(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(request: Request) -> None:
        raise RuntimeError("bug")

    portal = next(m.gateway for m in app.mounts if m.base_path == "/portal")
    monkeypatch.setattr(portal, "process", broken)
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
