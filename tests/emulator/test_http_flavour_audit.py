"""HTTP API flavour audit: each rule of the issue at the HTTP level (status, exact body, headers).

Through the ASGI app in-process (tests/emulator/asgi_client.py); rules and sources in
docs/aws-behaviour.md. Every rejection has its positive control beside it.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import re
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from fixtures.contract import CorsConfig, JwtAuthorizer, LambdaAuthorizer, load_contract
from fixtures.emulator.serve.accesslog import AccessLog
from fixtures.emulator.serve.server import App, Mount, issuer_material
from fixtures.emulator.wire import Response
from fixtures.errors import ConfigError
from fixtures.stage import Credentials, Limit, SigningKey, load_stage
from fixtures.tokens import TokenFactory, load_private_key

from . import _kit as kit
from .asgi_client import call, header, headers_named

ORIGIN = "https://portal.example"
CORS = CorsConfig((ORIGIN,), ("GET", "POST"), ("Authorization", "Content-Type"), ("X-Exposed",), 600, False)
JWT = JwtAuthorizer("cog", "$request.header.Authorization", kit.ISSUER, (kit.AUDIENCE,))
READ, WRITE = ("appointments/read",), ("appointments/write",)
UNAUTHORIZED = b'{"message":"Unauthorized"}'
FORBIDDEN = b'{"message":"Forbidden"}'
INTERNAL = b'{"message":"Internal Server Error"}'
# DOCS http-api-troubleshooting-jwt: the one documented www-authenticate value (verbatim capture).
AUDIENCE_CHALLENGE = (
    'Bearer scope="" error="invalid_token" error_description="the token does not have a valid audience"'
)
REQUEST_ID = re.compile(r"^[A-Za-z0-9+/]{15}=$")  # DOCS capture shape 'Mc7UVioPPHcEKPA='


def _echo(event: dict, context: Any) -> dict:
    """Answers the route key it was invoked for (Env records the event)."""
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": event["routeKey"]}


class Env:
    """One HTTP API gateway at /portal with an injected clock, counting handlers, token factory."""

    def __init__(
        self,
        key_file: str,
        routes: Iterable[Any],
        *,
        handlers: dict[str, Callable[[dict, Any], Any]] | None = None,
        authorizers: dict[str, Any] | None = None,
        cors: CorsConfig | None = CORS,
        access_log: str | None = None,
        account: Limit | None = None,
        route_limits: dict[str, Limit] | None = None,
        **api_kw: Any,
    ) -> None:
        self.clock = kit.Clock()
        self.calls: dict[str, list[dict]] = {}
        self.contexts: list[Any] = []
        wrapped = {name: self._counting(name, fn) for name, fn in (handlers or {}).items()}
        contract = kit.contract("http", routes, authorizers=authorizers or {"cog": JWT}, cors=cors)
        api = kit.api("portal", "http", routes=route_limits, **api_kw)
        if account is not None:
            api = dataclasses.replace(api, throttle=dataclasses.replace(api.throttle, account=account))
        keys = {kit.KID: load_private_key(key_file).public_key()}
        self.gateway = kit.gateway(api, contract, wrapped, clock=self.clock, public_keys=keys)
        log = AccessLog(access_log) if access_log else None
        self.app = App([Mount("/portal", self.gateway)], log)
        self.tokens = TokenFactory(key_file, kit.KID, kit.ISSUER, kit.AUDIENCE, clock=self.clock)
        self.key_file = key_file

    def _counting(self, name: str, fn: Callable[[dict, Any], Any]) -> Callable[[dict, Any], Any]:
        def handler(event: dict, context: Any) -> Any:
            self.calls.setdefault(name, []).append(event)
            self.contexts.append(context)
            return fn(event, context)

        return handler

    def send(
        self, method: str, path: str | bytes, headers: Iterable[tuple[str, str]] = (), **kw: Any
    ) -> Response:
        raw = path if isinstance(path, bytes) else path.encode()
        return kit.send(self.app, method, b"/portal" + raw, headers=list(headers), **kw)

    def bearer(self, scopes: Iterable[str] = READ) -> tuple[str, str]:
        return ("Authorization", f"Bearer {self.tokens.valid(scopes)}")

    def sign(self, claims: dict[str, Any], *, alg: str = "RS256", kid: str = kit.KID, key: Any = None) -> str:
        return jwt.encode(claims, key or load_private_key(self.key_file), algorithm=alg, headers={"kid": kid})

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(self.clock())
        base = {"sub": "u1", "iss": kit.ISSUER, "aud": kit.AUDIENCE, "iat": now, "nbf": now, "exp": now + 900}
        base.update(overrides)
        return {k: v for k, v in base.items() if v is not None}


def _ok(payload: Any = None) -> Callable[[dict, Any], Any]:
    return lambda event, context: {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(payload if payload is not None else {"ok": True}),
    }


def _cors_names(resp: Response) -> list[str]:
    return sorted(k.lower() for k, _ in resp.headers if k.lower().startswith("access-control-"))


def _assert_gateway_error(resp: Response, status: int, body: bytes) -> None:
    """A gateway answer: status, exact compact body, JSON content type, a request id."""
    assert (resp.status, resp.body) == (status, body)
    assert header(resp, "content-type") == "application/json"
    assert REQUEST_ID.match(header(resp, "apigw-requestid") or "")


# ---- 1. route selection (DOCS http-api-develop-routes) ------------------------------------------

PRIORITY_ROUTES = (
    kit.route("GET", "/pets/dog/1", function="echo"),
    kit.route("GET", "/pets/dog/{id}", function="echo"),
    kit.route("GET", "/pets/{proxy+}", function="echo"),
    kit.route("ANY", "/{proxy+}", function="echo"),
    kit.route("ANY", "$default", function="echo"),
)


def test_route_priority_exact_then_param_then_greedy_then_default(key_file: str) -> None:
    """DOCS http-api-develop-routes worked example: most specific route wins, `$default` last."""
    env = Env(key_file, PRIORITY_ROUTES, handlers={"echo": _echo})
    expected = [
        ("GET", "/pets/dog/1", b"GET /pets/dog/1"),
        ("GET", "/pets/dog/2", b"GET /pets/dog/{id}"),
        ("GET", "/pets/cat/a/b", b"GET /pets/{proxy+}"),
        ("POST", "/pets/dog/1", b"ANY /{proxy+}"),  # no POST on the exact path: greedy ANY
        ("GET", "/", b"$default"),  # {proxy+} needs at least one character
    ]
    for method, path, route_key in expected:
        resp = env.send(method, path)
        assert (resp.status, resp.body) == (200, route_key), path
        assert REQUEST_ID.match(header(resp, "apigw-requestid") or "")
    assert env.calls["echo"][2]["pathParameters"] == {"proxy": "cat/a/b"}


def test_any_matches_only_methods_not_defined_and_no_match_is_404(key_file: str) -> None:
    """DOCS http-api-develop-routes: ANY catches undefined methods; no route -> 404 Not Found."""
    routes = (
        kit.route("GET", "/items", function="echo"),
        kit.route("ANY", "/items", function="echo"),
        kit.route("GET", "/only-get", function="echo"),
    )
    env = Env(key_file, routes, handlers={"echo": _echo})
    assert env.send("GET", "/items").body == b"GET /items"
    assert env.send("DELETE", "/items").body == b"ANY /items"
    assert env.send("GET", "/only-get").status == 200  # positive control
    for method, path in (("POST", "/only-get"), ("GET", "/missing"), ("GET", "/items/x")):
        _assert_gateway_error(env.send(method, path), 404, b'{"message":"Not Found"}')


# ---- 2. CORS (DOCS http-api-cors) ---------------------------------------------------------------


def test_preflight_204_carries_the_configured_headers_and_invokes_nothing(key_file: str) -> None:
    """DOCS http-api-cors header mapping; 204 is SEC (ASSUMPTION); answered before the authorizer."""
    routes = (kit.route("GET", "/guarded", function="echo", authorizer="cog", scopes=READ),)
    env = Env(key_file, routes, handlers={"echo": _echo})
    resp = env.send(
        "OPTIONS",
        "/guarded",
        [
            ("Origin", ORIGIN),
            ("Access-Control-Request-Method", "GET"),
            ("Access-Control-Request-Headers", "x"),
        ],
    )
    assert (resp.status, resp.body) == (204, b"")
    got = {k.lower(): v for k, v in resp.headers if k.lower().startswith("access-control-")}
    assert got == {
        "access-control-allow-origin": ORIGIN,
        "access-control-allow-methods": "GET,POST",
        "access-control-allow-headers": "Authorization,Content-Type",
        "access-control-max-age": "600",
    }
    assert REQUEST_ID.match(header(resp, "apigw-requestid") or "")
    assert "echo" not in env.calls
    # Without Access-Control-Request-Method it is no preflight: the route (none for OPTIONS) -> 404.
    _assert_gateway_error(
        env.send("OPTIONS", "/guarded", [("Origin", ORIGIN)]), 404, b'{"message":"Not Found"}'
    )


def test_cors_headers_only_for_a_matching_origin(key_file: str) -> None:
    """DOCS http-api-cors; disallowed origin UNKNOWN (s7): ASSUMPTION no Access-Control-* at all."""
    backend = {"statusCode": 200, "headers": {"Access-Control-Allow-Origin": "*"}, "body": "x"}
    env = Env(key_file, (kit.route("GET", "/r", function="fn"),), handlers={"fn": lambda e, c: backend})
    preflight = [("Access-Control-Request-Method", "GET")]
    for origin in ("https://evil.example", "http://portal.example", "https://portal.example.evil", "null"):
        pre = env.send("OPTIONS", "/r", [("Origin", origin), *preflight])
        assert (pre.status, pre.body, _cors_names(pre)) == (204, b"", [])
        actual = env.send("GET", "/r", [("Origin", origin)])
        assert (actual.status, actual.body, _cors_names(actual)) == (200, b"x", [])  # backend's dropped too
    ok = env.send("GET", "/r", [("Origin", ORIGIN)])  # positive control
    assert headers_named(ok, "access-control-allow-origin") == [ORIGIN]
    assert header(ok, "access-control-expose-headers") == "X-Exposed"
    pre_ok = env.send("OPTIONS", "/r", [("Origin", ORIGIN), *preflight])
    assert header(pre_ok, "access-control-allow-origin") == ORIGIN


def test_scheme_wildcard_origin_matches_that_scheme_only(key_file: str) -> None:
    """DOCS current http-api-cors: `https://*` allows any https origin (echoed: ASSUMPTION)."""
    cors = CorsConfig(("https://*",), ("GET",), (), (), None, False)
    env = Env(key_file, (kit.route("GET", "/r", function="fn"),), handlers={"fn": _ok()}, cors=cors)
    for origin in ("https://a.example", "https://b.example:8443"):
        resp = env.send("GET", "/r", [("Origin", origin)])
        assert (resp.status, headers_named(resp, "access-control-allow-origin")) == (200, [origin])
        pre = env.send("OPTIONS", "/r", [("Origin", origin), ("Access-Control-Request-Method", "GET")])
        assert header(pre, "access-control-allow-origin") == origin
    for origin in ("http://a.example", "null", "https:/a.example"):
        resp = env.send("GET", "/r", [("Origin", origin)])
        assert (resp.status, _cors_names(resp)) == (200, [])


def test_allow_credentials_header_and_wildcard_refused_at_load(key_file: str, tmp_path: Path) -> None:
    """DOCS http-api-cors (allowCredentials); `*` with credentials refused (SEC aws-cdk#9076)."""
    cors = dataclasses.replace(CORS, allow_credentials=True)
    for config, expected in ((cors, ["true"]), (CORS, [])):  # the second is the control
        env = Env(key_file, (kit.route("GET", "/r", function="fn"),), handlers={"fn": _ok()}, cors=config)
        actual = env.send("GET", "/r", [("Origin", ORIGIN)])
        pre = env.send("OPTIONS", "/r", [("Origin", ORIGIN), ("Access-Control-Request-Method", "GET")])
        assert headers_named(actual, "access-control-allow-credentials") == expected
        assert headers_named(pre, "access-control-allow-credentials") == expected
        assert header(actual, "access-control-allow-origin") == ORIGIN  # never `*` with credentials
    doc = json.loads(Path("fixtures/clinic/portal.openapi.json").read_text())
    doc["x-amazon-apigateway-cors"].update(allowOrigins=["*"], allowCredentials=True)
    bad = tmp_path / "portal.json"
    bad.write_text(json.dumps(doc))
    with pytest.raises(ConfigError, match="allow-credentials is not supported"):
        load_contract(str(bad), "http")
    doc["x-amazon-apigateway-cors"]["allowCredentials"] = False
    bad.write_text(json.dumps(doc))
    assert load_contract(str(bad), "http").cors.allow_origins == ("*",)  # control: loads


def test_explicit_options_route_receives_the_preflight(key_file: str) -> None:
    """DOCS http-api-cors: the gateway answers preflights unless a route explicitly matches OPTIONS."""
    routes = (kit.route("OPTIONS", "/r", function="opt"), kit.route("GET", "/other", function="fn"))
    handlers = {"opt": lambda e, c: {"statusCode": 200, "body": "mine"}, "fn": _ok()}
    env = Env(key_file, routes, handlers=handlers)
    preflight = [("Origin", ORIGIN), ("Access-Control-Request-Method", "GET")]
    resp = env.send("OPTIONS", "/r", preflight)
    assert (resp.status, resp.body) == (200, b"mine")
    assert headers_named(resp, "access-control-allow-origin") == [ORIGIN]
    control = env.send("OPTIONS", "/other", preflight)
    assert (control.status, control.body) == (204, b"")


def test_any_route_receives_the_preflight_like_default(key_file: str) -> None:
    """SEC: `ANY /{proxy+}` with an authorizer catches OPTIONS, so the preflight is rejected."""
    routes = (
        kit.route("ANY", "/{proxy+}", function="fn", authorizer="cog"),
        kit.route("GET", "/public", function="fn"),
    )
    env = Env(key_file, routes, handlers={"fn": _ok()})
    preflight = [("Origin", ORIGIN), ("Access-Control-Request-Method", "GET")]
    # Control: no route matches `/` (a greedy param needs a segment), so the gateway answers.
    # (`/public` is no control: GET /public does not match OPTIONS, so ANY /{proxy+} is selected.)
    assert env.send("OPTIONS", "/", preflight).status == 204
    resp = env.send("OPTIONS", "/todos", preflight)
    assert (resp.status, resp.body) == (401, UNAUTHORIZED)


# ---- 3. JWT authorizer (DOCS http-api-jwt-authorizer) --------------------------------------------

JWT_ROUTES = (
    kit.route("GET", "/read", function="fn", authorizer="cog", scopes=READ),
    kit.route("GET", "/any-scope", function="fn", authorizer="cog"),
)


@pytest.fixture
def jenv(key_file: str) -> Env:
    return Env(key_file, JWT_ROUTES, handlers={"fn": _ok()})


def _token_variant(env: Env, variant: str) -> str | None:
    """One invalid Authorization token (None: no header); each has exactly one defect."""
    now = int(env.clock())
    made: dict[str, Callable[[], str | None]] = {
        "missing": lambda: None,
        "empty_bearer": lambda: "",
        "expired": lambda: env.tokens.expired(READ),
        "not_yet_valid": lambda: env.tokens.not_yet_valid(READ),
        "issued_in_future": lambda: env.sign(env.claims(scope=READ[0], iat=now + 600)),
        "no_exp": lambda: env.sign(env.claims(scope=READ[0], exp=None)),
        "wrong_issuer": lambda: env.tokens.wrong_issuer(READ),
        "foreign_key_same_kid": lambda: env.tokens.foreign_key_same_kid(READ),
        "unknown_kid": lambda: env.sign(env.claims(scope=READ[0]), kid="other-kid"),
        "tampered_payload": lambda: env.tokens.tampered_payload(READ),
        "alg_none": lambda: env.tokens.alg_none(READ),
        "hs256_key_confusion": lambda: env.tokens.hs256_key_confusion(READ),
        "es256": lambda: env.sign(
            env.claims(scope=READ[0]), alg="ES256", key=ec.generate_private_key(ec.SECP256R1())
        ),
        "malformed": lambda: env.tokens.malformed(READ),
    }
    return made[variant]()


@pytest.mark.parametrize(
    "variant",
    [
        "missing",
        "empty_bearer",
        "expired",
        "not_yet_valid",
        "issued_in_future",
        "no_exp",
        "wrong_issuer",
        "foreign_key_same_kid",
        "unknown_kid",
        "tampered_payload",
        "alg_none",
        "hs256_key_confusion",
        "es256",
        "malformed",
    ],
)
def test_jwt_invalid_token_is_401_unauthorized_with_www_authenticate(jenv: Env, variant: str) -> None:
    """DOCS http-api-jwt-authorizer validation steps; 401 body DOCS (Content-Length 26)."""
    token = _token_variant(jenv, variant)
    headers = [] if token is None else [("Authorization", f"Bearer {token}")]
    resp = jenv.send("GET", "/read", headers)
    _assert_gateway_error(resp, 401, UNAUTHORIZED)
    assert header(resp, "content-length") == "26"
    challenge = header(resp, "www-authenticate") or ""
    assert (
        challenge == "Bearer"
        if token is None or variant == "empty_bearer"
        else challenge.startswith('Bearer scope="" error="invalid_token" error_description="')
    )
    assert "fn" not in jenv.calls
    assert jenv.send("GET", "/read", [jenv.bearer()]).status == 200  # positive control


def test_jwt_wrong_audience_has_the_documented_challenge(jenv: Env) -> None:
    """DOCS http-api-troubleshooting-jwt: verbatim www-authenticate for a wrong audience."""
    resp = jenv.send("GET", "/read", [("Authorization", f"Bearer {jenv.tokens.wrong_audience(READ)}")])
    _assert_gateway_error(resp, 401, UNAUTHORIZED)
    assert header(resp, "www-authenticate") == AUDIENCE_CHALLENGE
    assert jenv.send("GET", "/read", [jenv.bearer()]).status == 200


def test_jwt_audience_from_aud_else_client_id(jenv: Env) -> None:
    """DOCS http-api-jwt-authorizer: aud or client_id must match; client_id only if aud is absent."""
    access = jenv.tokens.cognito_access_token(READ)  # client_id, no aud
    assert jenv.send("GET", "/read", [("Authorization", f"Bearer {access}")]).status == 200
    aud_list = jenv.sign(jenv.claims(scope=READ[0], aud=["other", kit.AUDIENCE]))
    assert jenv.send("GET", "/read", [("Authorization", aud_list)]).status == 200
    for claims in (
        jenv.claims(scope=READ[0], aud="other", client_id=kit.AUDIENCE),  # aud wins
        jenv.claims(scope=READ[0], aud=None, client_id="other"),
        jenv.claims(scope=READ[0], aud=None),
    ):
        resp = jenv.send("GET", "/read", [("Authorization", f"Bearer {jenv.sign(claims)}")])
        _assert_gateway_error(resp, 401, UNAUTHORIZED)
        assert header(resp, "www-authenticate") == AUDIENCE_CHALLENGE


def test_jwt_non_string_iss_or_client_id_is_401_not_a_crash(jenv: Env) -> None:
    """A signed token whose iss / client_id is a list fails validation (401), never a 500 (was a crash)."""

    def signed(claims: dict[str, Any]) -> str:  # PyJWT's encode refuses a list iss: sign the JSON directly
        key = load_private_key(jenv.key_file)
        return jwt.api_jws.encode(json.dumps(claims).encode(), key, "RS256", headers={"kid": kit.KID})

    bad_iss = signed(jenv.claims(scope=READ[0], iss=[kit.ISSUER]))
    _assert_gateway_error(jenv.send("GET", "/read", [("Authorization", bad_iss)]), 401, UNAUTHORIZED)
    bad_client = signed(jenv.claims(scope=READ[0], aud=None, client_id=[kit.AUDIENCE]))
    resp = jenv.send("GET", "/read", [("Authorization", bad_client)])
    _assert_gateway_error(resp, 401, UNAUTHORIZED)
    assert header(resp, "www-authenticate") == AUDIENCE_CHALLENGE
    good = signed(jenv.claims(scope=READ[0], aud=None, client_id=kit.AUDIENCE))  # positive control
    assert jenv.send("GET", "/read", [("Authorization", good)]).status == 200


def test_jwt_token_with_or_without_bearer_prefix_and_rsa_variants(jenv: Env) -> None:
    """DOCS http-api-jwt-authorizer: raw token or `Bearer <token>`; RSA algorithms only."""
    token = jenv.tokens.valid(READ)
    for value in (token, f"Bearer {token}", f"bearer {token}"):
        resp = jenv.send("GET", "/read", [("Authorization", value)])
        assert (resp.status, resp.body) == (200, b'{"ok": true}')
    for alg in ("RS384", "RS512"):
        signed = jenv.sign(jenv.claims(scope=READ[0]), alg=alg)
        assert jenv.send("GET", "/read", [("Authorization", signed)]).status == 200


def test_jwt_time_claims_checked_against_the_clock_on_every_request(jenv: Env) -> None:
    """DOCS http-api-jwt-authorizer: exp after now, nbf before now, re-checked on every request."""
    valid = [("Authorization", jenv.tokens.valid(READ))]
    early = [("Authorization", jenv.tokens.not_yet_valid(READ))]
    assert jenv.send("GET", "/read", valid).status == 200
    assert jenv.send("GET", "/read", early).status == 401
    jenv.clock.advance(899)
    assert jenv.send("GET", "/read", valid).status == 200
    assert jenv.send("GET", "/read", early).status == 200  # nbf (now+600) has passed
    jenv.clock.advance(2)
    _assert_gateway_error(jenv.send("GET", "/read", valid), 401, UNAUTHORIZED)


def test_jwt_missing_scope_is_403_forbidden(jenv: Env) -> None:
    """DOCS: at least one route scope; 403 Forbidden is an ASSUMPTION (s2 UNKNOWN)."""
    resp = jenv.send("GET", "/read", [jenv.bearer(WRITE)])
    _assert_gateway_error(resp, 403, FORBIDDEN)
    assert 'error="insufficient_scope"' in (header(resp, "www-authenticate") or "")
    assert "fn" not in jenv.calls
    scp = jenv.sign(jenv.claims(scp=["x", READ[0]]))  # `scp` list form
    assert jenv.send("GET", "/read", [("Authorization", scp)]).status == 200
    assert jenv.send("GET", "/read", [jenv.bearer(("x", READ[0]))]).status == 200
    assert jenv.send("GET", "/any-scope", [jenv.bearer(WRITE)]).status == 200  # route needs no scope


def test_jwt_claims_stringified_into_the_event(key_file: str) -> None:
    """SEC (s2): every claim a string, arrays '[a b]'; DOCS: requestContext.authorizer.jwt.{claims,scopes}."""
    routes = (kit.route("GET", "/read", function="echo", authorizer="cog", scopes=READ),)
    env = Env(key_file, routes, handlers={"echo": _echo})
    now = int(env.clock())
    claims = env.claims(scope="appointments/read extra", **{"cognito:groups": ["admin", "user"], "n": 1.5})
    env.send("GET", "/read", [("Authorization", f"Bearer {env.sign(claims)}")])
    got = env.calls["echo"][-1]["requestContext"]["authorizer"]
    assert got == {
        "jwt": {
            "claims": {
                "sub": "u1",
                "iss": kit.ISSUER,
                "aud": kit.AUDIENCE,
                "iat": str(now),
                "nbf": str(now),
                "exp": str(now + 900),
                "scope": "appointments/read extra",
                "cognito:groups": "[admin user]",
                "n": "1.5",
            },
            "scopes": ["appointments/read", "extra"],
        }
    }


# ---- 4. Lambda authorizer (DOCS http-api-lambda-authorizer) --------------------------------------


def _kiosk_env(key_file: str, *, simple: bool = True, ttl: int = 300) -> Env:
    authorizer = LambdaAuthorizer(
        "kiosk", "request", "auth", "2.0", simple, ("$request.header.X-Kiosk",), ttl
    )
    routes = (kit.route("GET", "/kiosk", function="echo", authorizer="kiosk"),)

    def auth(event: dict, context: Any) -> Any:
        token = event["headers"].get("x-kiosk", "")
        if token == "error":
            raise RuntimeError("authorizer broke")
        if token == "garbage":
            return {"isAuthorized": "yes"} if simple else {"principalId": "p"}
        if simple:
            return {"isAuthorized": token.startswith("allow"), "context": {"who": token}}
        resource = event["routeArn"] if token != "allow-elsewhere" else event["routeArn"] + "/elsewhere"
        effect = "Allow" if token.startswith("allow") else "Deny"
        statement = {"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}
        return {
            "principalId": "p",
            "policyDocument": {"Version": "2012-10-17", "Statement": [statement]},
            "context": {"who": token},
        }

    return Env(key_file, routes, handlers={"echo": _echo, "auth": auth}, authorizers={"kiosk": authorizer})


def test_lambda_authorizer_missing_identity_source_is_401_without_invoking(key_file: str) -> None:
    """DOCS: an absent identity source -> 401 and the Lambda is not invoked."""
    env = _kiosk_env(key_file)
    for headers in ([], [("X-Kiosk", "")]):
        _assert_gateway_error(env.send("GET", "/kiosk", headers), 401, UNAUTHORIZED)
    assert "auth" not in env.calls and "echo" not in env.calls
    assert env.send("GET", "/kiosk", [("x-KIOSK", "allow-1")]).status == 200  # header name case-insensitive
    assert len(env.calls["auth"]) == 1


def test_lambda_authorizer_payload_2_event(key_file: str) -> None:
    """DOCS http-api-lambda-authorizer: payload 2.0 event with routeArn and identitySource."""
    env = _kiosk_env(key_file)
    env.send("GET", "/kiosk", [("X-Kiosk", "allow-1")], query="a=1")
    event = env.calls["auth"][0]
    assert (event["version"], event["type"], event["identitySource"]) == ("2.0", "REQUEST", ["allow-1"])
    assert event["routeArn"].startswith("arn:aws:execute-api:us-east-1:123456789012:")
    assert event["routeArn"].endswith("/$default/GET/kiosk")
    assert (event["routeKey"], event["rawPath"], event["queryStringParameters"]) == (
        "GET /kiosk",
        "/kiosk",
        {"a": "1"},
    )


def test_lambda_authorizer_simple_response_allow_deny(key_file: str) -> None:
    """DOCS simple responses; deny 403 Forbidden (UNKNOWN body, s3); context -> authorizer.lambda."""
    env = _kiosk_env(key_file)
    ok = env.send("GET", "/kiosk", [("X-Kiosk", "allow-7")])
    assert (ok.status, ok.body) == (200, b"GET /kiosk")
    assert env.calls["echo"][-1]["requestContext"]["authorizer"] == {"lambda": {"who": "allow-7"}}
    _assert_gateway_error(env.send("GET", "/kiosk", [("X-Kiosk", "deny")]), 403, FORBIDDEN)
    assert len(env.calls["echo"]) == 1


def test_lambda_authorizer_iam_policy_allow_deny(key_file: str) -> None:
    """DOCS: IAM policy responses; explicit Deny or a policy not covering the route ARN -> 403."""
    env = _kiosk_env(key_file, simple=False)
    ok = env.send("GET", "/kiosk", [("X-Kiosk", "allow-1")])
    assert (ok.status, ok.body) == (200, b"GET /kiosk")
    assert env.calls["echo"][-1]["requestContext"]["authorizer"] == {"lambda": {"who": "allow-1"}}
    for token in ("deny", "allow-elsewhere"):
        _assert_gateway_error(env.send("GET", "/kiosk", [("X-Kiosk", token)]), 403, FORBIDDEN)
    assert len(env.calls["echo"]) == 1


@pytest.mark.parametrize("simple", [True, False])
def test_lambda_authorizer_error_or_bad_answer_is_500(key_file: str, simple: bool) -> None:
    """DOCS: authorizer failure or an invalid answer -> 500 Internal Server Error."""
    env = _kiosk_env(key_file, simple=simple)
    for token in ("error", "garbage"):
        _assert_gateway_error(env.send("GET", "/kiosk", [("X-Kiosk", token)]), 500, INTERNAL)
    assert "echo" not in env.calls
    assert env.send("GET", "/kiosk", [("X-Kiosk", "allow-1")]).status == 200


def test_lambda_authorizer_result_cached_by_identity_for_ttl(key_file: str) -> None:
    """DOCS: cache key = identity-source values, for authorizerResultTtlInSeconds."""
    env = _kiosk_env(key_file, ttl=300)
    for _ in range(3):
        assert env.send("GET", "/kiosk", [("X-Kiosk", "allow-1")]).status == 200
    assert len(env.calls["auth"]) == 1
    assert env.send("GET", "/kiosk", [("X-Kiosk", "deny")]).status == 403
    assert env.send("GET", "/kiosk", [("X-Kiosk", "deny")]).status == 403  # a cached deny applies too
    assert len(env.calls["auth"]) == 2
    env.clock.advance(301)
    assert env.send("GET", "/kiosk", [("X-Kiosk", "allow-1")]).status == 200
    assert len(env.calls["auth"]) == 3
    uncached = _kiosk_env(key_file, ttl=0)
    for _ in range(2):
        uncached.send("GET", "/kiosk", [("X-Kiosk", "allow-1")])
    assert len(uncached.calls["auth"]) == 2


# ---- 5. throttling (DOCS http-api-throttling, api-gateway-request-throttling) --------------------

TOO_MANY = b'{"message":"Too Many Requests"}'


def test_stage_default_throttle_bucket_starts_full_refills_at_rate(key_file: str) -> None:
    """DOCS: token bucket, burst = capacity (starts full), rate = refill/s; 429 Too Many Requests (SEC)."""
    routes = (kit.route("GET", "/a", function="fn"), kit.route("GET", "/b", function="fn"))
    env = Env(key_file, routes, handlers={"fn": _ok()}, stage_rate=2.0, stage_burst=3)
    assert [env.send("GET", "/a").status for _ in range(3)] == [200, 200, 200]
    _assert_gateway_error(env.send("GET", "/a"), 429, TOO_MANY)
    assert env.send("GET", "/b").status == 200  # ASSUMPTION: default route throttling is per route
    env.clock.advance(0.5)
    assert [env.send("GET", "/a").status for _ in range(2)] == [200, 429]


def test_route_override_replaces_the_stage_default(key_file: str) -> None:
    """DOCS http-api-throttling: per-route RouteSettings override the stage default."""
    routes = (kit.route("POST", "/slow", function="fn"), kit.route("GET", "/a", function="fn"))
    env = Env(
        key_file,
        routes,
        handlers={"fn": _ok()},
        stage_rate=1.0,
        stage_burst=1,
        route_limits={"POST /slow": Limit(1, 4)},
    )
    assert [env.send("POST", "/slow").status for _ in range(5)] == [200] * 4 + [429]
    assert [env.send("GET", "/a").status for _ in range(2)] == [200, 429]  # stage default (control)


def test_account_bucket_is_shared_by_every_route(key_file: str) -> None:
    """DOCS limits: the account level bucket caps the whole API whatever the stage allows."""
    routes = (kit.route("GET", "/a", function="fn"), kit.route("GET", "/b", function="fn"))
    env = Env(key_file, routes, handlers={"fn": _ok()}, account=Limit(1.0, 2))
    assert [env.send("GET", p).status for p in ("/a", "/b")] == [200, 200]
    _assert_gateway_error(env.send("GET", "/a"), 429, TOO_MANY)
    _assert_gateway_error(env.send("GET", "/b"), 429, TOO_MANY)
    env.clock.advance(1.0)
    assert env.send("GET", "/b").status == 200


def test_account_default_is_10000_rps_5000_burst(key_file: str) -> None:
    """DOCS limits: 10,000 RPS, burst 5,000: exactly 5,000 requests pass at one instant."""
    routes = (kit.route("GET", "/a", function="fn"),)
    env = Env(key_file, routes, handlers={"fn": lambda e, c: "x"}, stage_rate=1e6, stage_burst=10**6)
    assert env.gateway.api.throttle.account == Limit(10000, 5000)
    assert load_stage("local").api("portal").throttle.account == Limit(10000, 5000)

    async def burst() -> list[int]:
        return [(await call(env.app, "GET", "/portal/a")).status for _ in range(5001)]

    statuses = asyncio.run(burst())
    assert statuses.count(200) == 5000 and statuses[-1] == 429
    env.clock.advance(0.001)  # 10,000/s: ten tokens back after 1 ms
    assert env.send("GET", "/a").status == 200


# ---- 6. Lambda proxy payload 2.0 (DOCS http-api-develop-integrations-lambda) ---------------------


def test_v2_event_built_from_the_http_request(key_file: str) -> None:
    """DOCS payload 2.0: lower-cased headers (dups ','), cookies, comma-joined query, requestContext."""
    env = Env(key_file, (kit.route("POST", "/items/{id}", function="echo"),), handlers={"echo": _echo})
    headers = [
        ("X-Multi", "a"),
        ("x-multi", "b"),
        ("User-Agent", "ua/1"),
        ("Cookie", "c1=v1; c2=v2"),
        ("Content-Type", "text/plain"),
    ]
    resp = env.send("POST", "/items/42", headers, query="q=1&q=2&e=", body=b"hello", client=("10.9.8.7", 5))
    event = env.calls["echo"][0]
    assert (event["version"], event["routeKey"], event["rawPath"]) == ("2.0", "POST /items/{id}", "/items/42")
    assert (event["rawQueryString"], event["queryStringParameters"]) == ("q=1&q=2&e=", {"q": "1,2", "e": ""})
    assert event["cookies"] == ["c1=v1", "c2=v2"]
    assert event["headers"] == {
        "x-multi": "a,b",
        "user-agent": "ua/1",
        "content-type": "text/plain",
        "content-length": "5",  # framed by the client
    }
    assert (event["body"], event["isBase64Encoded"], event["pathParameters"]) == (
        "hello",
        False,
        {"id": "42"},
    )
    ctx = event["requestContext"]
    assert ctx["http"] == {
        "method": "POST",
        "path": "/items/42",
        "protocol": "HTTP/1.1",
        "sourceIp": "10.9.8.7",
        "userAgent": "ua/1",
    }
    assert ctx["requestId"] == header(resp, "apigw-requestid")
    assert (ctx["routeKey"], ctx["stage"]) == ("POST /items/{id}", "$default")
    now = env.clock()
    assert ctx["time"] == time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now))
    assert ctx["timeEpoch"] == int(now * 1000)


