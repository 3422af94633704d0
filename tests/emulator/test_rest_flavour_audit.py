"""Audit of the REST flavour: one HTTP-level test per rule the other suites did not show on the wire.

Each test drives the ASGI app in-process (tests/emulator/asgi_client.py) and asserts status, exact
body bytes (REST: '{"message": "..."}' with the space) and headers, with a positive control beside
each rejection. The stage is the partner API of stages/local.toml, or the audit contract
tests/data/contracts/audit_rest/partner_gaps.json for what the partner API lacks.
Facts: docs/aws-behaviour.md.
"""

from __future__ import annotations

import base64
import calendar
import dataclasses
import json
from collections.abc import Callable
from typing import Any

import pytest

from fixtures.behaviour import MAX_PAYLOAD_BYTES, REST_ANSWERS, Kind
from fixtures.clinic import partner_handlers
from fixtures.contract import load_contract
from fixtures.emulator.serve.server import App
from fixtures.emulator.wire import Response
from fixtures.stage import ApiConfig, Limit, Throttle, contract_of, load_stage
from fixtures.tokens import TokenFactory, load_private_key

from . import _kit as kit
from .asgi_client import header, headers_named

AUDIT_CONTRACT = "tests/data/contracts/audit_rest/partner_gaps.json"  # a folder: test_contract globs *.json
PARTNER_POOL = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_PartnerPool"
ACAO = "Access-Control-Allow-Origin"


def _json(body: bytes) -> Any:
    return json.loads(body)


def _utc(*parts: int) -> float:
    return float(calendar.timegm((*parts, 0, 0, 0)[:9]))  # type: ignore[arg-type]


# --- the partner API of the local stage ------------------------------------------------------------


class Partner:
    """The partner API of stages/local.toml with its own handlers, a fake clock and a test issuer."""

    def __init__(self, key_file: str, api: ApiConfig | None = None) -> None:
        self.api = api or load_stage("local").api("partner")
        self.clock = kit.Clock()
        self.calls: list[str] = []
        handlers = dict(partner_handlers.make_handlers())
        authorizer = handlers["partner-token-authorizer"]

        def counted(event: dict, context: Any) -> Any:
            self.calls.append(event.get("authorizationToken", ""))
            return authorizer(event, context)

        handlers["partner-token-authorizer"] = counted
        kid = self.api.credentials.signing_key.kid if self.api.credentials.signing_key else kit.KID
        keys = {kid: load_private_key(key_file).public_key()}
        gw = kit.gateway(self.api, contract_of(self.api), handlers, clock=self.clock, public_keys=keys)
        self.app = kit.app(gw)
        self.tokens = TokenFactory(key_file, kid, PARTNER_POOL, "partner-app-client", clock=self.clock)
        self.key = self.api.credentials.api_key.value if self.api.credentials.api_key else ""

    def send(self, method: str, path: str | bytes, headers=(), **kw: Any) -> Response:
        full = b"/partner/v1" + path if isinstance(path, bytes) else "/partner/v1" + path
        return kit.send(self.app, method, full, headers=headers, **kw)


@pytest.fixture
def partner(key_file: str) -> Partner:
    return Partner(key_file)


def _rest_error(resp: Response, status: int, body: bytes, error_type: str) -> None:
    assert (resp.status, resp.body) == (status, body)
    assert header(resp, "x-amzn-ErrorType") == error_type
    assert header(resp, "Content-Type") == "application/json"
    assert header(resp, "x-amzn-RequestId") and header(resp, "x-amz-apigw-id")


def test_unknown_path_and_method_on_partner_api_403_missing_authentication_token(partner: Partner) -> None:
    """SNAP test_routing_not_found (path and wrong-method keys); DEFAULT_4XX adds the CORS origin."""
    ok = partner.send("GET", "/appointments", [("x-api-key", partner.key)], query="clinic_id=42")
    assert ok.status == 200  # positive control
    for method, path in (("GET", "/nope"), ("DELETE", "/appointments"), ("PUT", "/reports")):
        resp = partner.send(method, path, [("x-api-key", partner.key)])
        _rest_error(
            resp, 403, b'{"message": "Missing Authentication Token"}', "MissingAuthenticationTokenException"
        )
        assert header(resp, ACAO) == "https://partner.clinic.com"


