"""Contract rules on generated inputs: every answer the stage gives must match its contract.

Valid inputs (explored by Hypothesis within the request schemas, boundaries included) get a documented
2xx with a schema-valid body; one-violation invalid inputs get a 4xx, never a 2xx or a 5xx. Budget and
seed per API: [apis.X.generated] in the stage file. Each failure is shrunk and printed as a curl line.
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-method-request-validation.html
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import pytest

from conformance.catalog.generated import (
    ABSENT,
    Budget,
    Found,
    Inputs,
    Pacer,
    boundary_examples,
    curl_line,
    env_name,
    explore,
    invalid_inputs,
    pace_limit,
    valid_strategy,
)
from conformance.catalog.payloads import JSON, encode
from conformance.catalog.records import RouteCase
from conformance.catalog.requests import gateway_validates
from conformance.harness.api import ApiUnderTest, RequestSpec
from conformance.harness.client import Exchange
from conformance.harness.expect import Check
from conformance.harness.response_schema import CompiledSchema, ResponseKey, compile_responses
from conformance.session import Suite, api_of
from fixtures.behaviour import Kind

RETRIES_429 = 5


@pytest.fixture(scope="session")
def contract_schemas(suite: Suite) -> dict[str, dict[ResponseKey, CompiledSchema]]:
    return {name: compile_responses(api.contract) for name, api in suite.apis.items()}


class Runner:
    """Sends one route's generated inputs: credentials from the stage, paced, 429 retried."""

    def __init__(self, api: ApiUnderTest, case: RouteCase) -> None:
        self.api, self.route = api, case.route
        self.base = api.valid_request(case.route)
        key = getattr(api.config.credentials, "api_key", None)
        self.pacer = Pacer(pace_limit(api.config, case.route, key.value if key is not None else None))
        generated = api.config.generated
        self.budget = Budget(generated.examples, generated.seconds)
        self.seed = generated.seed
        self._params = {p.name.lower() for p in case.route.parameters if p.location == "header"}

    def spec(self, inputs: Inputs) -> RequestSpec:
        headers = {k: v for k, v in self.base.headers.items() if k.lower() not in self._params}
        body: bytes | None = None
        if inputs.raw_body is not None:
            body = inputs.raw_body
        elif inputs.body is not ABSENT:
            body = encode(inputs.body)
        else:
            headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        if body is not None:
            headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
            headers["Content-Type"] = JSON
        headers.update(inputs.headers)
        return replace(self.base, query=dict(inputs.query), headers=headers, body=body)

    def send(self, inputs: Inputs) -> Exchange:
        spec = self.spec(inputs)
        exchange: Exchange | None = None
        for _ in range(RETRIES_429):  # throttled: retried once the bucket refills, never counted
            self.pacer.wait()
            exchange = self.api.send(spec)
            self.budget.sent += 1
            if exchange.status != 429:
                break
            time.sleep(self.pacer.refill_s())
        assert exchange is not None
        return exchange

    def curl(self, inputs: Inputs) -> str:
        spec = self.spec(inputs)
        names = list(self.api.creds.identity_headers(self.route))
        if self.route.api_key_required:
            names.append("x-api-key")
        secret = {n: env_name(self.api.name, n) for n in names}
        return curl_line(
            self.api.client.base_url, spec.method, spec.path, spec.query, spec.headers, spec.body, secret
        )

    def record(self, record_property: Any) -> None:
        """The seed, requests sent and inputs left unsent (seconds spent), in junit.xml per case."""
        record_property("generated_seed", self.seed)
        record_property("generated_requests", self.budget.sent)
        record_property("generated_unsent", self.budget.skipped)

    def finish(self, record_property: Any) -> None:
        """Record the run; inputs the seconds budget left unsent were not checked, so the rule is not
        exercised (a skip: blocking until the budget is raised or the rule waived), never passed."""
        self.record(record_property)
        if self.budget.skipped:
            pytest.skip(
                f"{self.budget.skipped} generated inputs not sent within {self.budget.seconds:g} s "
                f"({self.budget.sent} sent): raise [apis.{self.api.name}.generated] seconds"
            )

    def fail(self, check: Check, found: Found, expected_status: int) -> None:
        check.fail(
            found.evidence,
            f"{found.problem}; minimal input: {found.inputs.describe()} (seed {self.seed}, "
            f"{self.budget.sent} requests); reproduce: {self.curl(found.inputs)}",
            expected_status,
        )


