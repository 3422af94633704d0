"""The catalog turns the clinic contracts into the cases the rules are parametrized over."""

from __future__ import annotations

import dataclasses

import pytest

from conformance import catalog
from conformance.catalog import cors as catalog_cors
from conformance.catalog import records as catalog_records
from fixtures.contract.paths import fill_path, path_variables
from fixtures.errors import ConfigError
from fixtures.stage import FailureProbe, StageConfig, contract_of, load_stage


@pytest.fixture(scope="module")
def stage() -> StageConfig:
    return load_stage("local")


@pytest.fixture(scope="module")
def contracts(stage: StageConfig) -> dict:
    return {api.name: contract_of(api) for api in stage.apis}


def _ids(name: str, stage: StageConfig, contracts: dict) -> list[str]:
    return [case.id for case in catalog.cases(name, stage, contracts)]


def test_ids_read_as_api_method_and_path(stage: StageConfig, contracts: dict) -> None:
    ids = _ids("token_route", stage, contracts)
    assert "portal GET /appointments" in ids
    assert "partner GET /appointments/{id}" in ids
    assert "portal GET /health" not in ids


def test_lambda_public_and_key_routes_are_split(stage: StageConfig, contracts: dict) -> None:
    assert _ids("lambda_route", stage, contracts) == ["portal GET /kiosk/queue", "partner GET /reports"]
    assert "portal GET /health" in _ids("public_route", stage, contracts)
    assert set(_ids("key_route", stage, contracts)) == {
        "partner GET /appointments",
        "partner POST /appointments",
        "partner GET /appointments/{id}",
    }


def test_options_mocks_are_not_rule_targets(stage: StageConfig, contracts: dict) -> None:
    assert not any(" OPTIONS " in i for i in _ids("any_route", stage, contracts))


def test_rest_body_cases_leave_out_format_draft4_ignores_it(stage: StageConfig, contracts: dict) -> None:
    ids = _ids("body_case", stage, contracts)
    assert "portal POST /appointments datetime bad date-time" in ids
    assert "partner POST /appointments missing clinic_id" in ids
    assert not any(i.startswith("partner") and "bad date-time" in i for i in ids)


def test_required_parameters_become_cases(stage: StageConfig, contracts: dict) -> None:
    assert set(_ids("param_case", stage, contracts)) == {
        "partner GET /appointments query clinic_id",
        "partner POST /appointments header X-Partner-Id",
        "partner POST /appointments query notify",
    }


def test_attacker_origins_cover_every_trick() -> None:
    tricks = dict(catalog_cors.attacker_origins("https://portal.clinic.com"))
    assert tricks["suffix"] == "https://portal.clinic.com.evil.example"
    assert tricks["prefix"] == "https://evilportal.clinic.com"
    assert tricks["scheme"] == "http://portal.clinic.com"
    assert tricks["null"] == "null"
    assert tricks["subdomain"] == "https://evil.portal.clinic.com"
    assert tricks["port"].startswith("https://portal.clinic.com:")
    assert "https://portal.clinic.com" not in tricks.values()


def test_cors_origins_come_from_config_or_rest_mocks(contracts: dict) -> None:
    assert catalog_cors.cors_origins(contracts["portal"]) == ("https://portal.clinic.com",)
    assert catalog_cors.cors_origins(contracts["partner"]) == ("https://partner.clinic.com",)
    assert catalog_cors.error_cors_origin(contracts["partner"]) == "https://partner.clinic.com"


def test_override_cases_pair_a_weaker_route_with_a_stronger_one(stage: StageConfig, contracts: dict) -> None:
    assert "portal POST /appointments from GET" in _ids("override_case", stage, contracts)


def test_a_read_only_api_has_no_case_on_a_writing_route(stage: StageConfig, contracts: dict) -> None:
    read_only = dataclasses.replace(
        stage, apis=tuple(dataclasses.replace(a, read_only=True) for a in stage.apis)
    )
    ids = _ids("any_route", read_only, contracts)
    assert ids and not any(" POST " in i or " PUT " in i or " DELETE " in i for i in ids)


def test_every_builder_yields_unique_ids(stage: StageConfig, contracts: dict) -> None:
    for name in catalog.BUILDERS:
        ids = _ids(name, stage, contracts)
        assert len(ids) == len(set(ids)), name


def _with_probe(stage: StageConfig, api_name: str, probe: FailureProbe | None) -> StageConfig:
    probes = (probe,) if probe else ()
    apis = tuple(
        dataclasses.replace(a, samples=dataclasses.replace(a.samples, failure_probes=probes))
        if a.name == api_name
        else a
        for a in stage.apis
    )
    return dataclasses.replace(stage, apis=apis)


def test_failure_probes_become_one_case_per_api_with_the_same_route_as_control(
    stage: StageConfig, contracts: dict
) -> None:
    found = catalog.cases("failure_probe", stage, contracts)
    assert [c.id for c in found] == ["portal GET /clinics/{id}", "partner GET /appointments/{id}"]
    assert all(c.control is c.case.route and c.probe.path_params == {"id": "crash-probe"} for c in found)


def test_an_api_without_a_failure_probe_has_no_case(stage: StageConfig, contracts: dict) -> None:
    without = _with_probe(stage, "partner", None)
    assert _ids("failure_probe", without, contracts) == ["portal GET /clinics/{id}"]


