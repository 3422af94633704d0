"""Which routes of an API each rule applies to (PURE: stage + contract in, route cases out).

A read-only API contributes no case on a route that writes (the positive controls would create data).
"""

from __future__ import annotations

from typing import Any

from conformance.catalog.records import (
    CONCRETE_METHODS,
    ApiCase,
    KeyCase,
    MethodCase,
    OverrideCase,
    RouteCase,
    sends_write,
)
from fixtures.contract import CognitoAuthorizer, Contract, JwtAuthorizer, LambdaAuthorizer, Route
from fixtures.stage import ApiConfig


def route_cases(api: ApiConfig, contract: Contract, probes: bool = False) -> list[RouteCase]:
    """Every concrete route the API may be sent requests on (writing routes left out if read-only).

    Excluded routes are never sent anything; a dedicated failure-probe route fails whatever the
    input, so it is a target of the failure-probe rule only (`probes=True`), never a positive control.
    """
    out = []
    for route in contract.routes:
        if route.method not in CONCRETE_METHODS or route.path == "$default":
            continue  # OPTIONS mocks, ANY and $default are not rule targets on their own
        if api.read_only and route.writes:
            continue
        if route.route_key in api.excluded or (not probes and route.route_key in api.probe_routes):
            continue
        out.append(RouteCase(api.name, contract.flavor, route))
    return out


def _authorizer(contract: Contract, route: Route) -> Any:
    return contract.authorizers.get(route.authorizer) if route.authorizer else None


def token_routes(api: ApiConfig, contract: Contract) -> list[RouteCase]:
    """Routes behind a JWT (HTTP API) or Cognito user pool (REST) authorizer."""
    kinds = (JwtAuthorizer, CognitoAuthorizer)
    return [c for c in route_cases(api, contract) if isinstance(_authorizer(contract, c.route), kinds)]


def jwt_routes(api: ApiConfig, contract: Contract) -> list[RouteCase]:
    """Routes behind an HTTP API JWT authorizer (audience checks apply)."""
    return [
        c for c in route_cases(api, contract) if isinstance(_authorizer(contract, c.route), JwtAuthorizer)
    ]


def scoped_routes(api: ApiConfig, contract: Contract) -> list[RouteCase]:
    return [c for c in token_routes(api, contract) if c.route.scopes]


def lambda_routes(api: ApiConfig, contract: Contract) -> list[RouteCase]:
    return [
        c for c in route_cases(api, contract) if isinstance(_authorizer(contract, c.route), LambdaAuthorizer)
    ]


def needs_credentials(contract: Contract, route: Route) -> bool:
    """An identity (authorizer) or, on REST, an API key: a key-only route is protected, not public."""
    return bool(route.authorizer) or (route.api_key_required and contract.flavor == "rest")


def protected_routes(api: ApiConfig, contract: Contract) -> list[RouteCase]:
    """Routes that need an identity or an API key (the bypass rules send neither)."""
    return [c for c in route_cases(api, contract) if needs_credentials(contract, c.route)]


def public_routes(api: ApiConfig, contract: Contract) -> list[RouteCase]:
    """Routes that answer without any credential: no authorizer and no API key."""
    return [c for c in route_cases(api, contract) if not needs_credentials(contract, c.route)]


def all_routes(api: ApiConfig, contract: Contract) -> list[RouteCase]:
    return route_cases(api, contract)


def key_routes(api: ApiConfig, contract: Contract) -> list[RouteCase]:
    return [c for c in route_cases(api, contract) if c.route.api_key_required and contract.flavor == "rest"]


def disabled_key_cases(api: ApiConfig, contract: Contract) -> list[KeyCase]:
    disabled = [k for plan in api.usage_plans for k in plan.keys if not k.enabled]
    return [KeyCase(c, k) for c in key_routes(api, contract) for k in disabled[:1]]


def protected_get_routes(api: ApiConfig, contract: Contract) -> list[RouteCase]:
    return [c for c in protected_routes(api, contract) if c.route.method == "GET"]


def wrong_method_cases(api: ApiConfig, contract: Contract) -> list[MethodCase]:
    """Per route whose path does not define ANY: the first concrete method the path leaves undefined.

    Every such method writes where GET is defined, so a read-only API has none of these cases.
    """
    any_paths = {r.path for r in contract.routes if r.method == "ANY"}
    out = []
    for c in route_cases(api, contract):
        defined = {r.method for r in contract.routes if r.path == c.route.path}
        method = next((m for m in ("PATCH", *CONCRETE_METHODS) if m not in defined), None)
        if c.route.path in any_paths or method is None:
            continue
        case = MethodCase(c, method)
        if not (api.read_only and sends_write(case)):
            out.append(case)
    return out


def override_cases(api: ApiConfig, contract: Contract) -> list[OverrideCase]:
    """Pairs on one path where the override target needs what the sent route's credentials lack."""
    routes = route_cases(api, contract)
    out = []
    for weak in routes:
        for strong in routes:
            if weak is strong or weak.route.path != strong.route.path:
                continue
            same_auth = weak.route.authorizer == strong.route.authorizer
            more_scopes = same_auth and set(strong.route.scopes) - set(weak.route.scopes)
            identity = bool(strong.route.authorizer) and (not weak.route.authorizer or bool(more_scopes))
            # REST: the sent route's credentials carry no API key when it needs none.
            key = (
                contract.flavor == "rest"
                and strong.route.api_key_required
                and not weak.route.api_key_required
            )
            if identity or key:
                out.append(OverrideCase(weak, strong.route))
    # A faulty stage would execute the overriding method: never name a writing one on a read-only API.
    return [c for c in out if not (api.read_only and sends_write(c))]


def apis(api: ApiConfig, contract: Contract) -> list[ApiCase]:
    return [ApiCase(api.name, contract.flavor)]
