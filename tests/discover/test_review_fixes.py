"""Review findings of issue 11, each pinned: --base-url, empty integration responses of an export."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fixtures.contract import load_contract
from tests.discover.test_discover_aws import discover_clinic, load


def test_base_url_replaces_the_execute_api_url_and_drops_drift_check(clients: Any, tmp_path: Path) -> None:
    """An emulator's invoke URL or a custom domain: written as given; drift cannot compare it."""
    out = tmp_path / "staging.toml"
    code, _, _ = discover_clinic(
        clients, out, "--base-url", "http://127.0.0.1:4566/restapis/x/v1/_user_request_/"
    )
    assert code == 0
    written = tomllib.loads(out.read_text())
    assert written["apis"]["partner"]["base_url"] == "http://127.0.0.1:4566/restapis/x/v1/_user_request_"
    assert ".execute-api." in written["apis"]["portal"]["base_url"]  # --base-url followed --rest-api
    assert "drift_check" not in written
    load(out)


def test_base_url_must_be_an_http_url(clients: Any, tmp_path: Path, capsys: Any) -> None:
    code, _, _ = discover_clinic(clients, tmp_path / "staging.toml", "--base-url", "127.0.0.1:4566")
    assert code == 2
    assert "--base-url 127.0.0.1:4566: give an http(s) URL" in capsys.readouterr().err


def _null_responses(node: Any) -> int:
    """Every integration's responses as LocalStack's get-export writes them: {"default": null}."""
    count = 0
    if isinstance(node, dict):
        integration = node.get("x-amazon-apigateway-integration")
        if isinstance(integration, dict) and isinstance(integration.get("responses"), dict):
            integration["responses"] = dict.fromkeys(integration["responses"])
            count += 1
        count += sum(_null_responses(v) for v in node.values())
    return count


def test_empty_integration_responses_of_an_export_come_from_get_method(clients: Any, tmp_path: Path) -> None:
    first = tmp_path / "first.toml"
    assert discover_clinic(clients, first)[0] == 0
    export = json.loads((tmp_path / "first.partner.openapi.json").read_text())
    assert _null_responses(export) > 0
    given = tmp_path / "localstack-like.json"
    given.write_text(json.dumps(export))
    from reports.cli import main

    partner = json.loads((tmp_path / "first.partner.openapi.json").read_text())
    api_id = tomllib.loads(first.read_text())["apis"]["partner"]["base_url"].split("//")[1].split(".")[0]
    out = tmp_path / "second.toml"
    argv = ["discover", "--rest-api", api_id, "--stage", "v1", "--name", "partner"]
    assert main([*argv, "--contract", str(given), "--out", str(out)]) == 0
    completed = json.loads((tmp_path / "second.partner.openapi.json").read_text())
    assert completed["paths"] == partner["paths"]
    load_contract(str(tmp_path / "second.partner.openapi.json"), "rest")


def _raise_account(rate: float, burst: int) -> None:
    """moto has no way to raise the account limits (AWS neither: a quota request): set them directly."""
    from moto.apigateway.models import apigateway_backends
    from moto.core import DEFAULT_ACCOUNT_ID

    apigateway_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].account.throttle_settings = {
        "rateLimit": rate,
        "burstLimit": burst,
    }


def _partner_over_the_default(clients: Any) -> str:
    """The partner REST API with its stage default above the default account limits."""
    from tests.discover.clinic_aws import build_partner

    partner = build_partner(clients.rest)
    clients.rest.update_stage(
        restApiId=partner,
        stageName="v1",
        patchOperations=[
            {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "20000"},
            {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "8000"},
        ],
    )
    return partner


def _discover_partner(partner: str, out: Path) -> int:
    from reports.cli import main

    return main(["discover", "--rest-api", partner, "--stage", "v1", "--name", "partner", "--out", str(out)])


def test_raised_account_limits_are_written_and_compared_by_drift(
    clients: Any, tmp_path: Path, capsys: Any
) -> None:
    from discover.drift import AnyEnvironment, drift_lines
    from fixtures.stage import Limit, load_stage

    _raise_account(30000.0, 15000)
    partner = _partner_over_the_default(clients)
    out = tmp_path / "staging.toml"
    assert _discover_partner(partner, out) == 0, capsys.readouterr().err
    throttle = tomllib.loads(out.read_text())["apis"]["partner"]["throttle"]
    assert (throttle["account_rate"], throttle["account_burst"]) == (30000, 15000)
    stage = load_stage(str(out), environ=AnyEnvironment())
    assert stage.api("partner").throttle.stage == Limit(20000.0, 8000)
    assert drift_lines(stage, lambda region: clients) == []
    _raise_account(40000.0, 15000)
    assert drift_lines(stage, lambda region: clients) == [
        "apis.partner.throttle.account_rate: file 30000, deployed 40000"
    ]


