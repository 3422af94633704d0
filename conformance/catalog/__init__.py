"""The case registry: fixture name a rule asks for -> the cases it is parametrized over (PURE).

The records live in `records`, the route selection in `routes`, request bodies and parameters in
`requests`, CORS in `cors` and failure probes in `probe` (modules of this package).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from conformance.catalog import cors as catalog_cors
from conformance.catalog import generated
from conformance.catalog import integrations as catalog_integrations
from conformance.catalog import probe as catalog_probe
from conformance.catalog import requests as catalog_requests
from conformance.catalog import routes as catalog_routes
from conformance.catalog import untyped as catalog_untyped
from fixtures.contract import Contract
from fixtures.errors import ConfigError
from fixtures.stage import ApiConfig, StageConfig

BUILDERS: dict[str, Callable[[ApiConfig, Contract], list[Any]]] = {
    "token_route": catalog_routes.token_routes,
    "jwt_route": catalog_routes.jwt_routes,
    "scoped_route": catalog_routes.scoped_routes,
    "lambda_route": catalog_routes.lambda_routes,
    "protected_route": catalog_routes.protected_routes,
    "public_route": catalog_routes.public_routes,
    "any_route": catalog_routes.all_routes,
    "key_route": catalog_routes.key_routes,
    "disabled_key_case": catalog_routes.disabled_key_cases,
    "body_route": catalog_requests.body_routes,
    "body_case": catalog_requests.body_cases,
    "param_case": catalog_requests.param_cases,
    "untyped_body_route": catalog_untyped.untyped_body_routes,
    "lambda_proxy_route": catalog_integrations.lambda_proxy_routes,
    "preflight_case": catalog_cors.preflight_cases,
    "origin_case": catalog_cors.origin_cases,
    "cors_api": catalog_cors.cors_apis,
    "cors_http_api": catalog_cors.cors_http_apis,
    "cors_protected_route": catalog_cors.cors_protected_routes,
    "cors_error_api": catalog_cors.cors_error_apis,
    "cors_credential_route": catalog_cors.cors_credential_routes,
    "cors_denied_route": catalog_cors.cors_denied_routes,
    "cors_validation_case": catalog_cors.cors_validation_cases,
    "cors_probe_case": catalog_cors.cors_probe_cases,
    "api_case": catalog_routes.apis,
    "protected_get_route": catalog_routes.protected_get_routes,
    "wrong_method_case": catalog_routes.wrong_method_cases,
    "override_case": catalog_routes.override_cases,
    "failure_probe": catalog_probe.probe_cases,
    "generated_route": generated.generated_routes,
    "constrained_route": generated.constrained_routes,
}


# The builders whose cases target a failure probe (a dedicated probe route is their target only).
PROBE_BUILDERS = frozenset({"failure_probe", "cors_probe_case"})


def cases(name: str, stage: StageConfig, contracts: Mapping[str, Contract]) -> list[Any]:
    """All cases of one kind over every API of the stage."""
    builder = BUILDERS[name]
    try:
        return [case for api in stage.apis for case in builder(api, contracts[api.name])]
    except ConfigError as exc:
        if exc.file:
            raise
        raise ConfigError(stage.path, exc.where, exc.problem) from None
