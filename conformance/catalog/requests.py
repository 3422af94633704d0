"""Request bodies and parameters per route: the valid sample and the invalid variants (PURE)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conformance.catalog.payloads import JSON, invalid_bodies, valid_body
from conformance.catalog.records import BodyCase, ParamCase, RouteCase
from conformance.catalog.routes import route_cases
from fixtures.contract import Contract, Route
from fixtures.stage import ApiConfig


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
        for c in route_cases(api, contract)
        if json_schema(c.route) is not None and route_valid_body(api, c.route) is not None
    ]


def gateway_validates(flavor: str, route: Route, body: bool) -> bool:
    """Whether the gateway itself validates the route's body (or parameters): a REST validator.

    Otherwise the request reaches the integration, which must refuse it itself.
    """
    validator = route.validator
    if flavor != "rest" or validator is None:
        return False
    return validator.validate_body if body else validator.validate_parameters


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
        for c in route_cases(api, contract)
        for p in c.route.parameters
        if p.required and p.location in ("query", "header")
    ]
