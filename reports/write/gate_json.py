"""gate.json: the verdict, its reasons, coverage, policy, parts, counts, contracts and timing.

The document every other output is written from (summary.md, the Allure gate pages) and the record a
rebuild reads back (reports/read/previous.py).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reports.gate import POLICY, Decision, GateInputs, Reason, stale_waivers
from reports.read.coverage import counts
from reports.run_info import RunInfo
from reports.write.redaction import TextRedactor

FILE = "gate.json"


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


def write_gate_json(out_dir: Path, gate: dict[str, Any], redactor: TextRedactor) -> Path:
    """out_dir/gate.json, redacted once more as text (redact_tree leaves the keys as they are)."""
    path = out_dir / FILE
    path.write_text(redactor.text(json.dumps(gate, indent=2)) + "\n", encoding="utf-8")
    return path