def test_cognito_authorizer_id_token_passes_bad_signature_issuer_expiry_401(partner: Partner) -> None:
    """docs/aws-behaviour.md s3: Cognito user pool authorizer, missing/invalid token -> 401 Unauthorized."""
    key = ("x-api-key", partner.key)
    ok = partner.send("GET", "/appointments/appt-1001", [key, ("Authorization", partner.tokens.valid())])
    assert ok.status in (200, 404) and header(ok, "x-amzn-ErrorType") is None  # the handler answered
    for variant in ("foreign_key_same_kid", "tampered_payload", "wrong_issuer", "expired", "malformed"):
        bad = partner.send(
            "GET", "/appointments/appt-1001", [key, ("Authorization", partner.tokens.make(variant))]
        )
        _rest_error(bad, 401, b'{"message": "Unauthorized"}', "UnauthorizedException")
    _rest_error(
        partner.send("GET", "/appointments/appt-1001", [key]),
        401,
        b'{"message": "Unauthorized"}',
        "UnauthorizedException",
    )


def test_token_authorizer_401_regex_403_deny_500_error_exact_bodies(partner: Partner) -> None:
    """s3: identity missing / regex mismatch 401 (not invoked); explicit deny 403; authorizer error 500."""
    ok = partner.send("GET", "/reports", [("Authorization", "allow-partner-7")])
    assert ok.status == 200 and _json(ok.body)["partner"] == "partner-7"
    calls = len(partner.calls)
    for headers in ([], [("Authorization", "")], [("Authorization", "bogus-token")]):
        _rest_error(
            partner.send("GET", "/reports", headers),
            401,
            b'{"message": "Unauthorized"}',
            "UnauthorizedException",
        )
    assert len(partner.calls) == calls  # DOCS: the authorizer is not invoked
    _rest_error(
        partner.send("GET", "/reports", [("Authorization", "deny-partner-7")]),
        403,
        b'{"message": "User is not authorized to access this resource with an explicit deny"}',
        "AccessDeniedException",
    )
    _rest_error(
        partner.send("GET", "/reports", [("Authorization", "error-partner-7")]),
        500,
        b'{"message": "Internal server error"}',
        "AuthorizerConfigurationException",
    )


def test_validation_parameters_checked_before_body_on_partner_post(partner: Partner) -> None:
    """SNAP request_validator + s6 order: missing params win over a bad body; list is comma+space."""
    json_ct = ("Content-Type", "application/json")
    key = ("x-api-key", partner.key)
    good = json.dumps({"clinic_id": "42", "patient_id": "p-1", "datetime": "2026-12-01T09:30:00Z"}).encode()
    ok = partner.send(
        "POST", "/appointments", [key, json_ct, ("X-Partner-Id", "p7")], query="notify=email", body=good
    )
    assert ok.status == 201  # positive control
    both = partner.send("POST", "/appointments", [key, json_ct], body=b"{not json")
    _rest_error(
        both,
        400,
        b'{"message": "Missing required request parameters: [X-Partner-Id, notify]"}',
        "BadRequestException",
    )
    blank = partner.send(
        "POST", "/appointments", [key, json_ct, ("X-Partner-Id", "p7")], query="notify=", body=good
    )
    assert blank.body == b'{"message": "Missing required request parameters: [notify]"}'
    bad_body = partner.send(
        "POST",
        "/appointments",
        [key, json_ct, ("X-Partner-Id", "p7")],
        query="notify=email",
        body=b"{not json",
    )
    _rest_error(bad_body, 400, b'{"message": "Invalid request body"}', "BadRequestException")
    extra = json.dumps({**json.loads(good), "unexpected": 1}).encode()
    resp = partner.send(
        "POST", "/appointments", [key, json_ct, ("X-Partner-Id", "p7")], query="notify=email", body=extra
    )
    assert (resp.status, resp.body) == (400, b'{"message": "Invalid request body"}')  # additionalProperties


def test_api_key_of_another_stage_plan_is_403_on_this_stage(key_file: str) -> None:
    """DOCS api-gateway-api-usage-plans: a key must be in a usage plan of THIS stage, else 403."""
    handlers = {"appts": kit.json_handler()}
    route = kit.route("GET", "/things", function="appts", api_key=True, version="1.0")
    contract = kit.contract("rest", [route])
    mine = kit.plan("mine", [("a", "key-of-stage-a-000001", True)])
    other = kit.plan("other", [("b", "key-of-stage-b-000002", True)])
    app = kit.app(
        kit.gateway(kit.api("first", "rest", plans=(mine,)), contract, handlers),
        kit.gateway(kit.api("second", "rest", plans=(other,)), contract, handlers),
    )
    assert (
        kit.send(app, "GET", "/first/v1/things", headers=[("x-api-key", "key-of-stage-a-000001")]).status
        == 200
    )
    assert (
        kit.send(app, "GET", "/second/v1/things", headers=[("x-api-key", "key-of-stage-b-000002")]).status
        == 200
    )
    resp = kit.send(app, "GET", "/second/v1/things", headers=[("x-api-key", "key-of-stage-a-000001")])
    _rest_error(resp, 403, b'{"message": "Forbidden"}', "ForbiddenException")