@pytest.mark.parametrize(
    ("result", "body"),
    [
        ({"items": [1, 2]}, b'{"items": [1, 2]}'),  # a dict without statusCode: inferred 200 JSON
        ([1, "a"], b'[1, "a"]'),
        ("just text", b"just text"),  # a bare string: 200, body the string
    ],
)
def test_response_inferred_when_there_is_no_status_code(key_file: str, result: Any, body: bytes) -> None:
    """DOCS payload 2.0 response inference: 200, content-type application/json."""
    env = Env(key_file, (kit.route("GET", "/r", function="fn"),), handlers={"fn": lambda e, c: result})
    resp = env.send("GET", "/r")
    assert (resp.status, resp.body) == (200, body)
    assert headers_named(resp, "content-type") == ["application/json"]
    assert REQUEST_ID.match(header(resp, "apigw-requestid") or "")


def test_cookies_become_set_cookie_and_base64_body_is_decoded(key_file: str) -> None:
    """DOCS payload 2.0: `cookies` -> one set-cookie each; isBase64Encoded true -> bytes."""
    raw = bytes(range(256))
    result = {
        "statusCode": 201,
        "headers": {"Content-Type": "application/octet-stream", "X-Flag": True},
        "cookies": ["a=1; Secure", "b=2"],
        "body": base64.b64encode(raw).decode(),
        "isBase64Encoded": True,
    }
    env = Env(key_file, (kit.route("GET", "/r", function="fn"),), handlers={"fn": lambda e, c: result})
    resp = env.send("GET", "/r")
    assert (resp.status, resp.body) == (201, raw)
    assert headers_named(resp, "set-cookie") == ["a=1; Secure", "b=2"]
    assert (header(resp, "content-type"), header(resp, "x-flag")) == ("application/octet-stream", "true")
    plain = dict(result, isBase64Encoded=False)
    env2 = Env(key_file, (kit.route("GET", "/r", function="fn"),), handlers={"fn": lambda e, c: plain})
    assert env2.send("GET", "/r").body == result["body"].encode()  # control: not decoded


