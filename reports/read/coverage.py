"""Read the coverage of one run: the conformance part's record (coverage.json, written by the
conformance plugin) and the load scenarios' verdicts, as one rule x API matrix (reading is I/O,
the rest is pure).

coverage.json: {"schema": 1, "stage", "cells": [{rule, family, api, state, detail, cases}],
"items": [{name, module, rule, family, api, smoke, outcome, reason}]}; an item whose outcome is
"deselected" was in the catalogue but did not run.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fixtures.cell_states import STATES, CellState
from reports.gate import CoverageCell, ScenarioResult

FILE = "coverage.json"
LOAD_STATE: Mapping[str, CellState] = {
    "pass": "passed",
    "fail": "failed",
    "not_applicable": "not_applicable",
}  # anything else (inconclusive, unknown) could not be judged: not exercised


@dataclass(frozen=True)
class ConformanceCoverage:
    cells: tuple[CoverageCell, ...]
    unselected: int  # catalogue items of the run's selection that did not run
    examples: tuple[str, ...]  # a few of their names


def read_conformance_coverage(path: Path, smoke: bool) -> ConformanceCoverage | None:
    """None when the file is absent or unreadable (the gate then cannot vouch for the scope)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        cells = tuple(_cell(c) for c in data["cells"])
        items = [i for i in data["items"] if isinstance(i, Mapping)]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    selected = [i for i in items if i.get("smoke") or not smoke]
    missing = [str(i.get("name")) for i in selected if i.get("outcome") == "deselected"]
    return ConformanceCoverage(cells, len(missing), tuple(missing[:3]))


def _cell(c: Mapping[str, Any]) -> CoverageCell:
    state = str(c["state"])
    return CoverageCell(
        part="conformance",
        rule=str(c["rule"]),
        family=str(c.get("family", "")),
        api=str(c["api"]),
        state=state if state in STATES else "not_exercised",  # type: ignore[arg-type]
        detail=str(c.get("detail", "")),
        cases=int(c.get("cases", 0)),
    )


def load_cells(scenarios: Sequence[ScenarioResult]) -> tuple[CoverageCell, ...]:
    """One cell per load scenario: an inconclusive one counts as not exercised."""
    return tuple(
        CoverageCell(
            part="load",
            rule=s.scenario,
            family="load",
            api=s.api,
            state=LOAD_STATE.get(s.verdict, "not_exercised"),
            detail="; ".join(s.reasons) or s.detail,
        )
        for s in scenarios
    )


def counts(cells: Sequence[CoverageCell]) -> dict[str, int]:
    found = Counter(c.state for c in cells)
    return {state: found[state] for state in STATES if found[state]}