# --- usage plans over HTTP with a fake clock -------------------------------------------------------


def _plan_app(plan, clock: kit.Clock, *, stage: Limit | None = None, routes=None) -> App:
    route = kit.route("GET", "/things", function="appts", api_key=True, version="1.0")
    api = kit.api("plans", "rest", plans=(plan,))
    if stage is not None or routes:
        api = dataclasses.replace(api, throttle=Throttle(stage or Limit(1000, 1000), dict(routes or {})))
    return kit.app(
        kit.gateway(api, kit.contract("rest", [route]), {"appts": kit.json_handler()}, clock=clock)
    )


def _get(app: App, key: str) -> Response:
    return kit.send(app, "GET", "/plans/v1/things", headers=[("x-api-key", key)])


def test_quota_day_boundary_resets_at_utc_midnight_over_http() -> None:
    clock = kit.Clock(_utc(2027, 3, 10, 23, 59, 58))
    app = _plan_app(kit.plan("daily", [("d", "daily-key-0000000001", True)], quota=2, period="DAY"), clock)
    assert [_get(app, "daily-key-0000000001").status for _ in range(2)] == [200, 200]
    over = _get(app, "daily-key-0000000001")
    _rest_error(over, 429, b'{"message": "Limit Exceeded"}', "LimitExceededException")
    clock.now = _utc(2027, 3, 10, 23, 59, 59) + 0.999
    assert _get(app, "daily-key-0000000001").status == 429  # still the same UTC day
    clock.now = _utc(2027, 3, 11, 0, 0, 0)
    assert _get(app, "daily-key-0000000001").status == 200  # a new DAY period


def test_quota_month_rollover_over_http() -> None:
    clock = kit.Clock(_utc(2027, 1, 31, 23, 0, 0))
    app = _plan_app(
        kit.plan("monthly", [("m", "monthly-key-00000001", True)], quota=1, period="MONTH"), clock
    )
    assert _get(app, "monthly-key-00000001").status == 200
    clock.now = _utc(2027, 1, 31, 23, 59, 59)
    assert _get(app, "monthly-key-00000001").body == b'{"message": "Limit Exceeded"}'
    clock.now = _utc(2027, 2, 1, 0, 0, 0)
    assert _get(app, "monthly-key-00000001").status == 200
    assert _get(app, "monthly-key-00000001").status == 429


def test_quota_offset_reduces_only_the_initial_period_over_http() -> None:
    """API reference QuotaSettings.offset: requests subtracted from the limit in the initial period."""
    clock = kit.Clock(_utc(2027, 3, 10, 12, 0, 0))
    plan = dataclasses.replace(
        kit.plan("offset", [("o", "offset-key-000000001", True)], quota=3, period="DAY"), quota_offset=1
    )
    app = _plan_app(plan, clock)
    assert [_get(app, "offset-key-000000001").status for _ in range(3)] == [200, 200, 429]
    clock.now = _utc(2027, 3, 11, 0, 0, 1)
    assert [_get(app, "offset-key-000000001").status for _ in range(4)] == [200, 200, 200, 429]


def test_throttle_precedence_usage_plan_key_before_method_before_stage_over_http() -> None:
    """DOCS request-throttling: plan per-method/per-key limits, then stage method limits, then stage."""
    clock = kit.Clock()
    plan = kit.plan(
        "pre", [("k1", "prec-key-00000000001", True), ("k2", "prec-key-00000000002", True)], rate=1.0, burst=3
    )
    plan = dataclasses.replace(plan, method_throttle={"GET /things": Limit(1.0, 1)})
    app = _plan_app(plan, clock, stage=Limit(1000, 1000), routes={"GET /things": Limit(1.0, 2)})
    # Level 1, the plan's per-method limit per key (burst 1): k1's second request is throttled.
    assert [_get(app, "prec-key-00000000001").status for _ in range(2)] == [200, 429]
    resp = _get(app, "prec-key-00000000001")
    _rest_error(resp, 429, b'{"message": "Too Many Requests"}', "TooManyRequestsException")
    assert _get(app, "prec-key-00000000002").status == 200  # k2 has its own bucket (positive control)
    # Level 2, the stage's method limit (rate 1, burst 2) shared by all keys: after 1 s each key has a
    # plan token again but the stage bucket has only one, so the second key is throttled there.
    clock.advance(1.0)
    assert _get(app, "prec-key-00000000001").status == 200
    stage_level = _get(app, "prec-key-00000000002")
    assert (stage_level.status, stage_level.body) == (429, b'{"message": "Too Many Requests"}')


