"""Which routes of an API the load scenarios may send to, and with which credential label (PURE).

A target is a concrete request (method, absolute URL, body) plus a credential label; the driver
turns the label into headers. Only routes whose authorization the stage file can satisfy are used,
so every planned request is valid and a 401/403 would show a broken scenario, not throttling.
Routes the stage file excludes (`ApiConfig.excluded`: route key -> reason) are never targeted: no
request is ever sent to them. `with_excluded=True` exists only to say why a scenario has no route.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlencode

from fixtures.contract import (
    CognitoAuthorizer,
    Contract,
    JwtAuthorizer,
    LambdaAuthorizer,
    Route,
    identity_header,
)
from fixtures.contract.paths import fill_path
from fixtures.stage import ApiConfig
from fixtures.stage.samples import sample_inputs


@dataclass(frozen=True)
class Target:
    api: str
    route_key: str
    method: str
    url: str
    credential: str  # "none", "jwt:<authorizer>:<scopes>", "lambda:<header>", "key:<name>", joined by "+"
    body: str | None = None


def auth_label(api: ApiConfig, contract: Contract, route: Route) -> str | None:
    """Credential label that authorizes `route` with what the stage file gives, or None."""
    if route.authorizer is None:
        return "none"
    authorizer = contract.authorizers.get(route.authorizer)
    creds = api.credentials
    if isinstance(authorizer, JwtAuthorizer | CognitoAuthorizer):
        if creds.bearer_token is None and creds.signing_key is None:
            return None
        kind = "jwt" if isinstance(authorizer, JwtAuthorizer) else "cognito"
        return f"{kind}:{authorizer.name}:{' '.join(route.scopes)}"
    if isinstance(authorizer, LambdaAuthorizer) and creds.lambda_token is not None:
        headers = [h for h in (identity_header(s) for s in authorizer.identity_sources) if h]
        if len(headers) == 1 and len(authorizer.identity_sources) == 1:
            return f"lambda:{headers[0]}"
    return None


def _path(api: ApiConfig, route: Route) -> str | None:
    path = route.path
    if path == "$default" or "+}" in path:
        return None
    values: dict[str, str] = {}
    for param in route.parameters:
        if param.location == "path":
            value = api.samples.path_params.get(param.name, param.example)
            if value is None:
                return None
            values[param.name] = str(value)
    path = fill_path(path, values)
    return None if "{" in path else path


def _query(api: ApiConfig, route: Route) -> str:
    query, _headers = sample_inputs(api, route)
    return urlencode(query)


def target(
    api: ApiConfig,
    contract: Contract,
    route: Route,
    key_name: str | None = None,
    with_excluded: bool = False,
) -> Target | None:
    """The request that exercises `route` validly, or None when the stage cannot authorize it or
    excludes the route."""
    if route.route_key in api.excluded and not with_excluded:
        return None
    if route.route_key in api.probe_routes:  # fails whatever is sent: every 5xx would read as "other"
        return None
    label = auth_label(api, contract, route)
    path = _path(api, route)
    if label is None or path is None:
        return None
    missing_headers = [
        p.name
        for p in route.parameters
        if p.location == "header"
        and p.required
        and p.name not in api.samples.headers.get(route.route_key, {})
    ]
    if missing_headers:
        return None
    if route.api_key_required:
        if key_name is None:
            return None
        label = f"{label}+key:{key_name}" if label != "none" else f"key:{key_name}"
    body = None
    if route.method in ("POST", "PUT", "PATCH"):
        sample = api.samples.bodies.get(route.route_key, route.request_example)
        if sample is None and route.body_required:
            return None
        body = None if sample is None else json.dumps(sample)
    query = _query(api, route)
    url = api.base_url + path + (f"?{query}" if query else "")
    return Target(api.name, route.route_key, route.method, url, label, body)


def _preference(label: str) -> int:
    return {"none": 0, "lambda": 1}.get(label.split(":", 1)[0], 2)


def read_pool(api: ApiConfig, contract: Contract, with_excluded: bool = False) -> list[Target]:
    """GET routes with no API key and no route override, best first (cheapest auth first)."""
    found: list[Target] = []
    for route in contract.routes:
        if route.method != "GET" or route.api_key_required or route.route_key in api.throttle.routes:
            continue
        tgt = target(api, contract, route, with_excluded=with_excluded)
        if tgt is not None:
            found.append(tgt)
    return sorted(found, key=lambda t: (_preference(t.credential), t.route_key))


def keyed_target(
    api: ApiConfig, contract: Contract, key_name: str, with_excluded: bool = False
) -> Target | None:
    """A GET route that requires an API key, sent with the named key."""
    for route in sorted(contract.routes, key=lambda r: r.route_key):
        if route.method == "GET" and route.api_key_required:
            tgt = target(api, contract, route, key_name, with_excluded)
            if tgt is not None:
                return tgt
    return None


def excluded_list(api: ApiConfig, targets: list[Target]) -> str:
    """The excluded routes among `targets`, with the stage file's reasons, for a scenario's reason."""
    return "; ".join(
        f"{t.route_key} ({api.excluded[t.route_key]})" for t in targets if t.route_key in api.excluded
    )


def header_names(label: str) -> list[str]:
    """Header names a credential label sets (for documentation and redaction)."""
    names: list[str] = []
    for part in label.split("+"):
        kind, _, arg = part.partition(":")
        if kind in ("jwt", "cognito"):
            names.append("Authorization")
        elif kind == "lambda":
            names.append(arg)
        elif kind == "key":
            names.append("x-api-key")
    return names
