"""The header an authorizer's identity source names: one function (fixtures/contract/identity.py) for
the redactor's list of credential headers and for the suite's credentials, which send and strip
identities in headers only (a query-string source names no header)."""

from __future__ import annotations

import dataclasses
import json
import pathlib

import pytest

from conformance.harness.credentials import ApiCredentials, Unavailable
from fixtures.contract import Contract, LambdaAuthorizer, identity_header, identity_headers, load_contract
from fixtures.errors import ConfigError
from fixtures.stage import StageConfig, contract_of, load_stage

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
    contract = contract_of(config)
    creds = ApiCredentials(config, contract, 1.0)
    route = contract.route(KIOSK)
    assert creds.auth_headers(route) == {"X-Clinic-Token": "kiosk-allow-clinic-42"}  # positive control
    assert tuple(creds.identity_headers(route)) == ("X-Clinic-Token",)
    assert "x-clinic-token" in identity_headers(contract) and "authorization" in identity_headers(contract)


def test_a_query_string_identity_is_no_header_to_send_strip_or_redact(stage: StageConfig) -> None:
    config = stage.api("portal")
    contract = _with_kiosk_sources(
        contract_of(config), "$request.querystring.token", "$request.header.X-Tenant"
    )
    creds = ApiCredentials(config, contract, 1.0)
    route = contract.route(KIOSK)
    with pytest.raises(Unavailable, match=r"\$request\.querystring\.token is not a request header"):
        creds.auth_headers(route)  # the rule is skipped with the reason, never sent a header "token"
    assert tuple(creds.identity_headers(route)) == ("X-Tenant",)
    assert "token" not in identity_headers(contract) and "x-tenant" in identity_headers(contract)


ROOT = pathlib.Path(__file__).resolve().parent.parent
# (flavour, contract, scheme, two sources in the flavour's syntax): the loader path of each flavour
FLAVOURS = [
    ("http", "portal", "kiosk-token", ("$request.header.X-Clinic-Token", "$context.stage")),
    ("rest", "partner", "partner-token", ("method.request.header.Authorization", "context.stage")),
]


def _load_with_sources(tmp_path: pathlib.Path, flavor: str, name: str, scheme: str, raw: object) -> Contract:
    doc = json.loads((ROOT / "fixtures" / "clinic" / f"{name}.openapi.json").read_text(encoding="utf-8"))
    ext = doc["components"]["securitySchemes"][scheme]["x-amazon-apigateway-authorizer"]
    ext.update(type="request", identitySource=raw)
    ext.pop("identityValidationExpression", None)  # a TOKEN authorizer's setting
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return load_contract(str(path), flavor)  # type: ignore[arg-type]


@pytest.mark.parametrize(("flavor", "name", "scheme", "sources"), FLAVOURS)
def test_the_loader_splits_identity_sources_so_no_reader_splits_again(
    tmp_path: pathlib.Path, flavor: str, name: str, scheme: str, sources: tuple[str, str]
) -> None:
    """The export's comma-separated string and the API's array give the same sources, one each."""
    for raw in (f" {sources[0]} ,{sources[1]} ", list(sources)):
        authorizer = _load_with_sources(tmp_path, flavor, name, scheme, raw).authorizers[scheme]
        assert isinstance(authorizer, LambdaAuthorizer)
        assert authorizer.identity_sources == sources
    header = identity_header(sources[0])
    assert header is not None and header.lower() in identity_headers(
        _load_with_sources(tmp_path, flavor, name, scheme, ",".join(sources))
    )


@pytest.mark.parametrize(("flavor", "name", "scheme", "sources"), FLAVOURS)
def test_an_array_item_holding_two_sources_is_refused(
    tmp_path: pathlib.Path, flavor: str, name: str, scheme: str, sources: tuple[str, str]
) -> None:
    """An array item is one source: a comma in it (even after a context variable) is an error."""
    with pytest.raises(ConfigError, match="identitySource: identity source"):
        _load_with_sources(tmp_path, flavor, name, scheme, [f"{sources[1]},{sources[0]}"])
    _load_with_sources(tmp_path, flavor, name, scheme, [sources[1], sources[0]])  # control: two items