def test_test_plan_quota_exhausted_by_one_key_while_second_key_served(partner: Partner) -> None:
    """stages/local.toml quota-test-plan: quota-a runs out (429 Limit Exceeded); quota-b still 200."""
    plan = next(p for p in partner.api.usage_plans if p.name == "quota-test-plan")
    keys = {k.name: k.value.value for k in plan.keys}
    query = "clinic_id=42"

    def get(name: str) -> Response:
        return partner.send("GET", "/appointments", [("x-api-key", keys[name])], query=query)

    assert [get("quota-a").status for _ in range(plan.quota_limit or 0)] == [200] * (plan.quota_limit or 0)
    _rest_error(get("quota-a"), 429, b'{"message": "Limit Exceeded"}', "LimitExceededException")
    assert [get("quota-b").status for _ in range(3)] == [200] * 3
    partner.clock.now = _utc(2027, 1, 16, 0, 0, 0)  # the kit clock starts on 2027-01-15
    assert get("quota-a").status == 200  # the next UTC day


# --- the audit contract: REQUEST authorizer, {proxy+} cache, $default model, proxy rules -----------


def _echo() -> Callable[[dict, Any], Any]:
    events: list[dict] = []

    def handler(event: dict, context: Any) -> dict:
        events.append({**event, "_remaining_ms": context.get_remaining_time_in_millis()})
        return {"statusCode": 200, "body": "ok"}

    handler.events = events  # type: ignore[attr-defined]
    return handler


SHAPES: dict[str, Any] = {
    "extra": {"statusCode": 200, "body": "x", "wrongValue": 1},
    "string": "just a string",
    "text-status": {"statusCode": "test", "body": "x"},
    "numeric-string": {"statusCode": "201", "body": "made"},
    "body-not-string": {"statusCode": 200, "body": {"a": 1}},
    "multi-not-list": {"statusCode": 200, "multiValueHeaders": {"X-M": "one"}},
    "multi": {
        "statusCode": 200,
        "headers": {"test-multi": "value-solo", "x-bool": True},
        "multiValueHeaders": {"tesT-Multi": ["value1", "value2"]},
        "body": "",
    },
    "b64": {"statusCode": 200, "isBase64Encoded": True, "body": base64.b64encode(b"test-data").decode()},
    "headers-only": {"headers": {"x-only": "1"}},
}


def _policy(event: dict, effect: str, resource: str) -> dict:
    return {
        "principalId": "tenant-1",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
        },
        # REST keeps the client's header case (SNAP): read the name case-insensitively.
        "context": {
            "tenant": {k.lower(): v for k, v in (event.get("headers") or {}).items()}.get(
                "x-tenant", event.get("authorizationToken", "")
            )
        },
    }


# The audit contract customises UNAUTHORIZED (template with $context.error.*).
AUDIT_UNAUTHORIZED = b'{"error": {"type": "UNAUTHORIZED", "text": "Unauthorized"}}'
AUDIT_POOL = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AuditPool"