def _raise(event: dict, context: Any) -> Any:
    raise ValueError("boom")


@pytest.mark.parametrize(
    "handler",
    [
        _raise,
        lambda e, c: {"statusCode": "abc"},
        lambda e, c: {"statusCode": 200, "body": {"not": "a string"}},
        lambda e, c: {"statusCode": 200, "headers": ["x"]},
        lambda e, c: {"statusCode": 200, "body": "!!", "isBase64Encoded": True},
        lambda e, c: {"no-json": object()},
    ],
)
def test_handler_exception_or_malformed_answer_is_500(key_file: str, handler: Any) -> None:
    """DOCS http-api-troubleshooting-lambda: 500 {"message":"Internal Server Error"}."""
    routes = (kit.route("GET", "/bad", function="bad"), kit.route("GET", "/ok", function="ok"))
    env = Env(key_file, routes, handlers={"bad": handler, "ok": _ok()})
    _assert_gateway_error(env.send("GET", "/bad"), 500, INTERNAL)
    assert env.send("GET", "/ok").status == 200


def test_integration_timeout_default_30s_and_configurable_503(key_file: str) -> None:
    """DOCS limits: HTTP API integration timeout 30 s max/default -> 503 Service Unavailable (SEC body)."""

    def slow(event: dict, context: Any) -> Any:
        time.sleep(0.3)
        return "late"

    routes = (kit.route("GET", "/slow", function="slow"), kit.route("GET", "/ok", function="ok"))
    handlers = {
        "slow": slow,
        "ok": lambda e, c: {"statusCode": 200, "body": str(c.get_remaining_time_in_millis())},
    }
    env = Env(key_file, routes, handlers=handlers)
    remaining = int(env.send("GET", "/ok").body)
    assert 29000 < remaining <= 30000  # the default: 30 s
    fast = Env(key_file, routes, handlers=handlers, timeout_ms=50)
    fast.gateway._invoker = type(fast.gateway._invoker)(mode="thread")
    _assert_gateway_error(fast.send("GET", "/slow"), 503, b'{"message":"Service Unavailable"}')
    assert fast.send("GET", "/ok").status == 200
    per_route = Env(key_file, (kit.route("GET", "/slow", function="slow", timeout_ms=50),), handlers=handlers)
    per_route.gateway._invoker = type(per_route.gateway._invoker)(mode="thread")
    assert per_route.send("GET", "/slow").status == 503


