"""Coverage cells (conformance/coverage.py): gaps on single routes and exclusions stay visible."""

from __future__ import annotations

import dataclasses
import pathlib

from conformance import catalog
from conformance.catalog.requests import json_schema
from conformance.coverage import ItemResult, cells, excluded_note, route_gaps
from fixtures.stage import contract_of, load_stage

REPO = pathlib.Path(__file__).resolve().parent.parent


def _partner():  # noqa: ANN202
    stage = load_stage("local", root=str(REPO))
    api = stage.api("partner")
    return api, contract_of(api)


def test_a_body_route_without_any_body_is_a_gap_even_when_other_routes_have_cases() -> None:
    api, contract = _partner()
    build = catalog.BUILDERS["body_case"]
    assert route_gaps("body_case", api, contract, build) == ""  # positive control: every route has a body
    bodied = [r for r in contract.routes if json_schema(r) is not None]
    assert bodied, "the partner contract declares request bodies"
    first = bodied[0]
    stripped = tuple(
        dataclasses.replace(r, request_example=None) if r is first else r for r in contract.routes
    )
    without = dataclasses.replace(contract, routes=stripped)
    gap = route_gaps("body_case", api, without, build)
    assert gap.startswith(f"not exercised on {first.route_key}")
    item = ItemResult(
        "test_x[partner a]", "conformance.test_validation", "test_x", "validation", "partner", False, "passed"
    )
    (cell,) = cells({}, [item], {("test_x", "partner"): (gap, "")})
    assert (cell.state, cell.detail) == ("not_exercised", gap)
    (control,) = cells({}, [item], {})
    assert control.state == "passed"


def test_an_exclusion_that_took_cases_is_noted_beside_the_state() -> None:
    api, contract = _partner()
    build = catalog.BUILDERS["any_route"]
    assert excluded_note("any_route", api, contract, build) == ""
    route = next(r.route_key for r in contract.routes if r.method == "GET")
    excluded = dataclasses.replace(api, excluded={route: "under repair"})
    note = excluded_note("any_route", excluded, contract, build)
    assert note == f"waived on excluded routes ({route}: under repair)"
    item = ItemResult(
        "test_y[partner b]", "conformance.test_routing", "test_y", "routing", "partner", False, "passed"
    )
    (cell,) = cells({}, [item], {("test_y", "partner"): ("", note)})
    assert cell.state == "passed" and note in cell.detail
