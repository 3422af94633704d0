"""PURE renderings of gate.json: summary.md (CI step summary / PR comment) and the console table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reports.coverage import cell_text, matrix

ICON = {"pass": "✅", "fail": "❌", "inconclusive": "⚠️"}
COLUMNS = ("passed", "failed", "errors", "xfailed", "xpassed", "skipped")
DETAIL_WIDTH = 120  # console: one line per scenario; summary.md and gate.json have it all


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _family_rows(gate: Mapping[str, Any]) -> list[tuple[str, Mapping[str, int]]]:
    conformance = gate.get("counts", {}).get("conformance") or {}
    rows = list((conformance.get("families") or {}).items())
    if conformance.get("total"):
        rows.append(("all", conformance["total"]))
    return rows


def _scenario_rows(gate: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    return list(((gate.get("counts", {}).get("load") or {}).get("scenarios") or {}).items())


def scenario_detail(s: Mapping[str, Any]) -> str:
    """Why not pass (the reasons) first, then what happened (the compact detail), for every scenario."""
    reasons, detail = "; ".join(s.get("reasons") or ()), str(s.get("detail") or "")
    if detail.endswith(reasons):  # not applicable: the detail already says why
        return detail
    return f"{reasons} | {detail}" if reasons and detail else reasons or detail


def contract_rows(gate: Mapping[str, Any]) -> list[tuple[str, str, str, str]]:
    """(API, flavor, contract file, sha256) per API; also reads the older {api: sha256} form."""
    apis = (gate.get("contract_digest") or {}).get("apis") or []
    if isinstance(apis, Mapping):
        return [(str(name), "-", "-", str(digest)) for name, digest in apis.items()]
    return [
        (
            str(a.get("name", "?")),
            str(a.get("flavor", "-")),
            str(a.get("contract", "-")),
            str(a.get("sha256", "-")),
        )
        for a in apis
        if isinstance(a, Mapping)
    ]


def _short(digest: str) -> str:
    return digest[: len("sha256:") + 16] if digest.startswith("sha256:") else digest


def _cells(gate: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list((gate.get("coverage") or {}).get("cells") or ())


def coverage_counts_line(gate: Mapping[str, Any]) -> str:
    """`coverage: 85 passed, 2 not exercised, 11 not applicable` ("" before coverage existed)."""
    found = (gate.get("coverage") or {}).get("counts") or {}
    return "coverage: " + ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in found.items()) if found else ""


def coverage_markdown(gate: Mapping[str, Any]) -> list[str]:
    """Rules x APIs: what became of every rule on every API of the stage."""
    apis, rows = matrix(_cells(gate))
    if not rows:
        return []
    lines = [
        "### Coverage (rule x API)",
        "",
        coverage_counts_line(gate)
        + ". Not exercised blocks promotion unless waived in the stage's deviations file.",
        "",
        "| family | rule | " + " | ".join(apis) + " |",
        "|---|---" + "|---" * len(apis) + "|",
    ]
    for family, rule, by_api in rows:
        entries = " | ".join(_cell(cell_text(by_api.get(api))) for api in apis)
        lines.append(f"| {family} | `{rule.removeprefix('test_')}` | {entries} |")
    return [*lines, ""]


def markdown(gate: Mapping[str, Any]) -> str:
    """The summary for a CI step summary or a pull-request comment."""
    verdict = str(gate["verdict"])
    headline = str(gate.get("headline") or verdict.upper())
    digest = str(gate.get("contract_digest", {}).get("combined", "-"))[:19]
    seconds = gate.get("timing", {}).get("seconds", {}).get("total", "-")
    lines = [
        f"## {ICON.get(verdict, '')} stagegate: {headline} on stage `{gate['stage']}`",
        "",
        f"Exit code {gate['exit_code']} · contract `{digest}` · {seconds} s",
        "",
    ]
    if gate["reasons"]:
        lines += ["### What blocks promotion", "", "| rule | outcome | detail |", "|---|---|---|"]
        lines += [f"| `{r['rule']}` | {r['outcome']} | {_cell(r['message'])} |" for r in gate["reasons"]]
        lines.append("")
    else:
        lines += ["No rule blocks promotion.", ""]
    for note in gate.get("notes", ()):
        lines.append(f"> {note}")
    if gate.get("notes"):
        lines.append("")
    rows = _family_rows(gate)
    if rows:
        lines += [
            "### Conformance",
            "",
            "| family | " + " | ".join(COLUMNS) + " |",
            "|---" * (len(COLUMNS) + 1) + "|",
        ]
        lines += [f"| {name} | " + " | ".join(str(c.get(k, 0)) for k in COLUMNS) + " |" for name, c in rows]
        lines.append("")
    scenarios = _scenario_rows(gate)
    if scenarios:
        lines += ["### Load", "", "| scenario | verdict | detail |", "|---|---|---|"]
        for key, s in scenarios:
            lines.append(
                f"| {key} | {ICON.get(s['verdict'], '')} {s['verdict']} | {_cell(scenario_detail(s))} |"
            )
        lines.append("")
    lines += coverage_markdown(gate)
    contracts = contract_rows(gate)
    if contracts:
        lines += ["### Contracts", "", "| API | flavor | contract | sha256 |", "|---|---|---|---|"]
        lines += [f"| {a} | {f} | `{_cell(c)}` | `{_short(d)}` |" for a, f, c, d in contracts]
        lines.append("")
    report = gate.get("report", {})
    if report.get("html"):
        lines.append(f"Report: `{report['html']}` (one self-contained HTML file; open it from disk).")
    elif report.get("note"):
        lines.append(f"Report: {report['note']}")
    return "\n".join(lines) + "\n"


def console_table(gate: Mapping[str, Any]) -> str:
    """The compact final table printed by `make gate`."""
    out = [f"{'part':<28} {'result':<14} detail"]
    for name, c in _family_rows(gate):
        bad = c.get("failed", 0) + c.get("errors", 0) + c.get("xpassed", 0)
        result = "fail" if bad else "pass" if c.get("passed", 0) + c.get("xfailed", 0) else "none ran"
        detail = ", ".join(f"{c.get(k, 0)} {k}" for k in COLUMNS if c.get(k, 0))
        out.append(f"{'conformance/' + name:<28} {result:<14} {detail}")
    for key, s in _scenario_rows(gate):
        detail = scenario_detail(s)
        detail = detail if len(detail) <= DETAIL_WIDTH else detail[: DETAIL_WIDTH - 3] + "..."
        out.append(f"{'load/' + key:<28} {s['verdict']:<14} {detail}")
    for name, part in (gate.get("parts") or {}).items():
        if part.get("state") != "ran":
            out.append(f"{name:<28} {part['state']:<14} {part.get('detail', '')}")
    counts = coverage_counts_line(gate)
    if counts:
        out.append(f"{'coverage (rule x API)':<28} {'':<14} {counts.removeprefix('coverage: ')}")
    return "\n".join(out)
