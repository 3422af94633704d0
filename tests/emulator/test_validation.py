"""REST request validation rules (docs/aws-behaviour.md s6), each rejection beside its control."""

from __future__ import annotations

from typing import Any

import pytest

from fixtures.behaviour import Kind
from fixtures.contract import Integration, Parameter, Route, Validator
from fixtures.emulator.policy.validation import RequestValidator, validate
from fixtures.emulator.wire import Rejection

APPOINTMENT = {
    "type": "object",
    "required": ["clinic_id", "patient_id", "datetime"],
    "additionalProperties": False,
    "properties": {
        "clinic_id": {"type": "string", "minLength": 1},
        "patient_id": {"type": "string", "minLength": 1},
        "datetime": {"type": "string", "format": "date-time"},
        "reason": {"type": "string", "maxLength": 200},
        "channel": {"enum": ["web", "phone", "kiosk"]},
    },
}
GOOD = b'{"clinic_id": "c1", "patient_id": "p1", "datetime": "2026-03-10T10:00:00Z"}'
ALL = Validator("all", validate_body=True, validate_parameters=True)
PARAMS = (
    Parameter("X-Partner-Id", "header", True),
    Parameter("notify", "query", True),
    Parameter("issuer", "path", True),
    Parameter("optional", "query", False),
)
OK_PARAMS: dict[str, dict[str, Any]] = {
    "header": {"x-partner-id": "partner-7"},
    "querystring": {"notify": "email"},
    "path": {"issuer": "i1"},
}


def _route(
    validator: Validator | None = ALL,
    bodies: dict[str, Any] | None = None,
    parameters: tuple[Parameter, ...] = PARAMS,
) -> Route:
    return Route(
        method="POST",
        path="/appointments/{issuer}",
        operation_id=None,
        authorizer=None,
        scopes=(),
        api_key_required=True,
        parameters=parameters,
        request_bodies={"application/json": APPOINTMENT} if bodies is None else bodies,
        body_required=True,
        request_example=None,
        validator=validator,
        integration=Integration(type="mock"),
        responses={},
    )


def _passes(validator: RequestValidator, params: Any, ctype: str | None, body: bytes) -> bool:
    """True when the request passes validation (validate raises on failure)."""
    validator.validate(params, ctype, body)
    return True


def _reject(validator: RequestValidator, params: dict[str, Any], ctype: str | None, body: bytes) -> Rejection:
    with pytest.raises(Rejection) as caught:
        validator.validate(params, ctype, body)
    return caught.value


def test_valid_request_passes() -> None:
    assert _passes(RequestValidator(_route()), OK_PARAMS, "application/json", GOOD)


def test_missing_parameters_listed_header_path_querystring() -> None:
    rejection = _reject(RequestValidator(_route()), {}, "application/json", GOOD)
    assert rejection.kind is Kind.BAD_REQUEST_PARAMETERS
    assert rejection.message == "Missing required request parameters: [X-Partner-Id, issuer, notify]"


def test_single_missing_parameter_and_blank_counts_as_missing() -> None:
    params = {**OK_PARAMS, "querystring": {"notify": ""}}
    rejection = _reject(RequestValidator(_route()), params, "application/json", GOOD)
    assert rejection.message == "Missing required request parameters: [notify]"
    params = {**OK_PARAMS, "querystring": {"notify": ["", " "]}}
    rejection = _reject(RequestValidator(_route()), params, "application/json", GOOD)
    assert rejection.message == "Missing required request parameters: [notify]"


def test_header_lookup_is_case_insensitive_via_lowercased_params() -> None:
    params = {**OK_PARAMS, "header": {"X-Partner-Id": "p"}}  # not lowercased by the caller: missing
    rejection = _reject(RequestValidator(_route()), params, "application/json", GOOD)
    assert rejection.message == "Missing required request parameters: [X-Partner-Id]"
    lowered = {**OK_PARAMS, "header": {"x-partner-id": "p"}}
    assert _passes(RequestValidator(_route()), lowered, "application/json", GOOD)


def test_parameters_are_checked_for_existence_only() -> None:
    route = _route(parameters=(Parameter("clinic_id", "query", True, schema={"type": "integer"}),))
    assert _passes(RequestValidator(route), {"querystring": {"clinic_id": "abc"}}, "application/json", GOOD)


def test_parameters_checked_before_body() -> None:
    rejection = _reject(RequestValidator(_route()), {}, "application/json", b"not json")
    assert rejection.kind is Kind.BAD_REQUEST_PARAMETERS


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b'{"clinic_id": "c1"}',  # required missing
        b'{"clinic_id": 1, "patient_id": "p1", "datetime": "x"}',  # wrong type
        b'{"clinic_id": "", "patient_id": "p1", "datetime": "x"}',  # minLength
        GOOD[:-1] + b', "extra": 1}',  # additionalProperties false
        GOOD[:-1] + b', "channel": "fax"}',  # enum
        b"",  # empty body validated as {} (ASSUMPTION): required fields missing
        b"[" * 100_000 + b"]" * 100_000,  # nested past the parser's depth: 400, not a crash
    ],
)
def test_body_failing_the_model_is_invalid_request_body(body: bytes) -> None:
    validator = RequestValidator(_route())
    assert _passes(validator, OK_PARAMS, "application/json", GOOD)
    rejection = _reject(validator, OK_PARAMS, "application/json", body)
    assert (
        rejection.kind is Kind.BAD_REQUEST_BODY and rejection.message is None
    )  # table: "Invalid request body"
    assert b"c1" not in rejection.detail.encode()


