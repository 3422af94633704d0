"""Generated inputs for the contract family (PURE): valid inputs explored by Hypothesis, one-violation
invalid inputs derived from every constraint the contract states, and the routes that have them.

Engine: hypothesis + hypothesis-jsonschema (README "Contract family"). A parameter's values are
`param_values`'; sending, pacing, the budget and the curl line are the harness's (harness/explore.py).
Path parameters: a bare string keeps the stage's sample (a random id would only meet a 404); one
whose schema constrains it is generated, and broken one constraint at a time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from conformance.catalog.param_values import bad_values, constrained, path_safe, value_strategy
from conformance.catalog.payloads import encode, invalid_bodies
from conformance.catalog.records import RouteCase
from conformance.catalog.requests import json_schema, route_valid_body
from conformance.catalog.routes import route_cases
from fixtures.contract import Contract, Parameter, Route
from fixtures.stage import ApiConfig
from fixtures.stage.samples import enum_values, sample_inputs

ABSENT = object()  # an optional input left out


@dataclass(frozen=True)
class Inputs:
    """The variable parts of one generated request; path parameters not given keep the samples."""

    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = ABSENT  # JSON value, or ABSENT (no body)
    raw_body: bytes | None = None  # an exact (invalid) body, sent as is
    label: str = ""  # the one violation, for invalid inputs
    keyword: str = ""  # the JSON Schema keyword it violates ("format", "enum", ...)
    path: Mapping[str, str] = field(default_factory=dict)  # generated path parameters (path-safe)

    def describe(self) -> str:
        parts = [f"path {dict(self.path)}"] if self.path else []
        parts += [f"query {dict(self.query)}"] if self.query else []
        parts += [f"headers {dict(self.headers)}"] if self.headers else []
        if self.raw_body is not None:
            parts.append(f"body {self.raw_body[:300]!r}")
        elif self.body is not ABSENT:
            parts.append(f"body {encode(self.body)[:300].decode('utf-8', 'replace')}")
        return ", ".join(parts) or "no input"


def oas30_to_json_schema(schema: Any) -> Any:
    """OAS 3.0 schema -> JSON Schema for generation: nullable becomes a null type, OAS-only words go."""
    if isinstance(schema, list):
        return [oas30_to_json_schema(s) for s in schema]
    if not isinstance(schema, Mapping):
        return schema
    out = {
        k: oas30_to_json_schema(v)
        for k, v in schema.items()
        if k not in ("nullable", "discriminator", "readOnly", "writeOnly", "xml", "example", "deprecated")
    }
    if schema.get("nullable") is True and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    if "title" in out and not isinstance(out["title"], str):
        del out["title"]
    return out


def schema_strategy(schema: Mapping[str, Any]) -> st.SearchStrategy[Any]:
    """Values of a JSON Schema: objects and arrays composed here (every optional property present or
    absent, so shrinking drops them one by one), leaves by hypothesis-jsonschema (formats, patterns,
    bounds). hypothesis-jsonschema 0.23.1's own object strategy uses a Hypothesis internal that
    Hypothesis 6.170 no longer has."""
    kind = schema.get("type")
    if (
        kind == "object"
        and "properties" in schema
        and not any(k in schema for k in ("allOf", "anyOf", "oneOf"))
    ):
        needed = set(schema.get("required", ()))
        parts = {}
        for name, prop in schema["properties"].items():
            values = schema_strategy(prop)
            parts[name] = values if name in needed else st.one_of(st.just(ABSENT), values)
        return st.fixed_dictionaries(parts).map(lambda d: {k: v for k, v in d.items() if v is not ABSENT})
    if kind == "array" and isinstance(schema.get("items"), Mapping) and not schema.get("uniqueItems"):
        low = int(schema.get("minItems", 0))
        high = int(schema.get("maxItems", low + 3))
        return st.lists(schema_strategy(schema["items"]), min_size=low, max_size=high)
    return from_schema(dict(schema), allow_x00=False)


# --- inputs ---------------------------------------------------------------------------------------


def _inputs(route: Route) -> list[Parameter]:
    return [p for p in route.parameters if p.location in ("query", "header")]


def _generated_paths(route: Route) -> list[Parameter]:
    return [p for p in route.parameters if p.location == "path" and constrained(p)]


def valid_strategy(api: ApiConfig, route: Route) -> st.SearchStrategy[Inputs]:
    """Valid inputs within the contract: required parameters always, optional ones present or absent,
    constrained path parameters generated, a body drawn from the request schema (OAS 3.0 as JSON
    Schema). A parameter with no sound generator keeps its example value."""
    base = _base(api, route)
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for p in [*_inputs(route), *_generated_paths(route)]:
        values: st.SearchStrategy[Any] | None = value_strategy(p)
        if values is None:  # no sound generator: the example's value (or none)
            kept = {"query": base.query, "header": base.headers}.get(p.location, {}).get(p.name)
            values = st.just(kept if kept is not None else ABSENT)
        always = p.required or p.location == "path"
        fields[f"{p.location}:{p.name}"] = values if always else st.one_of(st.just(ABSENT), values)
    schema = json_schema(route)
    if schema is not None:
        fields["body"] = schema_strategy(oas30_to_json_schema(schema))

    def build(drawn: dict[str, Any]) -> Inputs:
        def part(prefix: str) -> dict[str, str]:
            return {k[len(prefix) :]: v for k, v in drawn.items() if k.startswith(prefix) and v is not ABSENT}

        return Inputs(part("query:"), part("header:"), drawn.get("body", ABSENT), path=part("path:"))

    return st.fixed_dictionaries(fields).map(build)


def _base(api: ApiConfig, route: Route) -> Inputs:
    """The example request's inputs: stage samples, contract examples, the valid body (path: samples)."""
    query, headers = sample_inputs(api, route)
    body = route_valid_body(api, route) if json_schema(route) is not None else None
    return Inputs(query, headers, ABSENT if body is None else body)


