"""The clinic Lambda handlers, called directly with hand-built proxy events (no gateway)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from conformance.harness.response_schema import compile_schema
from fixtures.clinic import partner_handlers, portal_handlers
from fixtures.clinic.models import CRASH_PROBE_ID, SEED_ID, ProbeCrash
from fixtures.contract import Contract, load_contract
from fixtures.emulator.integration.lambda_context import LambdaContext

VALID = {"clinic_id": "42", "patient_id": "pat-1", "datetime": "2026-12-01T09:30:00Z"}
SKIP = frozenset({portal_handlers.SKIP_BODY_VALIDATION})


def ctx(name: str = "fn", request_id: str = "req-1") -> LambdaContext:
    return LambdaContext(name, request_id, deadline=100.0, clock=lambda: 70.0)


def v2(
    route_key: str,
    body: Any = None,
    *,
    raw: str | None = None,
    path_id: str | None = None,
    query: dict[str, str] | None = None,
    lambda_ctx: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A payload 2.0 event as an HTTP API sends it (JWT claims unless a Lambda authorizer context)."""
    authorizer: dict[str, Any] = (
        {"lambda": lambda_ctx}
        if lambda_ctx is not None
        else {"jwt": {"claims": {"sub": "user-1", "scope": "appointments/write"}, "scopes": None}}
    )
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": route_key.split(" ", 1)[1],
        "headers": {"content-type": "application/json"},
        "requestContext": {"authorizer": authorizer, "requestId": "rid"},
        "isBase64Encoded": False,
    }
    if raw is not None or body is not None:
        event["body"] = raw if raw is not None else json.dumps(body)
    if path_id is not None:
        event["pathParameters"] = {"id": path_id}
    if query is not None:
        event["queryStringParameters"] = query
    return event


def v1(
    method: str,
    resource: str,
    body: Any = None,
    *,
    raw: str | None = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    path_id: str | None = None,
    authorizer: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A payload 1.0 event as a REST API sends it (absent values are null, not omitted)."""
    return {
        "resource": resource,
        "path": resource.replace("{id}", path_id or ""),
        "httpMethod": method,
        "headers": headers,
        "queryStringParameters": query,
        "pathParameters": {"id": path_id} if path_id else None,
        "requestContext": {"authorizer": authorizer, "stage": "v1"},
        "body": raw if raw is not None else (json.dumps(body) if body is not None else None),
        "isBase64Encoded": False,
    }


def payload(result: dict[str, Any]) -> Any:
    return json.loads(result["body"])


@pytest.fixture(scope="module")
def portal_contract() -> Contract:
    return load_contract("fixtures/clinic/portal.openapi.json", "http")


@pytest.fixture(scope="module")
def partner_contract() -> Contract:
    return load_contract("fixtures/clinic/partner.openapi.json", "rest")


def assert_matches(contract: Contract, route_key: str, result: dict[str, Any]) -> None:
    """The handler's answer has a status the contract documents and a body its schema accepts."""
    spec = contract.route(route_key).responses[str(result["statusCode"])]
    # Response schemas are OpenAPI 3.0 Schema Objects (nullable...), not draft 4
    # (conformance/harness/response_schema.py).
    schema = compile_schema(spec.schemas["application/json"], contract.openapi, contract.component_schemas)
    assert schema.errors(payload(result)) == []


# --- portal -------------------------------------------------------------------------------------


def test_health_answers_ok(portal_contract: Contract) -> None:
    result = portal_handlers.make_handlers()["clinic-health"](v2("GET /health"), ctx())
    assert (result["statusCode"], payload(result)) == (200, {"status": "ok"})
    assert_matches(portal_contract, "GET /health", result)


def test_post_appointment_creates_and_lists_it(portal_contract: Contract) -> None:
    handler = portal_handlers.make_handlers()["clinic-appointments"]
    created = handler(v2("POST /appointments", {**VALID, "channel": "kiosk", "reason": "x" * 200}), ctx())
    assert created["statusCode"] == 201
    record = payload(created)
    assert record["status"] == "booked" and record["id"].startswith("appt-")
    assert {k: record[k] for k in VALID} == VALID
    assert_matches(portal_contract, "POST /appointments", created)
    listed = handler(v2("GET /appointments", query={"clinic_id": "42"}), ctx())
    assert record in payload(listed)["items"]
    assert_matches(portal_contract, "GET /appointments", listed)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ('{"clinic_id": ', "Invalid JSON in request body"),
        ("[1, 2]", "Request body must be a JSON object"),
        (
            json.dumps({"clinic_id": "42", "datetime": "2026-12-01T09:30:00Z"}),
            "Missing required property: patient_id",
        ),
        (json.dumps({**VALID, "priority": "high"}), "Unexpected property: priority"),
        (json.dumps({**VALID, "clinic_id": 42}), "Property clinic_id must be a non-empty string"),
        (json.dumps({**VALID, "patient_id": ""}), "Property patient_id must be a non-empty string"),
        (json.dumps({**VALID, "datetime": "tomorrow"}), "Property datetime must be"),
        (json.dumps({**VALID, "datetime": "2026-13-01T09:30:00Z"}), "Property datetime must be an RFC 3339"),
        (json.dumps({**VALID, "datetime": "2026-12-01T09:30:00"}), "Property datetime must be an RFC 3339"),
        (json.dumps({**VALID, "channel": "fax"}), "Property channel must be one of: web, phone, kiosk"),
        (json.dumps({**VALID, "reason": "x" * 201}), "Property reason must be at most 200 characters"),
        (json.dumps({**VALID, "reason": 7}), "Property reason must be a string"),
    ],
    ids=[
        "bad-json",
        "array",
        "missing",
        "extra",
        "wrong-type",
        "empty",
        "not-a-date",
        "bad-month",
        "no-offset",
        "bad-enum",
        "reason-too-long",
        "reason-type",
    ],
)
def test_post_appointment_rejects_invalid_body(raw: str, message: str, portal_contract: Contract) -> None:
    result = portal_handlers.make_handlers()["clinic-appointments"](v2("POST /appointments", raw=raw), ctx())
    assert result["statusCode"] == 400
    assert payload(result)["message"].startswith(message)
    assert_matches(portal_contract, "POST /appointments", result)


