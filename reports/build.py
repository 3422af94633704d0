"""Build the gate's outputs from result files alone: gate.json, summary.md, Allure results, report.html.

`python -m reports.build --stage NAME` rebuilds out/NAME/ from the files a previous run left
(e.g. to render the HTML once node is installed); `reports.run` calls `build()` after both parts.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reports.gate import (
    DRIFT_RULE,
    DRIFT_UNCHECKED_RULE,
    POLICY,
    Decision,
    GateInputs,
    Part,
    Reason,
    apply_waivers,
    config_errors,
    evaluate,
    scope_gaps,
    stale_waivers,
)
from reports.read.conformance import read_conformance
from reports.read.coverage import FILE as COVERAGE_FILE
from reports.read.coverage import counts, load_cells, read_conformance_coverage
from reports.read.load import read_load
from reports.write.allure import AllureWriter, conformance_refs, coverage_result, gate_result, scenario_result
from reports.write.allure_tidy import tidy_fixtures
from reports.write.history import HISTORY_FILE, annotate, read_history
from reports.write.html import HtmlOutcome, render
from reports.write.redaction import make_redactor, redact_tree, sensitive_headers_of_stage, sweep
from reports.write.summary import markdown

ROOT = Path(__file__).resolve().parent.parent
OWN_RESULTS = ("load.", "gate#")  # fullName prefixes of the results this module writes


@dataclass(frozen=True)
class RunInfo:
    """What the orchestrator knows about the run that the result files do not say."""

    stage: str
    stage_file: str
    embedded: bool
    conformance_part: Part
    load_part: Part
    conformance_exit: int | None = None
    load_exit: int | None = None
    smoke: bool = False
    unreachable: str = ""
    contract_digest: Mapping[str, str] = field(default_factory=dict)
    started: float = 0.0  # epoch seconds
    seconds: Mapping[str, float] = field(default_factory=dict)  # per part
    secrets: tuple[str, ...] = field(default=(), repr=False)
    sensitive_headers: tuple[str, ...] = ()  # credential headers of the contracts' authorizers
    finished: float = 0.0  # epoch seconds; 0: now (a rebuild keeps the run's own end)
    gate_scope: str = "full"  # what the stage file declares a promotion run must cover
    waivers: Mapping[str, str] = field(default_factory=dict)  # the stage's [waivers]: key -> reason
    without_load: tuple[str, ...] = ()  # APIs of the stage whose load_allowed = false
    drift: tuple[str, ...] = ()  # differences stagegate drift found before load (load was skipped)
    drift_error: str = ""  # drift_check = true but the check could not run (load was skipped)


@dataclass(frozen=True)
class Built:
    decision: Decision
    gate: dict[str, Any]
    html: HtmlOutcome
    gate_json: Path


@dataclass(frozen=True)
class ContractFile:
    """One API of the stage and the contract file the verdict is about."""

    api: str
    flavor: str  # "http" | "rest"
    path: str
    # The contract family's fixed seed and budget for this API (examples, seconds): a rerun with the
    # same seed sends the same generated inputs.
    generated: Mapping[str, Any] = field(default_factory=dict)


def contract_digest(contracts: Sequence[ContractFile], root: Path = ROOT) -> dict[str, Any]:
    """Per API: name, flavor, contract path (relative to the repo) and sha256; one digest over all."""
    apis = []
    for c in sorted(contracts, key=lambda c: c.api):
        path = Path(c.path).resolve()
        try:
            digest = "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            digest = "unreadable"
        shown = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
        entry: dict[str, Any] = {"name": c.api, "flavor": c.flavor, "contract": shown, "sha256": digest}
        if c.generated:
            entry["generated"] = dict(c.generated)
        apis.append(entry)
    combined = json.dumps({a["name"]: a["sha256"] for a in apis}, sort_keys=True)
    return {"combined": "sha256:" + hashlib.sha256(combined.encode()).hexdigest(), "apis": apis}


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


def gate_document(info: RunInfo, inputs: GateInputs, decision: Decision, finished: float) -> dict[str, Any]:
    c, load = inputs.conformance, inputs.load
    return {
        "schema": 1,
        "stage": info.stage,
        "stage_file": info.stage_file,
        "embedded": info.embedded,
        "smoke": info.smoke,
        "verdict": decision.verdict,
        "headline": decision.headline,
        "partial": decision.partial,
        "exit_code": decision.exit_code,
        "gate_scope": info.gate_scope,
        "without_load": list(info.without_load),
        "reasons": [_reason_record(r) for r in decision.reasons],
        "notes": [
            *decision.notes,
            *(f"waiver {k!r} waives nothing here" for k in stale_waivers(inputs.coverage, info.waivers)),
        ],
        "waivers": dict(info.waivers),
        "coverage": {
            "counts": counts(inputs.coverage),
            "cells": [{**asdict(c), "key": c.key} for c in inputs.coverage],
        },
        "policy": [{"rule": r.id, "outcome": r.outcome, "description": r.description} for r in POLICY],
        "parts": {
            "conformance": {**asdict(inputs.conformance_part), "exit_code": info.conformance_exit},
            "load": {**asdict(info.load_part), "exit_code": info.load_exit},
        },
        "counts": {
            "conformance": None
            if c is None
            else {"total": asdict(c.counts), "families": {k: asdict(v) for k, v in c.families.items()}},
            "load": None
            if load is None
            else {
                "verdict": load.verdict,
                "scenarios": {
                    s.key: {
                        "verdict": s.verdict,
                        "detail": s.detail,
                        "reasons": list(s.reasons),
                        "params": dict(s.params),
                    }
                    for s in load.scenarios
                },
            },
        },
        "contract_digest": dict(info.contract_digest),
        "timing": {
            "started": datetime.fromtimestamp(info.started or finished, UTC).isoformat(timespec="seconds"),
            "finished": datetime.fromtimestamp(finished, UTC).isoformat(timespec="seconds"),
            "seconds": _seconds(info, finished),
        },
    }


def _reason_record(reason: Reason) -> dict[str, Any]:
    """rule, outcome, message, and the structured detail when the reason has one (grouped failures:
    received, expected, likely cause; load: the failed comparisons)."""
    record = asdict(reason)
    if not record.get("detail"):
        record.pop("detail", None)
    return record


def _seconds(info: RunInfo, finished: float) -> dict[str, float]:
    """Seconds per part, then the total: a rebuild passes the run's own total (recomputing it from the
    whole-second stamps in gate.json could move it by up to a second)."""
    seconds = {k: round(v, 1) for k, v in info.seconds.items() if k != "total"}
    seconds["total"] = round(info.seconds.get("total", finished - (info.started or finished)), 1)
    return seconds


def build(info: RunInfo, out_dir: Path, root: Path = ROOT, render_html: bool = True) -> Built:
    """Read results, decide, write every output under out_dir (all redacted), render the HTML."""
    out_dir.mkdir(parents=True, exist_ok=True)
    results_dir = out_dir / "allure-results"
    results_dir.mkdir(exist_ok=True)
    redactor = make_redactor(info.secrets, info.sensitive_headers)
    conformance_part, conformance = info.conformance_part, None
    if conformance_part.state in ("ran", "aborted"):
        try:
            conformance = read_conformance(out_dir / "junit.xml", results_dir, info.conformance_exit)
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
    inputs = GateInputs(
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
    decision = evaluate(inputs)
    now_ms = int(time.time() * 1000)
    start_ms = int((info.started or time.time()) * 1000)
    document = gate_document(info, inputs, decision, info.finished or time.time())
    annotate(document, read_history(out_dir / HISTORY_FILE, start_ms))  # each reason's earlier runs
    gate = redact_tree(document, redactor)
    remove_own_results(results_dir)
    tidy_fixtures(results_dir)  # fixture plumbing out of the conformance results
    writer = AllureWriter(results_dir, redactor)
    scenarios = inputs.load.scenarios if inputs.load else ()
    load_refs = {s.key: scenario_result(writer, s, info.stage, start_ms, now_ms) for s in scenarios}
    refs = conformance_refs(results_dir)
    coverage_page = coverage_result(writer, gate, refs, load_refs, start_ms, now_ms)
    gate_result(writer, gate, scenarios, start_ms, now_ms, load_refs, coverage_page)
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
    gate_json = out_dir / "gate.json"
    gate_json.write_text(redactor.text(json.dumps(gate, indent=2)) + "\n", encoding="utf-8")
    (out_dir / "summary.md").write_text(redactor.text(markdown(gate)), encoding="utf-8")
    sweep(out_dir, redactor)
    return Built(decision, gate, html, gate_json)


def info_from_previous(gate: Mapping[str, Any], secrets: tuple[str, ...]) -> RunInfo:
    """The RunInfo a previous run recorded in gate.json (for a rebuild from files)."""
    parts = gate.get("parts", {})

    def part(name: str) -> Part:
        p = parts.get(name) or {}
        return Part(p.get("state", "missing"), p.get("detail", ""))

    timing = gate.get("timing") or {}
    started = datetime.fromisoformat(timing["started"]).timestamp() if timing.get("started") else 0.0
    # The run's own end and seconds (total included), as recorded.
    finished = datetime.fromisoformat(timing["finished"]).timestamp() if timing.get("finished") else 0.0
    seconds = {k: v for k, v in (timing.get("seconds") or {}).items() if isinstance(v, int | float)}
    return RunInfo(
        stage=str(gate["stage"]),
        stage_file=str(gate.get("stage_file", "")),
        embedded=bool(gate.get("embedded")),
        conformance_part=part("conformance"),
        load_part=part("load"),
        conformance_exit=(parts.get("conformance") or {}).get("exit_code"),
        load_exit=(parts.get("load") or {}).get("exit_code"),
        smoke=bool(gate.get("smoke")),
        unreachable=next(
            (r["message"] for r in gate.get("reasons", ()) if r["rule"] == "stage.unreachable"), ""
        ).removeprefix("stage unreachable: "),
        contract_digest=gate.get("contract_digest") or {},
        started=started,
        seconds=seconds,
        secrets=secrets,
        finished=finished,
        gate_scope=str(gate.get("gate_scope") or "full"),
        without_load=tuple(str(a) for a in gate.get("without_load") or ()),
        waivers={str(k): str(v) for k, v in (gate.get("waivers") or {}).items()},
        drift=tuple(r["message"] for r in gate.get("reasons", ()) if r["rule"] == DRIFT_RULE),
        drift_error=next(
            (r["message"] for r in gate.get("reasons", ()) if r["rule"] == DRIFT_UNCHECKED_RULE), ""
        ),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reports.build", description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="local", help="stage name: rebuilds out/<stage>/")
    parser.add_argument("--out", default=None, help="results directory (default out/<stage>)")
    args = parser.parse_args(argv)
    out_dir = Path(args.out) if args.out else ROOT / "out" / args.stage
    previous = out_dir / "gate.json"
    if not previous.is_file():
        print(f"stagegate: no {previous}: run the gate first (make gate STAGE={args.stage})", file=sys.stderr)
        return 2
    from reports.run import secrets_of_stage  # the stage's secret values, for redaction

    try:
        gate = json.loads(previous.read_text(encoding="utf-8"))
        stage_file = gate.get("stage_file", "")
        info = info_from_previous(gate, secrets_of_stage(stage_file))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:  # a damaged gate.json: one line
        print(f"stagegate: {previous} cannot be read back ({type(exc).__name__}): run the gate again",
              file=sys.stderr)  # fmt: skip
        return 2
    info = replace(info, sensitive_headers=sensitive_headers_of_stage(stage_file))
    built = build(info, out_dir)
    print(f"stagegate: {built.decision.verdict.upper()} ({built.gate_json})")
    print(f"report: {built.html.path}" if built.html.path else built.html.note)
    return built.decision.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