class Audit:
    def __init__(self, key_file: str, *, threaded: bool = False) -> None:
        self.clock = kit.Clock()
        self.tokens = TokenFactory(key_file, kit.KID, AUDIT_POOL, "audit-client", clock=self.clock)
        self.contract = load_contract(AUDIT_CONTRACT, "rest")
        self.echo = _echo()
        self.auth_events: list[dict] = []

        def tok(event: dict, context: Any) -> dict:
            self.auth_events.append(event)
            token = event["authorizationToken"]
            if token.startswith("error-"):
                raise RuntimeError("authorizer broke")
            return _policy(event, "Allow" if token.startswith("allow-") else "Deny", event["methodArn"])

        def req(event: dict, context: Any) -> dict:
            self.auth_events.append(event)
            key = (event.get("queryStringParameters") or {}).get("key", "")
            if key == "deny":
                return _policy(event, "Deny", event["methodArn"])
            if key == "elsewhere":  # an Allow that does not cover this method ARN: implicit deny
                return _policy(event, "Allow", event["methodArn"].rsplit("/", 2)[0] + "/POST/other")
            return _policy(event, "Allow", event["methodArn"])

        handlers = {
            "echo": self.echo,
            "shape": lambda e, c: SHAPES[e["pathParameters"]["kind"]],
            "tok-fn": tok,
        }
        handlers["req-fn"] = req
        plans = (kit.plan("audit", [("a", "audit-key-0000000001", True)]),)
        self.gateway = kit.gateway(
            kit.api("audit", "rest", plans=plans),
            self.contract,
            handlers,
            clock=self.clock,
            threaded=threaded,
            public_keys={kit.KID: load_private_key(key_file).public_key()},
        )
        self.app = kit.app(self.gateway)

    def send(self, method: str, path: str, headers=(), **kw: Any) -> Response:
        return kit.send(self.app, method, "/audit/v1" + path, headers=headers, **kw)


@pytest.fixture
def audit(key_file: str) -> Audit:
    return Audit(key_file)


def test_cognito_access_token_needs_method_scopes_id_token_needs_none(audit: Audit) -> None:
    """DOCS apigateway-enable-cognito-user-pool: with OAuth scopes on the method the token is an
    access token whose scopes must match; without scopes it is treated as an ID token."""
    secure = audit.send(
        "GET", "/secure", [("Authorization", audit.tokens.cognito_access_token(["audit/read"]))]
    )
    assert (secure.status, secure.body) == (200, b"ok")
    claims = audit.echo.events[-1]["requestContext"]["authorizer"]["claims"]
    assert claims["token_use"] == "access" and claims["iss"] == AUDIT_POOL
    for token in (audit.tokens.cognito_access_token(["audit/write"]), audit.tokens.valid()):
        resp = audit.send("GET", "/secure", [("Authorization", token)])
        _rest_error(resp, 401, AUDIT_UNAUTHORIZED, "UnauthorizedException")
    plain = audit.send("GET", "/plain", [("Authorization", audit.tokens.valid())])
    assert (plain.status, plain.body) == (200, b"ok")


def test_cognito_access_token_on_a_method_without_scopes_is_401(audit: Audit) -> None:
    """DOCS apigateway-enable-cognito-user-pool: without method scopes only an ID token passes."""
    assert audit.send("GET", "/plain", [("Authorization", audit.tokens.valid())]).status == 200  # control
    resp = audit.send("GET", "/plain", [("Authorization", audit.tokens.cognito_access_token())])
    _rest_error(resp, 401, AUDIT_UNAUTHORIZED, "UnauthorizedException")


def test_request_authorizer_identity_sources_policy_and_context(audit: Audit) -> None:
    """DOCS apigateway-use-lambda-authorizer: REQUEST type; all identity sources needed, else 401."""
    ok = audit.send("GET", "/files/a/b", [("X-Tenant", "t1")], query="key=k1")
    assert (ok.status, ok.body) == (200, b"ok")
    event = audit.auth_events[-1]
    assert (event["type"], event["identitySource"]) == ("REQUEST", "t1,k1")
    assert event["methodArn"].endswith("/v1/GET/files/a/b") and event["resource"] == "/files/{proxy+}"
    assert audit.echo.events[-1]["requestContext"]["authorizer"] == {
        "tenant": "t1",
        "principalId": "tenant-1",
    }
    calls = len(audit.auth_events)
    for headers, query in (([], "key=k1"), ([("X-Tenant", "t1")], ""), ([("X-Tenant", "t1")], "KEY=k1")):
        resp = audit.send("GET", "/files/a/b", headers, query=query)
        # UNAUTHORIZED is customised in the audit contract (template, status, header).
        assert (resp.status, resp.body) == (401, AUDIT_UNAUTHORIZED)
    assert len(audit.auth_events) == calls  # not invoked without every identity source
    deny = audit.send("GET", "/files/a/b", [("X-Tenant", "t2")], query="key=deny")
    rid = header(deny, "x-amzn-RequestId")
    explicit = "User is not authorized to access this resource with an explicit deny"
    expected = f'{{"message": "{explicit}", "requestId": "{rid}"}}'
    assert (deny.status, deny.body) == (403, expected.encode())
    implicit = audit.send("GET", "/files/a/b", [("X-Tenant", "t3")], query="key=elsewhere")
    rid = header(implicit, "x-amzn-RequestId")
    expected = f'{{"message": "User is not authorized to access this resource", "requestId": "{rid}"}}'
    assert (implicit.status, implicit.body) == (403, expected.encode())
    assert header(implicit, "x-amzn-ErrorType") == "AccessDeniedException"


