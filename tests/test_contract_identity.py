"""The header an authorizer's identity source names: one function (fixtures/contract/identity.py) for
the redactor's list of credential headers and for the suite's credentials, which send and strip
identities in headers only (a query-string source names no header)."""

from __future__ import annotations

import dataclasses

import pytest

from conformance.harness.credentials import ApiCredentials, Unavailable
from fixtures.contract import Contract, LambdaAuthorizer, identity_header, identity_headers
from fixtures.stage import StageConfig, load_stage

KIOSK = "GET /kiosk/queue"  # the portal's route behind the Lambda authorizer (X-Clinic-Token)


@pytest.mark.parametrize(
    ("source", "header"),
    [
        ("$request.header.X-Clinic-Token", "X-Clinic-Token"),
        ("method.request.header.Authorization", "Authorization"),
        (" $request.header.Authorization ", "Authorization"),
        ("$request.querystring.token", None),
        ("method.request.querystring.key", None),
        ("$context.identity.sourceIp", None),
        ("$stageVariables.tenant", None),
    ],
)
def test_only_a_header_source_names_a_header(source: str, header: str | None) -> None:
    assert identity_header(source) == header


@pytest.fixture(scope="module")
def stage() -> StageConfig:
    return load_stage("local")


def _with_kiosk_sources(contract: Contract, *sources: str) -> Contract:
    """The portal contract with the kiosk Lambda authorizer reading these identity sources."""
    name = contract.route(KIOSK).authorizer
    assert name is not None
    kiosk = contract.authorizers[name]
    assert isinstance(kiosk, LambdaAuthorizer)
    changed = dataclasses.replace(kiosk, identity_sources=sources)
    return dataclasses.replace(contract, authorizers={**contract.authorizers, name: changed})


def test_the_credentials_send_and_strip_the_header_the_source_names(stage: StageConfig) -> None:
    config = stage.api("portal")
    contract = config.contract()
    creds = ApiCredentials(config, contract, 1.0)
    route = contract.route(KIOSK)
    assert creds.auth_headers(route) == {"X-Clinic-Token": "kiosk-allow-clinic-42"}  # positive control
    assert tuple(creds.identity_headers(route)) == ("X-Clinic-Token",)
    assert "x-clinic-token" in identity_headers(contract) and "authorization" in identity_headers(contract)


def test_a_query_string_identity_is_no_header_to_send_strip_or_redact(stage: StageConfig) -> None:
    config = stage.api("portal")
    contract = _with_kiosk_sources(
        config.contract(), "$request.querystring.token", "$request.header.X-Tenant"
    )
    creds = ApiCredentials(config, contract, 1.0)
    route = contract.route(KIOSK)
    with pytest.raises(Unavailable, match=r"\$request\.querystring\.token is not a request header"):
        creds.auth_headers(route)  # the rule is skipped with the reason, never sent a header "token"
    assert tuple(creds.identity_headers(route)) == ("X-Tenant",)
    assert "token" not in identity_headers(contract) and "x-tenant" in identity_headers(contract)