def test_a_dedicated_probe_route_is_never_a_positive_control(stage: StageConfig, contracts: dict) -> None:
    """A route that always fails is the probe rule's target only: no other rule sends it a control."""
    probed = _with_probe(stage, "portal", FailureProbe("GET /health"))
    assert "portal GET /health" in _ids("any_route", stage, contracts)
    assert "portal GET /health" in _ids("public_route", stage, contracts)
    for name in catalog.BUILDERS:
        if name not in catalog.PROBE_BUILDERS:
            assert not any(i.startswith("portal GET /health") for i in _ids(name, probed, contracts)), name
    assert _ids("failure_probe", probed, contracts)[0] == "portal GET /health"


def test_an_excluded_route_gets_no_case_in_any_rule(stage: StageConfig, contracts: dict) -> None:
    apis = tuple(
        dataclasses.replace(a, excluded={"GET /clinics/{id}": "under repair"}) if a.name == "portal" else a
        for a in stage.apis
    )
    excluded = dataclasses.replace(stage, apis=apis)
    assert "portal GET /clinics/{id}" in _ids("any_route", stage, contracts)
    for name in catalog.BUILDERS:
        ids = _ids(name, excluded, contracts)
        assert not any("GET /clinics/{id}" in i and i.startswith("portal") for i in ids), name


def test_a_dedicated_probe_route_is_controlled_by_a_sibling_route(
    stage: StageConfig, contracts: dict
) -> None:
    probe = FailureProbe("GET /clinics/{id}")  # no input changed: the route itself is the probe
    (case,) = [
        c
        for c in catalog.cases("failure_probe", _with_probe(stage, "portal", probe), contracts)
        if c.case.api == "portal"
    ]
    assert case.control.route_key != "GET /clinics/{id}" and not case.control.writes
    assert case.control.authorizer == case.case.route.authorizer


@pytest.mark.parametrize(
    ("probe", "expected"),
    [
        (FailureProbe("GET /no-such-route"), "failure_probe.route: GET /no-such-route is not a route"),
        (FailureProbe("GET /clinics/{id}", {"clinic": "x"}), "failure_probe.path_params: clinic is not a"),
    ],
)
def test_a_failure_probe_the_contract_cannot_serve_names_stage_file_and_key(
    stage: StageConfig, contracts: dict, probe: FailureProbe, expected: str
) -> None:
    with pytest.raises(ConfigError) as info:
        catalog.cases("failure_probe", _with_probe(stage, "portal", probe), contracts)
    assert str(info.value).startswith(f"{stage.path}: apis.portal.samples.{expected}")


def test_a_failure_probe_on_a_writing_route_of_a_read_only_api_has_no_case(
    stage: StageConfig, contracts: dict
) -> None:
    probed = _with_probe(stage, "portal", FailureProbe("DELETE /appointments/{id}", {"id": "crash-probe"}))
    read_only = dataclasses.replace(
        probed, apis=tuple(dataclasses.replace(a, read_only=True) for a in probed.apis)
    )
    assert _ids("failure_probe", read_only, contracts) == ["partner GET /appointments/{id}"]


def test_fill_path_fills_only_the_given_parameters() -> None:
    assert fill_path("/clinics/{id}/{proxy+}", {"id": "crash-probe"}) == "/clinics/crash-probe/{proxy+}"
    assert fill_path("/a/{proxy+}", {"proxy": "x/y"}) == "/a/x/y"
    assert path_variables("/clinics/{id}/{proxy+}") == ["id", "proxy"] and path_variables("/health") == []


def _read_only(stage: StageConfig) -> StageConfig:
    return dataclasses.replace(stage, apis=tuple(dataclasses.replace(a, read_only=True) for a in stage.apis))


def test_wrong_method_cases_name_the_method_sent(stage: StageConfig, contracts: dict) -> None:
    ids = _ids("wrong_method_case", stage, contracts)
    assert "portal GET /appointments method PATCH" in ids
    assert all(catalog_records.sends_write(c) for c in catalog.cases("wrong_method_case", stage, contracts))


def test_a_read_only_api_is_sent_no_writing_method_by_any_builder(
    stage: StageConfig, contracts: dict
) -> None:
    read_only = _read_only(stage)
    assert _ids("wrong_method_case", read_only, contracts) == []  # PATCH/POST... even if rejected
    assert _ids("override_case", read_only, contracts) == []  # would name POST in the override header
    assert _ids("body_case", read_only, contracts) == []
    for name in catalog.BUILDERS:
        writing = [c.id for c in catalog.cases(name, read_only, contracts) if catalog_records.sends_write(c)]
        assert not writing, (name, writing[:3])


def test_sends_write_follows_the_route_the_method_and_the_override_target(
    stage: StageConfig, contracts: dict
) -> None:
    routes = {c.id: c for c in catalog.cases("any_route", stage, contracts)}
    get, post = routes["portal GET /appointments"], routes["portal POST /appointments"]
    assert not catalog_records.sends_write(get) and catalog_records.sends_write(post)
    assert catalog_records.sends_write(catalog_records.OverrideCase(get, post.route))
    assert not catalog_records.sends_write(catalog_records.MethodCase(get, "HEAD"))
    assert not catalog_records.sends_write(catalog_records.ApiCase("portal", "http"))
