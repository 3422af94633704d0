"""What CORS headers each answer class must carry, per flavour, and the cases the CORS rules get."""

from __future__ import annotations

import dataclasses

import pytest

from conformance import catalog
from conformance.catalog.cors import answer_cors
from fixtures.behaviour import Kind
from fixtures.contract import Contract, GatewayResponse
from fixtures.stage import StageConfig, contract_of, load_stage

PORTAL = "https://portal.clinic.com"
PARTNER = "https://partner.clinic.com"


@pytest.fixture(scope="module")
def stage() -> StageConfig:
    return load_stage("local")


@pytest.fixture(scope="module")
def contracts(stage: StageConfig) -> dict[str, Contract]:
    return {api.name: contract_of(api) for api in stage.apis}


def _ids(name: str, stage: StageConfig, contracts: dict[str, Contract]) -> list[str]:
    return [case.id for case in catalog.cases(name, stage, contracts)]


def test_http_api_cors_is_documented_on_integration_answers_and_assumed_on_the_gateways_own(
    contracts: dict[str, Contract],
) -> None:
    portal = contracts["portal"]
    handler = answer_cors(portal, None)
    assert handler is not None and handler.confidence == "DOCS"
    assert handler.headers == (("access-control-allow-origin", PORTAL),) and handler.origin == PORTAL
    for kind in (Kind.NOT_FOUND, Kind.UNAUTHORIZED, Kind.AUTHORIZER_DENY, Kind.INTEGRATION_ERROR):
        gateway = answer_cors(portal, kind)
        assert gateway is not None and gateway.confidence == "ASSUMPTION"  # never asserted on AWS
        assert gateway.headers == handler.headers


def test_rest_cors_on_gateway_answers_comes_from_the_contracts_gateway_responses(
    contracts: dict[str, Contract],
) -> None:
    partner = contracts["partner"]
    for kind in (Kind.NOT_FOUND, Kind.UNAUTHORIZED, Kind.INVALID_API_KEY, Kind.BAD_REQUEST_PARAMETERS):
        found = answer_cors(partner, kind)  # DEFAULT_4XX
        assert found is not None and found.confidence == "DOCS"
        assert found.headers == (("access-control-allow-origin", PARTNER),) and found.origin == PARTNER
    assert answer_cors(partner, Kind.INTEGRATION_ERROR) is not None  # DEFAULT_5XX
    assert answer_cors(partner, None) is None  # the integration sets its own headers
    assert answer_cors(partner, Kind.REQUEST_TOO_LARGE) is None  # the 413 cannot be customised


def test_a_specific_gateway_response_overrides_the_default_one(contracts: dict[str, Contract]) -> None:
    own = GatewayResponse(
        "UNAUTHORIZED", None, {"Access-Control-Allow-Origin": "https://login.example"}, None
    )
    bare = GatewayResponse("DEFAULT_5XX", None, {}, None)
    partner = dataclasses.replace(
        contracts["partner"],
        gateway_responses={
            **contracts["partner"].gateway_responses,
            "UNAUTHORIZED": own,
            "DEFAULT_5XX": bare,
        },
    )
    unauthorized = answer_cors(partner, Kind.UNAUTHORIZED)
    assert unauthorized is not None and unauthorized.origin == "https://login.example"
    assert dict(unauthorized.headers) == {"access-control-allow-origin": "https://login.example"}
    assert answer_cors(partner, Kind.INVALID_API_KEY) is not None  # still DEFAULT_4XX
    assert answer_cors(partner, Kind.INTEGRATION_ERROR) is None  # no allow-origin on DEFAULT_5XX


def test_a_rest_api_without_cors_gateway_responses_gets_no_answer_class_case(
    stage: StageConfig, contracts: dict[str, Contract]
) -> None:
    bare = {**contracts, "partner": dataclasses.replace(contracts["partner"], gateway_responses={})}
    for name in ("cors_error_api", "cors_credential_route", "cors_denied_route", "cors_validation_case"):
        assert not any(i.startswith("partner") for i in _ids(name, stage, bare)), name
    assert not any(i.startswith("partner") for i in _ids("cors_probe_case", stage, bare))


def test_every_answer_class_the_clinic_apis_produce_gets_a_cors_case(
    stage: StageConfig, contracts: dict[str, Contract]
) -> None:
    credential = _ids("cors_credential_route", stage, contracts)
    assert "portal GET /kiosk/queue" in credential and "portal GET /appointments" in credential
    assert "partner GET /appointments" in credential  # API key only: 403 Forbidden
    assert "partner GET /reports" in credential and "portal GET /health" not in credential
    assert _ids("cors_denied_route", stage, contracts) == ["portal GET /kiosk/queue", "partner GET /reports"]
    validation = _ids("cors_validation_case", stage, contracts)
    assert "partner GET /appointments query clinic_id" in validation  # REST validator, a read
    assert "portal POST /appointments missing clinic_id" in validation  # the handler's 400
    routes = [c.case.id for c in catalog.cases("cors_validation_case", stage, contracts)]
    assert len(routes) == len(set(routes))  # one invalid request per route
    assert _ids("cors_probe_case", stage, contracts) == [
        "portal GET /clinics/{id}",
        "partner GET /appointments/{id}",
    ]
    assert _ids("cors_error_api", stage, contracts) == ["portal", "partner"]
