"""The contract family's engine: generated inputs, one-violation variants, pacing, the curl line."""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import conformance.test_contract as rules
from conformance.catalog.generated import (
    Inputs,
    boundary_examples,
    invalid_inputs,
    oas30_to_json_schema,
    valid_strategy,
)
from conformance.catalog.records import RouteCase
from conformance.harness import explore as explore_module
from conformance.harness.api import ApiUnderTest
from conformance.harness.client import Exchange
from conformance.harness.contract_answers import Verdict, valid_answer
from conformance.harness.diagnosis import RuleFailure
from conformance.harness.expect import Check
from conformance.harness.explore import Budget, Found, Pacer, curl_line, explore
from conformance.harness.response_schema import compile_responses
from fixtures.contract import Parameter, Route
from fixtures.stage import ApiConfig, Limit, StageConfig, contract_of, copies, load_stage
from fixtures.stage.samples import DEFAULT_PARAM_VALUE
from tests.fakes import NoRedaction

STAGE: StageConfig = load_stage("stages/local.toml", root=".")
PORTAL = STAGE.api("portal")
CONTRACT = contract_of(PORTAL)
SCHEMAS = compile_responses(CONTRACT)
ERROR = b'{"message": "Unknown clinic"}'
CLINIC = b'{"id": "42", "name": "Clinic 42"}'
JSON = "application/json"


def _route(api: ApiConfig, key: str) -> Route:
    return next(r for r in contract_of(api).routes if r.route_key == key)


def test_invalid_inputs_break_one_stated_constraint_each_format_and_parameter_enum_included() -> None:
    partner = STAGE.api("partner")
    labels = {i.label for i in invalid_inputs(partner, _route(partner, "POST /appointments"))}
    assert {"notify not in enum", "datetime bad date-time", "reason above maxLength"} <= labels
    portal = STAGE.api("portal")
    assert {i.label for i in invalid_inputs(portal, _route(portal, "GET /clinics/{id}"))} == {
        "include_staff not in enum"
    }


def test_boundaries_hold_optional_inputs_absent_every_enum_value_and_max_lengths() -> None:
    portal = STAGE.api("portal")
    bodies = [i.body for i in boundary_examples(portal, _route(portal, "POST /appointments"))]
    assert {"clinic_id", "patient_id", "datetime"} == set(bodies[1])  # optional properties absent
    assert {b.get("channel") for b in bodies} >= {"web", "phone", "kiosk"}
    assert any(len(b.get("reason", "")) == 200 for b in bodies)


def test_same_seed_same_inputs_and_the_failure_is_shrunk() -> None:
    portal = STAGE.api("portal")
    strategy = valid_strategy(portal, _route(portal, "POST /appointments"))

    def run(seed: int) -> tuple[list[Inputs], Found | None]:
        seen: list[Inputs] = []

        def one(inputs: Inputs) -> tuple[str, object] | None:
            seen.append(inputs)
            return ("reason too long", None) if len(inputs.body.get("reason", "")) >= 3 else None

        return seen, explore(strategy, [], one, Budget(30, 30.0), seed)

    first, found = run(5)
    again, _ = run(5)
    assert [i.body for i in first] == [i.body for i in again]
    assert found is not None and len(found.inputs.body["reason"]) == 3  # shrunk to the boundary


def test_curl_line_names_credentials_by_env_never_by_value() -> None:
    line = curl_line(
        "http://127.0.0.1:1/p",
        "POST",
        "/a",
        {"notify": "x y"},
        {"Authorization": "Bearer s3cret", "X-Partner-Id": "p"},
        b'{"a":1}',
        {"authorization": "STAGEGATE_PORTAL_AUTHORIZATION"},
    )
    assert "s3cret" not in line and '"$STAGEGATE_PORTAL_AUTHORIZATION"' in line
    assert "'X-Partner-Id: p'" in line and "--data-binary '{\"a\":1}'" in line


