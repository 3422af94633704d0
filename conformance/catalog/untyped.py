"""Routes whose request body the gateway validates, for the rule on bodies sent without Content-Type (PURE).

API Gateway validates a request without Content-Type against the method's application/json model
(SNAP, fixtures/behaviour.py REST_FACTS missing_content_type_model); a gateway that looks for no
model then passes any body on unvalidated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conformance.catalog.payloads import InvalidBody, invalid_bodies
from conformance.catalog.records import RouteCase
from conformance.catalog.requests import gateway_validates, json_schema
from conformance.catalog.routes import route_cases
from fixtures.contract import Contract
from fixtures.stage import ApiConfig

# The defects a draft 4 validator sees, most telling first (draft 4 ignores `format`; an empty body's
# treatment is not recorded).
_PREFERRED = ("required", "type", "additionalProperties", "enum", "minLength", "maxLength", "pattern", "json")


def untyped_body_routes(api: ApiConfig, contract: Contract) -> list[RouteCase]:
    """REST routes whose validator checks a JSON body model (the test skips one without a valid body)."""
    return [
        c
        for c in route_cases(api, contract)
        if gateway_validates(contract.flavor, c.route, body=True) and json_schema(c.route) is not None
    ]


def untyped_defect(schema: Mapping[str, Any], valid: Any) -> InvalidBody:
    """The body to send without Content-Type: `valid` with one defect the model must catch."""
    variants = invalid_bodies(schema, valid)
    for keyword in _PREFERRED:
        for variant in variants:
            if variant.keyword == keyword:
                return variant
    raise AssertionError("invalid_bodies always gives a not-JSON variant")