def test_default_account_limits_are_not_written(clients: Any, tmp_path: Path) -> None:
    from tests.discover.clinic_aws import build_partner

    out = tmp_path / "staging.toml"
    assert _discover_partner(build_partner(clients.rest), out) == 0
    assert "account_rate" not in out.read_text()


def test_unreadable_account_degrades_and_a_file_that_would_not_load_is_not_written(
    clients: Any, tmp_path: Path, capsys: Any, monkeypatch: Any
) -> None:
    """No get-account (an emulator, a narrow policy): one warning line; a stage limit over the default
    then makes a file that does not load, which replaces nothing."""
    from botocore.exceptions import ClientError

    from discover.cli import add_discover_arguments, discover_main

    def no_account(**_: Any) -> Any:
        raise ClientError({"Error": {"Code": "NotImplemented", "Message": "no account"}}, "GetAccount")

    monkeypatch.setattr(clients.rest, "get_account", no_account)
    _raise_account(30000.0, 15000)
    partner = _partner_over_the_default(clients)
    out = tmp_path / "staging.toml"
    out.write_text("# Written by `stagegate discover`: the previous run\n")
    parser = __import__("argparse").ArgumentParser()
    add_discover_arguments(parser)
    args = parser.parse_args(["--rest-api", partner, "--stage", "v1", "--name", "partner", "--out", str(out)])
    assert discover_main(args, lambda region: clients) == 2
    err = capsys.readouterr().err
    assert (
        "warning: get-account: AWS answered NotImplemented: no account; the account limits are taken" in err
    )
    assert "nothing written: the stage file would not load" in err
    assert str(tmp_path) not in err.replace(str(out), "")  # no temporary folder in the message
    assert out.read_text() == "# Written by `stagegate discover`: the previous run\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["staging.toml"]


def _module(tmp_path: Path, partner_tf: Callable[[str], str]) -> Path:
    """A copy of the seed's Terraform (staging) with partner.tf rewritten."""
    import shutil

    root = tmp_path / "terraform"
    shutil.copytree(Path(__file__).resolve().parent / "terraform", root)
    partner = root / "modules" / "clinic" / "partner.tf"
    partner.write_text(partner_tf(partner.read_text()))
    return root / "envs" / "staging"


def _terraform(module: Path, out: Path) -> int:
    from reports.cli import main

    return main(["discover", "--terraform", str(module), "--out", str(out)])


SECOND_STAGE = """
resource "aws_api_gateway_stage" "v2" {
  rest_api_id   = aws_api_gateway_rest_api.partner.id
  deployment_id = aws_api_gateway_deployment.partner.id
  stage_name    = "v2"
}

resource "aws_api_gateway_method_settings" "v2_all" {
  rest_api_id = aws_api_gateway_rest_api.partner.id
  stage_name  = aws_api_gateway_stage.v2.stage_name
  method_path = "*/*"
  settings {
    throttling_rate_limit  = 9
    throttling_burst_limit = 9
  }
}

resource "aws_api_gateway_method_settings" "v2_literal" {
  rest_api_id = aws_api_gateway_rest_api.partner.id
  stage_name  = "v2"
  method_path = "appointments/POST"
  settings {
    throttling_rate_limit  = 3
    throttling_burst_limit = 3
  }
}

resource "aws_api_gateway_usage_plan" "v2_only" {
  name = "v2-plan"
  api_stages {
    api_id = aws_api_gateway_rest_api.partner.id
    stage  = aws_api_gateway_stage.v2.stage_name
  }
  throttle_settings {
    rate_limit  = 7
    burst_limit = 7
  }
}
"""


def test_terraform_reads_only_the_written_stage_settings_and_plans(tmp_path: Path) -> None:
    from fixtures.stage import Limit, load_stage
    from tests.discover.clinic_aws import env_names

    out = tmp_path / "staging.toml"
    assert _terraform(_module(tmp_path, lambda tf: tf + SECOND_STAGE), out) == 0
    partner = load_stage(str(out), environ=env_names(out.read_text())).api("partner")
    assert partner.base_url.endswith("/v1")
    assert partner.throttle.stage == Limit(500, 1000)
    assert dict(partner.throttle.routes) == {}
    assert [plan.name for plan in partner.usage_plans] == ["partner-plan"]


