"""Build the gate's outputs from result files alone: gate.json, summary.md, Allure results, report.html.

read (reports/read/) -> evaluate (reports/gate.py) -> write (reports/write/). `python -m
reports.build --stage NAME` rebuilds out/NAME/ from the files a previous run left (e.g. to render
the HTML once node is installed); `reports.run` calls `build()` after both parts.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from reports.gate import Decision, GateInputs, Part, apply_waivers, config_errors, evaluate, scope_gaps
from reports.read.conformance import read_conformance
from reports.read.coverage import FILE as COVERAGE_FILE
from reports.read.coverage import load_cells, read_conformance_coverage
from reports.read.load import read_load
from reports.read.previous import info_from_previous
from reports.run_info import ROOT, RunInfo
from reports.write.allure import (
    AllureWriter,
    conformance_refs,
    coverage_result,
    gate_result,
    remove_own_results,
    scenario_result,
)
from reports.write.allure_tidy import tidy_fixtures
from reports.write.gate_json import FILE as GATE_FILE
from reports.write.gate_json import gate_document, write_gate_json
from reports.write.history import HISTORY_FILE, annotate, read_history
from reports.write.html import HtmlOutcome, render
from reports.write.redaction import TextRedactor, make_redactor, redact_tree, redaction_of_stage_file, sweep
from reports.write.summary import markdown


@dataclass(frozen=True)
class Built:
    decision: Decision
    gate: dict[str, Any]
    html: HtmlOutcome
    gate_json: Path


def read_inputs(info: RunInfo, out_dir: Path) -> GateInputs:
    """Every result file under out_dir, read into what the gate decides on."""
    conformance_part, conformance = info.conformance_part, None
    if conformance_part.state in ("ran", "aborted"):
        try:
            conformance = read_conformance(
                out_dir / "junit.xml", out_dir / "allure-results", info.conformance_exit
            )
        except ValueError as exc:  # a truncated junit.xml (killed run): the part did not finish
            conformance_part = Part("aborted", str(exc))
    load = read_load(out_dir / "load", info.load_exit) if info.load_part.state in ("ran", "aborted") else None
    recorded = read_conformance_coverage(out_dir / COVERAGE_FILE, info.smoke)
    cells = apply_waivers(
        (recorded.cells if recorded else ()) + load_cells(load.scenarios if load else ()), info.waivers
    )
    narrowed = scope_gaps(
        info.gate_scope, info.smoke, info.load_part.state == "skipped_by_request",
        recorded.unselected if recorded else 0, info.without_load,
        ", ".join(load.selection) if load else "",
    )  # fmt: skip
    if info.unreachable:  # nothing ran: stage.unreachable says why, the scope is moot
        narrowed = ()
    unverified: tuple[str, ...] = ()
    if conformance is not None and recorded is None:
        unverified = ("the conformance part left no coverage record (coverage.json): what ran is unchecked",)
    return GateInputs(
        conformance_part=conformance_part,
        load_part=info.load_part,
        conformance=conformance,
        load=load,
        unreachable=info.unreachable,
        config_errors=config_errors(info.conformance_exit, info.load_exit),
        coverage=cells,
        narrowed=narrowed,
        unverified=unverified,
        drift=info.drift,
        drift_error=info.drift_error,
    )


def build(info: RunInfo, out_dir: Path, root: Path = ROOT, render_html: bool = True) -> Built:
    """Read results, decide, write every output under out_dir (all redacted), render the HTML."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "allure-results").mkdir(exist_ok=True)
    inputs = read_inputs(info, out_dir)
    decision = evaluate(inputs)
    return write_outputs(info, inputs, decision, out_dir, root, render_html)


def write_outputs(
    info: RunInfo, inputs: GateInputs, decision: Decision, out_dir: Path, root: Path, render_html: bool
) -> Built:
    """gate.json, summary.md, the gate's Allure results and report.html, every one redacted."""
    redactor = make_redactor(info.secrets, info.sensitive_headers)
    results_dir = out_dir / "allure-results"
    now_ms = int(time.time() * 1000)
    start_ms = int((info.started or time.time()) * 1000)
    document = gate_document(info, inputs, decision, info.finished or time.time())
    annotate(document, read_history(out_dir / HISTORY_FILE, start_ms))  # each reason's earlier runs
    gate = redact_tree(document, redactor)
    _write_allure(info, inputs, gate, results_dir, redactor, start_ms, now_ms)
    sweep(out_dir, redactor)  # pytest's and Locust's files too, before they reach the HTML
    html = HtmlOutcome(None, "HTML report not rendered (--no-html)")
    if render_html:
        name = f"stagegate {info.stage}: {decision.verdict.upper()}"
        # A rebuild of an earlier run (info.finished set) reads the history but does not add to it.
        history = out_dir / HISTORY_FILE
        html = render(
            results_dir, out_dir / "report.html", name, root, info.stage, history, not info.finished
        )
    shown = html.path.relative_to(root) if html.path and html.path.is_relative_to(root) else html.path
    gate["report"] = {"html": str(shown) if shown else None, "note": html.note, "missed": list(html.missed)}
    gate_json = write_gate_json(out_dir, gate, redactor)
    (out_dir / "summary.md").write_text(redactor.text(markdown(gate)), encoding="utf-8")
    sweep(out_dir, redactor)
    return Built(decision, gate, html, gate_json)


def _write_allure(
    info: RunInfo,
    inputs: GateInputs,
    gate: dict[str, Any],
    results_dir: Path,
    redactor: TextRedactor,
    start_ms: int,
    now_ms: int,
) -> None:
    """One result per load scenario, the coverage page and the verdict, beside pytest's results."""
    remove_own_results(results_dir)
    tidy_fixtures(results_dir)  # fixture plumbing out of the conformance results
    writer = AllureWriter(results_dir, redactor)
    scenarios = inputs.load.scenarios if inputs.load else ()
    load_refs = {s.key: scenario_result(writer, s, info.stage, start_ms, now_ms) for s in scenarios}
    refs = conformance_refs(results_dir)
    coverage_page = coverage_result(writer, gate, refs, load_refs, start_ms, now_ms)
    gate_result(writer, gate, scenarios, start_ms, now_ms, load_refs, coverage_page)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reports.build", description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="local", help="stage name: rebuilds out/<stage>/")
    parser.add_argument("--out", default=None, help="results directory (default out/<stage>)")
    args = parser.parse_args(argv)
    out_dir = Path(args.out) if args.out else ROOT / "out" / args.stage
    previous = out_dir / GATE_FILE
    if not previous.is_file():
        print(f"stagegate: no {previous}: run the gate first (make gate STAGE={args.stage})", file=sys.stderr)
        return 2
    try:
        gate = json.loads(previous.read_text(encoding="utf-8"))
        secrets, headers = redaction_of_stage_file(gate.get("stage_file", ""))
        info = info_from_previous(gate, secrets)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:  # a damaged gate.json: one line
        print(f"stagegate: {previous} cannot be read back ({type(exc).__name__}): run the gate again",
              file=sys.stderr)  # fmt: skip
        return 2
    built = build(replace(info, sensitive_headers=headers), out_dir)
    print(f"stagegate: {built.decision.verdict.upper()} ({built.gate_json})")
    print(f"report: {built.html.path}" if built.html.path else built.html.note)
    return built.decision.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
