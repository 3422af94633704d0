"""The likely cause of a failing answer: from what the gateway says it is (REST x-amzn-ErrorType, the
body) and how the route is protected, never from the status alone (issue 12, observation 6)."""

from __future__ import annotations

import json

import pytest

from conformance.harness.client import Exchange
from conformance.harness.diagnosis import Protection, RuleFailure, diagnose, likely_cause
from conformance.harness.expect import Check
from fixtures.failure_record import FAILURE_PROPERTY, from_json
from tests.fakes import NoRedaction


def _exchange(
    status: int, body: bytes, *headers: tuple[str, str], sent: tuple[tuple[str, str], ...] = ()
) -> Exchange:
    return Exchange("GET", "http://127.0.0.1/partner/v1/reports", sent, b"", status, headers, body, 1.0)


KEY_ROUTE = Protection(None, api_key=True)  # a REST route that requires an API key, no authorizer
FORBIDDEN = _exchange(
    403, b'{"message":"Forbidden"}', ("x-amzn-ErrorType", "ForbiddenException"), sent=(("x-api-key", "k"),)
)


def test_a_rest_forbidden_on_an_api_key_route_is_the_key_not_the_authorizer() -> None:
    cause = likely_cause(FORBIDDEN, 200, "api_keys", KEY_ROUTE, "control")
    assert cause is not None and cause.id == "api_key.refused"
    assert "API key" in cause.text and "audience" not in cause.text and "authorizer" not in cause.text
    assert likely_cause(FORBIDDEN, 200, "auth", None, "control").id == "api_key.refused"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("exchange", "protection", "cause"),
    [
        (_exchange(403, b'{"Message":"User is not authorized to access this resource with an explicit deny"}',
                   ("x-amzn-ErrorType", "AccessDeniedException")), Protection("Lambda"), "authorizer.denied"),
        (_exchange(401, b'{"message":"Unauthorized"}', ("www-authenticate", 'Bearer error="invalid_token"')),
         Protection("JWT"), "authorizer.token"),
        (_exchange(403, b'{"message":"Forbidden"}', ("www-authenticate", 'Bearer error="insufficient_scope"')
                   ), Protection("JWT"), "authorizer.scope"),
        (_exchange(401, b'{"message":"Unauthorized"}'), Protection(None), "route.protected"),
        (_exchange(403, b'{"message":"Forbidden"}', ("x-amzn-ErrorType", "ForbiddenException")),
         Protection(None), "api_key.demanded"),
        (_exchange(500, b'{"message": null}', ("x-amzn-ErrorType", "AuthorizerConfigurationException")),
         Protection("Lambda"), "authorizer.crash"),
        (_exchange(403, b'{"message":"Missing Authentication Token"}'), None, "route.not_deployed"),
    ],
)  # fmt: skip
def test_each_refusal_of_a_valid_request_has_its_own_cause(
    exchange: Exchange, protection: Protection | None, cause: str
) -> None:
    found = likely_cause(exchange, 200, "auth", protection, "control")
    assert found is not None and found.id == cause


def test_a_cors_failure_points_at_allow_origins_unless_its_control_was_refused() -> None:
    reflected = _exchange(204, b"", ("access-control-allow-origin", "https://evil.example"))
    assert likely_cause(reflected, None, "cors").id == "cors.config"  # type: ignore[union-attr]
    refused = _exchange(401, b'{"message":"Unauthorized"}')
    assert likely_cause(refused, 200, "cors", Protection("JWT"), "control").id == "authorizer.token"  # type: ignore[union-attr]


def test_the_diagnosis_keeps_its_fields_and_the_failure_carries_them_for_the_reports() -> None:
    check = Check("test_key_route_accepts_valid_api_key[partner GET /reports]", "api_keys", NoRedaction())
    with pytest.raises(pytest.fail.Exception) as failed:  # a pytest.fail outcome, as before
        check.fail(FORBIDDEN, "2xx for the positive control", 200, KEY_ROUTE, "control")
    assert "likely cause: the API key was refused" in str(failed.value)  # the text people read...
    assert isinstance(failed.value, RuleFailure)
    record = failed.value.record  # ...and the same as fields for the reports
    assert record.kind == "control" and record.cause == "api_key.refused" and record.status == 403
    assert ("x-amzn-errortype", "ForbiddenException") in record.headers
    assert record.protection == "API key" and record.body == '{"message":"Forbidden"}'
    assert record.rule.endswith("[partner GET /reports]") and record.family == "api_keys"
    fields = json.loads(record.to_json())  # what the plugin writes into junit.xml
    assert ["x-amzn-errortype", "ForbiddenException"] in fields["headers"]
    assert from_json(record.to_json()) == record and FAILURE_PROPERTY == "stagegate.failure"


def test_the_diagnosis_is_redacted() -> None:
    class Hiding(NoRedaction):
        def text(self, s: str) -> str:
            return s.replace("secret-key-123", "<redacted>")

    exchange = _exchange(
        403, b'{"message":"bad key secret-key-123"}', sent=(("x-api-key", "secret-key-123"),)
    )
    record = diagnose("r", exchange, "2xx", Hiding(), "api_keys", 200)
    assert "secret-key-123" not in record.to_json() and "<redacted>" in record.to_json()
