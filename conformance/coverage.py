"""Coverage of one conformance run: for every rule x API, what became of it (PURE).

States: passed, failed, waived (a known deviation, or every case on an excluded route),
not_applicable (the API has no such feature, or the stage declares it out of scope: read-only),
not_exercised (the feature exists but the stage gave no way to test it: a skip, a missing sample
body, no disabled key), not_run (every case left out of this run's selection, e.g. `-m smoke`).
The gate blocks on not_exercised unless a person waived it (fixtures/stage/deviations.py); it never
counts a skip as a pass.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from conformance.catalog import PROBE_BUILDERS
from conformance.catalog.requests import json_schema, route_valid_body
from conformance.catalog.routes import key_routes, route_cases
from fixtures.cell_states import CellState
from fixtures.contract import Contract
from fixtures.stage import ApiConfig, FailureProbe

Outcome = Literal["passed", "failed", "error", "skipped", "xfailed", "xpassed", "deselected"]
Builder = Callable[[ApiConfig, Contract], list[Any]]


@dataclass(frozen=True)
class Empty:
    """Why a rule has no case on an API."""

    state: CellState
    detail: str


@dataclass(frozen=True)
class ItemResult:
    name: str  # the test id, "test_rule[case]"
    module: str  # "conformance.test_auth"
    rule: str
    family: str
    api: str
    smoke: bool
    outcome: Outcome
    reason: str = ""


@dataclass(frozen=True)
class Cell:
    rule: str
    family: str
    api: str
    state: CellState
    detail: str
    cases: int


# What an API lacks when a rule has no case there (the default reads "no <fixture>").
LACKS: dict[str, str] = {
    "token_route": "no route behind a JWT or Cognito authorizer",
    "jwt_route": "no route behind an HTTP API JWT authorizer",
    "scoped_route": "no route that requires scopes",
    "lambda_route": "no route behind a Lambda authorizer",
    "protected_route": "no protected route",
    "protected_get_route": "no protected GET route",
    "public_route": "no public route",
    "key_route": "no route that requires an API key (REST)",
    "disabled_key_case": "no route that requires an API key (REST)",
    "body_route": "no route with a JSON request schema",
    "body_case": "no route with a JSON request schema",
    "param_case": "no required query or header parameter",
    "untyped_body_route": "no REST method whose validator checks a JSON body model",
    "lambda_proxy_route": "no REST Lambda proxy integration",
    "preflight_case": "no CORS configuration",
    "origin_case": "no CORS configuration with an exact allowed origin",
    "cors_api": "no CORS configuration",
    "cors_http_api": "no HTTP API CORS configuration",
    "cors_protected_route": "no protected route with CORS",
    "cors_error_api": "no CORS configuration on gateway errors",
    "generated_route": "no route with a query, header or constrained path parameter or a JSON body",
    "constrained_route": "no route whose contract states a constraint an input can break",
    "wrong_method_case": "no path that leaves a method undefined",
    "override_case": "no path with a weaker and a stronger route",
    "failure_probe": "no route the failure probe could target",
    "cors_credential_route": "no protected route whose missing-credential answer has CORS headers",
    "cors_denied_route": "no Lambda-authorizer route whose deny answer has CORS headers",
    "cors_validation_case": "no invalid request whose 400 has CORS headers",
    "cors_probe_case": "no failure probe, or no CORS headers on the integration failure's 5xx",
}


def _unrestricted(api: ApiConfig, keep_probes: bool) -> ApiConfig:
    """The API without route exclusions (and, unless kept, without dedicated probe routes)."""
    probes = api.samples.failure_probes
    kept = probes if keep_probes else tuple(p for p in probes if p.changes_input)
    samples = dataclasses.replace(api.samples, failure_probes=kept)
    return dataclasses.replace(api, excluded={}, samples=samples)


def _not_exercised(fixture: str, api: ApiConfig, contract: Contract, build: Builder) -> str:
    """A reason when the feature exists but the stage file gives no way to test it, else ""."""
    if fixture == "disabled_key_case" and key_routes(api, contract):
        return "no disabled key in the stage file (a usage-plan key with enabled = false)"
    if fixture in ("body_route", "body_case"):
        without = [r.route_key for r in contract.routes if json_schema(r) is not None]
        if without:
            return f"no example or sample body for {', '.join(without[:3])} (samples.bodies)"
    if (
        fixture in PROBE_BUILDERS
        and not api.samples.failure_probes
        and _applies_with_a_probe(build, api, contract)
    ):
        # Every integration can fail; only the stage's team knows a request that makes it.
        return "no failure probe declared (samples.failure_probe): a failing integration's answer unchecked"
    return ""


def _applies_with_a_probe(build: Builder, api: ApiConfig, contract: Contract) -> bool:
    """Whether the rule would have cases if the stage declared a failure probe."""
    routes = route_cases(api, contract)
    if not routes:
        return False
    probe = FailureProbe(routes[0].route.route_key, query={"stagegate-probe": "1"})
    samples = dataclasses.replace(api.samples, failure_probes=(probe,))
    return bool(build(dataclasses.replace(api, samples=samples), contract))


def explain_empty(fixture: str, api: ApiConfig, contract: Contract, build: Builder) -> Empty:
    """Why `build` gives the API no case: waived by exclusion, out of scope, not exercised, or absent."""
    if build(_unrestricted(api, keep_probes=fixture in PROBE_BUILDERS), contract):
        reasons = "; ".join(f"{k}: {v}" for k, v in sorted(api.excluded.items()))
        probes = ", ".join(sorted(api.probe_routes))
        return Empty("waived", f"excluded routes ({reasons or 'failure probe routes ' + probes})")
    if api.read_only and build(dataclasses.replace(api, read_only=False), contract):
        return Empty("not_applicable", "read-only API: every case would send a writing request")
    why = _not_exercised(fixture, api, contract, build)
    if why:
        return Empty("not_exercised", why)
    return Empty("not_applicable", LACKS.get(fixture, f"no {fixture.replace('_', ' ')}"))


def cell_state(results: Sequence[ItemResult]) -> tuple[CellState, str]:
    """The state of one rule x API from its cases' outcomes (a skip is never a pass)."""
    ran = [r for r in results if r.outcome != "deselected"]
    if not ran:
        return "not_run", "not selected in this run"
    bad = [r for r in ran if r.outcome in ("failed", "error", "xpassed")]
    if bad:
        return "failed", f"{len(bad)} of {len(ran)} cases failed"
    skipped = [r for r in ran if r.outcome == "skipped"]
    if skipped:
        return "not_exercised", skipped[0].reason or "skipped"
    deviations = [r for r in ran if r.outcome == "xfailed"]
    if deviations:
        return "waived", f"{len(deviations)} of {len(ran)} cases are known deviations: {deviations[0].reason}"
    return "passed", f"{len(ran)} cases"


