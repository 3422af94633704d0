"""`stagegate discover` against moto: the example portal and partner APIs come back as today's
hand-written stages/staging.example.toml, in every limit, plan and key name.

moto does not implement apigatewayv2 export-api: the portal's contract is a recorded export
(tests/discover/data/portal.export.json, written from the AWS documentation's description of the
HTTP API export: OAS 3.0.1, x-amazon-apigateway-integration per route, authorizers as security
schemes, x-amazon-apigateway-cors, generated path parameters, a default response per route).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from discover.cli import add_discover_arguments, discover_main
from fixtures.contract import load_contract
from fixtures.stage import ApiConfig, StageConfig, contract_of, load_stage
from reports.cli import main
from tests.discover.clinic_aws import (
    EXAMPLE,
    KEY_VALUE,
    PARTNER,
    PORTAL,
    RECORDED_EXPORT,
    build_partner,
    build_portal,
    env_names,
)


def discover_clinic(clients: Any, out: Path, *extra: str) -> tuple[int, str, str]:
    """Build both APIs in moto and run `stagegate discover` on them; (exit, portal id, partner id)."""
    portal = build_portal(clients.http)
    partner = build_partner(clients.rest)
    argv = ["discover", "--http-api", portal, "--name", "portal", "--contract", str(RECORDED_EXPORT)]
    argv += ["--rest-api", partner, "--stage", "v1", "--name", "partner", "--out", str(out), *extra]
    return main(argv), portal, partner


def load(path: Path) -> StageConfig:
    return load_stage(str(path), environ=env_names(path.read_text()))


def limits(api: ApiConfig) -> dict[str, Any]:
    """Every limit, plan and key of an API, as plain data."""
    return {
        "flavor": api.flavor,
        "throttle": api.throttle,
        "usage_plans": [
            (
                p.name,
                p.throttle,
                p.quota_limit,
                p.quota_period,
                p.quota_offset,
                dict(p.method_throttle),
                sorted((k.name, k.enabled, k.test_key) for k in p.keys),
            )
            for p in sorted(api.usage_plans, key=lambda p: p.name)
        ],
        "tolerance": api.tolerance,
    }


def test_discovered_stage_equals_the_hand_written_example(clients: Any, tmp_path: Path) -> None:
    """Every limit, plan, quota, key name and enabled flag of staging.example.toml comes back from AWS."""
    out = tmp_path / "staging.toml"
    spendable = [k.name for p in load(EXAMPLE).api("partner").usage_plans for k in p.keys if k.test_key]
    assert spendable  # the example lets load spend some keys: the user says which with --test-key
    test_keys = [arg for name in spendable for arg in ("--test-key", name)]
    code, _, _ = discover_clinic(clients, out, "--load-allowed", *test_keys)
    assert code == 0
    discovered, example = load(out), load(EXAMPLE)
    assert [a.name for a in discovered.apis] == ["portal", "partner"]
    for name in ("portal", "partner"):
        assert limits(discovered.api(name)) == limits(example.api(name)), name
    assert discovered.drift_check is True


def test_defaults_forbid_load_and_protect_every_key(clients: Any, tmp_path: Path) -> None:
    """Unless the user says otherwise: load_allowed = false and test_key = false for every key."""
    out = tmp_path / "staging.toml"
    assert discover_clinic(clients, out)[0] == 0
    stage = load(out)
    assert not any(api.load_allowed for api in stage.apis)
    assert all(not key.test_key for plan in stage.api("partner").usage_plans for key in plan.keys)


def test_secrets_are_env_fields_and_values_are_never_written(clients: Any, tmp_path: Path) -> None:
    """No key value reaches a written file; every secret is an *_env field with a suggested name."""
    out = tmp_path / "staging.toml"
    assert discover_clinic(clients, out)[0] == 0
    texts = [p.read_text() for p in tmp_path.iterdir()]
    assert len(texts) == 3  # the stage file and two contracts
    assert not any(KEY_VALUE in text for text in texts)
    stage_text = out.read_text()
    assert 'value_env = "STAGEGATE_PARTNER_KEY_PARTNER_7"' in stage_text
    assert 'api_key_env = "STAGEGATE_PARTNER_API_KEY"' in stage_text
    assert 'bearer_token_env = "STAGEGATE_PORTAL_TOKEN"' in stage_text
    assert 'lambda_token_env = "STAGEGATE_PORTAL_LAMBDA_TOKEN"' in stage_text
    partner = load(out).api("partner")
    assert {s.origin for s in partner.secrets()} == {
        f"env:{n}" for n in env_names(stage_text) if "PARTNER" in n
    }


def test_discover_never_asks_for_key_values(
    clients: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """includeValues stays off, and get-usage-plan-keys (which returns values) is never called."""
    calls: list[tuple[str, dict[str, Any]]] = []
    real = clients.rest._make_api_call

    def spy(operation: str, params: dict[str, Any]) -> Any:
        calls.append((operation, params))
        return real(operation, params)

    monkeypatch.setattr(clients.rest, "_make_api_call", spy)
    partner = build_partner(clients.rest)
    calls.clear()
    args = parse(
        ["--rest-api", partner, "--stage", "v1", "--name", "partner", "--out", str(tmp_path / "s.toml")]
    )
    assert discover_main(args, clients_for=lambda region: clients) == 0
    names = {op for op, _ in calls}
    assert "GetApiKeys" in names
    assert "GetUsagePlanKeys" not in names and "GetApiKey" not in names
    assert all(not params.get("includeValues") for op, params in calls if op == "GetApiKeys")
    assert all(op.startswith("Get") for op in names), names  # read-only calls only


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_discover_arguments(parser)
    return parser.parse_args(argv)


def test_running_discover_twice_gives_the_same_files(clients: Any, tmp_path: Path) -> None:
    out = tmp_path / "staging.toml"
    code, portal, partner = discover_clinic(clients, out)
    assert code == 0
    first = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    argv = ["discover", "--http-api", portal, "--name", "portal", "--contract", str(RECORDED_EXPORT)]
    argv += ["--rest-api", partner, "--stage", "v1", "--name", "partner", "--out", str(out)]
    assert main(argv) == 0
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == first


def test_discovered_contracts_describe_the_example_routes(clients: Any, tmp_path: Path) -> None:
    """The partner contract, built from get-method over moto's Swagger 2.0 skeleton, has the example's
    validators, required parameters, apiKeyRequired, authorizers and request models."""
    out = tmp_path / "staging.toml"
    assert discover_clinic(clients, out)[0] == 0
    stage = load(out)
    for name, original in (("partner", PARTNER), ("portal", PORTAL)):
        api = stage.api(name)
        mine, theirs = contract_of(api), load_contract(str(original), api.flavor)
        assert routes(mine) == routes(theirs), name
        assert {n: type(a) for n, a in mine.authorizers.items()} == {
            n: type(a) for n, a in theirs.authorizers.items()
        }
    assert contract_of(stage.api("portal")).cors == load_contract(str(PORTAL), "http").cors
    partner = contract_of(stage.api("partner"))
    body = partner.route("POST /appointments").request_bodies["application/json"]
    expected = (
        load_contract(str(PARTNER), "rest").route("POST /appointments").request_bodies["application/json"]
    )
    assert body == expected
    assert set(partner.gateway_responses) == {"DEFAULT_4XX", "DEFAULT_5XX"}


def routes(contract: Any) -> dict[str, Any]:
    return {
        r.route_key: (
            r.authorizer,
            r.scopes,
            r.api_key_required,
            r.validator,
            sorted(
                (p.name.lower(), p.location) for p in r.parameters if p.required
            ),  # exports drop optional ones
            r.integration.type,
            r.integration.function,
        )
        for r in contract.routes
    }


def test_the_export_is_completed_with_what_exports_drop(clients: Any, tmp_path: Path) -> None:
    """A REST export without validators, required parameters and apiKeyRequired (as LocalStack's) gets them
    back from get-method; the header lists each addition."""
    partner = build_partner(clients.rest)
    lean = json.loads(PARTNER.read_text())
    for item in lean["paths"].values():
        for op in item.values():
            op.pop("x-amazon-apigateway-request-validator", None)
            op.pop("security", None)
            for param in op.get("parameters", []):
                param["required"] = param["in"] == "path"
    lean.pop("x-amazon-apigateway-request-validators")
    export = tmp_path / "lean.json"
    export.write_text(json.dumps(lean))
    out = tmp_path / "partner.toml"
    argv = [
        "discover",
        "--rest-api",
        partner,
        "--stage",
        "v1",
        "--name",
        "partner",
        "--contract",
        str(export),
    ]
    assert main([*argv, "--out", str(out)]) == 0
    contract = contract_of(load(out).api("partner"))
    assert routes(contract) == routes(load_contract(str(PARTNER), "rest"))
    header = out.read_text()
    assert "POST /appointments: request validator 'all' (from get-method)" in header
    assert "GET /appointments: query parameter 'clinic_id' required: true" in header


def test_the_http_export_is_read_from_export_api(clients: Any) -> None:
    """export_http parses what export-api answers (a recorded export served in place of moto's 404)."""
    from discover.aws import Clients
    from discover.aws_http import export_http

    class Recorded:
        def export_api(self, **kwargs: Any) -> dict[str, Any]:
            assert kwargs["Specification"] == "OAS30" and kwargs["IncludeExtensions"] is True
            return {"body": RECORDED_EXPORT.read_bytes()}

    doc = export_http(Clients(clients.rest, Recorded(), "us-east-1"), "a1b2c3d4e5", "$default")
    assert doc["x-amazon-apigateway-cors"]["allowOrigins"] == ["https://portal.clinic.com"]


def test_moto_missing_export_says_what_to_do(
    clients: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """moto answers export-api with 404 "Not yet implemented": one line naming the call and --contract."""
    portal = build_portal(clients.http)
    assert main(["discover", "--http-api", portal, "--out", str(tmp_path / "s.toml")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith(f"stagegate discover: export-api {portal} (stage $default): ")
    assert "does not implement export-api" in err and "--contract FILE" in err
    assert not (tmp_path / "s.toml").exists()
