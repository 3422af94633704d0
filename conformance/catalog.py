"""Turn a stage's contracts into parametrization cases (PURE: records in, records out).

Every case id reads as the route (or API) the rule is checked on, e.g. `portal GET /appointments`.
A read-only API contributes no case on a route that writes (the positive controls would create data).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fixtures.contract import CognitoAuthorizer, Contract, JwtAuthorizer, LambdaAuthorizer, Parameter, Route
from fixtures.errors import ConfigError
from fixtures.payloads import JSON, InvalidBody, invalid_bodies, valid_body
from fixtures.stage import ApiConfig, ApiKey, FailureProbe, StageConfig

# Methods a client can call on a path (ANY/$default are expanded to nothing: no concrete method).
CONCRETE_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class RouteCase:
    api: str
    flavor: str
    route: Route

    @property
    def id(self) -> str:
        return f"{self.api} {self.route.method} {self.route.path}"


@dataclass(frozen=True)
class BodyCase:
    case: RouteCase
    invalid: InvalidBody

    @property
    def id(self) -> str:
        return f"{self.case.id} {self.invalid.name}"


@dataclass(frozen=True)
class ParamCase:
    case: RouteCase
    parameter: Parameter

    @property
    def id(self) -> str:
        return f"{self.case.id} {self.parameter.location} {self.parameter.name}"


@dataclass(frozen=True)
class KeyCase:
    case: RouteCase
    key: ApiKey

    @property
    def id(self) -> str:
        return f"{self.case.id} key {self.key.name}"


@dataclass(frozen=True)
class OriginCase:
    api: str
    flavor: str
    trick: str  # how the attacker origin was derived from the allowed one
    origin: str
    allowed: str
    path: str  # a path the API serves (preflight target / actual request target)

    @property
    def id(self) -> str:
        return f"{self.api} {self.trick} {self.origin}"


@dataclass(frozen=True)
class PreflightCase:
    api: str
    flavor: str
    origin: str
    path: str
    method: str

    @property
    def id(self) -> str:
        return f"{self.api} {self.origin} {self.method} {self.path}"


@dataclass(frozen=True)
class ApiCase:
    api: str
    flavor: str

    @property
    def id(self) -> str:
        return self.api


def _routes(api: ApiConfig, contract: Contract) -> list[RouteCase]:
    out = []
    for route in contract.routes:
        if route.method not in CONCRETE_METHODS or route.path == "$default":
            continue  # OPTIONS mocks, ANY and $default are not rule targets on their own
        if api.read_only and route.writes:
            continue
        out.append(RouteCase(api.name, contract.flavor, route))
    return out


def _authorizer(contract: Contract, route: Route) -> Any:
    return contract.authorizers.get(route.authorizer) if route.authorizer else None


def token_routes(api: ApiConfig, contract: Contract) -> list[RouteCase]:
    """Routes behind a JWT (HTTP API) or Cognito user pool (REST) authorizer."""
    kinds = (JwtAuthorizer, CognitoAuthorizer)
    return [c for c in _routes(api, contract) if isinstance(_authorizer(contract, c.route), kinds)]


def jwt_routes(api: ApiConfig, contract: Contract) -> list[RouteCase]:
    """Routes behind an HTTP API JWT authorizer (audience checks apply)."""
    return [c for c in _routes(api, contract) if isinstance(_authorizer(contract, c.route), JwtAuthorizer)]


def scoped_routes(api: ApiConfig, contract: Contract) -> list[RouteCase]:
    return [c for c in token_routes(api, contract) if c.route.scopes]


def lambda_routes(api: ApiConfig, contract: Contract) -> list[RouteCase]:
    return [c for c in _routes(api, contract) if isinstance(_authorizer(contract, c.route), LambdaAuthorizer)]


def protected_routes(api: ApiConfig, contract: Contract) -> list[RouteCase]:
    return [c for c in _routes(api, contract) if c.route.authorizer]


def public_routes(api: ApiConfig, contract: Contract) -> list[RouteCase]:
    return [c for c in _routes(api, contract) if not c.route.authorizer]


def all_routes(api: ApiConfig, contract: Contract) -> list[RouteCase]:
    return _routes(api, contract)


def key_routes(api: ApiConfig, contract: Contract) -> list[RouteCase]:
    return [c for c in _routes(api, contract) if c.route.api_key_required and contract.flavor == "rest"]


def disabled_key_cases(api: ApiConfig, contract: Contract) -> list[KeyCase]:
    disabled = [k for plan in api.usage_plans for k in plan.keys if not k.enabled]
    return [KeyCase(c, k) for c in key_routes(api, contract) for k in disabled[:1]]


def json_schema(route: Route) -> Mapping[str, Any] | None:
    """The route's JSON request schema, if it declares one."""
    for content_type, schema in route.request_bodies.items():
        if content_type.split(";")[0].strip().lower() in (JSON, "$default"):
            return schema
    return None


