"""`stagegate discover --terraform`: the seed's kind of Terraform (tests/discover/terraform/, one module
per environment calling a shared local module), malformed HCL and constructs discover does not evaluate."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.contract import JwtAuthorizer, LambdaAuthorizer, load_contract
from fixtures.stage import Limit, contract_of, load_stage
from reports.cli import main
from tests.discover.clinic_aws import env_names

MODULES = Path(__file__).resolve().parent / "terraform"
SEED = {  # env -> (stage default, partner quota): prod overrides both in its terraform.tfvars
    "dev": (Limit(500, 1000), 10000),
    "staging": (Limit(500, 1000), 10000),
    "prod": (Limit(1000, 2000), 100000),
}


def discover(module: Path, out: Path, *extra: str) -> int:
    return main(["discover", "--terraform", str(module), "--out", str(out), *extra])


@pytest.mark.parametrize("env", sorted(SEED))
def test_each_environment_gives_its_stage_file(env: str, tmp_path: Path) -> None:
    out = tmp_path / f"{env}.toml"
    assert discover(MODULES / "envs" / env, out) == 0
    stage = load_stage(str(out), environ=env_names(out.read_text()))
    default, quota = SEED[env]
    portal, partner = stage.api("portal"), stage.api("partner")
    assert (portal.flavor, partner.flavor) == ("http", "rest")
    assert portal.throttle.stage == default
    assert dict(portal.throttle.routes) == {"POST /calls/transcribe": Limit(10, 20)}
    assert partner.throttle.stage == Limit(500, 1000)
    (plan,) = partner.usage_plans
    assert (plan.name, plan.throttle, plan.quota_limit, plan.quota_period, plan.quota_offset) == (
        "partner-plan",
        Limit(100, 200),
        quota,
        "MONTH",
        0,
    )
    assert [(k.name, k.enabled, k.test_key) for k in plan.keys] == [(f"partner-7-{env}", True, False)]
    assert not portal.load_allowed and not partner.load_allowed
    assert f"portal-api-{env}" in out.read_text()

    http = contract_of(portal)
    assert {r.route_key: (r.authorizer, r.scopes) for r in http.routes} == {
        "GET /appointments": ("cognito", ("appointments/read",)),
        "POST /calls/transcribe": ("cognito", ("appointments/write",)),
    }
    assert http.authorizers["cognito"] == JwtAuthorizer(
        "cognito",
        "$request.header.Authorization",
        f"https://cognito-idp.us-east-1.amazonaws.com/us-east-1_{env.capitalize()}Pool",
        (f"portal-web-{env}",),
    )
    assert http.cors is not None and http.cors.allow_origins == ("https://portal.myapp.com",)
    assert http.route("GET /appointments").integration.function == f"clinic-appointments-{env}"
    assert http.route("GET /appointments").integration.payload_version == "2.0"

    rest = contract_of(partner)
    create = rest.route("POST /appointments")
    assert create.api_key_required and create.body_required
    assert create.validator is not None and (create.validator.name, create.validator.validate_body) == (
        "body-only",
        True,
    )
    schema = create.request_bodies["application/json"]
    assert schema["required"] == ["clinic_id", "patient_id", "datetime"] and "$schema" not in schema


def test_var_overrides_tfvars_and_defaults(tmp_path: Path) -> None:
    out = tmp_path / "qa.toml"
    assert discover(MODULES / "envs" / "staging", out, "--var", "env=qa", "--var", "portal_rate=250") == 0
    stage = load_stage(str(out), environ=env_names(out.read_text()))
    assert "portal-api-qa" in out.read_text()
    assert stage.api("portal").throttle.stage == Limit(250, 1000)
    assert stage.api("partner").usage_plans[0].keys[0].name == "partner-7-qa"


def test_running_it_twice_gives_the_same_files(tmp_path: Path) -> None:
    out = tmp_path / "staging.toml"
    assert discover(MODULES / "envs" / "staging", out) == 0
    first = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert discover(MODULES / "envs" / "staging", out) == 0
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == first


def test_what_cannot_be_evaluated_is_a_marked_placeholder_and_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A function call, a remote state and a remote module: placeholders and warnings, never a guess."""
    out = tmp_path / "dev.toml"
    assert discover(MODULES / "unsupported", out) == 0
    err = capsys.readouterr().err
    assert (
        "warning: aws_apigatewayv2_stage.default (main.tf): throttling_rate_limit = "
        'lookup(var.limits, "rate", 100): a function call (lookup); written as a placeholder'
    ) in err
    assert "issuer = data.terraform_remote_state.auth.outputs.issuer: a remote state" in err
    assert "module.shared" in err and "is not a local directory; its resources are not read" in err
    text = out.read_text()
    assert '# UNRESOLVED rate and burst: lookup(var.limits, "rate", 100)' in text
    assert "\nrate = " not in text  # no guessed limit
    contract = load_contract(str(tmp_path / "dev.portal.openapi.json"), "http")
    issuer = contract.authorizers["cognito"]
    assert isinstance(issuer, JwtAuthorizer) and issuer.issuer.startswith(
        "<UNRESOLVED data.terraform_remote_state"
    )


