"""One API under test: its client, credentials, valid requests per route, cached positive controls."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from conformance.catalog.payloads import JSON, encode
from conformance.catalog.records import BodyCase, ParamCase, ProbeCase
from conformance.catalog.requests import json_schema, route_valid_body
from conformance.harness.client import Exchange, HttpClient
from conformance.harness.credentials import ApiCredentials
from fixtures.contract import Contract, Route
from fixtures.contract.paths import fill_path, path_variables
from fixtures.stage import ApiConfig
from fixtures.stage.samples import DEFAULT_PARAM_VALUE, sample_inputs


@dataclass(frozen=True)
class RequestSpec:
    """A request before it is sent; tests derive rejection variants from the valid one."""

    method: str
    path: str
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None

    def with_headers(self, **changes: str | None) -> RequestSpec:
        """Headers replaced (None removes); names compared case-insensitively."""
        wanted = {k.replace("_", "-").lower(): v for k, v in changes.items()}
        return self.merge_headers(wanted)

    def merge_headers(self, changes: Mapping[str, str | None]) -> RequestSpec:
        lowered = {k.lower() for k in changes}
        kept = {k: v for k, v in self.headers.items() if k.lower() not in lowered}
        kept.update({k: v for k, v in changes.items() if v is not None})
        return replace(self, headers=kept)

    def without_headers(self, *names: str) -> RequestSpec:
        return self.merge_headers({name: None for name in names})


class ApiUnderTest:
    """Everything the rules need about one API of the stage."""

    def __init__(
        self, config: ApiConfig, contract: Contract, client: HttpClient, creds: ApiCredentials, embedded: bool
    ) -> None:
        self.config = config
        self.name = config.name
        self.contract = contract
        self.flavor = contract.flavor
        self.client = client
        self.creds = creds
        self.embedded = embedded
        self._controls: dict[str, Exchange] = {}

    def path_for(self, route: Route) -> str:
        """The route's path with its parameters filled from the stage samples or the contract."""
        examples = {p.name: p.example for p in route.parameters if p.location == "path" and p.example}
        samples = self.config.samples.path_params
        values = {
            name: str(samples.get(name) or examples.get(name) or DEFAULT_PARAM_VALUE)
            for name in path_variables(route.path)
        }
        return fill_path(route.path, values)

    def valid_request(self, route: Route, authenticated: bool = True) -> RequestSpec:
        """A request the stage must accept (with credentials), built from samples and the contract."""
        query, headers = sample_inputs(self.config, route)
        body = None
        # A schema's example or the stage's sample; a route without a request model (HTTP API
        # exports carry none) still gets the sample the stage file gives for it.
        has_sample = route.route_key in self.config.samples.bodies
        if json_schema(route) is not None or has_sample:
            valid = route_valid_body(self.config, route)
            if valid is not None:
                body = encode(valid)
                headers["Content-Type"] = JSON
        if authenticated:
            headers.update(self.creds.auth_headers(route))
        return RequestSpec(route.method, self.path_for(route), query, headers, body)

    def unauthenticated(self, route: Route) -> RequestSpec:
        """The valid request without the route's identity (the API key, if any, stays)."""
        spec = self.valid_request(route)
        return spec.without_headers(*self.creds.identity_headers(route))

    def without_credentials(self, route: Route) -> RequestSpec:
        """The valid request without any credential: no identity and no API key (the header the
        credentials send it in, x-api-key)."""
        return self.unauthenticated(route).without_headers("x-api-key")

    def invalid_request(self, case: ParamCase | BodyCase) -> RequestSpec:
        """The route's valid request with one required parameter left out, or with an invalid body."""
        spec = self.valid_request(case.case.route)
        if isinstance(case, BodyCase):
            spec = spec.merge_headers({"Content-Type": case.invalid.content_type})
            return replace(spec, body=case.invalid.body)
        if case.parameter.location == "header":
            return spec.without_headers(case.parameter.name)
        return replace(spec, query={k: v for k, v in spec.query.items() if k != case.parameter.name})

    def probe_request(self, case: ProbeCase) -> RequestSpec:
        """The route's valid request (credentials included) with the failure probe's inputs applied."""
        route, probe = case.case.route, case.probe
        spec = self.valid_request(route)
        path = self.path_for(replace(route, path=fill_path(route.path, probe.path_params)))
        spec = replace(spec, path=path, query={**spec.query, **probe.query})
        return spec.merge_headers(dict(probe.headers))

    def send(self, spec: RequestSpec, **overrides: Any) -> Exchange:
        spec = replace(spec, **overrides) if overrides else spec
        return self.client.send(
            spec.method, spec.path, headers=spec.headers, query=spec.query, body=spec.body
        )

    def control(self, route: Route) -> Exchange:
        """The positive control for a route: valid credentials and request (sent once per session)."""
        if route.route_key not in self._controls:
            self._controls[route.route_key] = self.send(self.valid_request(route))
        return self._controls[route.route_key]
