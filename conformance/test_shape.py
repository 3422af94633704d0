"""Response shape rules: success bodies match the contract, errors have the gateway's envelope.

https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
"""

from __future__ import annotations

import pytest

from conformance.catalog.records import ApiCase, ProbeCase, RouteCase
from conformance.harness.api import ApiUnderTest
from conformance.harness.client import Exchange
from conformance.harness.expect import Check, is_success
from conformance.harness.response_schema import CompiledSchema, ResponseKey, compile_responses
from conformance.session import Suite, api_of
from fixtures.behaviour import LAMBDA_PROXY_METHOD, REQUEST_ID_HEADERS, Kind, answer, asserted
from fixtures.contract import ResponseSpec, Route

NO_SUCH_PATH = "/stagegate-no-such-route"


@pytest.fixture(scope="session")
def response_schemas(suite: Suite) -> dict[str, dict[ResponseKey, CompiledSchema]]:
    """Each API's response schemas, compiled once per run with the contract's dialect (OAS 3.0)."""
    return {name: compile_responses(api.contract) for name, api in suite.apis.items()}


def _spec(check: Check, route: Route, exchange: Exchange) -> ResponseSpec:
    spec = route.responses.get(str(exchange.status)) or route.responses.get("default")
    if spec is None:
        check.fail(
            exchange, f"a status the contract declares for {route.route_key}: {sorted(route.responses)}"
        )
    return spec


def _unknown_path(api: ApiUnderTest) -> Exchange:
    return api.client.send("GET", NO_SUCH_PATH)


def test_success_body_matches_response_schema(
    suite: Suite,
    check: Check,
    any_route: RouteCase,
    response_schemas: dict[str, dict[ResponseKey, CompiledSchema]],
) -> None:
    """The body conforms to the declared response schema, read as OpenAPI 3.0 (nullable, discriminator,
    readOnly/writeOnly), not as plain JSON Schema."""
    api = api_of(suite, any_route)
    exchange = check.control(api, any_route.route)
    spec = _spec(check, any_route.route, exchange)
    media_type = next(iter(spec.schemas), None)
    if media_type is None:
        if exchange.body:
            check.fail(exchange, f"an empty body (the contract declares none for {exchange.status})")
        return
    try:
        body = exchange.json()
    except ValueError:
        check.fail(exchange, "a JSON body matching the contract's response schema")
    compiled = response_schemas[api.name][(any_route.route.route_key, spec.status, media_type)]
    errors = compiled.errors(body)
    if errors:
        check.fail(exchange, f"a body matching the response schema; first error: {errors[0]}")


def test_success_content_type_is_declared(suite: Suite, check: Check, any_route: RouteCase) -> None:
    api = api_of(suite, any_route)
    exchange = check.control(api, any_route.route)
    declared = {c.split(";")[0].strip().lower() for c in _spec(check, any_route.route, exchange).schemas}
    if exchange.body and declared and exchange.content_type not in declared:
        check.fail(exchange, f"Content-Type one of {sorted(declared)}")


def test_unknown_path_error_has_gateway_envelope(suite: Suite, check: Check, api_case: ApiCase) -> None:
    """The gateway's own errors are `{"message": ...}` with the exact text per flavour."""
    api = api_of(suite, api_case)
    check.api_control(api)
    exchange = _unknown_path(api)
    check.rejected(api, exchange, Kind.NOT_FOUND)
    if exchange.content_type != "application/json":
        check.fail(exchange, "Content-Type application/json on a gateway error")


def test_auth_error_has_gateway_envelope(suite: Suite, check: Check, protected_route: RouteCase) -> None:
    api = api_of(suite, protected_route)
    check.control(api, protected_route.route)
    exchange = api.send(api.without_credentials(protected_route.route))
    try:
        body = exchange.json()
    except ValueError:
        body = None
    if not (isinstance(body, dict) and set(body) == {"message"} and isinstance(body["message"], str)):
        check.fail(exchange, 'a 4xx with the gateway envelope {"message": "..."}', 401)


def test_response_has_request_id(suite: Suite, check: Check, any_route: RouteCase) -> None:
    """Every answer, success or gateway error, carries the flavour's request-id header(s)."""
    api = api_of(suite, any_route)
    for exchange in (check.control(api, any_route.route), _unknown_path(api)):
        missing = [h for h in REQUEST_ID_HEADERS[api.flavor] if not exchange.header(h)]
        if missing:
            check.fail(exchange, f"request-id header(s) {', '.join(missing)}")


def test_integration_failure_answers_5xx(suite: Suite, check: Check, failure_probe: ProbeCase) -> None:
    """A failing integration gets the gateway's own 5xx (HTTP API 500, REST 502), never a 2xx.

    https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-lambda.html
    """
    api = api_of(suite, failure_probe)
    check.control(api, failure_probe.control)  # the stage serves the route when nothing fails
    exchange = api.send(api.probe_request(failure_probe))
    status = answer(api.flavor, Kind.INTEGRATION_ERROR).status
    if exchange.status < 500:
        check.fail(
            exchange,
            f"{status} from the gateway for the failure probe on {failure_probe.case.route.route_key}; a "
            f"{exchange.status} means the function's failure was passed on as an answer, or the probe "
            "no longer makes the function fail (samples.failure_probe in the stage file)",
            status,
        )
    check.rejected(api, exchange, Kind.INTEGRATION_ERROR)
    if asserted(api.flavor, Kind.INTEGRATION_ERROR, api.embedded):
        missing = [h for h in REQUEST_ID_HEADERS[api.flavor] if not exchange.header(h)]
        if missing:
            check.fail(exchange, f"{status} with request-id header(s) {', '.join(missing)}", status)


def test_lambda_proxy_integration_method_is_post(
    suite: Suite, check: Check, lambda_proxy_route: RouteCase
) -> None:
    """A REST Lambda proxy integration is invoked with httpMethod POST: any other fails every call with
    500 on AWS (SNAP: LocalStack's AWS-validated test_apigateway_lambda.snapshot.json
    test_lambda_aws_proxy_integration_non_post_method). A contract that declares another method is
    reported as such (the route's answer as evidence), else the positive control shows the deployed
    integration answers.
    https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html
    """
    route = lambda_proxy_route.route
    api = api_of(suite, lambda_proxy_route)
    exchange = api.control(route)
    method = route.integration.http_method
    if method is not None and method != LAMBDA_PROXY_METHOD:
        check.fail(
            exchange,
            f"httpMethod {LAMBDA_PROXY_METHOD} for the Lambda proxy integration of {route.route_key}: the "
            f"contract's has httpMethod {method}, and API Gateway invokes Lambda with {LAMBDA_PROXY_METHOD} "
            f"only and answers 500 to every call (set the integration's httpMethod to {LAMBDA_PROXY_METHOD})",
            200,
            kind="answer" if is_success(exchange) else "status",
        )
    if not is_success(exchange):
        check.fail(
            exchange,
            f'2xx for the positive control of {route.route_key}; a 500 "Internal server error" before the '
            f"function runs is what API Gateway answers when the deployed Lambda proxy integration's "
            f"httpMethod is not {LAMBDA_PROXY_METHOD}, whatever the contract says",
            200,
        )
