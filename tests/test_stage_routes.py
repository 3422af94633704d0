"""The stage file's route references are checked against the contract; samples reach the request."""

from __future__ import annotations

import json
import pathlib

import pytest

from conformance.harness.api import ApiUnderTest
from conformance.harness.client import HttpClient
from conformance.harness.credentials import ApiCredentials
from fixtures.errors import ConfigError
from fixtures.stage import load_stage
from fixtures.stage.routes import load_contracts

REPO = pathlib.Path(__file__).resolve().parent.parent
REMOTE = (REPO / "tests" / "data" / "stages" / "remote.toml").read_text()
ENV = {"T_PORTAL_TOKEN": "portal-token-value-123", "T_API_KEY": "api-key-value-456", "T_KEY_A": "key-a-789"}

# A POST route of an HTTP API without a request model, as `aws apigatewayv2 export-api` writes it.
NO_MODEL_POST = {
    "openapi": "3.0.1",
    "info": {"title": "no-model", "version": "1"},
    "paths": {
        "/items": {
            "post": {
                "responses": {"default": {"description": "any"}},
                "x-amazon-apigateway-integration": {
                    "type": "aws_proxy",
                    "payloadFormatVersion": "2.0",
                    "uri": "arn:aws:lambda:us-east-1:123456789012:function:items",
                },
            }
        }
    },
}


def _stage(tmp_path: pathlib.Path, text: str) -> str:
    path = tmp_path / "stage.toml"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    ("addition", "where"),
    [
        ('\n[apis.portal.samples.query."POST /item"]\nx = "1"\n', 'apis.portal.samples.query."POST /item"'),
        (
            '\n[apis.portal.samples.headers."GET /nope"]\nX-A = "1"\n',
            'apis.portal.samples.headers."GET /nope"',
        ),
        ('\n[apis.portal.samples.bodies."POST /item"]\na = 1\n', 'apis.portal.samples.bodies."POST /item"'),
        ('\n[apis.portal.routes."GET /nope"]\nexclude = "gone"\n', 'apis.portal.routes."GET /nope"'),
        (
            '\n[apis.portal.samples.failure_probe]\nroute = "GET /nope"\n',
            "apis.portal.samples.failure_probe.route",
        ),
    ],
)
def test_a_route_key_the_contract_does_not_have_is_a_configuration_error(
    tmp_path: pathlib.Path, addition: str, where: str
) -> None:
    stage = load_stage(_stage(tmp_path, REMOTE + addition), root=str(REPO), environ=ENV)
    with pytest.raises(ConfigError) as raised:
        load_contracts(stage)
    assert f"{where}: " in str(raised.value) and "is not a route of the contract" in str(raised.value)


def test_route_keys_the_contract_has_are_accepted(tmp_path: pathlib.Path) -> None:
    """Positive control: the base stage names only real routes."""
    stage = load_stage(_stage(tmp_path, REMOTE), root=str(REPO), environ=ENV)
    assert set(load_contracts(stage)) == {"portal", "partner"}


def test_a_sample_body_is_sent_on_a_route_without_a_request_model(tmp_path: pathlib.Path) -> None:
    contract_path = tmp_path / "no-model.json"
    contract_path.write_text(json.dumps(NO_MODEL_POST))
    text = (
        '[apis.items]\nflavor = "http"\n'
        f'contract = "{contract_path}"\nbase_url = "https://abc.execute-api.us-east-1.amazonaws.com"\n'
    )
    sample = '[apis.items.samples.bodies."POST /items"]\nname = "x"\n'
    for given, expected in ((text + sample, {"name": "x"}), (text, None)):
        stage = load_stage(_stage(tmp_path, given), root=str(REPO), environ={})
        config = stage.api("items")
        contract = load_contracts(stage)["items"]
        api = ApiUnderTest(
            config, contract, HttpClient(config.base_url, 1.0), ApiCredentials(config, contract, 1.0), False
        )
        spec = api.valid_request(contract.route("POST /items"))
        assert (json.loads(spec.body) if spec.body else None) == expected
        assert ("Content-Type" in spec.headers) is (expected is not None)