# ---- 7. limits, request id, access log, bad requests ---------------------------------------------


def test_payload_over_10_mb_is_413_and_exactly_10_mb_passes(key_file: str) -> None:
    """DOCS limits: 10 MB payload; 413 body UNKNOWN (s9), ASSUMPTION "Request Too Large"."""
    env = Env(
        key_file,
        (kit.route("POST", "/up", function="fn"),),
        handlers={"fn": lambda e, c: str(len(e["body"]))},
    )
    limit = 10 * 1024 * 1024
    ok = env.send("POST", "/up", body=b"x" * limit, chunk=1024 * 1024)
    assert (ok.status, ok.body) == (200, str(limit).encode())
    for chunk in (1024 * 1024, limit + 1):  # streamed and in one message
        resp = env.send("POST", "/up", body=b"x" * (limit + 1), chunk=chunk)
        _assert_gateway_error(resp, 413, b'{"message":"Request Too Large"}')
    assert len(env.calls["fn"]) == 1


def test_apigw_requestid_on_every_response_and_unique(key_file: str) -> None:
    """DOCS troubleshooting-jwt capture: `apigw-requestid` on success and on every gateway error."""
    routes = (
        kit.route("GET", "/ok", function="fn"),
        kit.route("GET", "/jwt", function="fn", authorizer="cog", scopes=READ),
        kit.route("GET", "/crash", function="crash"),
        kit.route("GET", "/tiny", function="fn"),
    )
    env = Env(
        key_file, routes, handlers={"fn": _ok(), "crash": _raise}, route_limits={"GET /tiny": Limit(0.001, 1)}
    )
    env.send("GET", "/tiny")
    responses = [
        env.send("GET", "/ok"),
        env.send("OPTIONS", "/ok", [("Origin", ORIGIN), ("Access-Control-Request-Method", "GET")]),
        env.send("GET", "/nope"),
        env.send("GET", "/jwt"),
        env.send("GET", "/jwt", [env.bearer(WRITE)]),
        env.send("GET", "/crash"),
        env.send("GET", "/tiny"),
        env.send("POST", "/ok", body=b"x" * (10 * 1024 * 1024 + 1)),
        env.send("GET", b"/\xff"),
    ]
    assert [r.status for r in responses] == [200, 204, 404, 401, 403, 500, 429, 413, 400]
    ids = [header(r, "apigw-requestid") or "" for r in responses]
    assert all(REQUEST_ID.match(i) for i in ids) and len(set(ids)) == len(ids)
    assert all(len(headers_named(r, "apigw-requestid")) == 1 for r in responses)