def route_valid_body(api: ApiConfig, route: Route) -> Any:
    return valid_body(route.request_example, api.samples.bodies.get(route.route_key))


def body_routes(api: ApiConfig, contract: Contract) -> list[RouteCase]:
    """Routes with a JSON request schema and a valid body (example or stage sample)."""
    return [
        c
        for c in _routes(api, contract)
        if json_schema(c.route) is not None and route_valid_body(api, c.route) is not None
    ]


def _gateway_checks_format(contract: Contract, route: Route) -> bool:
    # REST validators use JSON Schema draft 4, which ignores `format` (DOCS
    # api-gateway-method-request-validation); the handler behind it may not check it either.
    return not (contract.flavor == "rest" and route.validator is not None and route.validator.validate_body)


def body_cases(api: ApiConfig, contract: Contract) -> list[BodyCase]:
    out = []
    for c in body_routes(api, contract):
        schema = json_schema(c.route)
        assert schema is not None
        for invalid in invalid_bodies(schema, route_valid_body(api, c.route)):
            if invalid.keyword == "format" and not _gateway_checks_format(contract, c.route):
                continue
            out.append(BodyCase(c, invalid))
    return out


def param_cases(api: ApiConfig, contract: Contract) -> list[ParamCase]:
    """Required query/header parameters (path parameters cannot be left out of a matching path)."""
    return [
        ParamCase(c, p)
        for c in _routes(api, contract)
        for p in c.route.parameters
        if p.required and p.location in ("query", "header")
    ]


def cors_origins(contract: Contract) -> tuple[str, ...]:
    """Exact allowed origins: HTTP API CorsConfiguration, or REST OPTIONS mocks / gateway responses."""
    if contract.cors is not None:
        found = list(contract.cors.allow_origins)
    else:
        found = [
            value
            for route in contract.routes
            if route.integration.mock is not None
            for name, value in route.integration.mock.headers.items()
            if name.lower() == "access-control-allow-origin"
        ]
    return tuple(dict.fromkeys(o for o in found if o.startswith(("http://", "https://")) and "*" not in o))


def attacker_origins(allowed: str) -> list[tuple[str, str]]:
    """Origins an attacker controls that a sloppy origin check would confuse with `allowed`."""
    scheme, _, hostport = allowed.partition("://")
    host, _, port = hostport.partition(":")
    other_port = "8443" if port != "8443" else "9443"
    swapped = "http" if scheme == "https" else "https"
    return [
        ("unrelated", "https://evil.example"),
        ("null", "null"),
        ("suffix", f"{allowed}.evil.example"),
        ("prefix", f"{scheme}://evil{hostport}"),
        ("scheme", f"{swapped}://{hostport}"),
        ("port", f"{scheme}://{host}:{other_port}"),
        ("subdomain", f"{scheme}://evil.{hostport}"),
    ]


def cors_paths(api: ApiConfig, contract: Contract) -> dict[str, list[str]]:
    """Path -> methods defined on it, for paths where CORS applies."""
    paths: dict[str, list[str]] = {}
    restcors_paths = {r.path for r in contract.routes if r.method == "OPTIONS" and r.integration.mock}
    for c in _routes(api, contract):
        if contract.cors is not None or c.route.path in restcors_paths:
            paths.setdefault(c.route.path, []).append(c.route.method)
    return paths


def preflight_cases(api: ApiConfig, contract: Contract) -> list[PreflightCase]:
    return [
        PreflightCase(api.name, contract.flavor, origin, path, method)
        for origin in cors_origins(contract)
        for path, methods in cors_paths(api, contract).items()
        for method in methods
    ]


def origin_cases(api: ApiConfig, contract: Contract) -> list[OriginCase]:
    paths = list(cors_paths(api, contract))
    if not paths:
        return []
    return [
        OriginCase(api.name, contract.flavor, trick, origin, allowed, paths[0])
        for allowed in cors_origins(contract)[:1]
        for trick, origin in attacker_origins(allowed)
    ]


def cors_apis(api: ApiConfig, contract: Contract) -> list[ApiCase]:
    return [ApiCase(api.name, contract.flavor)] if cors_origins(contract) else []


def cors_http_apis(api: ApiConfig, contract: Contract) -> list[ApiCase]:
    """HTTP APIs with a CORS configuration (the gateway adds the headers to every response)."""
    return cors_apis(api, contract) if contract.cors is not None else []


def cors_protected_routes(api: ApiConfig, contract: Contract) -> list[RouteCase]:
    return protected_routes(api, contract) if contract.cors is not None and cors_origins(contract) else []