def test_post_appointment_without_body_is_400() -> None:
    result = portal_handlers.make_handlers()["clinic-appointments"](v2("POST /appointments"), ctx())
    assert (result["statusCode"], payload(result)) == (400, {"message": "Request body is required"})


def test_post_appointment_decodes_base64_body() -> None:
    event = v2("POST /appointments", raw=base64.b64encode(json.dumps(VALID).encode()).decode())
    event["isBase64Encoded"] = True
    assert portal_handlers.make_handlers()["clinic-appointments"](event, ctx())["statusCode"] == 201


def test_skip_body_validation_fault_accepts_invalid_bodies() -> None:
    bad = json.dumps({**VALID, "channel": "fax", "extra": 1})
    honest = portal_handlers.make_handlers()["clinic-appointments"]
    buggy = portal_handlers.make_handlers(SKIP)["clinic-appointments"]
    assert honest(v2("POST /appointments", raw=bad), ctx())["statusCode"] == 400
    assert buggy(v2("POST /appointments", raw=bad), ctx())["statusCode"] == 201
    assert buggy(v2("POST /appointments", raw="not json"), ctx())["statusCode"] == 201
    assert buggy(v2("PUT /appointments/{id}", raw=bad, path_id="appt-9"), ctx())["statusCode"] == 200


def test_put_replaces_and_delete_removes(portal_contract: Contract) -> None:
    handler = portal_handlers.make_handlers()["clinic-appointments"]
    updated = handler(v2("PUT /appointments/{id}", {**VALID, "channel": "phone"}, path_id="appt-1001"), ctx())
    assert updated["statusCode"] == 200 and payload(updated)["id"] == "appt-1001"
    assert payload(updated)["channel"] == "phone"
    assert_matches(portal_contract, "PUT /appointments/{id}", updated)
    invalid = handler(v2("PUT /appointments/{id}", {**VALID, "datetime": "soon"}, path_id="appt-1001"), ctx())
    assert invalid["statusCode"] == 400
    deleted = handler(v2("DELETE /appointments/{id}", path_id="appt-1001"), ctx())
    assert deleted == {"statusCode": 204, "headers": {}, "body": ""}
    ids = [item["id"] for item in payload(handler(v2("GET /appointments"), ctx()))["items"]]
    assert "appt-1001" not in ids


