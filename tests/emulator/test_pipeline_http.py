"""HTTP API pipeline through the ASGI app in-process: status, exact body and headers per behaviour."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from fixtures.contract import CorsConfig, JwtAuthorizer, LambdaAuthorizer
from fixtures.stage import Limit
from fixtures.tokens import TokenFactory, load_private_key

from . import _kit as kit
from .asgi_client import header

ORIGIN = "https://portal.example"
CORS = CorsConfig((ORIGIN,), ("GET", "POST"), ("Authorization", "Content-Type"), ("X-Exposed",), 600, False)
JWT = JwtAuthorizer("cog", "$request.header.Authorization", kit.ISSUER, (kit.AUDIENCE,))
KIOSK = LambdaAuthorizer("kiosk", "request", "kiosk-auth", "2.0", True, ("$request.header.X-Kiosk",), 300)
READ, WRITE = ("appointments/read",), ("appointments/write",)
ROUTES = (
    kit.route("GET", "/health", function="health"),
    kit.route("GET", "/appointments", function="appts", authorizer="cog", scopes=READ),
    kit.route("POST", "/appointments", function="appts", authorizer="cog", scopes=WRITE),
    kit.route("GET", "/items/{id}", function="appts", authorizer="cog", scopes=READ),
    kit.route("GET", "/kiosk", function="appts", authorizer="kiosk"),
    kit.route("GET", "/crash", function="crash"),
    kit.route("GET", "/bad", function="bad"),
    kit.route("GET", "/slow", function="slow"),
    kit.route("POST", "/limited", function="health"),
)


def _kiosk(event: dict, context: Any) -> dict:
    token = event["headers"].get("x-kiosk", "")
    if token == "kiosk-error":
        raise RuntimeError("authorizer broke")
    return {"isAuthorized": token.startswith("allow-"), "context": {"clinic_id": token[6:]}}


def _handlers() -> dict:
    def crash(event: dict, context: Any) -> Any:
        raise ValueError("boom")

    def slow(event: dict, context: Any) -> Any:
        time.sleep(0.4)
        return {"statusCode": 200, "body": "late"}

    return {
        "health": kit.json_handler({"status": "ok"}),
        "appts": kit.json_handler({"items": [{"id": "a1", "clinic_id": "c1"}], "count": 1}),
        "crash": crash,
        "bad": lambda e, c: {"statusCode": "abc"},
        "slow": slow,
        "kiosk-auth": _kiosk,
    }


class Env:
    """One HTTP API gateway mounted at /portal, with its clock, handlers and token factory."""

    def __init__(
        self,
        key_file: str,
        faults=(),
        routes=ROUTES,
        cors=CORS,
        threaded=False,
        throttle_routes=None,
        **api_kw: Any,
    ) -> None:
        self.clock = kit.Clock()
        self.handlers = _handlers()
        contract = kit.contract("http", routes, authorizers={"cog": JWT, "kiosk": KIOSK}, cors=cors)
        api = kit.api("portal", "http", routes=throttle_routes, **api_kw)
        keys = {kit.KID: load_private_key(key_file).public_key()}
        self.gateway = kit.gateway(
            api, contract, self.handlers, faults=faults, clock=self.clock, public_keys=keys, threaded=threaded
        )
        self.app = kit.app(self.gateway)
        self.tokens = TokenFactory(key_file, kit.KID, kit.ISSUER, kit.AUDIENCE, clock=self.clock)

    def send(self, method: str, path: str | bytes, headers=(), **kw: Any):
        return kit.send(
            self.app,
            method,
            b"/portal" + (path if isinstance(path, bytes) else path.encode()),
            headers=headers,
            **kw,
        )

    def bearer(self, scopes=READ) -> tuple[str, str]:
        return ("Authorization", f"Bearer {self.tokens.valid(scopes)}")


@pytest.fixture
def env(key_file: str) -> Env:
    return Env(key_file)


# ---- routing -------------------------------------------------------------------------------------


def test_public_route_200_with_request_id(env: Env) -> None:
    resp = env.send("GET", "/health")
    assert resp.status == 200 and resp.body == b'{"status": "ok"}'
    rid = header(resp, "apigw-requestid")
    assert rid and env.handlers["health"].events[0]["requestContext"]["requestId"] == rid


def test_unknown_route_404(env: Env) -> None:
    """DOCS http-api-develop-routes: no route -> 404 {"message":"Not Found"}."""
    for method, path in (("GET", "/nope"), ("DELETE", "/health")):
        resp = env.send(method, path)
        assert (resp.status, resp.body) == (404, b'{"message":"Not Found"}')
        assert header(resp, "apigw-requestid")


def test_fault_unknown_route_200(key_file: str) -> None:
    assert Env(key_file, faults=["routing.unknown_route_200"]).send("GET", "/nope").status == 200


# ---- JWT authorizer ------------------------------------------------------------------------------


def test_missing_token_401_and_valid_token_200(env: Env) -> None:
    resp = env.send("GET", "/appointments")
    assert (resp.status, resp.body) == (401, b'{"message":"Unauthorized"}')
    assert header(resp, "www-authenticate") is not None
    ok = env.send("GET", "/appointments", headers=[env.bearer()])
    assert ok.status == 200


def test_claims_stringified_and_scopes_in_event(env: Env) -> None:
    env.send("GET", "/items/77", headers=[env.bearer()])
    event = env.handlers["appts"].events[-1]
    jwt = event["requestContext"]["authorizer"]["jwt"]
    assert jwt["claims"]["iss"] == kit.ISSUER and isinstance(jwt["claims"]["exp"], str)
    assert jwt["scopes"] == list(READ) and event["pathParameters"] == {"id": "77"}


def test_expired_token_401_wrong_scope_403(env: Env) -> None:
    expired = env.send("GET", "/appointments", headers=[("Authorization", env.tokens.expired(READ))])
    assert expired.status == 401
    wrong = env.send("POST", "/appointments", headers=[env.bearer(READ)], body=b"{}")
    assert (wrong.status, wrong.body) == (403, b'{"message":"Forbidden"}')
    assert env.send("POST", "/appointments", headers=[env.bearer(WRITE)], body=b"{}").status == 200


# ---- CORS ----------------------------------------------------------------------------------------

PREFLIGHT = [("Origin", ORIGIN), ("Access-Control-Request-Method", "GET")]


def test_preflight_answered_by_gateway_without_auth(env: Env) -> None:
    """DOCS http-api-cors: preflight answered even with no OPTIONS route; 204 (SEC)."""
    resp = env.send("OPTIONS", "/appointments", headers=PREFLIGHT)
    assert resp.status == 204 and resp.body == b""
    assert header(resp, "access-control-allow-origin") == ORIGIN
    assert header(resp, "access-control-max-age") == "600"
    assert header(resp, "apigw-requestid")
    assert not env.handlers["appts"].events


def test_default_route_catches_options(key_file: str) -> None:
    """DOCS http-api-cors: `$default` catches OPTIONS, so its authorizer guards preflights."""
    routes = (kit.route("ANY", "$default", function="appts", authorizer="cog"),)
    env = Env(key_file, routes=routes)
    assert env.send("OPTIONS", "/anything", headers=PREFLIGHT).status == 401
    ok = env.send("OPTIONS", "/anything", headers=[*PREFLIGHT, env.bearer()])
    assert ok.status == 200 and env.handlers["appts"].events[-1]["routeKey"] == "$default"


def test_cors_headers_replace_backend_ones_on_success(key_file: str) -> None:
    env = Env(key_file)
    env.handlers["health"] = lambda e, c: {"statusCode": 200, "headers": {"Access-Control-Allow-Origin": "*"}}
    env.gateway._handlers["health"] = env.handlers["health"]
    resp = env.send("GET", "/health", headers=[("Origin", ORIGIN)])
    assert [v for k, v in resp.headers if k.lower() == "access-control-allow-origin"] == [ORIGIN]
    assert header(resp, "access-control-expose-headers") == "X-Exposed"
    bare = env.send("GET", "/health")  # no Origin: no CORS headers, backend ones still dropped
    assert header(bare, "access-control-allow-origin") is None


def test_cors_headers_per_origin_stay_right_when_repeated(env: Env) -> None:
    """The per-Origin memo of CORS headers answers like the first computation, also past its size."""
    from fixtures.emulator.gateway.cores import ResponseCors

    for _ in range(3):
        allowed = env.send("GET", "/health", headers=[("Origin", ORIGIN)])
        assert header(allowed, "access-control-allow-origin") == ORIGIN
        assert header(allowed, "access-control-expose-headers") == "X-Exposed"
        other = env.send("GET", "/health", headers=[("Origin", "https://evil.example")])
        assert other.status == 200 and header(other, "access-control-allow-origin") is None
        assert header(env.send("GET", "/health"), "access-control-allow-origin") is None
    for number in range(ResponseCors.SIZE + 5):
        origin = f"https://x{number}.example"
        assert (
            header(env.send("GET", "/health", headers=[("Origin", origin)]), "access-control-allow-origin")
            is None
        )
    assert (
        header(env.send("GET", "/health", headers=[("Origin", ORIGIN)]), "access-control-allow-origin")
        == ORIGIN
    )


def test_cors_headers_on_gateway_401(env: Env) -> None:
    resp = env.send("GET", "/appointments", headers=[("Origin", ORIGIN)])
    assert resp.status == 401 and header(resp, "access-control-allow-origin") == ORIGIN


def test_fault_cors_no_headers_on_error(key_file: str) -> None:
    env = Env(key_file, faults=["cors.no_headers_on_error"])
    assert (
        header(env.send("GET", "/appointments", headers=[("Origin", ORIGIN)]), "access-control-allow-origin")
        is None
    )
    assert (
        header(env.send("GET", "/health", headers=[("Origin", ORIGIN)]), "access-control-allow-origin")
        == ORIGIN
    )


def test_fault_cors_authorizer_guards_preflight(key_file: str) -> None:
    env = Env(key_file, faults=["cors.authorizer_guards_preflight"])
    assert env.send("OPTIONS", "/appointments", headers=PREFLIGHT).status == 401
    assert env.send("OPTIONS", "/health", headers=PREFLIGHT).status == 204  # public route unaffected


# ---- Lambda authorizer -----------------------------------------------------------------------------


def test_lambda_authorizer_allow_deny_missing_error(env: Env) -> None:
    ok = env.send("GET", "/kiosk", headers=[("X-Kiosk", "allow-42")])
    assert ok.status == 200
    assert env.handlers["appts"].events[-1]["requestContext"]["authorizer"] == {"lambda": {"clinic_id": "42"}}
    deny = env.send("GET", "/kiosk", headers=[("X-Kiosk", "deny")])
    assert (deny.status, deny.body) == (403, b'{"message":"Forbidden"}')
    assert env.send("GET", "/kiosk").status == 401
    err = env.send("GET", "/kiosk", headers=[("X-Kiosk", "kiosk-error")])
    assert (err.status, err.body) == (500, b'{"message":"Internal Server Error"}')


def test_fault_lambda_deny_allows(key_file: str) -> None:
    env = Env(key_file, faults=["auth.lambda_deny_allows"])
    assert env.send("GET", "/kiosk", headers=[("X-Kiosk", "deny")]).status == 200


# ---- throttling, limits -----------------------------------------------------------------------------


def test_route_throttle_429_then_refill(key_file: str) -> None:
    env = Env(key_file, throttle_routes={"POST /limited": Limit(1.0, 2)})
    statuses = [env.send("POST", "/limited").status for _ in range(3)]
    assert statuses == [200, 200, 429]
    resp = env.send("POST", "/limited")
    assert resp.body == b'{"message":"Too Many Requests"}'
    env.clock.advance(1.0)
    assert env.send("POST", "/limited").status == 200
    assert env.send("GET", "/health").status == 200  # another route keeps its own bucket


def test_payload_over_10mb_is_413(env: Env) -> None:
    big = b"x" * (10 * 1024 * 1024 + 1)
    resp = env.send("POST", "/limited", body=big, chunk=1024 * 1024)
    assert resp.status == 413 and header(resp, "content-type") == "application/json"
    assert env.send("POST", "/limited", body=b"x" * 1024).status == 200


# ---- integration ----------------------------------------------------------------------------------


def test_handler_crash_500_and_bad_answer_500(env: Env) -> None:
    """DOCS http-api-troubleshooting-lambda: 500 {"message":"Internal Server Error"}."""
    for path in ("/crash", "/bad"):
        resp = env.send("GET", path)
        assert (resp.status, resp.body) == (500, b'{"message":"Internal Server Error"}')


def test_integration_timeout_503(key_file: str) -> None:
    env = Env(key_file, threaded=True, timeout_ms=50)
    resp = env.send("GET", "/slow")
    assert (resp.status, resp.body) == (503, b'{"message":"Service Unavailable"}')
    assert env.send("GET", "/health").status == 200


def test_fault_handler_crash_200(key_file: str) -> None:
    env = Env(key_file, faults=["shape.handler_crash_200"])
    resp = env.send("GET", "/crash")
    assert resp.status == 200 and json.loads(resp.body)["errorType"] == "ValueError"
    assert env.send("GET", "/bad").status == 200  # a malformed answer too


# ---- bypass faults (each with its control) ------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "method", "path", "extra"),
    [
        ("routing.trailing_slash_bypass", "GET", "/appointments/", ()),
        ("routing.double_slash_bypass", "GET", "//appointments", ()),
        ("routing.case_insensitive_bypass", "GET", "/APPOINTMENTS", ()),
        ("routing.head_unprotected", "HEAD", "/appointments", ()),
        ("routing.method_override_bypass", "PATCH", "/items/1", (("X-HTTP-Method-Override", "GET"),)),
    ],
)
def test_routing_bypass_faults(key_file: str, fault: str, method: str, path: str, extra: tuple) -> None:
    assert Env(key_file).send(method, path, headers=list(extra)).status in (401, 404)  # control
    resp = Env(key_file, faults=[fault]).send(method, path, headers=list(extra))
    assert resp.status == 200
    if method == "HEAD":
        assert resp.body == b""


def test_fault_route_without_authorizer(key_file: str) -> None:
    env = Env(key_file, faults=["auth.route_without_authorizer"])
    assert env.send("GET", "/appointments").status == 200  # the first JWT route
    assert env.send("GET", "/items/1").status == 401  # the others keep theirs


# ---- shape faults ------------------------------------------------------------------------------------


def test_shape_faults(key_file: str) -> None:
    normal = Env(key_file).send("GET", "/appointments", headers=[Env(key_file).bearer()])
    env = Env(
        key_file, faults=["shape.drop_response_field", "shape.wrong_content_type", "shape.missing_request_id"]
    )
    resp = env.send("GET", "/appointments", headers=[env.bearer()])
    assert json.loads(resp.body) == {"count": 1}
    assert (
        header(resp, "content-type") == "text/plain" and header(normal, "content-type") == "application/json"
    )
    assert header(resp, "apigw-requestid") is None and header(normal, "apigw-requestid")


def test_fault_non_gateway_error_bodies(key_file: str) -> None:
    resp = Env(key_file, faults=["shape.non_gateway_error_bodies"]).send("GET", "/nope")
    assert (resp.status, resp.body) == (404, b'{"error": "Not Found"}')