def test_pacer_stays_at_half_the_limit() -> None:
    now = [0.0]
    pacer = Pacer(Limit(10, 20), clock=lambda: now[0])
    for _ in range(10):  # half the burst goes at once
        pacer.wait()
    assert pacer.tokens < 1 and pacer.refill_s() == 0.2


def test_nullable_becomes_a_null_type() -> None:
    schema = oas30_to_json_schema(
        {"type": "object", "properties": {"a": {"type": "string", "nullable": True}}}
    )
    assert schema["properties"]["a"]["type"] == ["string", "null"]


@pytest.mark.slow
def test_inputs_the_seconds_budget_left_unsent_are_not_exercised_never_passed(tmp_path: Path) -> None:
    """A slow stage that uses up the budget after a few requests leaves constraints unchecked: skip."""
    from tests.conformance_runs import local_stage_copy, run_suite

    tiny = "\n[apis.partner.generated]\nseconds = 0.000001\n"
    stage = local_stage_copy(tmp_path)
    stage.write_text(stage.read_text() + tiny)
    run = run_suite("--stage", str(stage), "-m", "contract", "-k", "partner", "-rs")
    assert run.returncode == 0 and not run.failed, run.output[-2000:]
    assert run.skipped > 0 and "generated inputs not sent within" in run.output
    # Positive control: with the default budget the same cases run and pass.
    (tmp_path / "control").mkdir()
    control_stage = local_stage_copy(tmp_path / "control")
    control = run_suite("--stage", str(control_stage), "-m", "contract", "-k", "partner")
    assert control.returncode == 0 and control.passed > 0 and control.skipped == 0, control.output[-2000:]


# --- path parameters ------------------------------------------------------------------------------

PATH_PARAMS = (
    Parameter("id", "path", True, {"type": "integer", "minimum": 1, "maximum": 99}),
    Parameter("day", "path", True, {"type": "string", "format": "date"}),
    Parameter("kind", "path", True, {"type": "string", "enum": ["a", "b"]}),
    Parameter(
        "code", "path", True, {"type": "string", "pattern": "^[A-Z]{3}$", "minLength": 3, "maxLength": 3}
    ),
    Parameter("name", "path", True, {"type": "string"}),  # bare: the sample stays
)


def _path_route() -> Route:
    clinic = _route(PORTAL, "GET /clinics/{id}")
    return replace(clinic, path="/x/{id}/{day}/{kind}/{code}/{name}", parameters=PATH_PARAMS)


def _draw(route: Route, count: int = 40) -> list[Inputs]:
    seen: list[Inputs] = []

    def one(inputs: Inputs) -> None:
        seen.append(inputs)

    explore(valid_strategy(PORTAL, route), [], one, Budget(count, 30.0), 3)
    return seen


def test_constrained_path_parameters_are_generated_valid_and_a_bare_string_keeps_the_sample() -> None:
    drawn = _draw(_path_route())
    assert len(drawn) > 10
    for inputs in drawn:
        path = inputs.path
        assert set(path) == {"id", "day", "kind", "code"}  # `name` is a bare string: the sample
        assert 1 <= int(path["id"]) <= 99 and path["kind"] in ("a", "b")
        assert re.fullmatch("[A-Z]{3}", path["code"])
        datetime.date.fromisoformat(path["day"])
        assert all(re.fullmatch(r"[A-Za-z0-9._~:+-]+", v) for v in path.values())  # no percent-encoding
    assert len({i.path["id"] for i in drawn}) > 3  # generated, not one fixed value