def test_authorizer_ttl_defaults_to_300_s_and_cached_policy_traps_proxy_paths(audit: Audit) -> None:
    """s3: REST TTL default 300 s; a policy cached for one {proxy+} path denies another (KC, SEC)."""
    assert audit.contract.authorizers["tok"].ttl_seconds == 300  # the contract sets no TTL
    auth = [("Authorization", "allow-p1")]
    assert audit.send("GET", "/reports/2024", auth).status == 200
    assert len(audit.auth_events) == 1
    trapped = audit.send("GET", "/reports/2025", auth)
    assert (
        trapped.status == 403
        and _json(trapped.body)["message"] == "User is not authorized to access this resource"
    )
    assert len(audit.auth_events) == 1  # served from the cache
    audit.clock.advance(299.0)
    assert audit.send("GET", "/reports/2024", auth).status == 200 and len(audit.auth_events) == 1
    assert audit.send("GET", "/reports/2025", auth).status == 403
    audit.clock.advance(1.5)  # 300.5 s after caching: expired
    assert audit.send("GET", "/reports/2025", auth).status == 200 and len(audit.auth_events) == 2


def test_default_model_validates_every_content_type(audit: Audit) -> None:
    """DOCS api-gateway-method-request-validation: `$default` model applies regardless of content type."""
    hdrs = [("x-api-key", "audit-key-0000000001"), ("X-Tenant", "t1")]
    for ct in ("application/json", "text/plain", "application/x-www-form-urlencoded"):
        ok = audit.send(
            "POST", "/orders", [*hdrs, ("Content-Type", ct)], query="dry_run=1", body=b'{"qty": 2}'
        )
        assert ok.status == 200
        bad = audit.send(
            "POST", "/orders", [*hdrs, ("Content-Type", ct)], query="dry_run=1", body=b'{"qty": "2"}'
        )
        _rest_error(bad, 400, b'{"message": "Invalid request body"}', "BadRequestException")
    none = audit.send("POST", "/orders", hdrs, query="dry_run=1", body=b"{}")
    assert (none.status, none.body) == (400, b'{"message": "Invalid request body"}')


def test_no_model_for_the_content_type_means_no_body_validation(audit: Audit) -> None:
    """DOCS: "If no matching content type is found, request validation is not performed"."""
    bad = audit.send("PUT", "/orders", [("Content-Type", "application/json")], body=b'{"qty": "x"}')
    _rest_error(bad, 400, b'{"message": "Invalid request body"}', "BadRequestException")
    ok = audit.send(
        "PUT", "/orders", [("Content-Type", "application/json; charset=utf-8")], body=b'{"qty": 1}'
    )
    assert ok.status == 200
    for ct in ("text/plain", "application/xml"):
        resp = audit.send("PUT", "/orders", [("Content-Type", ct)], body=b'{"qty": "x"}')
        assert (resp.status, resp.body) == (200, b"ok")


def test_models_use_json_schema_draft_4(audit: Audit) -> None:
    """DOCS known-issues: draft 4 (boolean exclusiveMinimum; `format` not enforced)."""
    ct = [("Content-Type", "application/json")]
    zero = audit.send("PUT", "/orders", ct, body=b'{"qty": 0}')
    assert (zero.status, zero.body) == (400, b'{"message": "Invalid request body"}')  # exclusive minimum 0
    assert audit.send("PUT", "/orders", ct, body=b'{"qty": 0.5}').status == 200
    assert audit.send("PUT", "/orders", ct, body=b'{"qty": 1, "when": "not-a-date"}').status == 200


