"""PURE renderings of gate.json: summary.md (CI step summary / PR comment) and the console table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reports.write.coverage_table import cell_text, matrix

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


def _digests_line(gate: Mapping[str, Any]) -> str:
    """One sha256 per contract (the contract file's bytes), as in the Contracts table."""
    rows = contract_rows(gate)
    if not rows:
        return ""
    return "contracts " + ", ".join(f"{api} `{_short(digest)}`" for api, _, _, digest in rows)


def history_line(gate: Mapping[str, Any]) -> str:
    verdicts = (gate.get("history") or {}).get("verdicts") or []
    if not verdicts:
        return ""
    shown = ", ".join(str(v).upper() for v in verdicts)
    return f"Earlier runs of this stage (oldest first): {shown}."


def _received_expected(detail: Mapping[str, Any]) -> tuple[str, str]:
    if detail.get("xpass"):
        return "passes now", "the known deviation (a strict xfail) to fail"
    received = str(detail.get("received") or (detail.get("example") or {}).get("message") or "")
    return received, str(detail.get("expected") or "-")


def _cases(detail: Mapping[str, Any]) -> str:
    cases, of = detail.get("cases", 1), detail.get("of", 1)
    verb = "pass" if detail.get("xpass") else "failed"
    return f"{cases} of {of} {verb}" if of else f"{cases} {verb}"


SENT_WIDTH = 160  # the request line and the headers that matter; the report holds the whole exchange


def conformance_rows(reasons: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """One row per rule and cause: the fields a person needs, from each reason's structured detail."""
    rows = []
    for r in reasons:
        d = r.get("detail") or {}
        received, expected = _received_expected(d)
        example = d.get("example") or {}
        report = d.get("report") or {}
        rows.append(
            {
                "gate_rule": str(r["rule"]),
                "rule": str(d.get("test", "")).removeprefix("test_"),
                "family": str(d.get("family", "")),
                "apis": ", ".join(d.get("apis") or ()) or "-",
                "cases": _cases(d),
                "received": received,
                "expected": expected,
                "likely_cause": str(
                    d.get("likely_cause")
                    or ("positive control failed" if d.get("kind") == "control" else "-")
                ),
                "kind": str(d.get("kind", "")),
                "example": str(example.get("case") or example.get("test") or ""),
                "sent": str(example.get("sent") or ""),
                "link": str(report.get("link") or ""),
                "history": str(d.get("history") or ""),
            }
        )
    return rows


def load_rows(reasons: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """One row per failed comparison of a load scenario (which comparison, observed, expected)."""
    rows = []
    for r in reasons:
        d = r.get("detail") or {}
        for c in d.get("checks") or ():
            rows.append(
                {
                    "gate_rule": str(r["rule"]),
                    "scenario": str(d.get("scenario", "")),
                    "group": str(c.get("group", "")),
                    "comparison": str(c.get("comparison", "")),
                    "observed": _fmt_value(c.get("observed")),
                    "expected": _fmt_value(c.get("expected")),
                    "history": str(d.get("history") or ""),
                }
            )
    return rows


def _fmt_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "-" if value is None else str(value)


def _structured(r: Mapping[str, Any]) -> str:
    """ "conformance" | "load" when the reason carries rows of its own, else ""."""
    d = r.get("detail") or {}
    if d.get("type") == "conformance":
        return "conformance"
    if d.get("type") == "load" and d.get("checks"):
        return "load"
    return ""


def reasons_markdown(gate: Mapping[str, Any]) -> list[str]:
    """What blocks promotion: per gate rule, a table of grouped failures, else the message."""
    reasons = list(gate.get("reasons") or ())
    if not reasons:
        return ["No rule blocks promotion.", ""]
    lines = ["### What blocks promotion", ""]
    by_rule: dict[str, list[Mapping[str, Any]]] = {}
    for r in reasons:
        by_rule.setdefault(str(r["rule"]), []).append(r)
    for rule, found in by_rule.items():
        outcome = found[0]["outcome"]
        table = [r for r in found if _structured(r)]
        plain = [r for r in found if not _structured(r)]
        if table and _structured(table[0]) == "conformance":
            cases = sum(int((r.get("detail") or {}).get("cases", 1)) for r in table)
            lines += [
                f"**`{rule}`** ({outcome}): {cases} case{'s' if cases > 1 else ''}, "
                f"{len(table)} row{'s' if len(table) > 1 else ''} (one per rule and cause)",
                "",
                "| rule | API | cases | sent | received | expected | likely cause |",
                "|---|---|---|---|---|---|---|",
            ]
            for row in conformance_rows(table):
                where = f"<br>e.g. `{_cell(row['example'])}`" if row["example"] else ""
                where += f" · {row['link']}" if row["link"] else ""
                where += f"<br>{_cell(row['history'])}" if row["history"] else ""
                lines.append(
                    f"| `{row['rule']}` ({row['family']}){where} | {row['apis']} | {row['cases']} "
                    f"| {_cell(_clip(row['sent'], SENT_WIDTH)) or '-'} "
                    f"| {_cell(row['received'])} | {_cell(row['expected'])} | {_cell(row['likely_cause'])} |"
                )
            lines.append("")
        elif table:
            lines += [
                f"**`{rule}`** ({outcome})",
                "",
                "| scenario | failed comparison | observed | expected |",
                "|---|---|---|---|",
            ]
            for row in load_rows(table):
                history = f"<br>{_cell(row['history'])}" if row["history"] else ""
                lines.append(
                    f"| `{row['scenario']}` {_cell(row['group'])}{history} | {_cell(row['comparison'])} "
                    f"| {_cell(row['observed'])} | {_cell(row['expected'])} |"
                )
            lines.append("")
        for r in plain:
            lines.append(f"- **`{rule}`** ({outcome}): {_cell(r['message'])}")
        if plain:
            lines.append("")
    return lines


def markdown(gate: Mapping[str, Any]) -> str:
    """The summary for a CI step summary or a pull-request comment."""
    verdict = str(gate["verdict"])
    headline = str(gate.get("headline") or verdict.upper())
    seconds = gate.get("timing", {}).get("seconds", {}).get("total", "-")
    head = " · ".join(p for p in (f"Exit code {gate['exit_code']}", f"{seconds} s", _digests_line(gate)) if p)
    lines = [f"## {ICON.get(verdict, '')} stagegate: {headline} on stage `{gate['stage']}`", "", head, ""]
    if history_line(gate):
        lines += [history_line(gate), ""]
    lines += reasons_markdown(gate)
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
        lines += [
            "### Contracts",
            "",
            "The sha256 of each contract file, as the run read it.",
            "",
            "| API | flavor | contract | sha256 |",
            "|---|---|---|---|",
        ]
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


CONSOLE_WIDTH = 150


def _clip(text: str, width: int = CONSOLE_WIDTH) -> str:
    """One console line: inner whitespace collapsed (the indent kept), cut to width."""
    indent = text[: len(text) - len(text.lstrip())]
    text = indent + " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def _console_conformance(outcome: str, r: Mapping[str, Any]) -> list[str]:
    row = conformance_rows([r])[0]
    where = f"({row['apis']}: {row['cases']})"
    lines = [f"  {outcome} [{row['gate_rule']}] {row['family']} {row['rule']} {where}"]
    lines += [f"      sent {_clip(row['sent'], SENT_WIDTH)}"] if row["sent"] else []
    lines += [f"      received {row['received']}", f"      expected {row['expected']}"]
    lines += [f"      likely cause: {row['likely_cause']}"] if row["likely_cause"] != "-" else []
    lines += [f"      history: {row['history']}"] if row["history"] else []
    return lines


def _console_load(outcome: str, r: Mapping[str, Any]) -> list[str]:
    rows = load_rows([r])
    lines = [f"  {outcome} [{r['rule']}] {rows[0]['scenario']}"]
    for row in rows:
        found = f"{row['observed']}, expected {row['expected']}"
        lines.append(f"      {row['comparison']} ({row['group']}): {found}")
    return lines


def console_reasons(gate: Mapping[str, Any], limit: int = 10, summary: str = "summary.md") -> str:
    """Every blocking reason, compact: grouped failures with received / expected / likely cause."""
    out: list[str] = []
    reasons = list(gate.get("reasons") or ())
    for r in reasons[:limit]:
        outcome, kind = str(r["outcome"]).upper(), _structured(r)
        if kind == "conformance":
            out += [_clip(line) for line in _console_conformance(outcome, r)]
        elif kind == "load":
            out += [_clip(line) for line in _console_load(outcome, r)]
        else:
            out.append(_clip(f"  {outcome} [{r['rule']}] {r['message']}", 200))
    if len(reasons) > limit:
        out.append(f"  ... and {len(reasons) - limit} more reasons (all in {summary})")
    return "\n".join(out)