def test_each_path_constraint_is_broken_alone_and_a_bare_string_is_not() -> None:
    variants = [i for i in invalid_inputs(PORTAL, _path_route()) if i.path]
    assert {i.label for i in variants} == {
        "id wrong type",
        "id below minimum",
        "id above maximum",
        "day bad format",
        "kind not in enum",
        "code not matching pattern",  # lengths: any 2 or 4 characters also break the pattern
    }
    by_label = {i.label: i.path for i in variants}
    assert by_label["id below minimum"] == {"id": "0"} and by_label["id above maximum"] == {"id": "100"}
    assert len(by_label["code not matching pattern"]["code"]) == 3  # within the lengths: one violation
    assert all(len(i.path) == 1 for i in variants)  # the other parameters keep the sample
    # Positive control: the bare string has no variant, and the clinic's own bare id route has none either.
    assert not [i for i in invalid_inputs(PORTAL, _route(PORTAL, "GET /clinics/{id}")) if i.path]


# --- answers to valid inputs ----------------------------------------------------------------------


def _answer(status: int, body: bytes = ERROR) -> Exchange:
    headers = (("Content-Type", "application/json"),)
    return Exchange("GET", "http://127.0.0.1/x", (), b"", status, headers, body, 1.0)


def test_a_documented_error_with_its_envelope_is_accepted_for_a_valid_input_and_noted() -> None:
    clinic = _route(PORTAL, "GET /clinics/{id}")
    verdict = valid_answer(clinic, _answer(404), SCHEMAS, generated_path=False)
    assert verdict.problem is None and verdict.note == "documented 404 for a valid input"
    # Positive control: the success with a schema-valid body passes without a note.
    assert valid_answer(clinic, _answer(200, CLINIC), SCHEMAS, False) == Verdict()


def test_an_undocumented_status_a_wrong_envelope_or_a_5xx_fails_for_a_valid_input() -> None:
    clinic = _route(PORTAL, "GET /clinics/{id}")  # documents 200, 400, 401, 403, 404
    assert "409 is not documented" in str(valid_answer(clinic, _answer(409), SCHEMAS, False).problem)
    assert "not documented" in str(valid_answer(clinic, _answer(422), SCHEMAS, False).problem)
    # Control: a documented error with the error envelope is an answer a valid input may get.
    assert valid_answer(clinic, _answer(400), SCHEMAS, False).problem is None
    wrong = valid_answer(clinic, _answer(404, b'{"error": 1}'), SCHEMAS, False).problem
    assert wrong is not None and "'message' is a required property" in wrong
    assert "never a 5xx" in str(valid_answer(clinic, _answer(500), SCHEMAS, False).problem)
    assert "never a 5xx" in str(valid_answer(clinic, _answer(502), SCHEMAS, True).problem)


def test_a_generated_path_value_may_meet_an_undocumented_404_which_is_noted() -> None:
    clinic = _route(PORTAL, "GET /clinics/{id}")
    no_404 = replace(clinic, responses={k: v for k, v in clinic.responses.items() if k != "404"})
    verdict = valid_answer(no_404, _answer(404), SCHEMAS, generated_path=True)
    assert verdict.problem is None and verdict.note == "404 (undocumented) for a generated path value"
    # Control: the sample path (not generated) gets no such leniency.
    assert "404 is not documented" in str(valid_answer(no_404, _answer(404), SCHEMAS, False).problem)


# --- the rules with a scripted stage --------------------------------------------------------------


class _NoCreds:
    def auth_headers(self, route: Route) -> dict[str, str]:
        return {}

    def identity_headers(self, route: Route) -> tuple[str, ...]:
        return ()


class _Stage:
    """A client whose first answer (the positive control) is the clinic, then `answer(request number)`."""

    def __init__(self, answer: Callable[[int, str], tuple[int, bytes]]) -> None:
        self.base_url = "http://127.0.0.1:9/portal"
        self.answer = answer
        self.sent = 0

    def send(self, method: str, path: str, **_: Any) -> Exchange:
        self.sent += 1
        status, body = (200, CLINIC) if self.sent == 1 else self.answer(self.sent, path)
        return Exchange(method, self.base_url + path, (), b"", status, (("Content-Type", JSON),), body, 1.0)


