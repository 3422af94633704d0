"""Generated inputs for the contract family: valid inputs explored by Hypothesis, one-violation invalid
inputs derived from every constraint the contract states, the pacing and the curl line of a failure.

Engine: hypothesis + hypothesis-jsonschema (README "Contract family"). Strategies and variants are PURE;
`explore` runs a property under a fixed seed and a request/seconds budget and returns the shrunk failure.
"""

from __future__ import annotations

import re
import shlex
import string
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, Phase, example, given, seed, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from conformance.catalog.payloads import encode, invalid_bodies
from conformance.catalog.records import RouteCase
from conformance.catalog.requests import json_schema, route_valid_body
from conformance.catalog.routes import route_cases
from conformance.harness.client import join_url
from fixtures.contract import Contract, Parameter, Route
from fixtures.stage import ApiConfig, Limit

ABSENT = object()  # an optional input left out
_SAFE = string.ascii_letters + string.digits + "-_."
_NOT_IN_ENUM = "stagegate-not-in-enum"
_WRONG_TYPE = {"integer": "not-an-integer", "number": "not-a-number", "boolean": "not-a-boolean"}


@dataclass(frozen=True)
class Inputs:
    """The variable parts of one generated request; path parameters stay the stage's samples."""

    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = ABSENT  # JSON value, or ABSENT (no body)
    raw_body: bytes | None = None  # an exact (invalid) body, sent as is
    label: str = ""  # the one violation, for invalid inputs
    keyword: str = ""  # the JSON Schema keyword it violates ("format", "enum", ...)

    def describe(self) -> str:
        parts = [f"query {dict(self.query)}"] if self.query else []
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


def _inputs(route: Route) -> list[Parameter]:
    return [p for p in route.parameters if p.location in ("query", "header")]


def _param_strategy(param: Parameter) -> st.SearchStrategy[str]:
    """Valid values of one query/header parameter as the text on the wire."""
    schema = param.schema or {}
    if "enum" in schema:
        return st.sampled_from([str(v).lower() if isinstance(v, bool) else str(v) for v in schema["enum"]])
    kind = schema.get("type")
    if kind == "integer":
        low, high = schema.get("minimum", -(10**6)), schema.get("maximum", 10**6)
        return st.integers(int(low), int(high)).map(str)
    if kind == "number":
        low, high = schema.get("minimum", -(10**6)), schema.get("maximum", 10**6)
        return st.floats(low, high, allow_nan=False, allow_infinity=False).map(repr)
    if kind == "boolean":
        return st.sampled_from(["true", "false"])
    low = max(int(schema.get("minLength", 0)), 1)  # an empty value reads as a missing one on the gateway
    high = min(int(schema.get("maxLength", 40)), 40)
    return st.text(_SAFE, min_size=min(low, high), max_size=max(low, high))


def _enum_values(param: Parameter) -> list[str]:
    return [str(v).lower() if isinstance(v, bool) else str(v) for v in (param.schema or {}).get("enum", ())]


def valid_strategy(api: ApiConfig, route: Route) -> st.SearchStrategy[Inputs]:
    """Valid inputs within the contract: required parameters always, optional ones present or absent,
    a body drawn from the request schema (OAS 3.0 read as JSON Schema)."""
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for p in _inputs(route):
        values = _param_strategy(p)
        fields[f"{p.location}:{p.name}"] = values if p.required else st.one_of(st.just(ABSENT), values)
    schema = json_schema(route)
    if schema is not None:
        fields["body"] = schema_strategy(oas30_to_json_schema(schema))

    def build(drawn: dict[str, Any]) -> Inputs:
        query = {k[6:]: v for k, v in drawn.items() if k.startswith("query:") and v is not ABSENT}
        headers = {k[7:]: v for k, v in drawn.items() if k.startswith("header:") and v is not ABSENT}
        return Inputs(query, headers, drawn.get("body", ABSENT))

    return st.fixed_dictionaries(fields).map(build)


def _base(api: ApiConfig, route: Route) -> Inputs:
    """The example request's inputs: stage samples, contract examples, the valid body."""
    query = dict(api.samples.query.get(route.route_key, {}))
    headers = dict(api.samples.headers.get(route.route_key, {}))
    for p in _inputs(route):
        target = query if p.location == "query" else headers
        if p.required and p.name not in target:
            enum = _enum_values(p)
            target[p.name] = str(p.example) if p.example is not None else (enum[0] if enum else "stagegate")
    body = route_valid_body(api, route) if json_schema(route) is not None else None
    return Inputs(query, headers, ABSENT if body is None else body)


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
    for p in _inputs(route):
        for value in _enum_values(p):
            target = "query" if p.location == "query" else "headers"
            changed = {**getattr(base, target), p.name: value}
            out.append(Inputs(**{**_fields(base), target: changed}))
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


def _fields(inputs: Inputs) -> dict[str, Any]:
    return {
        "query": inputs.query,
        "headers": inputs.headers,
        "body": inputs.body,
        "raw_body": inputs.raw_body,
    }