def test_reused_listing_follows_every_change() -> None:
    """The GET /appointments body is reused only while the store and the clinic filter are unchanged."""
    handler = portal_handlers.make_handlers()["clinic-appointments"]

    def ids(query: dict[str, str] | None = None) -> list[str]:
        return [item["id"] for item in payload(handler(v2("GET /appointments", query=query), ctx()))["items"]]

    assert ids() == ids() == [SEED_ID]
    created = payload(handler(v2("POST /appointments", {**VALID, "clinic_id": "7"}), ctx()))["id"]
    assert ids() == [SEED_ID, created]
    assert ids({"clinic_id": "7"}) == [created]  # another filter: not the previous body
    handler(v2("PUT /appointments/{id}", {**VALID, "clinic_id": "8"}, path_id=created), ctx())
    assert ids({"clinic_id": "7"}) == []
    handler(v2("DELETE /appointments/{id}", path_id=SEED_ID), ctx())
    assert ids() == [created]


def test_each_make_handlers_call_has_its_own_store() -> None:
    first = portal_handlers.make_handlers()["clinic-appointments"]
    second = portal_handlers.make_handlers()["clinic-appointments"]
    first(v2("POST /appointments", VALID), ctx())
    count = [len(payload(h(v2("GET /appointments"), ctx()))["items"]) for h in (first, second)]
    assert count == [2, 1]  # the seed in both, the new appointment in the first only


@pytest.mark.parametrize(
    ("query", "has_staff"),
    [({"include_staff": "true"}, True), (None, False), ({"include_staff": "false"}, False)],
)
def test_clinic_includes_staff_only_when_asked(
    query: Any, has_staff: bool, portal_contract: Contract
) -> None:
    result = portal_handlers.make_handlers()["clinic-clinics"](
        v2("GET /clinics/{id}", path_id="42", query=query), ctx()
    )
    assert result["statusCode"] == 200
    assert ("staff" in payload(result)) is has_staff
    assert_matches(portal_contract, "GET /clinics/{id}", result)


def test_clinic_with_malformed_id_is_404() -> None:
    result = portal_handlers.make_handlers()["clinic-clinics"](v2("GET /clinics/{id}", path_id="a b"), ctx())
    assert (result["statusCode"], payload(result)) == (404, {"message": "Clinic not found"})


def test_clinic_failure_probe_id_makes_the_handler_raise() -> None:
    handler = portal_handlers.make_handlers()["clinic-clinics"]
    with pytest.raises(ProbeCrash, match="failure probe"):
        handler(v2("GET /clinics/{id}", path_id=CRASH_PROBE_ID), ctx())
    # Positive control: an ordinary id on the same function still answers.
    assert handler(v2("GET /clinics/{id}", path_id="crash-probe-2"), ctx())["statusCode"] == 200


def test_transcribe_accepts_a_job(portal_contract: Contract) -> None:
    body = {"audio_url": "https://recordings.clinic.com/c.wav", "language": "en-US"}
    result = portal_handlers.make_handlers()["clinic-transcribe"](
        v2("POST /calls/transcribe", body), ctx(request_id="abc")
    )
    assert (result["statusCode"], payload(result)) == (202, {"job_id": "job-abc", "status": "queued"})
    assert_matches(portal_contract, "POST /calls/transcribe", result)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"audio_url": "recordings/c.wav", "language": "en-US"},
            "Property audio_url must be an absolute URI",
        ),
        ({"audio_url": "https://x/c.wav", "language": "xx"}, "Property language must be one of"),
        ({"audio_url": "https://x/c.wav"}, "Missing required property: language"),
    ],
)
def test_transcribe_rejects_invalid_body(body: dict[str, str], message: str) -> None:
    handler = portal_handlers.make_handlers()["clinic-transcribe"]
    result = handler(v2("POST /calls/transcribe", body), ctx())
    assert result["statusCode"] == 400 and payload(result)["message"].startswith(message)
    buggy = portal_handlers.make_handlers(SKIP)["clinic-transcribe"]
    assert buggy(v2("POST /calls/transcribe", body), ctx())["statusCode"] == 202