class _Suite:
    def __init__(self, stage: _Stage, config: ApiConfig = PORTAL) -> None:
        contract = contract_of(config)
        self.one = ApiUnderTest(config, contract, stage, _NoCreds(), True)  # type: ignore[arg-type]

    def api(self, name: str) -> ApiUnderTest:
        return self.one


def _run(
    rule: Callable[..., None],
    route: Route,
    answer: Callable[[int, str], tuple[int, bytes]],
    config: ApiConfig = PORTAL,
) -> dict:
    """Run one contract rule on a scripted stage; its junit properties (or the skip/fail it raised)."""
    props: dict[str, Any] = {}
    flavor = contract_of(config).flavor
    case = RouteCase(config.name, flavor, route)
    check = Check(f"{rule.__name__}[{config.name}]", "contract", NoRedaction())
    schemas = {config.name: SCHEMAS if config is PORTAL else compile_responses(contract_of(config))}
    rule(_Suite(_Stage(answer), config), check, case, schemas, lambda k, v: props.__setitem__(k, v))
    return props


CLINIC_ROUTE = _route(PORTAL, "GET /clinics/{id}")
VALID_RULE = rules.test_generated_valid_inputs_get_documented_answers
INVALID_RULE = rules.test_generated_invalid_inputs_are_refused


@pytest.mark.parametrize("rule", [VALID_RULE, INVALID_RULE], ids=["valid", "invalid"])
def test_a_route_still_throttled_after_the_retries_is_not_exercised_never_passed_nor_failed(
    rule: Callable[..., None],
) -> None:
    with pytest.raises(pytest.skip.Exception) as skipped:
        _run(rule, CLINIC_ROUTE, lambda n, path: (429, b'{"message":"Too Many Requests"}'))
    message = str(skipped.value)
    assert "not exercised" in message and "still answered 429 after 5 tries" in message
    assert re.search(r"(\d+) generated inputs not sent", message)


@pytest.mark.parametrize("rule", [VALID_RULE, INVALID_RULE], ids=["valid", "invalid"])
def test_a_429_the_bucket_refill_clears_is_retried_and_not_counted(rule: Callable[..., None]) -> None:
    """Positive control of the skip above: every other request throttled, each retried once, judged."""
    refusal = (400, b'{"message": "include_staff must be true or false"}')
    ok = (200, CLINIC) if rule is VALID_RULE else refusal

    def answer(n: int, path: str) -> tuple[int, bytes]:
        return (429, b'{"message":"Too Many Requests"}') if n % 2 == 0 else ok

    props = _run(rule, CLINIC_ROUTE, answer)
    assert props["generated_throttled"] == 0 and props["generated_unsent"] == 0
    assert props["generated_requests"] >= 2


def test_the_valid_rule_accepts_a_documented_error_and_fails_an_undocumented_status() -> None:
    props = _run(VALID_RULE, CLINIC_ROUTE, lambda n, path: (404, ERROR))
    assert props["generated_notes"].startswith("documented 404 for a valid input x")
    with pytest.raises(pytest.fail.Exception) as failed:
        _run(VALID_RULE, CLINIC_ROUTE, lambda n, path: (409, ERROR))
    assert "409 is not documented" in str(failed.value) and "reproduce: curl" in str(failed.value)


def test_generated_path_values_may_meet_a_404_never_a_5xx_and_invalid_ones_must_be_refused() -> None:
    route = replace(
        CLINIC_ROUTE,
        path="/clinics/{id}",
        parameters=(Parameter("id", "path", True, {"type": "integer", "minimum": 1, "maximum": 99}),),
    )

    def unknown(n: int, path: str) -> tuple[int, bytes]:  # every generated id names nothing
        return (404, ERROR) if path != "/clinics/appt-1001" else (200, CLINIC)

    props = _run(VALID_RULE, route, unknown)
    assert "documented 404 for a valid input" in props["generated_notes"]
    refused = _run(INVALID_RULE, route, unknown)  # "not-an-integer", 0, 100: each refused with a 404
    assert refused["generated_requests"] == 3
    for rule, expected in ((VALID_RULE, "never a 5xx"), (INVALID_RULE, "a 4xx refusal of the input (id")):
        with pytest.raises(pytest.fail.Exception) as failed:
            _run(rule, route, lambda n, path: (500, b'{"message": "Internal Server Error"}'))
        assert expected in str(failed.value)