def _answer_problem(
    runner: Runner, exchange: Exchange, schemas: dict[ResponseKey, CompiledSchema]
) -> str | None:
    route = runner.route
    declared = sorted(s for s in route.responses if s.startswith("2"))
    if str(exchange.status) not in declared:
        return f"a documented success {declared} for a valid input"
    spec = route.responses[str(exchange.status)]
    media_type = next(iter(spec.schemas), None)
    if media_type is None:
        return f"an empty body (the contract declares none for {exchange.status})" if exchange.body else None
    types = {c.split(";")[0].strip().lower() for c in spec.schemas}
    if exchange.content_type not in types:
        return f"Content-Type one of {sorted(types)}"
    try:
        body = exchange.json()
    except ValueError:
        return "a JSON body matching the contract's response schema"
    errors = schemas[(route.route_key, spec.status, media_type)].errors(body)
    return (
        f"a body matching the {exchange.status} response schema; first error: {errors[0]}" if errors else None
    )


def test_generated_valid_inputs_get_documented_answers(
    suite: Suite,
    check: Check,
    generated_route: RouteCase,
    contract_schemas: dict[str, dict[ResponseKey, CompiledSchema]],
    record_property: Any,
) -> None:
    """Valid inputs within the contract (boundaries, every enum value, optional inputs absent) get a
    documented 2xx whose body matches the response schema and content type; never a 5xx."""
    api = api_of(suite, generated_route)
    check.control(api, generated_route.route)
    runner = Runner(api, generated_route)
    schemas = contract_schemas[api.name]

    def one(inputs: Inputs) -> tuple[str, Any] | None:
        exchange = runner.send(inputs)
        problem = _answer_problem(runner, exchange, schemas)
        return (problem, exchange) if problem else None

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


def _refusal_problem(
    route: Any, exchange: Exchange, schemas: dict[ResponseKey, CompiledSchema]
) -> str | None:
    """A documented refusal status must carry the body the contract declares for it (the error envelope)."""
    spec = route.responses.get(str(exchange.status))
    media_type = next(iter(spec.schemas), None) if spec is not None else None
    if spec is None or media_type is None:
        return None
    try:
        body = exchange.json()
    except ValueError:
        return f"a {exchange.status} JSON body matching the contract's error schema"
    errors = schemas[(route.route_key, spec.status, media_type)].errors(body)
    return f"a {exchange.status} body matching the error schema; first error: {errors[0]}" if errors else None


def test_generated_invalid_inputs_are_refused(
    suite: Suite,
    check: Check,
    constrained_route: RouteCase,
    contract_schemas: dict[str, dict[ResponseKey, CompiledSchema]],
    record_property: Any,
) -> None:
    """Each input that breaks one stated constraint (parameter enum/type/length, body keyword, `format`
    included) is refused with a 4xx: by the gateway where a REST validator checks it, else by the backend."""
    api = api_of(suite, constrained_route)
    check.control(api, constrained_route.route)
    runner = Runner(api, constrained_route)
    route = constrained_route.route
    variants = invalid_inputs(api.config, route)
    for index, inputs in enumerate(variants):
        if runner.budget.spent():  # the seconds ran out: the rest is counted as unsent
            runner.budget.skipped = len(variants) - index
            break
        exchange = runner.send(inputs)
        # A REST validator checks a body against its model (draft 4: `format` ignored) but of the
        # parameters only that the required ones are present: their enum and type are the backend's.
        gateway = (
            inputs.raw_body is not None
            and inputs.keyword != "format"
            and gateway_validates(api.flavor, route, True)
        )
        if gateway:  # the gateway's exact answer (behaviour catalogue), with the curl line
            try:
                check.rejected(api, exchange, Kind.BAD_REQUEST_BODY)
            except pytest.fail.Exception as exc:
                runner.record(record_property)
                pytest.fail(f"{exc.msg} ({inputs.label})\nreproduce: {runner.curl(inputs)}", pytrace=False)
            continue
        if 400 <= exchange.status < 500:
            envelope = _refusal_problem(route, exchange, contract_schemas[api.name])
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