def test_lambda_proxy_v1_event_nulls_multi_values_and_trailing_slash(audit: Audit) -> None:
    """SNAP test_lambda_aws_proxy_integration: nulls, last query value wins, path keeps the slash."""
    assert audit.send("GET", "/echo").status == 200
    bare = audit.echo.events[-1]
    for field in (
        "queryStringParameters",
        "multiValueQueryStringParameters",
        "pathParameters",
        "stageVariables",
        "body",
    ):
        assert field in bare and bare[field] is None, field
    assert bare["isBase64Encoded"] is False and bare["resource"] == "/echo" and bare["path"] == "/echo"
    assert bare["requestContext"]["path"] == "/v1/echo" and bare["requestContext"]["stage"] == "v1"
    audit.send("GET", "/echo", [("X-Dup", "a"), ("X-Dup", "b")], query="price=10&price=20&price=30&q=a+b%2B")
    multi = audit.echo.events[-1]
    assert multi["queryStringParameters"] == {"price": "30", "q": "a b+"}
    assert multi["multiValueQueryStringParameters"] == {"price": ["10", "20", "30"], "q": ["a b+"]}
    # Names as the client spelt them (SNAP `tEsT-HEADeR`); the last value in `headers`.
    assert multi["multiValueHeaders"]["X-Dup"] == ["a", "b"] and multi["headers"]["X-Dup"] == "b"
    audit.send("GET", "/echo/proxy-value/")
    slash = audit.echo.events[-1]
    assert slash["path"] == "/echo/proxy-value/" and slash["pathParameters"] == {"proxy": "proxy-value"}
    assert slash["resource"] == "/echo/{proxy+}"


def test_lambda_proxy_v1_response_rules_over_http(audit: Audit) -> None:
    """SNAP test_aws_proxy_response_payload_format_validation and the multi-headers / b64 keys."""
    for kind in ("extra", "string", "text-status", "body-not-string", "multi-not-list"):
        resp = audit.send("GET", f"/shape/{kind}")
        _rest_error(resp, 502, b'{"message": "Internal server error"}', "InternalServerErrorException")
        assert header(resp, ACAO) is None  # the audit contract customises DEFAULT_4XX only
    made = audit.send("GET", "/shape/numeric-string")
    assert (made.status, made.body) == (201, b"made")
    merged = audit.send("GET", "/shape/multi")
    assert headers_named(merged, "test-multi") == ["value1, value2, value-solo"]
    assert ("tesT-Multi", "value1, value2, value-solo") in merged.headers and header(
        merged, "x-bool"
    ) == "true"
    assert (merged.body, header(merged, "Content-Type")) == (b"", "application/json")
    b64 = audit.send("GET", "/shape/b64")  # no binary media types: the base64 text passes unchanged
    assert (b64.status, b64.body) == (200, b"dGVzdC1kYXRh")
    only = audit.send("GET", "/shape/headers-only")
    assert (only.status, only.body, header(only, "x-only")) == (200, b"", "1")


def test_integration_timeout_defaults_to_29_s(audit: Audit) -> None:
    """DOCS limits: REST integration timeout default/max 29 s (the handler's context counts down from it)."""
    assert {r.integration.timeout_ms for r in audit.contract.routes if r.integration.type == "aws_proxy"} == {
        29000
    }
    assert audit.send("GET", "/echo").status == 200
    assert 28000 < audit.echo.events[-1]["_remaining_ms"] <= 29000


def test_custom_gateway_responses_from_the_contract(audit: Audit) -> None:
    """DOCS gateway responses: status, template ($context.error.*) and headers per type, DEFAULT_4XX else."""
    assert audit.send("GET", "/echo").status == 200  # positive control
    missing = audit.send("GET", "/nowhere")
    assert (missing.status, missing.body) == (
        404,
        b'{"message": "No such route", "type": "MISSING_AUTHENTICATION_TOKEN"}',
    )
    assert header(missing, "x-amzn-ErrorType") == "MissingAuthenticationTokenException"
    unauth = audit.send("GET", "/reports")
    assert (unauth.status, unauth.body) == (401, AUDIT_UNAUTHORIZED)
    assert header(unauth, "WWW-Authenticate") == 'Bearer realm="audit"'
    no_key = audit.send("POST", "/orders", [("X-Tenant", "t")], query="dry_run=1", body=b'{"qty": 1}')
    _rest_error(no_key, 403, b'{"message": "Forbidden"}', "ForbiddenException")
    assert header(no_key, ACAO) == "https://audit.example"  # DEFAULT_4XX only
    preflight = audit.send("OPTIONS", "/orders", [("Origin", "https://audit.example")])
    assert (preflight.status, preflight.body) == (204, b"")  # MOCK integration, its own status
    assert header(preflight, ACAO) == "https://audit.example"
    assert header(preflight, "Access-Control-Allow-Methods") == "POST,PUT,OPTIONS"