def invalid_inputs(api: ApiConfig, route: Route) -> list[Inputs]:
    """One violation at a time of every constraint the contract states on a parameter (enum, type,
    length) or on the JSON body (every keyword, `format` included), on the example request."""
    base = _base(api, route)
    out: list[Inputs] = []
    for p in _inputs(route):
        schema = p.schema or {}
        bad: list[tuple[str, str, str]] = []
        if "enum" in schema:
            bad.append((f"{p.name} not in enum", "enum", _NOT_IN_ENUM))
        elif schema.get("type") in _WRONG_TYPE:
            bad.append((f"{p.name} wrong type", "type", _WRONG_TYPE[schema["type"]]))
        if isinstance(schema.get("maxLength"), int):
            bad.append((f"{p.name} above maxLength", "maxLength", "a" * (schema["maxLength"] + 1)))
        if isinstance(schema.get("minLength"), int) and schema["minLength"] > 1:
            bad.append((f"{p.name} below minLength", "minLength", "a" * (schema["minLength"] - 1)))
        target = "query" if p.location == "query" else "headers"
        for label, keyword, value in bad:
            changed = {**getattr(base, target), p.name: value}
            out.append(Inputs(**{**_fields(base), target: changed, "label": label, "keyword": keyword}))
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
    """Routes with inputs to generate (a query or header parameter, or a JSON request body)."""
    return [c for c in route_cases(api, contract) if json_schema(c.route) is not None or _inputs(c.route)]


def constrained_routes(api: ApiConfig, contract: Contract) -> list[RouteCase]:
    """Routes whose contract states a constraint an input can break (parameter or body schema)."""
    return [c for c in generated_routes(api, contract) if has_constraints(api, c.route)]


# --- pacing -------------------------------------------------------------------------------------


def pace_limit(api: ApiConfig, route: Route, api_key: str | None) -> Limit | None:
    """The tightest limit this route's requests meet (route, stage, the key's usage plan), if any."""
    limits = [api.throttle.routes.get(route.route_key) or api.throttle.stage]
    if route.api_key_required and api_key is not None:
        for plan in api.usage_plans:
            if any(k.value.value == api_key for k in plan.keys):
                limits += [plan.method_throttle.get(route.route_key) or plan.throttle]
    found = [limit for limit in limits if limit is not None]
    return min(found, key=lambda limit: limit.rate) if found else None


class Pacer:
    """A client-side bucket at half the stage's limit: throttling never masks a result."""

    def __init__(self, limit: Limit | None, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = limit.rate / 2 if limit else 0.0
        self.capacity = max(limit.burst / 2, 1.0) if limit else 0.0
        self.tokens = self.capacity
        self.clock = clock
        self.last = clock()

    def wait(self) -> None:
        if not self.rate:
            return
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens < 1:
            time.sleep((1 - self.tokens) / self.rate)
            self.tokens, self.last = 1.0, self.clock()
        self.tokens -= 1

    def refill_s(self) -> float:
        return 1 / self.rate if self.rate else 0.5


# --- exploring ----------------------------------------------------------------------------------


@dataclass
class Budget:
    examples: int
    seconds: float
    sent: int = 0
    skipped: int = 0  # inputs not sent: the seconds ran out
    started: float = field(default_factory=time.monotonic)

    def spent(self) -> bool:
        return time.monotonic() - self.started > self.seconds


@dataclass(frozen=True)
class Found:
    inputs: Inputs
    problem: str
    evidence: Any  # the exchange


def explore(
    strategy: st.SearchStrategy[Inputs],
    explicit: Sequence[Inputs],
    check_one: Callable[[Inputs], tuple[str, Any] | None],
    budget: Budget,
    run_seed: int,
) -> Found | None:
    """Run `check_one` over explicit then generated inputs (fixed seed); the shrunk failure, if any."""
    found: list[Found] = []

    def prop(inputs: Inputs) -> None:
        if budget.spent():
            budget.skipped += 1
            return
        result = check_one(inputs)
        if result is not None:
            found.append(Found(inputs, result[0], result[1]))
            raise AssertionError(result[0])

    test = given(strategy)(prop)
    for item in reversed(explicit):
        test = example(item)(test)
    test = settings(
        max_examples=budget.examples,
        deadline=None,
        database=None,
        derandomize=False,
        print_blob=False,
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
    )(test)
    test = seed(run_seed)(test)
    try:
        test()
    except Exception:  # the property's AssertionError, or Hypothesis' own (flaky replay): keep the last
        if not found:
            raise
    return found[-1] if found else None


# --- reproducing --------------------------------------------------------------------------------


def env_name(api: str, header: str) -> str:
    return re.sub(r"[^A-Z0-9]", "_", f"STAGEGATE_{api}_{header}".upper())


def curl_line(
    base_url: str,
    method: str,
    path: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    body: bytes | None,
    secret_headers: Mapping[str, str],
) -> str:
    """A ready-to-run curl command; each credential header is read whole from $ENV_NAME (e.g.
    STAGEGATE_PORTAL_AUTHORIZATION='Authorization: Bearer ...'), so no secret is ever printed."""
    parts = ["curl", "-sS", "-i", "-X", method, shlex.quote(join_url(base_url, path, query))]
    lowered = {k.lower(): v for k, v in secret_headers.items()}
    for name, value in headers.items():
        env = lowered.get(name.lower())
        shown = f'"${env}"' if env else shlex.quote(f"{name}: {value}")
        parts += ["-H", shown]
    if body is not None:
        parts += ["--data-binary", shlex.quote(body.decode("utf-8", "replace"))]
    return " ".join(parts)
