"""Failure-probe cases: the stage-declared request that makes an integration fail, and its control."""

from __future__ import annotations

from conformance.catalog.records import CONCRETE_METHODS, ProbeCase, RouteCase
from conformance.catalog.routes import route_cases
from fixtures.contract import Contract, Route
from fixtures.contract.paths import path_variables
from fixtures.errors import ConfigError
from fixtures.stage import ApiConfig, FailureProbe


def _probe_error(api: ApiConfig, index: int, key: str, problem: str) -> ConfigError:
    # The file is filled in by catalog.cases(), which knows the stage file.
    where = "" if len(api.samples.failure_probes) == 1 else f"[{index}]"
    return ConfigError("", f"apis.{api.name}.samples.failure_probe{where}.{key}", problem)


def probe_cases(api: ApiConfig, contract: Contract) -> list[ProbeCase]:
    """The API's failure probes, if the stage declares any (no probe, no case)."""
    targets = route_cases(api, contract, probes=True)
    controls = route_cases(api, contract)
    out = []
    for index, probe in enumerate(api.samples.failure_probes):
        found = next((c for c in targets if c.route.route_key == probe.route_key), None)
        if found is None:
            if probe.route_key in api.excluded or any(
                r.route_key == probe.route_key and r.method in CONCRETE_METHODS for r in contract.routes
            ):
                continue  # excluded, or a writing route of a read-only API (its control would create data)
            raise _probe_error(api, index, "route", f"{probe.route_key} is not a route of the contract")
        unknown = sorted(set(probe.path_params) - set(path_variables(found.route.path)))
        if unknown:
            problem = f"{unknown[0]} is not a parameter of {found.route.path}"
            raise _probe_error(api, index, "path_params", problem)
        out.append(ProbeCase(found, probe, _probe_control(found.route, probe, controls), index))
    return out


def _probe_control(route: Route, probe: FailureProbe, routes: list[RouteCase]) -> Route:
    """The same route when the probe changes an input; for a dedicated probe route, a sibling route."""
    if probe.changes_input:
        return route
    others = [c.route for c in routes if c.route.route_key != route.route_key and not c.route.writes]
    same_auth = [r for r in others if r.authorizer == route.authorizer]
    return next(iter(same_auth or others), route)
