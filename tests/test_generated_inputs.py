"""The contract family's engine: generated inputs, one-violation variants, pacing, the curl line."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.catalog.generated import (
    Budget,
    Found,
    Inputs,
    Pacer,
    boundary_examples,
    curl_line,
    explore,
    invalid_inputs,
    oas30_to_json_schema,
    valid_strategy,
)
from fixtures.contract import Route
from fixtures.stage import ApiConfig, Limit, StageConfig, load_stage

STAGE: StageConfig = load_stage("stages/local.toml", root=".")


def _route(api: ApiConfig, key: str) -> Route:
    return next(r for r in api.contract().routes if r.route_key == key)


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
