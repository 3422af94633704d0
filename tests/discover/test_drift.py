"""`stagegate drift` against moto, and the gate's drift step: a deployed limit that differs from the
stage file is one line, and the gate skips load with a blocking reason."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from discover.drift import DriftResult, gate_drift, locate, should_check
from fixtures.stage import load_stage
from reports.cli import main
from tests.discover.clinic_aws import RECORDED_EXPORT, build_partner, build_portal, env_names


def discovered(clients: Any, tmp_path: Path) -> tuple[Path, str, str]:
    portal, partner = build_portal(clients.http), build_partner(clients.rest)
    out = tmp_path / "staging.toml"
    argv = ["discover", "--http-api", portal, "--name", "portal", "--contract", str(RECORDED_EXPORT)]
    assert main([*argv, "--rest-api", partner, "--stage", "v1", "--name", "partner", "--out", str(out)]) == 0
    return out, portal, partner


def plan_id(clients: Any, name: str) -> str:
    return next(p["id"] for p in clients.rest.get_usage_plans()["items"] if p["name"] == name)


def test_no_drift_right_after_discover(
    clients: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, _, _ = discovered(clients, tmp_path)
    capsys.readouterr()
    assert main(["drift", "--stage", str(out)]) == 0
    assert "matches the deployed stage (2 API(s))" in capsys.readouterr().out


def test_each_deployed_change_is_one_line(
    clients: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Quota, route throttle, key enabled flag, stage limit, CORS and an authorizer, each changed in AWS."""
    out, portal, partner = discovered(clients, tmp_path)
    gw, v2 = clients.rest, clients.http
    gw.update_usage_plan(
        usagePlanId=plan_id(clients, "partner-plan"),
        patchOperations=[{"op": "replace", "path": "/quota/limit", "value": "5000"}],
    )
    key = next(k for k in gw.get_api_keys()["items"] if k["name"] == "quota-a")
    gw.update_api_key(
        apiKey=key["id"], patchOperations=[{"op": "replace", "path": "/enabled", "value": "false"}]
    )
    gw.update_stage(
        restApiId=partner,
        stageName="v1",
        patchOperations=[{"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "900"}],
    )
    # moto has no apigatewayv2 update-stage: the stage is deployed again with the new route limit.
    v2.delete_stage(ApiId=portal, StageName="$default")
    v2.create_stage(
        ApiId=portal,
        StageName="$default",
        DefaultRouteSettings={"ThrottlingRateLimit": 100.0, "ThrottlingBurstLimit": 200},
        RouteSettings={"POST /calls/transcribe": {"ThrottlingRateLimit": 5.0, "ThrottlingBurstLimit": 20}},
    )
    v2.update_api(
        ApiId=portal, CorsConfiguration={"AllowOrigins": ["https://portal.clinic.com", "https://x.example"]}
    )
    capsys.readouterr()
    assert main(["drift", "--stage", str(out)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert "apis.partner.usage_plans.partner-plan.quota: file 10000, deployed 5000" in lines
    assert "apis.partner.usage_plans.quota-test-plan.keys.quota-a.enabled: file true, deployed false" in lines
    assert "apis.partner.throttle.burst: file 1000, deployed 900" in lines
    assert 'apis.portal.throttle.routes."POST /calls/transcribe".rate: file 10, deployed 5' in lines
    assert (
        'apis.portal.cors.allow_origins: file ["https://portal.clinic.com"], '
        'deployed ["https://portal.clinic.com", "https://x.example"]'
    ) in lines
    assert lines[-1].startswith("stagegate drift: ")


def test_a_removed_plan_and_a_changed_authorizer_are_reported(clients: Any, tmp_path: Path) -> None:
    out, _, partner = discovered(clients, tmp_path)
    gw = clients.rest
    gw.update_usage_plan(
        usagePlanId=plan_id(clients, "throttle-test-plan"),
        patchOperations=[{"op": "remove", "path": "/apiStages", "value": f"{partner}:v1"}],
    )
    token = next(a for a in gw.get_authorizers(restApiId=partner)["items"] if a["name"] == "partner-token")
    gw.update_authorizer(
        restApiId=partner,
        authorizerId=token["id"],
        patchOperations=[{"op": "replace", "path": "/authorizerResultTtlInSeconds", "value": "0"}],
    )
    stage = load_stage(str(out), environ=env_names(out.read_text()))
    found = gate_drift(stage, lambda region: clients, lambda: True)
    assert "apis.partner.usage_plans.throttle-test-plan: file present, deployed absent" in found.differences
    assert "apis.partner.authorizers.partner-token.ttl_seconds: file 300, deployed 0" in found.differences
    assert found.blocks_load


def test_drift_locates_apis_by_their_execute_api_url(tmp_path: Path) -> None:
    stage = load_stage("stages/staging.example.toml", environ=_any_env())
    portal, partner = (locate(api) for api in stage.apis)
    assert portal is not None and (portal.api_id, portal.region, portal.stage) == (
        "a1b2c3d4e5",
        "us-east-1",
        "$default",
    )
    assert partner is not None and partner.stage == "v1"
    local = load_stage("local")
    assert locate(local.apis[0]) is None


def _any_env() -> Any:
    from discover.drift import AnyEnvironment

    return AnyEnvironment()


def test_when_the_gate_checks_drift() -> None:
    """drift_check true: always; false: never; unset: execute-api URLs and credentials available."""
    example = load_stage("stages/staging.example.toml", environ=_any_env())
    assert should_check(example, lambda: True) == (True, "")
    assert should_check(example, lambda: False)[0] is False
    assert "no AWS credentials" in should_check(example, lambda: False)[1]
    from dataclasses import replace

    assert should_check(replace(example, drift_check=True), lambda: False) == (True, "")
    assert should_check(replace(example, drift_check=False), lambda: True) == (False, "drift_check = false")
    assert should_check(load_stage("local"), lambda: True) == (False, "")


def test_an_unreadable_deployment_blocks_only_when_asked(aws_env: None) -> None:
    """drift_check = true and AWS cannot be read: load is blocked; unset: a note, load goes on."""
    from dataclasses import replace

    from discover.errors import DiscoverError

    example = load_stage("stages/staging.example.toml", environ=_any_env())

    def broken(region: str) -> Any:
        raise DiscoverError("get-api a1b2c3d4e5: access denied (AccessDeniedException); grant ...")

    asked = gate_drift(replace(example, drift_check=True), broken, lambda: True)
    assert asked.blocks_load and asked.error.startswith("get-api a1b2c3d4e5: access denied")
    default = gate_drift(example, broken, lambda: True)
    assert not default.blocks_load and default.why_not.startswith("could not check: get-api")


def test_the_gate_skips_load_with_a_drift_reason(
    clients: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A deployed limit differs from the file: load is skipped, the reason is stage.drift, verdict FAIL."""
    import json

    from reports import run

    out, _, _ = discovered(clients, tmp_path)
    text = out.read_text().replace("load_allowed = false", "load_allowed = true")
    out.write_text(text)
    clients.rest.update_usage_plan(
        usagePlanId=plan_id(clients, "partner-plan"),
        patchOperations=[{"op": "replace", "path": "/quota/limit", "value": "5000"}],
    )
    for name, value in env_names(text).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(run, "unreachable_stage", lambda stage, timeout_s: "no network in the self-tests")
    args = argparse.Namespace(
        stage=str(out), fault=[], no_load=False, smoke=False, no_html=True, out=str(tmp_path / "out")
    )
    code = run.gate_main(args)
    printed = capsys.readouterr().out
    assert code == 1
    assert "drift: 1 difference(s) from the deployed stage; load skipped" in printed
    gate = json.loads((tmp_path / "out" / "staging" / "gate.json").read_text())
    assert gate["parts"]["load"]["state"] == "skipped_by_policy"
    assert gate["parts"]["load"]["detail"].startswith("drift: 1 difference(s)")
    drift = [r for r in gate["reasons"] if r["rule"] == "stage.drift"]
    assert drift == [
        {
            "rule": "stage.drift",
            "outcome": "fail",
            "message": "apis.partner.usage_plans.partner-plan.quota: file 10000, deployed 5000",
        }
    ]
    from reports.build import main as rebuild

    assert rebuild(["--stage", "staging", "--out", str(tmp_path / "out" / "staging")]) == 1  # kept on rebuild
    again = json.loads((tmp_path / "out" / "staging" / "gate.json").read_text())
    assert [r for r in again["reasons"] if r["rule"] == "stage.drift"] == drift


def test_drift_result_summary_lines() -> None:
    assert DriftResult(True).summary == "the deployed stage matches the stage file"
    assert DriftResult(False, why_not="drift_check = false").summary == "not checked (drift_check = false)"
    assert not DriftResult(True).blocks_load
