"""Request validation rules: invalid bodies and missing required parameters get 400.

REST methods with a validator: the gateway's exact 400 body. Otherwise the handler must answer 400.
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-method-request-validation.html
"""

from __future__ import annotations

import pytest

from conformance.catalog.records import BodyCase, ParamCase, RouteCase
from conformance.catalog.requests import gateway_validates, json_schema, route_valid_body
from conformance.catalog.untyped import untyped_defect
from conformance.harness.api import ApiUnderTest
from conformance.harness.expect import Check
from conformance.session import Suite, api_of
from fixtures.behaviour import Kind
from fixtures.contract import Route


def _gateway_validates(api: ApiUnderTest, route: Route, body: bool) -> bool:
    return gateway_validates(api.flavor, route, body)


def test_valid_body_is_accepted(suite: Suite, check: Check, body_route: RouteCase) -> None:
    """Positive control: the contract's example (or the stage sample) is accepted."""
    check.success(api_of(suite, body_route).control(body_route.route), "the example body")


def test_invalid_body_is_rejected(suite: Suite, check: Check, body_case: BodyCase) -> None:
    api = api_of(suite, body_case)
    route = body_case.case.route
    check.control(api, route)
    invalid = body_case.invalid
    exchange = api.send(api.invalid_request(body_case))
    if _gateway_validates(api, route, body=True):
        check.rejected(api, exchange, Kind.BAD_REQUEST_BODY)
    else:
        check.status_in(exchange, (400,), f"the handler rejects a body with {invalid.keyword} violated")


def test_missing_required_parameter_is_rejected(suite: Suite, check: Check, param_case: ParamCase) -> None:
    api = api_of(suite, param_case)
    route, parameter = param_case.case.route, param_case.parameter
    check.control(api, route)
    exchange = api.send(api.invalid_request(param_case))
    if _gateway_validates(api, route, body=False):
        message = f"Missing required request parameters: [{parameter.name}]"
        check.rejected(api, exchange, Kind.BAD_REQUEST_PARAMETERS, message=message)
    else:
        check.status_in(exchange, (400,), f"the handler rejects a request without {parameter.name}")


def test_body_without_content_type_is_validated(
    suite: Suite, check: Check, untyped_body_route: RouteCase
) -> None:
    """A body sent without Content-Type is validated against the application/json model, not passed
    on unvalidated (SNAP: LocalStack's AWS-validated test_apigateway_common.snapshot.json
    TestApiGatewayCommon::test_api_gateway_request_validator_with_ref_models [failed-validation]).
    https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-method-request-validation.html
    """
    api = api_of(suite, untyped_body_route)
    route = untyped_body_route.route
    valid = route_valid_body(api.config, route)
    schema = json_schema(route)
    if valid is None or schema is None:
        pytest.skip(f"no example or sample body for {route.route_key} (samples.bodies)")
    check.control(api, route)  # the valid body, with its Content-Type, is accepted
    invalid = untyped_defect(schema, valid)
    spec = api.valid_request(route).without_headers("Content-Type")
    exchange = api.send(spec, body=invalid.body)
    check.rejected(api, exchange, Kind.BAD_REQUEST_BODY)
