"""Allure results for what pytest does not write: one per load scenario, and one for the gate verdict.

Written with allure-python-commons beside allure-pytest's results so that one report holds all.
Labels put load under its own top-level group ("load"), the verdict under "gate". Charts are also
inlined in the description (as a data: image) because Allure shows attachments collapsed.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import html
import json
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from allure_commons.logger import AllureFileLogger
from allure_commons.model2 import Attachment, Label, Parameter, Status, StatusDetails, TestResult

from reports.charts import per_second_svg
from reports.coverage import cell_text, matrix
from reports.gate import ScenarioResult
from reports.redaction import MARK, MARKUP_SUFFIXES, TextRedactor
from reports.summary import coverage_counts_line

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


def _digest(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()  # noqa: S324 - an id, not security


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def svg_data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


class AllureWriter:
    """Writes results and attachments into one allure-results directory, redacting every text."""

    def __init__(self, results_dir: Path, redactor: TextRedactor) -> None:
        self._logger = AllureFileLogger(str(results_dir))
        self._redact = redactor
        self._files: dict[str, Attachment | None] = {}  # a file shared by many results is written once

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
        """The file as an attachment (None when unreadable); the same path is stored only once."""
        key = str(path.resolve())
        if key not in self._files:
            try:
                body = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                self._files[key] = None
            else:
                self._files[key] = self.attach_text(name, body, path.suffix)
        found = self._files[key]
        return None if found is None else Attachment(name=name, source=found.source, type=found.type)

    def write(self, result: TestResult) -> None:
        result.name = self._redact.text(result.name or "")
        if result.statusDetails is not None and result.statusDetails.message:
            result.statusDetails.message = self._redact.text(result.statusDetails.message)
        if result.descriptionHtml:  # the mark must stay visible text, not become a tag
            result.descriptionHtml = self._redact.text(result.descriptionHtml).replace(
                MARK, html.escape(MARK)
            )
        self._logger.report_result(result)


def scenario_result(writer: AllureWriter, s: ScenarioResult, stage: str, start_ms: int, stop_ms: int) -> None:
    """One Allure result for one load scenario: status from its verdict, parameters, chart, files."""
    title = f"{s.key}: offered, accepted and 429 per second vs token-bucket model"
    svg = writer.redact(per_second_svg(s.per_second, title))
    attachments = [
        writer.attach_text("per-second chart (offered, accepted, 429 vs model)", svg, ".svg"),
        writer.attach_text(
            "observations summary", json.dumps(_observations(s), indent=2, default=str), ".json"
        ),
    ]
    for file in s.files:
        path = Path(file)
        if path.name.endswith("_stats.csv"):
            own = stats_rows(path, s.key)
            if own:
                attachments.append(writer.attach_text(f"Locust stats of {s.key} (CSV)", own, ".csv"))
        attached = writer.attach_file(path, _file_label(path, s.key))
        if attached is not None:
            attachments.append(attached)
    reasons = "; ".join(s.reasons)
    description = (
        f"<p><b>Load scenario {html.escape(s.key)}</b>: verdict <b>{html.escape(s.verdict.upper())}</b></p>"
        + (f"<p>{html.escape(s.detail)}</p>" if s.detail else "")
        + (f"<p>{html.escape(reasons)}</p>" if reasons else "")
        + f'<img alt="per-second chart {html.escape(s.key)}" src="{svg_data_uri(svg)}"/>'
    )
    writer.write(
        TestResult(
            uuid=str(uuid.uuid4()),
            historyId=_digest(f"stagegate.load.{s.key}"),
            testCaseId=_digest(f"stagegate.load.{s.key}"),
            fullName=f"load.{s.api}#{s.scenario}",
            name=f"load {s.key}",
            status=STATUS.get(s.verdict, Status.BROKEN),
            statusDetails=StatusDetails(message=reasons or s.detail or s.verdict),
            descriptionHtml=description,
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


def _file_label(path: Path, key: str) -> str:
    if path.name.endswith(".observations.csv"):
        return "observations: one row per planned request (CSV)"
    whole = "" if path.name.startswith(key) else " (whole run)"
    kind = "HTML report" if path.suffix == ".html" else path.name
    return f"Locust {kind}{whole}"


def stats_rows(path: Path, key: str) -> str:
    """Locust's stats CSV cut to this scenario's rows (named "<api>.<scenario> <route>"), with the header."""
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
        "params": dict(s.params),
        "observations": dict(s.observations),
        "seconds": len(s.per_second),
        "offered": sum(x.offered for x in s.per_second),
        "accepted": sum(x.accepted for x in s.per_second),
        "throttled_429": sum(x.throttled for x in s.per_second),
    }


STATE_COLOUR = {"passed": "#1a7f37", "failed": "#cf222e", "not_exercised": "#9a6700", "waived": "#0969da"}


def _coverage_td(cell: Mapping[str, Any] | None) -> str:
    """One matrix cell in words and colour (the report's font has no emoji)."""
    if cell is None:
        return "<td></td>"
    text = cell_text(cell, plain=True)
    colour = STATE_COLOUR.get(str(cell.get("state")), "#57606a")
    return f'<td style="color:{colour}">{html.escape(text)}</td>'


def coverage_html(gate: Mapping[str, Any]) -> str:
    """The coverage matrix (rules x APIs) for the gate result's description."""
    apis, rows = matrix(list((gate.get("coverage") or {}).get("cells") or ()))
    if not rows:
        return ""
    head = "".join(f"<th>{html.escape(api)}</th>" for api in apis)
    body = "".join(
        f"<tr><td>{html.escape(family)}</td><td>{html.escape(rule.removeprefix('test_'))}</td>"
        + "".join(_coverage_td(by_api.get(api)) for api in apis)
        + "</tr>"
        for family, rule, by_api in rows
    )
    return (
        f"<h3>Coverage (rule x API)</h3><p>{html.escape(coverage_counts_line(gate))}</p>"
        f'<table style="font-size:12px"><tr><th>family</th><th>rule</th>{head}</tr>{body}</table>'
    )


def gate_result(
    writer: AllureWriter,
    gate: Mapping[str, Any],
    scenarios: Sequence[ScenarioResult],
    start_ms: int,
    stop_ms: int,
) -> None:
    """The gate verdict as its own result (group "gate"), with reasons, counts and every load chart."""
    verdict = str(gate["verdict"])
    headline = str(gate.get("headline") or verdict.upper())
    items = "".join(
        f"<li><code>{html.escape(r['rule'])}</code> ({html.escape(r['outcome'])}): "
        f"{html.escape(r['message'])}</li>"
        for r in gate["reasons"]
    )
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in gate.get("notes", ()))
    charts = "".join(
        f"<h4>{html.escape(s.key)}: {html.escape(s.verdict)}</h4>"
        + (f"<p>{html.escape(s.detail)}</p>" if s.detail else "")
        + f'<img alt="per-second chart {html.escape(s.key)}" '
        f'src="{svg_data_uri(writer.redact(per_second_svg(s.per_second, s.key)))}"/>'
        for s in scenarios
    )
    description = (
        f"<h2>Gate verdict: {html.escape(headline)}</h2>"
        f"<p>stage <b>{html.escape(str(gate['stage']))}</b>, exit code {gate['exit_code']}</p>"
        + (f"<h3>Blocking reasons</h3><ul>{items}</ul>" if items else "<p>No blocking reason.</p>")
        + (f"<h3>Notes</h3><ul>{notes}</ul>" if notes else "")
        + coverage_html(gate)
        + (f"<h3>Load charts</h3>{charts}" if charts else "")
    )
    first = gate["reasons"][0]["message"] if gate["reasons"] else "all gate rules hold"
    writer.write(
        TestResult(
            uuid=str(uuid.uuid4()),
            historyId=_digest("stagegate.gate.verdict"),
            testCaseId=_digest("stagegate.gate.verdict"),
            fullName="gate#verdict",
            name=f"Gate verdict: {headline}",
            status=STATUS.get(verdict, Status.BROKEN),
            statusDetails=StatusDetails(message=first),
            descriptionHtml=description,
            start=start_ms,
            stop=stop_ms,
            labels=[
                Label("parentSuite", "gate"),
                Label("feature", "gate"),
                Label("host", str(gate["stage"])),
            ],
            parameters=[Parameter("stage", str(gate["stage"])), Parameter("verdict", headline)],
            attachments=[writer.attach_text("gate.json", json.dumps(gate, indent=2), ".json")],
        )
    )