def test_a_key_value_in_terraform_is_never_copied(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    module = tmp_path / "module"
    module.mkdir()
    source = MODULES / "modules" / "clinic"
    for name in ("variables.tf", "lambda.tf", "partner.tf"):
        text = (source / name).read_text()
        if name == "partner.tf":
            text = text.replace(
                'name = "partner-7-${var.env}"',
                'name  = "partner-7"\n  value = "sekret-partner-key-value-0001"',
            )
        (module / name).write_text(text)
    out = tmp_path / "out" / "dev.toml"
    assert (
        discover(module, out, "--var", "env=dev", "--var", "user_pool_id=p", "--var", "portal_client_id=c")
        == 0
    )
    assert "a key value is in the Terraform source; it is not copied" in capsys.readouterr().err
    assert not any("sekret" in p.read_text() for p in out.parent.iterdir())


def test_hcl_that_does_not_parse(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    module = tmp_path / "broken"
    module.mkdir()
    (module / "main.tf").write_text('resource "aws_apigatewayv2_api" "portal" {\n  name = \n}\n')
    assert discover(module, tmp_path / "s.toml") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith(f"stagegate discover: {module}/main.tf: line 2, column")
    assert "does not parse as HCL" in err and err.endswith("(`terraform validate` shows the same place)")
    assert not (tmp_path / "s.toml").exists()


@pytest.mark.parametrize(
    ("setup", "argv", "expected"),
    [
        ("none", [], "not a directory; give the Terraform module of one environment"),
        ("empty", [], "no *.tf files; give the Terraform module of one environment"),
        ("no-api", [], "no aws_apigatewayv2_api (HTTP) or aws_api_gateway_rest_api resource"),
        ("no-api", ["--var", "env"], "--var env: expected NAME=VALUE (e.g. --var env=staging)"),
        ("no-api", ["--var-file", "nope.tfvars"], "--var-file nope.tfvars: no such file"),
    ],
)
def test_bad_terraform_input(
    setup: str, argv: list[str], expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    module = tmp_path / "module"
    if setup != "none":
        module.mkdir()
    if setup == "no-api":
        (module / "main.tf").write_text('variable "env" {\n  default = "dev"\n}\n')
    assert discover(module, tmp_path / "s.toml", *argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and expected in err, err


KIOSK_AUTHORIZER = """
resource "aws_apigatewayv2_authorizer" "kiosk" {
  api_id                            = aws_apigatewayv2_api.portal.id
  authorizer_type                   = "REQUEST"
  authorizer_uri                    = aws_lambda_function.appointments.invoke_arn
  authorizer_payload_format_version = "2.0"
  enable_simple_responses           = true
  identity_sources                  = ["SOURCE"]
  name                              = "kiosk"
}
"""


def _kiosk_scheme(tmp_path: Path, source: str) -> tuple[dict[str, object], tuple[str, ...]]:
    """The seed with GET /appointments behind a Lambda authorizer reading `source`: the written
    scheme and the identity sources of the loaded contract."""
    import json
    import shutil

    root = tmp_path / "terraform"
    shutil.copytree(MODULES, root)
    portal = root / "modules" / "clinic" / "portal.tf"
    text = portal.read_text() + KIOSK_AUTHORIZER.replace("SOURCE", source)
    route = 'route_key            = "GET /appointments"\n  authorization_type   = "JWT"\n'
    route += "  authorizer_id        = aws_apigatewayv2_authorizer.cognito.id\n"
    route += '  authorization_scopes = ["appointments/read"]\n'
    assert route in text
    text = text.replace(
        route,
        'route_key            = "GET /appointments"\n  authorization_type   = "CUSTOM"\n'
        "  authorizer_id        = aws_apigatewayv2_authorizer.kiosk.id\n",
    )
    portal.write_text(text)
    out = tmp_path / "staging.toml"
    assert discover(root / "envs" / "staging", out) == 0
    written = tmp_path / "staging.portal.openapi.json"
    scheme = json.loads(written.read_text())["components"]["securitySchemes"]["kiosk"]
    authorizer = load_contract(str(written), "http").authorizers["kiosk"]
    assert isinstance(authorizer, LambdaAuthorizer)
    return scheme, authorizer.identity_sources


def test_a_lambda_authorizer_reading_a_query_string_names_no_made_up_header(tmp_path: Path) -> None:
    scheme, sources = _kiosk_scheme(tmp_path, "$request.querystring.token")
    assert scheme["name"] == "Authorization"  # not "token": the credential is not in a header
    assert sources == ("$request.querystring.token",)


def test_control_a_lambda_authorizer_reading_a_header_names_that_header(tmp_path: Path) -> None:
    scheme, sources = _kiosk_scheme(tmp_path, "$request.header.X-Kiosk-Token")
    assert scheme["name"] == "X-Kiosk-Token"
    assert sources == ("$request.header.X-Kiosk-Token",)