def _with_param(base: Inputs, param: Parameter, text: str, label: str = "", keyword: str = "") -> Inputs:
    changed = replace(base, label=label, keyword=keyword)
    if param.location == "query":
        return replace(changed, query={**base.query, param.name: text})
    if param.location == "header":
        return replace(changed, headers={**base.headers, param.name: text})
    return replace(changed, path={**base.path, param.name: text})


def boundary_examples(api: ApiConfig, route: Route) -> list[Inputs]:
    """Deterministic valid edge cases beside the generated ones: optional inputs all absent, every enum
    value of a parameter or body property, strings at their maxLength and minLength."""
    base = _base(api, route)
    out: list[Inputs] = []
    required = {p.name for p in _inputs(route) if p.required}
    out.append(
        Inputs(
            {k: v for k, v in base.query.items() if k in required},
            {k: v for k, v in base.headers.items() if k in required},
            base.body,
        )
    )
    for p in [*_inputs(route), *_generated_paths(route)]:
        for value in enum_values(p):
            if p.location != "path" or path_safe(value):
                out.append(_with_param(base, p, value))
    schema = json_schema(route)
    body = base.body
    if schema is not None and isinstance(body, Mapping):
        props = schema.get("properties") or {}
        needed = set(schema.get("required", ()))
        out.append(Inputs(base.query, base.headers, {k: v for k, v in body.items() if k in needed}))
        for name, prop in props.items():
            if not isinstance(prop, Mapping):
                continue
            for value in prop.get("enum", ()):
                out.append(Inputs(base.query, base.headers, {**body, name: value}))
            plain = not any(k in prop for k in ("format", "pattern", "enum"))
            if prop.get("type") == "string" and plain:
                if isinstance(prop.get("maxLength"), int):
                    out.append(Inputs(base.query, base.headers, {**body, name: "a" * prop["maxLength"]}))
                low = prop.get("minLength", 0)
                if isinstance(low, int):
                    out.append(Inputs(base.query, base.headers, {**body, name: "a" * low}))
    return out


def invalid_inputs(api: ApiConfig, route: Route) -> list[Inputs]:
    """One violation at a time of every constraint the contract states on a parameter (path, query,
    header: enum, type, pattern, format, lengths, bounds) or on the JSON body (every keyword, `format`
    included), on the example request."""
    base = _base(api, route)
    out = [
        _with_param(base, p, text, label, keyword)
        for p in route.parameters
        for label, keyword, text in bad_values(p)
    ]
    body_schema = json_schema(route)
    if body_schema is not None and base.body is not ABSENT:
        for variant in invalid_bodies(body_schema, base.body):
            if variant.keyword in ("json", "empty"):
                continue  # not a contract constraint: the validation family sends these
            out.append(Inputs(base.query, base.headers, ABSENT, variant.body, variant.name, variant.keyword))
    return out


def has_constraints(api: ApiConfig, route: Route) -> bool:
    return bool(invalid_inputs(api, route))


def generated_routes(api: ApiConfig, contract: Contract) -> list[RouteCase]:
    """Routes with inputs to generate (a query or header parameter, a constrained path parameter, or a
    JSON request body)."""
    return [
        c
        for c in route_cases(api, contract)
        if json_schema(c.route) is not None or _inputs(c.route) or _generated_paths(c.route)
    ]


def constrained_routes(api: ApiConfig, contract: Contract) -> list[RouteCase]:
    """Routes whose contract states a constraint an input can break (parameter or body schema)."""
    return [c for c in generated_routes(api, contract) if has_constraints(api, c.route)]
