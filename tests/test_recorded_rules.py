"""The two conformance rules the AWS recordings of issue 15 justify: their cases, and the contract
check that reports a non-POST Lambda proxy integration (with the route's answer as evidence)."""

from __future__ import annotations

import json
from pathlib import Path

from conformance.catalog.integrations import lambda_proxy_routes
from conformance.catalog.untyped import untyped_body_routes, untyped_defect
from fixtures.stage import contract_of, load_stage
from tests.conformance_runs import ROOT, local_stage_copy, run_suite

FIDELITY = ROOT / "tests" / "fidelity" / "stage.toml"


def _api(stage_path: Path, name: str):  # noqa: ANN202
    api = load_stage(str(stage_path), root=str(ROOT)).api(name)
    return api, contract_of(api)


def test_untyped_body_routes_are_the_rest_methods_validating_a_json_body() -> None:
    partner, contract = _api(ROOT / "stages" / "local.toml", "partner")
    assert [c.id for c in untyped_body_routes(partner, contract)] == ["partner POST /appointments"]
    portal, contract = _api(ROOT / "stages" / "local.toml", "portal")
    assert untyped_body_routes(portal, contract) == []  # HTTP API: no gateway validation
    off, contract = _api(FIDELITY, "validator_off")
    assert untyped_body_routes(off, contract) == []  # a validator that checks no body


def test_the_untyped_defect_is_one_a_draft_4_model_catches() -> None:
    schema = {"type": "object", "required": ["a"], "properties": {"a": {"type": "string", "format": "uri"}}}
    assert untyped_defect(schema, {"a": "x"}).keyword == "required"
    assert untyped_defect({"type": "object"}, {}).keyword == "json"


def test_lambda_proxy_routes_take_any_as_get_and_skip_mocks() -> None:
    trace, contract = _api(FIDELITY, "trace")  # GET /path is a MOCK; ANY /{proxy+} a Lambda proxy
    assert [c.id for c in lambda_proxy_routes(trace, contract)] == ["trace GET /{proxy+}"]
    non_post, contract = _api(FIDELITY, "non_post")
    [case] = lambda_proxy_routes(non_post, contract)
    assert case.route.integration.http_method == "GET"
    portal, contract = _api(ROOT / "stages" / "local.toml", "portal")
    assert lambda_proxy_routes(portal, contract) == []  # REST only


def test_non_post_lambda_proxy_is_reported_from_the_contract(tmp_path: Path) -> None:
    """A contract declaring httpMethod GET fails the rule with the contract's reason, not the control's."""
    document = json.loads((ROOT / "fixtures" / "clinic" / "partner.openapi.json").read_text())
    document["paths"]["/reports"]["get"]["x-amazon-apigateway-integration"]["httpMethod"] = "GET"
    contract = tmp_path / "partner.openapi.json"
    contract.write_text(json.dumps(document))
    stage = local_stage_copy(
        tmp_path, {'contract = "fixtures/clinic/partner.openapi.json"': f'contract = "{contract}"'}
    )
    run = run_suite("--stage", str(stage), "-k", "test_lambda_proxy_integration_method_is_post")
    assert run.returncode == 1, run.output[-2000:]
    assert run.failed == {"test_lambda_proxy_integration_method_is_post[partner GET /reports]"}
    assert "has httpMethod GET" in run.output and "positive control" not in run.output
    # a rule's record (sent, received, expected), not an error: the route's answer is the evidence
    assert "sent: GET http://127.0.0.1:" in run.output and "received: 500 " in run.output
