"""Failure-probe cases: the stage-declared request that makes an integration fail, and its control."""

from __future__ import annotations

import re
from collections.abc import Mapping

from conformance.catalog_records import CONCRETE_METHODS, ProbeCase, RouteCase
from conformance.catalog_routes import route_cases
from fixtures.contract import Contract, Route
from fixtures.errors import ConfigError
from fixtures.stage import ApiConfig, FailureProbe

_PATH_PARAM = re.compile(r"\{([^}+]+)\+?\}")


def fill_path(path: str, params: Mapping[str, str]) -> str:
    """The route path with the given parameters filled in (the others stay as {name})."""
    return _PATH_PARAM.sub(lambda m: params.get(m.group(1), m.group(0)), path)


def _probe_error(api: ApiConfig, key: str, problem: str) -> ConfigError:
    # The file is filled in by catalog.cases(), which knows the stage file.
    return ConfigError("", f"apis.{api.name}.samples.failure_probe.{key}", problem)


def probe_cases(api: ApiConfig, contract: Contract) -> list[ProbeCase]:
    """The API's failure probe, if the stage declares one (no probe, no case)."""
    probe = api.samples.failure_probe
    if probe is None:
        return []
    routes = route_cases(api, contract)
    found = next((c for c in routes if c.route.route_key == probe.route_key), None)
    if found is None:
        if any(r.route_key == probe.route_key and r.method in CONCRETE_METHODS for r in contract.routes):
            return []  # a writing route of a read-only API: its control would create data
        raise _probe_error(api, "route", f"{probe.route_key} is not a route of the contract")
    unknown = sorted(set(probe.path_params) - set(_PATH_PARAM.findall(found.route.path)))
    if unknown:
        raise _probe_error(api, "path_params", f"{unknown[0]} is not a parameter of {found.route.path}")
    return [ProbeCase(found, probe, _probe_control(found.route, probe, routes))]


def _probe_control(route: Route, probe: FailureProbe, routes: list[RouteCase]) -> Route:
    """The same route when the probe changes an input; for a dedicated probe route, a sibling route."""
    if probe.changes_input:
        return route
    others = [c.route for c in routes if c.route is not route and not c.route.writes]
    same_auth = [r for r in others if r.authorizer == route.authorizer]
    return next(iter(same_auth or others), route)