def test_kiosk_queue_counts_kiosk_checkins_of_the_authorized_clinic(portal_contract: Contract) -> None:
    handlers = portal_handlers.make_handlers()
    handlers["clinic-appointments"](v2("POST /appointments", {**VALID, "channel": "kiosk"}), ctx())
    handlers["clinic-appointments"](
        v2("POST /appointments", {**VALID, "clinic_id": "7", "channel": "kiosk"}), ctx()
    )
    result = handlers["clinic-kiosk-queue"](v2("GET /kiosk/queue", lambda_ctx={"clinic_id": "42"}), ctx())
    assert (result["statusCode"], payload(result)) == (200, {"clinic_id": "42", "waiting": 1})
    assert_matches(portal_contract, "GET /kiosk/queue", result)
    missing = handlers["clinic-kiosk-queue"](v2("GET /kiosk/queue", lambda_ctx={}), ctx())
    assert missing["statusCode"] == 403


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("kiosk-allow-clinic-42", {"isAuthorized": True, "context": {"clinic_id": "42"}}),
        ("kiosk-deny", {"isAuthorized": False}),
        ("kiosk-allow-clinic-", {"isAuthorized": False}),
        ("something-else", {"isAuthorized": False}),
    ],
)
def test_kiosk_authorizer_simple_responses(token: str, expected: dict[str, Any]) -> None:
    event = {
        "version": "2.0",
        "type": "REQUEST",
        "identitySource": [token],
        "headers": {"x-clinic-token": token},
    }
    assert portal_handlers.make_handlers()["clinic-kiosk-authorizer"](event, ctx()) == expected


def test_kiosk_authorizer_error_token_raises() -> None:
    event = {"version": "2.0", "type": "REQUEST", "identitySource": ["kiosk-error"]}
    with pytest.raises(RuntimeError):
        portal_handlers.kiosk_authorizer(event, ctx())


def test_portal_handlers_cover_every_contract_function(portal_contract: Contract) -> None:
    functions = {r.integration.function for r in portal_contract.routes}
    functions |= {getattr(a, "function", None) for a in portal_contract.authorizers.values()} - {None}
    assert functions == set(portal_handlers.make_handlers())


# --- partner ------------------------------------------------------------------------------------


def test_partner_lists_by_clinic(partner_contract: Contract) -> None:
    handler = partner_handlers.make_handlers()["partner-appointments"]
    result = handler(v1("GET", "/appointments", query={"clinic_id": "42"}), ctx())
    assert result["statusCode"] == 200 and [i["id"] for i in payload(result)["items"]] == ["appt-1001"]
    assert_matches(partner_contract, "GET /appointments", result)
    other = handler(v1("GET", "/appointments", query={"clinic_id": "7"}), ctx())
    assert payload(other) == {"items": []}
    assert handler(v1("GET", "/appointments"), ctx())["statusCode"] == 400


def test_partner_post_creates_and_reports_count_it(partner_contract: Contract) -> None:
    handlers = partner_handlers.make_handlers()
    created = handlers["partner-appointments"](
        v1("POST", "/appointments", VALID, headers={"x-partner-id": "partner-7"}, query={"notify": "email"}),
        ctx(),
    )
    assert created["statusCode"] == 201
    assert_matches(partner_contract, "POST /appointments", created)
    reports = handlers["partner-reports"](
        v1("GET", "/reports", authorizer={"partner": "partner-7", "principalId": "partner-7"}), ctx()
    )
    assert payload(reports) == {"partner": "partner-7", "reports": [{"clinic_id": "42", "appointments": 1}]}
    assert_matches(partner_contract, "GET /reports", reports)


def test_partner_post_with_invalid_json_is_400() -> None:
    handler = partner_handlers.make_handlers()["partner-appointments"]
    result = handler(v1("POST", "/appointments", raw="{oops"), ctx())
    assert result["statusCode"] == 400 and payload(result)["message"].startswith(
        "Invalid JSON in request body"
    )


@pytest.mark.parametrize(
    ("body", "query", "message"),
    [
        ({**VALID, "datetime": ""}, {"notify": "email"}, "Property datetime must be"),
        (VALID, {"notify": "AAA"}, "Query parameter notify must be one of"),
        (VALID, {}, "Query parameter notify must be one of"),
    ],
)
def test_partner_post_refuses_what_the_rest_validator_lets_through(
    body: dict[str, str], query: dict[str, str], message: str
) -> None:
    """Issue 16: `format` (ignored by the draft-4 validator) and a query enum are the handler's to check."""
    handler = partner_handlers.make_handlers()["partner-appointments"]
    result = handler(v1("POST", "/appointments", body, query=query), ctx())
    assert result["statusCode"] == 400 and payload(result)["message"].startswith(message)