DOCUMENTED_DEFAULTS = {  # DOCS supported-gateway-response-types
    "ACCESS_DENIED": 403,
    "AUTHORIZER_CONFIGURATION_ERROR": 500,
    "AUTHORIZER_FAILURE": 500,
    "BAD_REQUEST_PARAMETERS": 400,
    "BAD_REQUEST_BODY": 400,
    "EXPIRED_TOKEN": 403,
    "INTEGRATION_FAILURE": 504,
    "INTEGRATION_TIMEOUT": 504,
    "INVALID_API_KEY": 403,
    "INVALID_SIGNATURE": 403,
    "MISSING_AUTHENTICATION_TOKEN": 403,
    "QUOTA_EXCEEDED": 429,
    "REQUEST_TOO_LARGE": 413,
    "RESOURCE_NOT_FOUND": 404,
    "THROTTLED": 429,
    "UNAUTHORIZED": 401,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "WAF_FILTERED": 403,
}


def test_default_gateway_response_statuses_follow_the_documented_table() -> None:
    """Except where a recording shows the data plane answering otherwise: INTEGRATION_FAILURE for a
    Lambda proxy integration that cannot be invoked is 500, not 504 (SNAP
    test_lambda_aws_proxy_integration_non_post_method)."""
    recorded = {Kind.INTEGRATION_MISCONFIGURED}
    answered = {
        a.gateway_response: a.status
        for kind, a in REST_ANSWERS.items()
        if a.gateway_response in DOCUMENTED_DEFAULTS and kind not in recorded
    }
    assert len(answered) >= 10
    assert answered == {gw: DOCUMENTED_DEFAULTS[gw] for gw in answered}


def test_request_over_10_mb_is_413_and_not_customised(audit: Audit) -> None:
    """DOCS limits: 10 MB payload; the 413 gateway response cannot be customised."""
    at_limit = audit.send("POST", "/echo", body=b"a" * MAX_PAYLOAD_BYTES)
    assert at_limit.status == 200  # positive control: exactly 10 MB
    over = audit.send("POST", "/echo", body=b"a" * (MAX_PAYLOAD_BYTES + 1))
    _rest_error(over, 413, b'{"message": "Request Too Large"}', "RequestTooLargeException")
    assert header(over, ACAO) is None  # DEFAULT_4XX is not applied to 413
    assert audit.send("GET", "/echo").status == 200  # still serving


def test_partner_api_keeps_serving_under_malformed_requests(partner: Partner) -> None:
    """Bad JSON -> 400 Invalid request body; wrong content type -> no model, handler answers; bad UTF-8."""
    key, pid = ("x-api-key", partner.key), ("X-Partner-Id", "p7")
    bad_json = partner.send(
        "POST",
        "/appointments",
        [key, pid, ("Content-Type", "application/json")],
        query="notify=sms",
        body=b'{"clinic_id": ',
    )
    assert (bad_json.status, bad_json.body) == (400, b'{"message": "Invalid request body"}')
    garbage = partner.send(
        "POST",
        "/appointments",
        [key, pid, ("Content-Type", "application/json")],
        query="notify=sms",
        body=b"\xff\xfe\x00",
    )
    assert (garbage.status, garbage.body) == (400, b'{"message": "Invalid request body"}')
    wrong_ct = partner.send(
        "POST", "/appointments", [key, pid, ("Content-Type", "text/plain")], query="notify=sms", body=b"hello"
    )
    assert wrong_ct.status == 400 and header(wrong_ct, "x-amzn-ErrorType") is None  # the handler's own 400
    for path, query in ((b"/appointments/\xc3\x28", b""), (b"/appointments", b"clinic_id=\xff")):
        resp = partner.send("GET", path, [key], query=query)
        assert resp.status == 400 and header(resp, "x-amzn-RequestId")
    under = partner.send("GET", "/appointments", [key, ("X-Big", "v" * 8000)], query="clinic_id=42")
    assert under.status == 200  # one 8000-byte value: within the 10240-byte header limit (DOCS limits)
    # Over the limit AWS's answer is UNKNOWN (s9); the emulator must still answer and keep serving.
    huge = partner.send(
        "GET", "/appointments", [key, *[(f"X-Big-{i}", "v" * 8000) for i in range(20)]], query="clinic_id=42"
    )
    assert header(huge, "x-amzn-RequestId") and huge.status < 500
    ok = partner.send("GET", "/appointments", [key], query="clinic_id=42")
    assert ok.status == 200  # still serving
