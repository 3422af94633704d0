"""Contract rules on generated inputs: every answer the stage gives must match its contract.

Valid inputs (explored by Hypothesis within the request schemas, boundaries included) get the route's
documented success with a schema-valid body, or a documented error with its error body; never a 5xx,
never an undocumented status. One-violation invalid inputs get a 4xx, never a 2xx or a 5xx. Budget and
seed per API: [apis.X.generated] in the stage file. Each failure is shrunk and printed as a curl line.
Sending and pacing: conformance/harness/explore.py; the answers' judgement: contract_answers.py.
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-method-request-validation.html
"""

from __future__ import annotations

from typing import Any

import pytest

from conformance.catalog.generated import Inputs, boundary_examples, invalid_inputs, valid_strategy
from conformance.catalog.records import RouteCase
from conformance.catalog.requests import gateway_validates
from conformance.harness.client import Exchange
from conformance.harness.contract_answers import refusal_problem, valid_answer
from conformance.harness.diagnosis import RuleFailure
from conformance.harness.expect import Check
from conformance.harness.explore import Found, Runner, explore
from conformance.harness.response_schema import CompiledSchema, ResponseKey, compile_responses
from conformance.session import Suite, api_of
from fixtures.behaviour import Kind


@pytest.fixture(scope="session")
def contract_schemas(suite: Suite) -> dict[str, dict[ResponseKey, CompiledSchema]]:
    return {name: compile_responses(api.contract) for name, api in suite.apis.items()}


def test_generated_valid_inputs_get_documented_answers(
    suite: Suite,
    check: Check,
    generated_route: RouteCase,
    contract_schemas: dict[str, dict[ResponseKey, CompiledSchema]],
    record_property: Any,
) -> None:
    """Valid inputs within the contract (boundaries, every enum value, optional inputs absent, constrained
    path parameters) get the documented success whose body matches the response schema and content
    type, or a documented error with its error body; never a 5xx, never an undocumented status."""
    api = api_of(suite, generated_route)
    check.control(api, generated_route.route)
    runner = Runner(api, generated_route)
    schemas = contract_schemas[api.name]

    def one(inputs: Inputs) -> tuple[str, Exchange] | None:
        exchange = runner.send(inputs)
        verdict = valid_answer(runner.route, exchange, schemas, bool(inputs.path))
        if verdict.note:
            runner.notes[verdict.note] += 1
        return (verdict.problem, exchange) if verdict.problem else None

    found = explore(
        valid_strategy(api.config, generated_route.route),
        boundary_examples(api.config, generated_route.route),
        one,
        runner.budget,
        runner.seed,
    )
    if found is not None:
        runner.record(record_property)
        runner.fail(check, found, 200)
    runner.finish(record_property)


def test_generated_invalid_inputs_are_refused(
    suite: Suite,
    check: Check,
    constrained_route: RouteCase,
    contract_schemas: dict[str, dict[ResponseKey, CompiledSchema]],
    record_property: Any,
) -> None:
    """Each input that breaks one stated constraint (parameter enum/type/pattern/format/length/bounds,
    path parameters included, body keyword, `format` included) is refused with a 4xx: by the gateway
    where a REST validator checks it, else by the backend (any 4xx, a documented one with its body)."""
    api = api_of(suite, constrained_route)
    check.control(api, constrained_route.route)
    runner = Runner(api, constrained_route)
    route = constrained_route.route
    for inputs, exchange in runner.each(invalid_inputs(api.config, route)):
        # A REST validator checks a body against its model (draft 4: `format` ignored) but of the
        # parameters only that the required ones are present: their values are the backend's.
        gateway = (
            inputs.raw_body is not None
            and inputs.keyword != "format"
            and gateway_validates(api.flavor, route, True)
        )
        if gateway:  # the gateway's exact answer (behaviour catalogue); the record names the input
            detail = f" ({inputs.label}); reproduce: {runner.curl(inputs)}"
            try:
                check.rejected(api, exchange, Kind.BAD_REQUEST_BODY, detail=detail)
            except RuleFailure:
                runner.record(record_property)
                raise
            continue
        if 400 <= exchange.status < 500:
            envelope = refusal_problem(route, exchange, contract_schemas[api.name])
            if envelope is None:
                continue
            runner.record(record_property)
            runner.fail(check, Found(inputs, f"{envelope} ({inputs.label})", exchange), exchange.status)
        runner.record(record_property)
        who = (
            "the backend (a REST validator ignores `format`)" if inputs.keyword == "format" else "the backend"
        )
        problem = f"a 4xx refusal of the input ({inputs.label}) by {who}"
        runner.fail(check, Found(inputs, problem, exchange), 400)
    runner.finish(record_property)
