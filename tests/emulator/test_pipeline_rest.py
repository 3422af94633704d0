"""REST API pipeline through the ASGI app in-process: status, exact body and headers per behaviour."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from fixtures.contract import (
    CognitoAuthorizer,
    GatewayResponse,
    MockResponse,
    Parameter,
    Validator,
)
from fixtures.emulator.gateway.render import apigw_id
from fixtures.stage import contract_of, load_stage
from fixtures.tokens import TokenFactory, load_private_key

from . import _kit as kit
from .asgi_client import header

PARTNER_ORIGIN = "https://partner.example"
COGNITO = CognitoAuthorizer("cog", "method.request.header.Authorization", ("arn:pool",), (kit.ISSUER,))
TOKEN = kit.TOKEN_AUTHORIZER
MODEL = {
    "type": "object",
    "required": ["clinic_id"],
    "properties": {"clinic_id": {"type": "string", "minLength": 1}},
    "additionalProperties": False,
}
ROUTES = (
    kit.route(
        "GET",
        "/appointments",
        function="appts",
        api_key=True,
        version="1.0",
        validator=Validator("params-only", False, True),
        parameters=(Parameter("clinic_id", "query", True),),
    ),
    kit.route(
        "POST",
        "/appointments",
        function="appts",
        api_key=True,
        version="1.0",
        validator=Validator("all", True, True),
        parameters=(Parameter("X-Partner-Id", "header", True),),
        bodies={"application/json": MODEL},
    ),
    kit.route(
        "OPTIONS",
        "/appointments",
        mock=MockResponse(
            200, {"Access-Control-Allow-Origin": PARTNER_ORIGIN, "Access-Control-Allow-Methods": "GET"}
        ),
    ),
    kit.route("GET", "/appointments/{id}", function="appts", authorizer="cog", version="1.0"),
    kit.route("GET", "/reports", function="appts", authorizer="tok", version="1.0"),
    kit.route("GET", "/reports/{proxy+}", function="appts", authorizer="tok", version="1.0"),
    kit.route("GET", "/crash", function="crash", version="1.0"),
    kit.route("GET", "/string", function="string", version="1.0"),
    kit.route("GET", "/slow", function="slow", version="1.0"),
)
GW = {
    t: GatewayResponse(t, None, {"Access-Control-Allow-Origin": PARTNER_ORIGIN}, None)
    for t in ("DEFAULT_4XX", "DEFAULT_5XX")
}
PLANS = (
    kit.plan("main", [("good", "good-key-000000000001", True), ("off", "off-key-000000000002", False)]),
    kit.plan("tight", [("tight-a", "tight-key-0000000003", True)], rate=1.0, burst=2),
)


def _token_authorizer(event: dict, context: Any) -> dict:
    token = event["authorizationToken"]
    if token.startswith("error-"):
        raise RuntimeError("authorizer broke")
    effect = "Allow" if token.startswith("allow-") else "Deny"
    return {
        "principalId": token[6:],
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": event["methodArn"]}],
        },
        "context": {"partner": token[6:]},
    }


def _handlers() -> dict:
    def crash(event: dict, context: Any) -> Any:
        raise ValueError("boom")

    def slow(event: dict, context: Any) -> Any:
        time.sleep(0.4)
        return {"statusCode": 200}

    return {
        "appts": kit.json_handler({"items": [{"id": "a1"}]}),
        "crash": crash,
        "string": lambda e, c: "just a string",
        "slow": slow,
        "tok-fn": _token_authorizer,
    }


class Env:
    def __init__(self, key_file: str, faults=(), threaded: bool = False, **api_kw: Any) -> None:
        self.clock = kit.Clock()
        self.handlers = _handlers()
        contract = kit.contract(
            "rest", ROUTES, authorizers={"cog": COGNITO, "tok": TOKEN}, gateway_responses=GW
        )
        api = kit.api("partner", "rest", plans=PLANS, **api_kw)
        keys = {kit.KID: load_private_key(key_file).public_key()}
        self.gateway = kit.gateway(
            api, contract, self.handlers, faults=faults, clock=self.clock, public_keys=keys, threaded=threaded
        )
        self.app = kit.app(self.gateway)
        self.tokens = TokenFactory(key_file, kit.KID, kit.ISSUER, kit.AUDIENCE, clock=self.clock)

    def send(self, method: str, path: str, headers=(), **kw: Any):
        return kit.send(self.app, method, "/partner/v1" + path, headers=headers, **kw)


KEY = ("x-api-key", "good-key-000000000001")


@pytest.fixture
def env(key_file: str) -> Env:
    return Env(key_file)


def test_unknown_path_403_missing_authentication_token(env: Env) -> None:
    """SNAP test_routing_not_found: 403, exact body, MissingAuthenticationTokenException."""
    for method, path in (("GET", "/nope"), ("DELETE", "/reports")):
        resp = env.send(method, path)
        assert (resp.status, resp.body) == (403, b'{"message": "Missing Authentication Token"}')
        assert header(resp, "x-amzn-ErrorType") == "MissingAuthenticationTokenException"
        assert header(resp, "Access-Control-Allow-Origin") == PARTNER_ORIGIN  # DEFAULT_4XX


def test_request_ids_on_success_and_error(env: Env) -> None:
    """SNAP: x-amzn-RequestId and x-amz-apigw-id on every response."""
    for resp in (env.send("GET", "/appointments", [KEY], query="clinic_id=c1"), env.send("GET", "/nope")):
        rid = header(resp, "x-amzn-RequestId")
        assert rid and header(resp, "x-amz-apigw-id") == apigw_id(rid)
    ok = env.send("GET", "/appointments", [KEY], query="clinic_id=c1")
    assert header(ok, "x-amzn-ErrorType") is None


def test_api_key_missing_unknown_disabled_403_valid_200(env: Env) -> None:
    for headers in ([], [("x-api-key", "nope")], [("x-api-key", "off-key-000000000002")]):
        resp = env.send("GET", "/appointments", headers, query="clinic_id=c1")
        assert (resp.status, resp.body) == (403, b'{"message": "Forbidden"}')
        assert header(resp, "x-amzn-ErrorType") == "ForbiddenException"
    ok = env.send("GET", "/appointments", [KEY], query="clinic_id=c1")
    assert ok.status == 200 and ok.body == b'{"items": [{"id": "a1"}]}'


def test_usage_plan_throttle_429_per_key(env: Env) -> None:
    tight = [("x-api-key", "tight-key-0000000003")]
    statuses = [env.send("GET", "/appointments", tight, query="clinic_id=c").status for _ in range(3)]
    assert statuses == [200, 200, 429]
    resp = env.send("GET", "/appointments", tight, query="clinic_id=c")
    assert resp.body == b'{"message": "Too Many Requests"}'
    assert header(resp, "x-amzn-ErrorType") == "TooManyRequestsException"
    assert env.send("GET", "/appointments", [KEY], query="clinic_id=c").status == 200  # other key
    env.clock.advance(1.0)
    assert env.send("GET", "/appointments", tight, query="clinic_id=c").status == 200


def test_missing_required_parameters_400(env: Env) -> None:
    resp = env.send("GET", "/appointments", [KEY])
    assert (resp.status, resp.body) == (
        400,
        b'{"message": "Missing required request parameters: [clinic_id]"}',
    )
    assert header(resp, "x-amzn-ErrorType") == "BadRequestException"


def test_invalid_body_400_valid_body_200(env: Env) -> None:
    hdrs = [KEY, ("X-Partner-Id", "p7"), ("Content-Type", "application/json")]
    bad = env.send("POST", "/appointments", hdrs, body=b'{"clinic_id": 5}')
    assert (bad.status, bad.body) == (400, b'{"message": "Invalid request body"}')
    broken = env.send("POST", "/appointments", hdrs, body=b"{not json")
    assert broken.status == 400
    assert env.send("POST", "/appointments", hdrs, body=b'{"clinic_id": "c1"}').status == 200
    missing = env.send("POST", "/appointments", hdrs[:1] + hdrs[2:], body=b'{"clinic_id": "c1"}')
    assert missing.body == b'{"message": "Missing required request parameters: [X-Partner-Id]"}'


def test_options_mock_integration(env: Env) -> None:
    resp = env.send("OPTIONS", "/appointments", [("Origin", PARTNER_ORIGIN)])
    assert resp.status == 200 and resp.body == b""
    assert header(resp, "Access-Control-Allow-Origin") == PARTNER_ORIGIN
    assert not env.handlers["appts"].events


def test_cognito_authorizer_401_and_claims(env: Env) -> None:
    resp = env.send("GET", "/appointments/a1")
    assert (resp.status, resp.body) == (401, b'{"message": "Unauthorized"}')
    assert header(resp, "x-amzn-ErrorType") == "UnauthorizedException"
    ok = env.send("GET", "/appointments/a1", [("Authorization", env.tokens.valid())])
    assert ok.status == 200
    event = env.handlers["appts"].events[-1]
    assert event["requestContext"]["authorizer"]["claims"]["iss"] == kit.ISSUER
    assert event["pathParameters"] == {"id": "a1"} and event["resource"] == "/appointments/{id}"


def test_token_authorizer_flows(env: Env) -> None:
    ok = env.send("GET", "/reports", [("Authorization", "allow-p7")])
    assert ok.status == 200
    auth = env.handlers["appts"].events[-1]["requestContext"]["authorizer"]
    assert auth == {"partner": "p7", "principalId": "p7"}
    deny = env.send("GET", "/reports", [("Authorization", "deny-p7")])
    assert deny.status == 403
    assert deny.body == b'{"message": "User is not authorized to access this resource with an explicit deny"}'
    assert header(deny, "x-amzn-ErrorType") == "AccessDeniedException"
    assert env.send("GET", "/reports", [("Authorization", "bogus")]).status == 401  # regex mismatch
    assert env.send("GET", "/reports").status == 401
    err = env.send("GET", "/reports", [("Authorization", "error-p7")])
    assert err.status == 500 and header(err, "x-amzn-ErrorType") == "AuthorizerConfigurationException"


def test_cached_policy_denies_other_path_of_proxy(env: Env) -> None:
    """SEC KC: the policy cached for /reports does not cover /reports/2024 -> 403 implicit deny."""
    assert env.send("GET", "/reports", [("Authorization", "allow-p7")]).status == 200
    resp = env.send("GET", "/reports/2024", [("Authorization", "allow-p7")])
    assert (resp.status, resp.body) == (403, b'{"message": "User is not authorized to access this resource"}')
    env.clock.advance(301)  # TTL passed: a fresh policy for this path
    assert env.send("GET", "/reports/2024", [("Authorization", "allow-p7")]).status == 200


def test_bad_proxy_answers_502(env: Env) -> None:
    """SNAP: handler crash and bare string -> 502 {"message": "Internal server error"}."""
    for path in ("/crash", "/string"):
        resp = env.send("GET", path)
        assert (resp.status, resp.body) == (502, b'{"message": "Internal server error"}')
        assert header(resp, "Access-Control-Allow-Origin") == PARTNER_ORIGIN  # DEFAULT_5XX


def test_integration_timeout_504(key_file: str) -> None:
    resp = Env(key_file, threaded=True, timeout_ms=50).send("GET", "/slow")
    assert (resp.status, resp.body) == (504, b'{"message": "Endpoint request timed out"}')


def test_method_override_applies_before_auth(env: Env) -> None:
    """DOCS known-issues: X-HTTP-Method-Override overrides the method (so the GET route's auth runs)."""
    resp = env.send("PATCH", "/appointments/a1", [("X-HTTP-Method-Override", "GET")])
    assert resp.status == 401
    ok = env.send(
        "PATCH",
        "/appointments/a1",
        [("X-HTTP-Method-Override", "GET"), ("Authorization", env.tokens.valid())],
    )
    assert ok.status == 200 and env.handlers["appts"].events[-1]["httpMethod"] == "GET"


def test_fault_route_without_authorizer_rest(key_file: str) -> None:
    assert (
        Env(key_file, faults=["auth.route_without_authorizer"]).send("GET", "/appointments/a1").status == 200
    )


def test_fault_no_headers_on_error_rest(key_file: str) -> None:
    resp = Env(key_file, faults=["cors.no_headers_on_error"]).send("GET", "/nope")
    assert resp.status == 403 and header(resp, "Access-Control-Allow-Origin") is None


def test_fault_trailing_slash_bypass_rest(key_file: str) -> None:
    assert Env(key_file).send("GET", "/appointments/a1/").status == 401  # control
    assert (
        Env(key_file, faults=["routing.trailing_slash_bypass"]).send("GET", "/appointments/a1/").status == 200
    )


def test_fault_variant_skips_api_key_rest(key_file: str) -> None:
    faulty = Env(key_file, faults=["routing.variant_skips_api_key"])
    for path in ("/appointments/", "/Appointments"):
        assert Env(key_file).send("GET", path, query="clinic_id=c1").status == 403  # control
        assert faulty.send("GET", path, query="clinic_id=c1").status == 200, path
    assert faulty.send("GET", "/appointments", query="clinic_id=c1").status == 403  # canonical: checked


@pytest.mark.parametrize(
    ("fault", "method", "path", "headers", "status"),
    [
        ("cors.no_headers_after_authorizer", "GET", "/appointments", (), 403),  # missing key
        ("cors.no_headers_after_authorizer", "GET", "/appointments", (KEY,), 400),  # validator
        ("cors.no_headers_on_lambda_authorizer_errors", "GET", "/reports", (), 401),
        (
            "cors.no_headers_on_lambda_authorizer_errors",
            "GET",
            "/reports",
            (("Authorization", "deny-x"),),
            403,
        ),
        ("cors.no_headers_on_integration_errors", "GET", "/crash", (), 502),
    ],
)
def test_cors_faults_drop_the_gateway_response_headers_of_their_answer_class_only(
    key_file: str, fault: str, method: str, path: str, headers: tuple, status: int
) -> None:
    control = Env(key_file).send(method, path, headers)
    assert control.status == status and header(control, "Access-Control-Allow-Origin") == PARTNER_ORIGIN
    faulty = Env(key_file, faults=[fault])
    resp = faulty.send(method, path, headers)
    assert resp.status == status and header(resp, "Access-Control-Allow-Origin") is None
    other = faulty.send("GET", "/nope")  # the unknown-path 403 keeps them under every one of these
    assert header(other, "Access-Control-Allow-Origin") == PARTNER_ORIGIN


def test_fault_shape_on_rest_success(key_file: str) -> None:
    env = Env(key_file, faults=["shape.drop_response_field", "shape.missing_request_id"])
    resp = env.send("GET", "/appointments", [KEY], query="clinic_id=c1")
    assert json.loads(resp.body) == {} and header(resp, "x-amzn-RequestId") is None


# ---- the local stage's quota plan, with the real partner contract ------------------------------------


def test_quota_a_exhausted_while_quota_b_served() -> None:
    """quota-test-plan: 50 per DAY per key; quota-a's 51st request gets 429 Limit Exceeded."""
    stage = load_stage("local")
    api = stage.api("partner")
    plan = next(p for p in api.usage_plans if p.name == "quota-test-plan")
    keys = {k.name: k.value.value for k in plan.keys}
    handlers = {"partner-appointments": kit.json_handler({"items": []})}
    gw = kit.gateway(api, contract_of(api), handlers, clock=kit.Clock())
    app = kit.app(gw)

    def get(key: str):
        return kit.send(
            app, "GET", "/partner/v1/appointments", headers=[("x-api-key", key)], query="clinic_id=c1"
        )

    assert all(get(keys["quota-a"]).status == 200 for _ in range(plan.quota_limit or 0))
    over = get(keys["quota-a"])
    assert (over.status, over.body) == (429, b'{"message": "Limit Exceeded"}')
    assert header(over, "x-amzn-ErrorType") == "LimitExceededException"
    assert [get(keys["quota-b"]).status for _ in range(5)] == [200] * 5
    assert get(keys["disabled-key"]).status == 403


def test_api_key_source_authorizer_uses_usage_identifier_key() -> None:
    """DOCS api-key-source AUTHORIZER: the key comes from the authorizer's usageIdentifierKey."""

    def authorizer(event: dict, context: Any) -> dict:
        answer = _token_authorizer(event, context)
        answer["usageIdentifierKey"] = (
            "good-key-000000000001" if "good" in event["authorizationToken"] else "x"
        )
        return answer

    routes = (kit.route("GET", "/reports", function="appts", authorizer="tok", version="1.0", api_key=True),)
    contract = kit.contract("rest", routes, authorizers={"tok": TOKEN}, api_key_source="AUTHORIZER")
    handlers = {"appts": kit.json_handler(), "tok-fn": authorizer}
    app = kit.app(kit.gateway(kit.api("partner", "rest", plans=PLANS), contract, handlers))
    ok = kit.send(app, "GET", "/partner/v1/reports", headers=[("Authorization", "allow-good")])
    bad = kit.send(app, "GET", "/partner/v1/reports", headers=[("Authorization", "allow-other")])
    assert (ok.status, bad.status) == (200, 403)