def test_access_log_line_per_request_in_the_json_format(key_file: str, tmp_path: Path) -> None:
    """An access-log line per request: requestId, ip, routeKey, status, responseLength, integrationError."""
    log = tmp_path / "access.log"
    routes = (
        kit.route("GET", "/ok", function="fn"),
        kit.route("GET", "/jwt", function="fn", authorizer="cog"),
        kit.route("GET", "/crash", function="crash"),
    )
    env = Env(key_file, routes, handlers={"fn": _ok(), "crash": _raise}, access_log=str(log))
    sent = [
        env.send("GET", "/ok", client=("10.0.0.1", 1)),
        env.send("GET", "/nope"),
        env.send("GET", "/jwt", [("Authorization", "Bearer secret-token-value")]),
        env.send("GET", "/crash"),
    ]
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(lines) == len(sent)
    expected = [
        ("10.0.0.1", "GET /ok", 200, "-"),
        ("127.0.0.1", "-", 404, "-"),
        ("127.0.0.1", "GET /jwt", 401, "-"),
        ("127.0.0.1", "GET /crash", 500, "handler raised ValueError"),
    ]
    for line, resp, (ip, route_key, status, error) in zip(lines, sent, expected, strict=True):
        assert line["requestId"] == header(resp, "apigw-requestid")
        assert (line["ip"], line["routeKey"], line["status"], line["integrationError"]) == (
            ip,
            route_key,
            status,
            error,
        )
        assert line["responseLength"] == len(resp.body)
        assert line["httpMethod"] == "GET" and line["protocol"] == "HTTP/1.1"
    assert "secret-token-value" not in log.read_text()


