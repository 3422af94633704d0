"""CORS cases: allowed origins from the contract, attacker origins, paths where CORS applies (PURE)."""

from __future__ import annotations

from dataclasses import dataclass

from conformance.catalog.probe import probe_cases
from conformance.catalog.records import (
    ApiCase,
    BodyCase,
    OriginCase,
    ParamCase,
    PreflightCase,
    ProbeCase,
    RouteCase,
)
from conformance.catalog.requests import body_cases, gateway_validates, param_cases
from conformance.catalog.routes import lambda_routes, protected_routes, route_cases
from fixtures.behaviour import (
    HTTP_CORS_ON_GATEWAY_ANSWERS,
    HTTP_CORS_ON_INTEGRATION_RESPONSES,
    REST_CORS_ON_GATEWAY_ANSWERS,
    Confidence,
    Kind,
    answer,
    gateway_responses_in_force,
)
from fixtures.contract import Contract, Route
from fixtures.stage import ApiConfig

# The Origin sent where the contract allows any origin ('*') on a gateway response.
ANY_ORIGIN_SAMPLE = "https://stagegate.example"


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


@dataclass(frozen=True)
class AnswerCors:
    """The CORS headers an answer to an allowed-origin request must carry, and how sure that is."""

    origin: str  # the Origin the request sends
    headers: tuple[tuple[str, str], ...]  # lower-case name, the exact value expected
    confidence: Confidence  # UNKNOWN/ASSUMPTION: asserted on the embedded stage only
    source: str


def answer_cors(contract: Contract, kind: Kind | None) -> AnswerCors | None:
    """What the answer must carry: `kind` is the gateway's own answer, None the integration's.

    HTTP API with a CORS configuration: Allow-Origin (the origin sent) and Allow-Credentials when
    configured, on every answer (DOCS for integration responses; an ASSUMPTION for the gateway's own).
    REST: the Access-Control-* headers the contract's gateway responses give that answer (DEFAULT_4XX/
    5XX, then its own type); nothing for an integration's answer, which sets its own headers.
    None when nothing is expected (no CORS configuration, no allow-origin for that answer).
    """
    if contract.cors is not None:
        origins = cors_origins(contract)
        if not origins:
            return None
        headers = [("access-control-allow-origin", origins[0])]
        if contract.cors.allow_credentials:
            headers.append(("access-control-allow-credentials", "true"))
        if kind is None:
            return AnswerCors(origins[0], tuple(headers), HTTP_CORS_ON_INTEGRATION_RESPONSES, "http-api-cors")
        return AnswerCors(
            origins[0],
            tuple(headers),
            HTTP_CORS_ON_GATEWAY_ANSWERS,
            "docs/aws-behaviour.md s7: documented for integration responses only",
        )
    if kind is None or contract.flavor != "rest":
        return None
    merged: dict[str, str] = {}
    for entry in gateway_responses_in_force(kind, answer("rest", kind), contract.gateway_responses):
        merged.update({name.lower(): value for name, value in entry.headers.items()})
    allow = merged.get("access-control-allow-origin")
    if not allow:
        return None
    origin = allow if allow.startswith(("http://", "https://")) and "*" not in allow else None
    sent = origin or next(iter(cors_origins(contract)), ANY_ORIGIN_SAMPLE)
    cors = tuple((name, value) for name, value in merged.items() if name.startswith("access-control-"))
    return AnswerCors(sent, cors, REST_CORS_ON_GATEWAY_ANSWERS, "supported-gateway-response-types")


def error_cors_origin(contract: Contract) -> str | None:
    """The allow-origin the gateway's answer for an unknown path must carry (HTTP API 404, REST 403)."""
    expected = answer_cors(contract, Kind.NOT_FOUND)
    return dict(expected.headers).get("access-control-allow-origin") if expected else None


def cors_error_apis(api: ApiConfig, contract: Contract) -> list[ApiCase]:
    return [ApiCase(api.name, contract.flavor)] if answer_cors(contract, Kind.NOT_FOUND) else []


# --- every answer class carries the CORS headers (issue 10, item 4) ---------------------------------


def missing_credential_kind(route: Route) -> Kind:
    """The gateway's answer to a request without any credential: the authorizer runs first (401),
    then the API key check (REST 403 Forbidden)."""
    return Kind.UNAUTHORIZED if route.authorizer else Kind.INVALID_API_KEY


def denied_identity_kind(flavor: str) -> Kind:
    """A Lambda authorizer's deny: HTTP API 403 (simple response), REST explicit Deny 403."""
    return Kind.AUTHORIZER_DENY if flavor == "http" else Kind.ACCESS_DENIED_EXPLICIT


def validation_kind(flavor: str, case: ParamCase | BodyCase) -> Kind | None:
    """The gateway's 400 when a REST validator checks it; None: the integration answers the 400."""
    body = isinstance(case, BodyCase)
    if not gateway_validates(flavor, case.case.route, body):
        return None
    return Kind.BAD_REQUEST_BODY if body else Kind.BAD_REQUEST_PARAMETERS


def cors_credential_routes(api: ApiConfig, contract: Contract) -> list[RouteCase]:
    """Protected routes (identity or API key) whose missing-credential answer carries CORS headers."""
    return [
        c for c in protected_routes(api, contract) if answer_cors(contract, missing_credential_kind(c.route))
    ]


def cors_denied_routes(api: ApiConfig, contract: Contract) -> list[RouteCase]:
    """Routes behind a Lambda authorizer whose deny answer carries CORS headers."""
    kind = denied_identity_kind(contract.flavor)
    return lambda_routes(api, contract) if answer_cors(contract, kind) else []


def cors_validation_cases(api: ApiConfig, contract: Contract) -> list[ParamCase | BodyCase]:
    """Per route, one invalid request whose 400 carries CORS headers: a missing required parameter
    (a read, where the route has one), else an invalid body."""
    out: list[ParamCase | BodyCase] = []
    seen: set[str] = set()
    candidates: list[ParamCase | BodyCase] = [*param_cases(api, contract), *body_cases(api, contract)]
    for case in candidates:
        route_key = case.case.route.route_key
        if route_key in seen or not answer_cors(contract, validation_kind(contract.flavor, case)):
            continue
        seen.add(route_key)
        out.append(case)
    return out


def cors_probe_cases(api: ApiConfig, contract: Contract) -> list[ProbeCase]:
    """Failure probes whose integration-failure answer (the gateway's 5xx) carries CORS headers."""
    return probe_cases(api, contract) if answer_cors(contract, Kind.INTEGRATION_ERROR) else []
