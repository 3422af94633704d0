"""Allure results for what pytest does not write: one per load scenario, the gate verdict, and the
coverage page.

Written with allure-python-commons beside allure-pytest's results so that one report holds all.
Labels put load under its own top-level group ("load"), the verdict and the coverage page under
"gate". Charts are shown in the description as a data: image (Allure shows attachments collapsed;
its sanitizer drops inline <svg>) and attached too. Allure 3 uses an attachment file for ONE
result only (a second reference shows as "missed"): each result gets its own copies, and
Locust's whole-run files (stats, failures, HTML) are attached once, to the gate verdict; each
scenario gets its own rows of them.

Links between results: the report's descriptions are sandboxed frames (no link leaves them), and
Allure shows a result's Links only for absolute http(s) addresses. So the pages name each result
by its place in the tree (conformance > test_<family> > <rule>; load > <api> > <scenario>), and
when the address where the report is published is known (STAGEGATE_REPORT_URL, e.g. the CI
artifact's URL) every coverage cell and every blocking reason also links to its result.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import html
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from allure_commons.logger import AllureFileLogger
from allure_commons.model2 import Attachment, Label, Link, Parameter, Status, StatusDetails, TestResult

from reports.allure_ids import fragment, report_url
from reports.gate import ScenarioResult
from reports.write.charts import chart_name, scenario_svg
from reports.write.coverage_table import cell_text, matrix
from reports.write.redaction import MARK, MARKUP_SUFFIXES, TextRedactor
from reports.write.summary import conformance_rows, coverage_counts_line, history_line, load_rows

# Anything else: broken (could not decide). Not applicable: nothing to judge on this stage.
STATUS = {"pass": Status.PASSED, "fail": Status.FAILED, "not_applicable": Status.SKIPPED}
PARAM_LABELS = (
    ("rate", "rate"),
    ("burst", "burst"),
    ("quota", "quota"),
    ("offered_rate", "offered rate"),
    ("achieved_rate", "achieved rate"),
    ("fitted_rate", "fitted rate"),
    ("fitted_burst", "fitted burst"),
    ("power_margin", "power margin"),
    ("power_required_margin", "power margin needed"),
    ("power_requests", "requests (power)"),
)
MIME = {".csv": "text/csv", ".html": "text/html", ".json": "application/json", ".svg": "image/svg+xml"}
COVERAGE_FULL_NAME = "gate#coverage"
VERDICT_FULL_NAME = "gate#verdict"
OWN_RESULTS = ("load.", "gate#")  # fullName prefixes of the results this module writes
COVERAGE_TITLE = "Coverage (rule x API)"
LINK_FIRST = ("failed", "not_exercised", "waived", "not_run", "passed", "not_applicable")


def _digest(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()  # noqa: S324 - an id, not security


def _link(target: str, name: str) -> Link | None:
    """A link to a result (target: its #/<id>), when the report's address is known."""
    base = report_url()
    return Link("link", base + target, name) if base and target.startswith("#/") else None


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def _e(value: Any) -> str:
    return html.escape(str(value))


def remove_own_results(results_dir: Path) -> None:
    """Drop results (and their attachments) a previous build wrote, so a rebuild does not duplicate them."""
    for path in results_dir.glob("*-result.json"):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if str(data.get("fullName", "")).startswith(OWN_RESULTS):
            for attachment in data.get("attachments", []):
                (results_dir / str(attachment.get("source", "x"))).unlink(missing_ok=True)
            path.unlink(missing_ok=True)


def _gate_labels(stage: str) -> list[Label]:
    """The verdict and the coverage page: under "gate" in the tree, on the stage's host."""
    return [Label("parentSuite", "gate"), Label("feature", "gate"), Label("host", stage)]


def svg_data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def chart_img(s: ScenarioResult, svg: str) -> str:
    """The chart as an image in a description (alt text names the scenario and the chart)."""
    return (
        f'<img class="chart" data-scenario="{_e(s.key)}" alt="{_e(chart_name(s))} of {_e(s.key)}" '
        f'style="max-width:100%;height:auto" src="{svg_data_uri(svg)}"/>'
    )


class AllureWriter:
    """Writes results and attachments into one allure-results directory, redacting every text."""

    def __init__(self, results_dir: Path, redactor: TextRedactor) -> None:
        self._logger = AllureFileLogger(str(results_dir))
        self._redact = redactor

    def redact(self, text: str) -> str:
        return self._redact.text(text)

    def attach_text(self, name: str, body: str, suffix: str) -> Attachment:
        source = f"{uuid.uuid4()}-attachment{suffix}"
        clean = self._redact.text(body)
        if suffix in MARKUP_SUFFIXES:  # the mark must stay text, not become a tag
            clean = clean.replace(MARK, html.escape(MARK))
        self._logger.report_attached_data(clean, source)
        return Attachment(name=name, source=source, type=MIME.get(suffix, "text/plain"))

    def attach_file(self, path: Path, name: str) -> Attachment | None:
        """The file as this result's own attachment (None when unreadable): Allure 3 shows a file
        referenced by a second result as "missed", so a file is attached to one result only."""
        try:
            body = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
        return self.attach_text(name, body, path.suffix)

    def write(self, result: TestResult) -> None:
        result.name = self._redact.text(result.name or "")
        if result.statusDetails is not None and result.statusDetails.message:
            result.statusDetails.message = self._redact.text(result.statusDetails.message)
        if result.descriptionHtml:  # the mark must stay visible text, not become a tag
            result.descriptionHtml = self._redact.text(result.descriptionHtml).replace(
                MARK, html.escape(MARK)
            )
        self._logger.report_result(result)


def whole_run(path: Path, key: str) -> bool:
    """A file of the whole Locust run (not this scenario's own): attached once, to the gate verdict."""
    return not path.name.startswith(key)


def _checks_html(s: ScenarioResult) -> str:
    if not s.checks:
        return ""
    rows = "".join(
        f"<tr><td>{_e(c.get('group', ''))}</td><td>{_e(c.get('comparison', ''))}</td>"
        f"<td>{_e(_fmt(c.get('observed')))}</td><td>{_e(_fmt(c.get('expected')))}</td></tr>"
        for c in s.checks
    )
    return (
        f'<h4>Failed comparisons</h4><table class="sg" style="{TABLE_STYLE}"><tr><th>group</th>'
        f"<th>comparison</th><th>observed</th><th>expected</th></tr>{rows}</table>"
    )


def scenario_result(writer: AllureWriter, s: ScenarioResult, stage: str, start_ms: int, stop_ms: int) -> str:
    """One Allure result for one load scenario: status from its verdict, parameters, chart, files.

    Returns the result's uuid (the report's address of the scenario)."""
    svg = writer.redact(scenario_svg(s))
    attachments = [
        writer.attach_text(chart_name(s), svg, ".svg"),
        writer.attach_text(
            "observations summary", json.dumps(_observations(s), indent=2, default=str), ".json"
        ),
    ]
    for file in s.files:
        path = Path(file)
        if whole_run(path, s.key):
            own = rows_of(path, s.key) if path.suffix == ".csv" else ""
            if own:
                kind = "failures" if "failures" in path.name else "stats"
                attachments.append(writer.attach_text(f"Locust {kind} of {s.key} (CSV)", own, ".csv"))
            continue
        attached = writer.attach_file(path, _file_label(path, s.key))
        if attached is not None:
            attachments.append(attached)
    reasons = "; ".join(s.reasons)
    description = (
        f"<p><b>Load scenario {_e(s.key)}</b>: verdict <b>{_e(s.verdict.upper())}</b></p>"
        + (f"<p>{_e(s.detail)}</p>" if s.detail else "")
        + _checks_html(s)
        + (f"<p>{_e(reasons)}</p>" if reasons else "")
        + chart_img(s, svg)
    )
    result_uuid = str(uuid.uuid4())
    writer.write(
        TestResult(
            uuid=result_uuid,
            historyId=_digest(f"stagegate.load.{s.key}"),
            testCaseId=_digest(f"stagegate.load.{s.key}"),
            fullName=f"load.{s.api}#{s.scenario}",
            name=f"load {s.key}",
            status=STATUS.get(s.verdict, Status.BROKEN),
            statusDetails=StatusDetails(message=reasons or s.detail or s.verdict),
            descriptionHtml=_wrapping(description),
            start=start_ms,
            stop=stop_ms,
            labels=[
                Label("parentSuite", "load"),
                Label("suite", s.api),
                Label("subSuite", s.scenario),
                Label("feature", "load"),
                Label("story", s.scenario),
                Label("tag", "load"),
                Label("host", stage),
                Label("framework", "locust"),
            ],
            parameters=[Parameter(label, _fmt(s.params.get(key))) for key, label in PARAM_LABELS],
            attachments=attachments,
        )
    )
    return result_uuid


def _file_label(path: Path, key: str) -> str:
    if path.name.endswith(".observations.csv"):
        return "observations: one row per planned request (CSV)"
    whole = "" if key and path.name.startswith(key) else " (whole run)"
    kind = "HTML report" if path.suffix == ".html" else path.name
    return f"Locust {kind}{whole}"


def rows_of(path: Path, key: str) -> str:
    """A Locust CSV (stats, failures) cut to this scenario's rows (named "<api>.<scenario> <route>")."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return ""
    if not lines:
        return ""
    try:
        column = next(csv.reader([lines[0]])).index("Name")
    except ValueError:
        return ""
    mine = [line for line in lines[1:] if _field(line, column).startswith(f"{key} ")]
    return "\n".join([lines[0], *mine]) + "\n" if mine else ""


def _field(line: str, column: int) -> str:
    row = next(csv.reader([line]), [])
    return row[column] if column < len(row) else ""


def _observations(s: ScenarioResult) -> dict[str, Any]:
    return {
        "scenario": s.key,
        "verdict": s.verdict,
        "detail": s.detail,
        "reasons": list(s.reasons),
        "checks": [dict(c) for c in s.checks],
        "params": dict(s.params),
        "observations": dict(s.observations),
        "seconds": len(s.per_second),
        "offered": sum(x.offered for x in s.per_second),
        "accepted": sum(x.accepted for x in s.per_second),
        "throttled_429": sum(x.throttled for x in s.per_second),
    }


# Tables fit the description's width: Allure's description style makes a table a scrolling block
# of unwrapped cells, and its sanitizer drops <style>: the gate's tables and cells say otherwise inline.
TABLE_STYLE = "display:table;font-size:12px;table-layout:fixed;width:100%;overflow-wrap:anywhere"
CELL_STYLE = "white-space:normal;overflow-wrap:anywhere;vertical-align:top;padding:4px 6px"
_CELL = re.compile(r"<(td|th)((?:\s[^>]*)?)>")


def _wrapping(table: str) -> str:
    """Every cell of the table wraps its text (its own style, if any, kept after)."""

    def cell(match: re.Match[str]) -> str:
        tag, attrs = match.group(1), match.group(2)
        own = ' style="'
        if own in attrs:
            return "<" + tag + attrs.replace(own, own + CELL_STYLE + ";", 1) + ">"
        return f'<{tag}{attrs} style="{CELL_STYLE}">'

    return _CELL.sub(cell, table)


STATE_COLOUR = {"passed": "#1a7f37", "failed": "#cf222e", "not_exercised": "#9a6700", "waived": "#0969da"}


def _coverage_td(cell: Mapping[str, Any] | None) -> str:
    """One matrix cell in words and colour (the report's font has no emoji)."""
    if cell is None:
        return "<td></td>"
    text = cell_text(cell, plain=True)
    state = str(cell.get("state"))
    colour = STATE_COLOUR.get(state, "#57606a")
    return f'<td data-state="{_e(state)}" style="color:{colour}">{_e(text)}</td>'


def coverage_html(gate: Mapping[str, Any]) -> str:
    """The coverage matrix (rules x APIs): the coverage page's description."""
    apis, rows = matrix(list((gate.get("coverage") or {}).get("cells") or ()))
    if not rows:
        return ""
    head = "".join(f"<th>{_e(api)}</th>" for api in apis)
    body = "".join(
        f"<tr><td>{_e(family)}</td><td>{_e(rule.removeprefix('test_'))}</td>"
        + "".join(_coverage_td(by_api.get(api)) for api in apis)
        + "</tr>"
        for family, rule, by_api in rows
    )
    return (
        f"<h3>{COVERAGE_TITLE}</h3><p>{_e(coverage_counts_line(gate))}</p>"
        "<p>Every rule on every API of the stage: passed, failed, waived, not applicable, not "
        "exercised (blocks unless waived), not run. A rule's results are in the tree under "
        "conformance &gt; test_&lt;family&gt; &gt; &lt;rule&gt; (load &gt; &lt;api&gt; &gt; "
        f"&lt;scenario&gt;){'; the Links above open each cell' if report_url() else ''}.</p>"
        f'<table class="sg coverage" style="{TABLE_STYLE}"><tr><th style="width:9%">family</th>'
        f'<th style="width:31%">rule</th>{head}</tr>{body}</table>'
    )


@dataclass(frozen=True)
class ResultRef:
    """An Allure result the gate's pages link to."""

    status: str
    name: str
    uuid: str


def conformance_refs(results_dir: Path) -> dict[tuple[str, str], list[ResultRef]]:
    """(rule, API) -> the conformance results of that rule on that API (allure-pytest's files)."""
    out: dict[tuple[str, str], list[ResultRef]] = {}
    for path in sorted(results_dir.glob("*-result.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        full_name = str(data.get("fullName", ""))
        if not full_name.startswith("conformance.") or "#" not in full_name:
            continue
        labels = {
            lab.get("name"): lab.get("value") for lab in data.get("labels", []) if isinstance(lab, dict)
        }
        rule = full_name.split("#", 1)[1]
        ref = ResultRef(str(data.get("status", "")), str(data.get("name", "")), str(data.get("uuid", "")))
        out.setdefault((rule, str(labels.get("epic", ""))), []).append(ref)
    return out


def _first(refs: Sequence[ResultRef]) -> ResultRef | None:
    """A failed result first, else the first one."""
    bad = [r for r in refs if r.status in ("failed", "broken")]
    return next(iter(bad or refs), None)


def coverage_links(
    gate: Mapping[str, Any], refs: Mapping[tuple[str, str], Sequence[ResultRef]], load: Mapping[str, str]
) -> list[Link]:
    """One link per rule x API that has a result: failed and not exercised first."""
    cells = [c for c in (gate.get("coverage") or {}).get("cells") or () if isinstance(c, Mapping)]
    order = {state: i for i, state in enumerate(LINK_FIRST)}
    links = []
    for c in sorted(cells, key=lambda c: (order.get(str(c.get("state")), 9), str(c.get("rule")))):
        rule, api, state = str(c.get("rule")), str(c.get("api")), str(c.get("state")).replace("_", " ")
        if c.get("part") == "load":
            target = load.get(f"{api}.{rule}")
        else:
            found = _first(refs.get((rule, api), ()))
            target = found.uuid if found else None
        link = _link(fragment(target), f"{state}: {rule.removeprefix('test_')} [{api}]") if target else None
        if link is not None:
            links.append(link)
    return links


def coverage_result(
    writer: AllureWriter,
    gate: Mapping[str, Any],
    refs: Mapping[tuple[str, str], Sequence[ResultRef]],
    load: Mapping[str, str],
    start_ms: int,
    stop_ms: int,
) -> str | None:
    """The coverage page: the rule x API matrix, linking to every cell's results (None: no matrix)."""
    description = coverage_html(gate)
    if not description:
        return None
    found = (gate.get("coverage") or {}).get("counts") or {}
    status = (
        Status.FAILED
        if found.get("failed")
        else Status.BROKEN
        if found.get("not_exercised")
        else Status.PASSED
    )
    result_uuid = str(uuid.uuid4())
    writer.write(
        TestResult(
            uuid=result_uuid,
            historyId=_digest("stagegate.gate.coverage"),
            testCaseId=_digest("stagegate.gate.coverage"),
            fullName=COVERAGE_FULL_NAME,
            name=COVERAGE_TITLE,
            status=status,
            statusDetails=StatusDetails(message=coverage_counts_line(gate)),
            descriptionHtml=_wrapping(description),
            start=start_ms,
            stop=stop_ms,
            labels=_gate_labels(str(gate["stage"])),
            parameters=[Parameter("stage", str(gate["stage"]))],
            links=coverage_links(gate, refs, load),
        )
    )
    return result_uuid


def _td(text: str) -> str:
    return f"<td>{_e(text)}</td>"


def reasons_html(gate: Mapping[str, Any]) -> str:
    """Blocking reasons: grouped failures with received / expected / likely cause, load comparisons."""
    reasons = list(gate.get("reasons") or ())
    if not reasons:
        return "<p>No blocking reason.</p>"
    conformance = [r for r in reasons if (r.get("detail") or {}).get("type") == "conformance"]
    load = [r for r in reasons if (r.get("detail") or {}).get("checks")]
    other = [r for r in reasons if r not in conformance and r not in load]
    parts = ["<h3>Blocking reasons</h3>"]
    if conformance:
        rows = "".join(
            f'<tr class="reason" data-rule="{_e(row["rule"])}"><td><code>{_e(row["gate_rule"])}</code><br>'
            f"<b>{_e(row['rule'])}</b> ({_e(row['family'])})"
            + (f"<br>e.g. {_e(row['example'])}" if row["example"] else "")
            + (f"<br><i>{_e(row['history'])}</i>" if row["history"] else "")
            + "</td>"
            + _td(row["apis"])
            + _td(row["cases"])
            + f'<td class="received">{_e(row["received"])}</td>'
            + f'<td class="expected">{_e(row["expected"])}</td>'
            + f'<td class="cause">{_e(row["likely_cause"])}</td></tr>'
            for row in conformance_rows(conformance)
        )
        parts.append(
            f'<table class="sg reasons" style="{TABLE_STYLE}"><tr><th style="width:24%">rule</th>'
            '<th style="width:8%">API</th><th style="width:8%">cases</th>'
            f"<th>received</th><th>expected</th><th>likely cause</th></tr>{rows}</table>"
            "<p>Each row's example result: in the tree under conformance &gt; test_&lt;family&gt; "
            f"&gt; &lt;rule&gt;{' and in the Links above' if report_url() else ''}.</p>"
        )
    if load:
        rows = "".join(
            f"<tr><td><code>{_e(row['gate_rule'])}</code> {_e(row['scenario'])}"
            + (f"<br><i>{_e(row['history'])}</i>" if row["history"] else "")
            + "</td>"
            + "".join(_td(row[k]) for k in ("group", "comparison", "observed", "expected"))
            + "</tr>"
            for row in load_rows(load)
        )
        parts.append(
            f'<table class="sg load-reasons" style="{TABLE_STYLE}"><tr><th>scenario</th><th>group</th>'
            f"<th>failed comparison</th><th>observed</th><th>expected</th></tr>{rows}</table>"
        )
    if other:
        items = "".join(
            f"<li><code>{_e(r['rule'])}</code> ({_e(r['outcome'])}): {_e(r['message'])}</li>" for r in other
        )
        parts.append(f"<ul>{items}</ul>")
    return "".join(parts)


def _reason_links(gate: Mapping[str, Any], load: Mapping[str, str]) -> list[Link]:
    links = []
    for r in gate.get("reasons") or ():
        d = r.get("detail") or {}
        if d.get("type") == "conformance":
            link = str((d.get("report") or {}).get("link") or "")
            if "#" in link:
                case = (d.get("example") or {}).get("case")
                name = f"{str(d.get('test', '')).removeprefix('test_')}: e.g. {case}"
                links.append(_link("#" + link.split("#", 1)[1], name))
        elif d.get("type") == "load" and str(d.get("scenario")) in load:
            links.append(_link(fragment(load[str(d["scenario"])]), f"load {d['scenario']}"))
    return [link for link in links if link is not None]


def gate_result(
    writer: AllureWriter,
    gate: Mapping[str, Any],
    scenarios: Sequence[ScenarioResult],
    start_ms: int,
    stop_ms: int,
    load: Mapping[str, str] | None = None,
    coverage: str | None = None,
) -> None:
    """The gate verdict as its own result (group "gate"): reasons, history, every load chart, and
    Locust's whole-run files (attached here once)."""
    verdict = str(gate["verdict"])
    headline = str(gate.get("headline") or verdict.upper())
    notes = "".join(f"<li>{_e(n)}</li>" for n in gate.get("notes", ()))
    charts = "".join(
        f"<h4>{_e(s.key)}: {_e(s.verdict)}</h4>"
        + (f"<p>{_e(s.detail)}</p>" if s.detail else "")
        + chart_img(s, writer.redact(scenario_svg(s)))
        for s in scenarios
    )
    history = history_line(gate)
    counts = coverage_counts_line(gate)
    description = (
        f"<h2>Gate verdict: {_e(headline)}</h2>"
        f"<p>stage <b>{_e(gate['stage'])}</b>, exit code {gate['exit_code']}</p>"
        + (f'<p class="history">{_e(history)}</p>' if history else "")
        + reasons_html(gate)
        + (f"<h3>Notes</h3><ul>{notes}</ul>" if notes else "")
        + (
            f"<h3>{COVERAGE_TITLE}</h3><p>{_e(counts)}: the matrix is the result "
            f"{COVERAGE_TITLE!r} in this group (gate).</p>"
            if counts
            else ""
        )
        + (f"<h3>Load charts</h3>{charts}" if charts else "")
    )
    first = gate["reasons"][0]["message"] if gate["reasons"] else "all gate rules hold"
    attachments = [writer.attach_text("gate.json", json.dumps(gate, indent=2), ".json")]
    for path in dict.fromkeys(Path(f) for s in scenarios for f in s.files if whole_run(Path(f), s.key)):
        attached = writer.attach_file(path, _file_label(path, ""))
        if attached is not None:
            attachments.append(attached)
    links = _reason_links(gate, load or {})
    page = _link(fragment(coverage), COVERAGE_TITLE) if coverage else None
    links += [page] if page else []
    writer.write(
        TestResult(
            uuid=str(uuid.uuid4()),
            historyId=_digest("stagegate.gate.verdict"),
            testCaseId=_digest("stagegate.gate.verdict"),
            fullName=VERDICT_FULL_NAME,
            name=f"Gate verdict: {headline}",
            status=STATUS.get(verdict, Status.BROKEN),
            statusDetails=StatusDetails(message=first),
            descriptionHtml=_wrapping(description),
            start=start_ms,
            stop=stop_ms,
            labels=_gate_labels(str(gate["stage"])),
            parameters=[Parameter("stage", str(gate["stage"])), Parameter("verdict", headline)],
            attachments=attachments,
            links=links,
        )
    )