def test_terraform_unresolved_plan_limit_is_marked_and_reported(tmp_path: Path, capsys: Any) -> None:
    def unresolved_rate(tf: str) -> str:
        return tf.replace("rate_limit  = 100", "rate_limit  = data.aws_ssm_parameter.plan_rate.value")

    out = tmp_path / "staging.toml"
    assert _terraform(_module(tmp_path, unresolved_rate), out) == 0
    text = out.read_text()
    plan_section = text.split("[apis.partner.usage_plans.partner-plan]", 1)[1].split("\n[", 1)[0]
    assert "# UNRESOLVED throttle rate and burst: data.aws_ssm_parameter.plan_rate.value" in plan_section
    err = capsys.readouterr().err
    assert "UNRESOLVED value(s) marked in" in err
    assert "apis.partner.usage_plans.partner-plan.throttle" in err


@pytest.mark.parametrize(
    ("burst", "problem"),
    [
        ('"lots"', 'burst_limit = "lots" is not a number'),
        ("200.5", "burst_limit = 200.5 is not a whole number"),
    ],
)
def test_terraform_bad_literal_burst_warns_and_is_not_truncated(
    tmp_path: Path, capsys: Any, burst: str, problem: str
) -> None:
    out = tmp_path / "staging.toml"
    assert (
        _terraform(
            _module(tmp_path, lambda tf: tf.replace("burst_limit = 200", f"burst_limit = {burst}")), out
        )
        == 0
    )
    err = capsys.readouterr().err
    assert "warning: module.clinic.aws_api_gateway_usage_plan.partner" in err and problem in err
    plan_section = out.read_text().split("[apis.partner.usage_plans.partner-plan]", 1)[1].split("\n[", 1)[0]
    assert (
        "burst = 200" not in plan_section
        and f"# UNRESOLVED throttle rate and burst: {problem}" in plan_section
    )


def test_a_route_override_equal_to_the_stage_default_is_no_drift(clients: Any, tmp_path: Path) -> None:
    """The file may keep a route override that equals the stage default; discover leaves such a copy
    out of what it reads from AWS: not "file present, deployed absent"."""
    from discover.drift import AnyEnvironment, drift_lines
    from fixtures.stage import load_stage

    out = tmp_path / "staging.toml"
    assert discover_clinic(clients, out)[0] == 0
    text = out.read_text()
    stage = load_stage(str(out), environ=AnyEnvironment())
    default = stage.api("partner").throttle.stage
    assert default is not None
    out.write_text(
        text.replace(
            "[apis.partner.tolerance]",
            '[apis.partner.throttle.routes."GET /appointments/{id}"]\n'
            f"rate = {default.rate}\nburst = {default.burst}\n\n[apis.partner.tolerance]",
        )
    )
    stage = load_stage(str(out), environ=AnyEnvironment())
    assert "GET /appointments/{id}" in stage.api("partner").throttle.routes
    assert drift_lines(stage, lambda region: clients) == []


def test_route_authorization_changes_are_drift(clients: Any, tmp_path: Path) -> None:
    """apiKeyRequired of a REST method and the authorizer of an HTTP route, changed in AWS."""
    from discover.drift import AnyEnvironment, drift_lines
    from fixtures.stage import load_stage

    out = tmp_path / "staging.toml"
    _, portal, partner = discover_clinic(clients, out)
    stage = load_stage(str(out), environ=AnyEnvironment())
    assert drift_lines(stage, lambda region: clients) == []
    gw, v2 = clients.rest, clients.http
    resources = gw.get_resources(restApiId=partner, embed=["methods"])["items"]
    keyed = next(
        (r, m)
        for r in sorted(resources, key=lambda r: r["path"])
        for m, raw in sorted((r.get("resourceMethods") or {}).items())
        if gw.get_method(restApiId=partner, resourceId=r["id"], httpMethod=m).get("apiKeyRequired")
    )
    # moto has no update-method: the method is put again without the API key requirement.
    gw.put_method(
        restApiId=partner,
        resourceId=keyed[0]["id"],
        httpMethod=keyed[1],
        authorizationType="NONE",
        apiKeyRequired=False,
    )
    guarded = next(r for r in v2.get_routes(ApiId=portal)["Items"] if r.get("AuthorizationType") == "JWT")
    v2.update_route(ApiId=portal, RouteId=guarded["RouteId"], AuthorizationType="NONE", AuthorizerId="")
    lines = drift_lines(stage, lambda region: clients)
    route = f"{keyed[1]} {keyed[0]['path']}"
    assert f'apis.partner.route_auth."{route}".api_key_required: file true, deployed false' in lines
    key = guarded["RouteKey"]
    assert f'apis.portal.route_auth."{key}".authorization: file "JWT", deployed "NONE"' in lines, lines


def test_aws_region_alone_names_the_region(aws_env: None, monkeypatch: Any) -> None:
    """The region hint says AWS_REGION: botocore reads only AWS_DEFAULT_REGION, so discover reads it."""
    from discover.aws import make_clients

    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert make_clients().region == "eu-west-1"
