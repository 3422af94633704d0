"""The coverage matrix as a table (rules x APIs): rows from gate.json's cells and each cell's text.

Rendering only, shared by the Markdown summary and the Allure coverage page (PURE).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

SYMBOL: Mapping[str, str] = {
    "passed": "✅ passed",
    "failed": "❌ failed",
    "waived": "☑️ waived",
    "not_applicable": "– n/a",
    "not_exercised": "⚠️ not exercised",
    "not_run": "· not run",
}
Row = tuple[str, str, dict[str, Mapping[str, Any]]]


def matrix(cells: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[Row]]:
    """(APIs, rows of (family, rule, api -> cell)) from gate.json's cells: conformance first, then load."""
    apis = sorted({str(c["api"]) for c in cells})
    rows: dict[tuple[bool, str, str], dict[str, Mapping[str, Any]]] = {}
    for c in cells:
        rows.setdefault((c.get("part") == "load", str(c["family"]), str(c["rule"])), {})[str(c["api"])] = c
    return apis, [(family, rule, by_api) for (_, family, rule), by_api in sorted(rows.items())]


def cell_text(cell: Mapping[str, Any] | None, plain: bool = False) -> str:
    """The matrix entry: the state (with a symbol unless plain), and why where the state needs a reason."""
    if cell is None:
        return ""
    state = str(cell.get("state"))
    why = str(cell.get("waiver") or (cell.get("detail") if state != "passed" else ""))
    shown = state.replace("_", " ") if plain else SYMBOL.get(state, state)
    return shown + (f": {why}" if why else "")
