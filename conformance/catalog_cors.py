"""CORS cases: allowed origins from the contract, attacker origins, paths where CORS applies (PURE)."""

from __future__ import annotations

from conformance.catalog_records import ApiCase, OriginCase, PreflightCase, RouteCase
from conformance.catalog_routes import protected_routes, route_cases
from fixtures.contract import Contract
from fixtures.stage import ApiConfig


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
    for c in route_cases(api, contract):
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
    """APIs with an allowed origin and a path to check it on (none if every route is left out)."""
    usable = cors_origins(contract) and cors_paths(api, contract)
    return [ApiCase(api.name, contract.flavor)] if usable else []


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