def test_a_wrong_gateway_refusal_names_the_refused_input_and_its_curl_line_in_the_record() -> None:
    """A REST validator's refusal of an invalid body is checked exactly; the failure's record (what the
    reports show) ends with the input's label and the curl line that reproduces it."""
    partner = STAGE.api("partner")
    route = replace(_route(partner, "POST /appointments"), parameters=())  # body violations only
    refused = b'{"message": "Invalid request body"}'
    props = _run(INVALID_RULE, route, lambda n, path: (400, refused), partner)  # positive control
    assert props["generated_requests"] >= 2
    with pytest.raises(RuleFailure) as failed:
        _run(INVALID_RULE, route, lambda n, path: (400, b'{"message": "nope"}'), partner)
    expected = failed.value.record.expected
    shown = r"\(compared as JSON\).*\) \(\S+ [^)]+\); reproduce: curl -sS -i -X POST '\S+/appointments\S*' "
    assert re.search(shown, expected) and "--data-binary" in expected
    assert f"expected: {expected}" in str(failed.value)  # pytest's output shows the same line


def test_the_curl_line_names_credentials_as_the_stage_copies_name_secrets() -> None:
    """One home for STAGEGATE_* names (fixtures/stage/copies.py); the README's two examples."""
    assert explore_module.env_name is copies.env_name
    assert copies.env_name("partner", "x-api-key") == "STAGEGATE_PARTNER_X_API_KEY"
    assert copies.env_name("portal", "Authorization") == "STAGEGATE_PORTAL_AUTHORIZATION"


def test_a_required_parameter_gets_the_same_valid_value_in_the_control_and_the_generated_inputs() -> None:
    """One rule (conformance/catalog/requests.py): the example, else the first enum value (any other
    would be refused), else the default; the positive control and every generated input agree."""
    route = replace(
        CLINIC_ROUTE,
        parameters=(
            Parameter("mode", "query", True, {"type": "string", "enum": ["fast", "slow"]}),
            Parameter("X-Tag", "header", True, {"type": "string"}),
            Parameter("X-Example", "header", True, {"type": "string"}, example="given"),
        ),
    )
    api = ApiUnderTest(PORTAL, CONTRACT, _Stage(lambda n, path: (200, CLINIC)), _NoCreds(), True)  # type: ignore[arg-type]
    control = api.valid_request(route)
    wanted = {"mode": "fast", "X-Tag": DEFAULT_PARAM_VALUE, "X-Example": "given"}
    assert {**control.query, **control.headers}.items() >= wanted.items()
    absent = boundary_examples(PORTAL, route)[0]  # optional inputs absent, required ones kept
    assert {**absent.query, **absent.headers} == wanted
    broken = next(i for i in invalid_inputs(PORTAL, route) if i.label == "mode not in enum")
    assert broken.headers == {"X-Tag": DEFAULT_PARAM_VALUE, "X-Example": "given"}
    # the clinic contracts keep today's values: the stage's samples, else the positive control's default
    partner = STAGE.api("partner")
    partner_api = ApiUnderTest(
        partner, contract_of(partner), _Stage(lambda n, p: (200, CLINIC)), _NoCreds(), True
    )  # type: ignore[arg-type]
    assert partner_api.valid_request(_route(partner, "GET /appointments")).query == {
        "clinic_id": DEFAULT_PARAM_VALUE
    }
    post = partner_api.valid_request(_route(partner, "POST /appointments"))
    assert post.query == {"notify": "email"} and post.headers["X-Partner-Id"] == "partner-7"