def test_draft4_ignores_format() -> None:
    body = b'{"clinic_id": "c1", "patient_id": "p1", "datetime": "not-a-date"}'
    assert _passes(RequestValidator(_route()), OK_PARAMS, "application/json", body)


def test_content_type_match_ignores_parameters_and_case() -> None:
    validator = RequestValidator(_route())
    assert (
        _reject(validator, OK_PARAMS, "application/json; charset=utf-8", b"{}").kind is Kind.BAD_REQUEST_BODY
    )
    assert _reject(validator, OK_PARAMS, "Application/JSON", b"{}").kind is Kind.BAD_REQUEST_BODY


def test_unmatched_content_type_is_not_validated() -> None:
    validator = RequestValidator(_route())
    assert _passes(validator, OK_PARAMS, "text/plain", b"anything")


def test_missing_content_type_is_validated_as_json() -> None:
    """SNAP test_apigateway_common.snapshot.json ..._with_ref_models [failed-validation]: a request
    without Content-Type is validated against the application/json model (an empty body too)."""
    validator = RequestValidator(_route())
    assert _reject(validator, OK_PARAMS, None, b"anything").kind is Kind.BAD_REQUEST_BODY
    assert _reject(validator, OK_PARAMS, None, b"").kind is Kind.BAD_REQUEST_BODY
    assert _reject(validator, OK_PARAMS, "", b"{}").kind is Kind.BAD_REQUEST_BODY
    assert _passes(validator, OK_PARAMS, None, GOOD)  # control: a valid body passes without it too


def test_fault_passes_untyped_bodies_unvalidated() -> None:
    validator = RequestValidator(_route(), frozenset({"validation.no_content_type_bypass"}))
    assert _passes(validator, OK_PARAMS, None, b"anything")
    assert _reject(validator, OK_PARAMS, "application/json", b"{}").kind is Kind.BAD_REQUEST_BODY


def test_default_model_applies_to_any_content_type() -> None:
    validator = RequestValidator(_route(bodies={"$default": APPOINTMENT}))
    assert _reject(validator, OK_PARAMS, "text/plain", b"{}").kind is Kind.BAD_REQUEST_BODY
    assert _reject(validator, OK_PARAMS, None, b"{}").kind is Kind.BAD_REQUEST_BODY
    assert _passes(validator, OK_PARAMS, "text/plain", GOOD)


def test_validator_kinds() -> None:
    params_only = RequestValidator(_route(Validator("p", validate_body=False, validate_parameters=True)))
    assert _passes(params_only, OK_PARAMS, "application/json", b"not json")
    assert _reject(params_only, {}, "application/json", GOOD).kind is Kind.BAD_REQUEST_PARAMETERS
    body_only = RequestValidator(_route(Validator("b", validate_body=True, validate_parameters=False)))
    assert _passes(body_only, {}, "application/json", GOOD)
    assert _reject(body_only, {}, "application/json", b"{}").kind is Kind.BAD_REQUEST_BODY
    none = RequestValidator(_route(None))
    assert _passes(none, {}, "application/json", b"not json")


def test_module_validate_helper() -> None:
    validate(_route(), OK_PARAMS, "application/json", GOOD)  # passes: raises nothing
    with pytest.raises(Rejection):
        validate(_route(), {}, "application/json", GOOD)


# --- faults ----------------------------------------------------------------------------------------


def test_fault_validator_off() -> None:
    faulty = RequestValidator(_route(), frozenset({"validation.validator_off"}))
    assert _passes(faulty, {}, "application/json", b"not json")


def test_fault_ignore_required() -> None:
    body = b'{"clinic_id": "c1"}'
    faulty = RequestValidator(_route(), frozenset({"validation.ignore_required"}))
    assert _passes(faulty, OK_PARAMS, "application/json", body)
    # Still enforces the rest of the model.
    assert _reject(faulty, OK_PARAMS, "application/json", b'{"clinic_id": 1}').kind is Kind.BAD_REQUEST_BODY


def test_fault_ignore_types() -> None:
    body = b'{"clinic_id": 1, "patient_id": "p1", "datetime": "x"}'
    faulty = RequestValidator(_route(), frozenset({"validation.ignore_types"}))
    assert _passes(faulty, OK_PARAMS, "application/json", body)
    assert _reject(faulty, OK_PARAMS, "application/json", b'{"clinic_id": "c"}').kind is Kind.BAD_REQUEST_BODY


def test_fault_ignore_required_params() -> None:
    faulty = RequestValidator(_route(), frozenset({"validation.ignore_required_params"}))
    assert _passes(faulty, {}, "application/json", GOOD)
    assert _reject(faulty, {}, "application/json", b"{}").kind is Kind.BAD_REQUEST_BODY
