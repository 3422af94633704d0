"""A route is protected when it needs an identity or an API key: the bypass rules cover both."""

from __future__ import annotations

import dataclasses

import pytest

from conformance import catalog
from fixtures.contract import Contract
from fixtures.stage import StageConfig, contract_of, load_stage


@pytest.fixture(scope="module")
def stage() -> StageConfig:
    return load_stage("local")


@pytest.fixture(scope="module")
def contracts(stage: StageConfig) -> dict[str, Contract]:
    return {api.name: contract_of(api) for api in stage.apis}


def _ids(name: str, stage: StageConfig, contracts: dict[str, Contract]) -> list[str]:
    return [case.id for case in catalog.cases(name, stage, contracts)]


def test_a_route_protected_by_an_api_key_alone_gets_the_bypass_rules(
    stage: StageConfig, contracts: dict[str, Contract]
) -> None:
    protected = _ids("protected_route", stage, contracts)
    assert {"partner GET /appointments", "partner POST /appointments"} <= set(protected)
    assert "partner GET /appointments/{id}" in protected and "portal GET /kiosk/queue" in protected
    assert "partner GET /appointments" in _ids("protected_get_route", stage, contracts)  # HEAD rule


def test_a_key_required_route_is_not_public(stage: StageConfig, contracts: dict[str, Contract]) -> None:
    public = _ids("public_route", stage, contracts)
    assert public == ["portal GET /health"]


def test_an_api_key_on_a_http_api_route_protects_nothing(
    stage: StageConfig, contracts: dict[str, Contract]
) -> None:
    """HTTP APIs have no API keys: an exported apiKeyRequired is not enforced there."""
    portal = contracts["portal"]
    routes = tuple(dataclasses.replace(r, api_key_required=True) for r in portal.routes)
    keyed = {**contracts, "portal": dataclasses.replace(portal, routes=routes)}
    assert "portal GET /health" in _ids("public_route", stage, keyed)


def test_method_override_is_checked_towards_a_method_that_needs_a_key_the_sent_one_lacks(
    stage: StageConfig, contracts: dict[str, Contract]
) -> None:
    partner = contracts["partner"]
    routes = tuple(
        dataclasses.replace(r, api_key_required=False) if r.route_key == "GET /appointments" else r
        for r in partner.routes
    )
    keyed = {**contracts, "partner": dataclasses.replace(partner, routes=routes)}
    assert "partner POST /appointments from GET" not in _ids("override_case", stage, contracts)
    assert "partner POST /appointments from GET" in _ids("override_case", stage, keyed)