@pytest.mark.parametrize(("path", "query"), [(b"/\xff\xfe", b""), (b"/ok", b"a=\xff")])
def test_unparseable_request_is_400_and_the_server_keeps_serving(
    key_file: str, path: bytes, query: bytes
) -> None:
    """A request the gateway cannot parse: 400 (ASSUMPTION body), never a crash."""
    env = Env(key_file, (kit.route("GET", "/ok", function="fn"),), handlers={"fn": _ok()})
    _assert_gateway_error(env.send("GET", path, query=query), 400, b'{"message":"Bad Request"}')
    assert env.send("GET", "/ok").status == 200


# ---- 8. the test issuer: discovery document and JWKS (docs/internals.md) -------------------------


def test_issuer_discovery_document_and_jwks_verify_the_emulator_tokens(key_file: str) -> None:
    """docs/internals.md: <base>/_stagegate/issuer/.well-known/{openid-configuration,jwks.json}."""
    api = kit.api("portal", "http")
    api = dataclasses.replace(api, credentials=Credentials(signing_key=SigningKey(key_file, kit.KID)))
    keys, document = issuer_material(api)
    gateway = kit.gateway(
        api, kit.contract("http", JWT_ROUTES, authorizers={"cog": JWT}), {"fn": _ok()}, public_keys=keys
    )
    app = App([Mount("/portal", gateway, document, kit.ISSUER)])
    conf = kit.send(
        app, "GET", "/portal/_stagegate/issuer/.well-known/openid-configuration", headers=[("Host", "h:1")]
    )
    assert (conf.status, header(conf, "content-type")) == (200, "application/json")
    doc = json.loads(conf.body)
    assert doc["issuer"] == kit.ISSUER and "RS256" in doc["id_token_signing_alg_values_supported"]
    path = doc["jwks_uri"].removeprefix("http://h:1")
    fetched = kit.send(app, "GET", path)
    assert (fetched.status, header(fetched, "content-type")) == (200, "application/json")
    jwk_set = jwt.PyJWKSet.from_dict(json.loads(fetched.body))
    factory = TokenFactory(key_file, kit.KID, kit.ISSUER, kit.AUDIENCE, clock=gateway.clock)
    token = factory.valid(READ)
    key = jwk_set[jwt.get_unverified_header(token)["kid"]].key
    lenient = {"verify_iat": False, "verify_nbf": False, "verify_exp": False}  # minted on the test clock
    claims = jwt.decode(token, key, algorithms=["RS256"], audience=kit.AUDIENCE, options=lenient)
    assert claims["iss"] == kit.ISSUER
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(factory.foreign_key_same_kid(READ), key, algorithms=["RS256"], options=lenient)
    assert kit.send(app, "GET", "/portal/read", headers=[("Authorization", token)]).status == 200
    assert kit.send(app, "GET", "/portal/_stagegate/issuer/.well-known/nothing").status == 404