def error_cors_origin(contract: Contract) -> str | None:
    """The allow-origin a gateway error must carry: HTTP API CORS, or REST DEFAULT_4XX headers."""
    if contract.cors is not None:
        origins = cors_origins(contract)
        return origins[0] if origins else None
    response = contract.gateway_responses.get("DEFAULT_4XX")
    if response is None:
        return None
    return next((v for k, v in response.headers.items() if k.lower() == "access-control-allow-origin"), None)


def cors_error_apis(api: ApiConfig, contract: Contract) -> list[ApiCase]:
    return [ApiCase(api.name, contract.flavor)] if error_cors_origin(contract) else []


def protected_get_routes(api: ApiConfig, contract: Contract) -> list[RouteCase]:
    return [c for c in protected_routes(api, contract) if c.route.method == "GET"]


def fixed_method_routes(api: ApiConfig, contract: Contract) -> list[RouteCase]:
    """Routes whose path does not define ANY (so some method is undefined there)."""
    any_paths = {r.path for r in contract.routes if r.method == "ANY"}
    return [c for c in _routes(api, contract) if c.route.path not in any_paths]


@dataclass(frozen=True)
class OverrideCase:
    """A weaker route and a stronger one on the same path: the override must not escalate."""

    case: RouteCase  # the route the request is sent to (its own credentials)
    target: Route  # the method named in X-HTTP-Method-Override

    @property
    def id(self) -> str:
        return f"{self.case.id} as {self.target.method}"


def override_cases(api: ApiConfig, contract: Contract) -> list[OverrideCase]:
    """Pairs on one path where the override target needs what the sent route's credentials lack."""
    routes = _routes(api, contract)
    out = []
    for weak in routes:
        for strong in routes:
            if weak is strong or weak.route.path != strong.route.path or not strong.route.authorizer:
                continue
            same_auth = weak.route.authorizer == strong.route.authorizer
            if not weak.route.authorizer or (same_auth and set(strong.route.scopes) - set(weak.route.scopes)):
                out.append(OverrideCase(weak, strong.route))
    return out


@dataclass(frozen=True)
class ProbeCase:
    """The stage's failure probe on one route, and the route whose ordinary request is its control."""

    case: RouteCase  # the probe's route
    probe: FailureProbe
    control: Route  # the same route with the ordinary samples; another route for a dedicated probe route

    @property
    def id(self) -> str:
        return self.case.id


_PATH_PARAM = re.compile(r"\{([^}+]+)\+?\}")


def fill_path(path: str, params: Mapping[str, str]) -> str:
    """The route path with the given parameters filled in (the others stay as {name})."""
    return _PATH_PARAM.sub(lambda m: params.get(m.group(1), m.group(0)), path)


def _probe_error(api: ApiConfig, key: str, problem: str) -> ConfigError:
    # The file is filled in by cases(), which knows the stage file.
    return ConfigError("", f"apis.{api.name}.samples.failure_probe.{key}", problem)


def probe_cases(api: ApiConfig, contract: Contract) -> list[ProbeCase]:
    """The API's failure probe, if the stage declares one (no probe, no case)."""
    probe = api.samples.failure_probe
    if probe is None:
        return []
    routes = _routes(api, contract)
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


def apis(api: ApiConfig, contract: Contract) -> list[ApiCase]:
    return [ApiCase(api.name, contract.flavor)]


# Fixture name a test asks for -> the cases it is parametrized over.
BUILDERS: dict[str, Callable[[ApiConfig, Contract], list[Any]]] = {
    "token_route": token_routes,
    "jwt_route": jwt_routes,
    "scoped_route": scoped_routes,
    "lambda_route": lambda_routes,
    "protected_route": protected_routes,
    "public_route": public_routes,
    "any_route": all_routes,
    "key_route": key_routes,
    "disabled_key_case": disabled_key_cases,
    "body_route": body_routes,
    "body_case": body_cases,
    "param_case": param_cases,
    "preflight_case": preflight_cases,
    "origin_case": origin_cases,
    "cors_api": cors_apis,
    "cors_http_api": cors_http_apis,
    "cors_protected_route": cors_protected_routes,
    "cors_error_api": cors_error_apis,
    "api_case": apis,
    "protected_get_route": protected_get_routes,
    "fixed_method_route": fixed_method_routes,
    "override_case": override_cases,
    "failure_probe": probe_cases,
}


def cases(name: str, stage: StageConfig, contracts: Mapping[str, Contract]) -> list[Any]:
    """All cases of one kind over every API of the stage."""
    builder = BUILDERS[name]
    try:
        return [case for api in stage.apis for case in builder(api, contracts[api.name])]
    except ConfigError as exc:
        if exc.file:
            raise
        raise ConfigError(stage.path, exc.where, exc.problem) from None