def test_portal_clinic_refuses_include_staff_outside_its_enum() -> None:
    handler = portal_handlers.make_handlers()["clinic-clinics"]
    result = handler(v2("GET /clinics/{id}", path_id="42", query={"include_staff": "AAA"}), ctx())
    assert result["statusCode"] == 400 and "include_staff" in payload(result)["message"]


def test_partner_get_by_id(partner_contract: Contract) -> None:
    handler = partner_handlers.make_handlers()["partner-appointments"]
    found = handler(v1("GET", "/appointments/{id}", path_id="appt-1001"), ctx())
    assert found["statusCode"] == 200 and payload(found)["id"] == "appt-1001"
    assert_matches(partner_contract, "GET /appointments/{id}", found)
    missing = handler(v1("GET", "/appointments/{id}", path_id="appt-404"), ctx())
    assert (missing["statusCode"], payload(missing)) == (404, {"message": "Appointment not found"})
    assert_matches(partner_contract, "GET /appointments/{id}", missing)


def test_partner_failure_probe_id_makes_the_handler_raise() -> None:
    handler = partner_handlers.make_handlers()["partner-appointments"]
    with pytest.raises(ProbeCrash, match="failure probe"):
        handler(v1("GET", "/appointments/{id}", path_id=CRASH_PROBE_ID), ctx())
    # Positive control: the seeded appointment is still served by the same function.
    assert handler(v1("GET", "/appointments/{id}", path_id=SEED_ID), ctx())["statusCode"] == 200


def test_partner_reports_need_the_authorizer_context() -> None:
    result = partner_handlers.make_handlers()["partner-reports"](v1("GET", "/reports"), ctx())
    assert result["statusCode"] == 403


ARN = "arn:aws:execute-api:us-east-1:123456789012:p8v4n1c6zt/v1/GET/reports"


def token_event(token: str) -> dict[str, str]:
    return {"type": "TOKEN", "authorizationToken": token, "methodArn": ARN}


@pytest.mark.parametrize(("token", "effect"), [("allow-partner-7", "Allow"), ("deny-partner-7", "Deny")])
def test_token_authorizer_policies(token: str, effect: str) -> None:
    result = partner_handlers.token_authorizer(token_event(token), ctx())
    assert result["principalId"] == "partner-7"
    assert result["policyDocument"] == {
        "Version": "2012-10-17",
        "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": ARN}],
    }
    assert result.get("context") == ({"partner": "partner-7"} if effect == "Allow" else None)


def test_token_authorizer_error_token_crashes_without_the_401_convention() -> None:
    with pytest.raises(RuntimeError) as raised:
        partner_handlers.token_authorizer(token_event("error-x"), ctx())
    assert str(raised.value) != "Unauthorized"


@pytest.mark.parametrize("token", ["unauthorized-x", "allow-", "allow", "", "bogus-token"])
def test_token_authorizer_raises_unauthorized(token: str) -> None:
    with pytest.raises(Exception, match="^Unauthorized$") as raised:
        partner_handlers.token_authorizer(token_event(token), ctx())
    assert type(raised.value) is Exception


def test_partner_handlers_cover_every_contract_function(partner_contract: Contract) -> None:
    functions = {r.integration.function for r in partner_contract.routes} - {None}
    functions |= {getattr(a, "function", None) for a in partner_contract.authorizers.values()} - {None}
    assert functions == set(partner_handlers.make_handlers())


# --- context ------------------------------------------------------------------------------------


def test_lambda_context_remaining_time_counts_down_and_stops_at_zero() -> None:
    now = [10.0]
    context = LambdaContext("clinic-health", "r", deadline=12.5, clock=lambda: now[0])
    assert context.get_remaining_time_in_millis() == 2500
    now[0] = 13.0
    assert context.get_remaining_time_in_millis() == 0
    assert context.invoked_function_arn.endswith(":function:clinic-health")