def route_gaps(fixture: str, api: ApiConfig, contract: Contract, build: Builder) -> str:
    """What a rule with cases on an API still leaves out ("" when nothing): routes it cannot be
    exercised on (not exercised), and routes the stage excludes (noted beside the state)."""
    if fixture in ("body_route", "body_case"):
        bodiless = [
            c.route.route_key
            for c in route_cases(api, contract)
            if json_schema(c.route) is not None and route_valid_body(api, c.route) is None
        ]
        if bodiless:
            return f"not exercised on {', '.join(bodiless[:3])}: no example or sample body (samples.bodies)"
    return ""


def excluded_note(fixture: str, api: ApiConfig, contract: Contract, build: Builder) -> str:
    """The stage's exclusions that took cases from this rule on this API ("" when none did)."""
    if not api.excluded or len(build(_unrestricted(api, keep_probes=True), contract)) <= len(
        build(api, contract)
    ):
        return ""
    return (
        "waived on excluded routes (" + "; ".join(f"{k}: {v}" for k, v in sorted(api.excluded.items())) + ")"
    )


def cells(
    empty: dict[tuple[str, str], tuple[str, Empty]],
    results: Sequence[ItemResult],
    notes: dict[tuple[str, str], tuple[str, str]] | None = None,
) -> list[Cell]:
    """Every rule x API: from the cases that exist (with what they leave out: `notes` holds
    (route gap, exclusion note) per rule x API), else from why there is none."""
    by_cell: dict[tuple[str, str], list[ItemResult]] = {}
    for r in results:
        by_cell.setdefault((r.rule, r.api), []).append(r)
    out = []
    for (rule, api), items in by_cell.items():
        state, detail = cell_state(items)
        gap, excluded = (notes or {}).get((rule, api), ("", ""))
        if gap and state == "passed":  # the cases that ran passed; others could not run at all
            state, detail = "not_exercised", gap
        detail = f"{detail}; {excluded}" if excluded else detail
        out.append(Cell(rule, items[0].family, api, state, detail, len(items)))
    for (rule, api), (family, why) in empty.items():
        if (rule, api) not in by_cell:
            out.append(Cell(rule, family, api, why.state, why.detail, 0))
    return sorted(out, key=lambda c: (c.family, c.rule, c.api))
