"""What an answer to a generated input must be, per the contract (PURE: judged on the exchange).

A valid input gets the route's documented success (status, content type and body per the contract) or
a documented error with the body the contract declares for it; never a 5xx, never an undocumented
status. A generated path value may name nothing, so its 404 is accepted (noted when undocumented).
An invalid input's refusal, where the contract documents its status, carries the declared error body.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from conformance.harness.client import Exchange
from conformance.harness.response_schema import CompiledSchema, ResponseKey
from fixtures.contract import ResponseSpec, Route

Schemas = Mapping[ResponseKey, CompiledSchema]


def documented(route: Route, status: int) -> ResponseSpec | None:
    """The contract's response for that status: exact, then its range ("4XX"), then "default"."""
    responses = route.responses
    return responses.get(str(status)) or responses.get(f"{str(status)[0]}XX") or responses.get("default")


def _body_problem(route: Route, spec: ResponseSpec, exchange: Exchange, schemas: Schemas) -> str | None:
    """The body against the schema the contract declares for that response (none declared: anything)."""
    media_type = next(iter(spec.schemas), None)
    if media_type is None:
        return None
    try:
        body = exchange.json()
    except ValueError:
        return f"a {exchange.status} JSON body matching the contract's schema"
    errors = schemas[(route.route_key, spec.status, media_type)].errors(body)
    return (
        f"a {exchange.status} body matching the contract's schema; first error: {errors[0]}"
        if errors
        else None
    )


def refusal_problem(route: Route, exchange: Exchange, schemas: Schemas) -> str | None:
    """A documented refusal status must carry the body the contract declares for it (the error envelope)."""
    spec = documented(route, exchange.status)
    return None if spec is None else _body_problem(route, spec, exchange, schemas)


def _success_problem(route: Route, spec: ResponseSpec, exchange: Exchange, schemas: Schemas) -> str | None:
    if not spec.schemas:
        return f"an empty body (the contract declares none for {exchange.status})" if exchange.body else None
    types = {c.split(";")[0].strip().lower() for c in spec.schemas}
    if exchange.content_type not in types:
        return f"Content-Type one of {sorted(types)}"
    return _body_problem(route, spec, exchange, schemas)


@dataclass(frozen=True)
class Verdict:
    problem: str | None = None  # a contract break
    note: str | None = None  # accepted, worth a look in the report


def valid_answer(route: Route, exchange: Exchange, schemas: Schemas, generated_path: bool) -> Verdict:
    """A valid input gets the route's documented success (body and content type per the contract) or a
    documented error with its error body; never a 5xx or an undocumented status. A generated path
    value may name nothing: its 404 is accepted, noted when the contract does not document it."""
    status = exchange.status
    spec = documented(route, status)
    listed = sorted(route.responses)
    if status >= 500:
        return Verdict(f"never a 5xx for a valid input (documented: {listed})")
    if spec is not None and 200 <= status < 300:
        return Verdict(_success_problem(route, spec, exchange, schemas))
    if spec is not None and 400 <= status < 500:
        problem = _body_problem(route, spec, exchange, schemas)
        return Verdict(problem, None if problem else f"documented {status} for a valid input")
    if status == 404 and generated_path:
        return Verdict(note="404 (undocumented) for a generated path value")
    return Verdict(f"a documented status {listed} for a valid input; {status} is not documented")
