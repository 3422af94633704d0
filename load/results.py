"""Machine-readable results under out/<stage>/load/ (schema: load/README.md). Building is pure."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

from load.scenarios import Scenario
from load.verdict import Judgement

SCHEMA_VERSION = 1
MODEL = "token bucket per route/method (stage default per route), per usage-plan key; quota per key"


def scenario_result(
    scenario: Scenario, judgement: Judgement, stage: str, locust_files: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """One scenario's result record (see load/README.md for every field)."""
    groups = [asdict(g) for g in judgement.groups]
    primary = next((g for g in judgement.groups if g.name == scenario.primary), None)
    other = {k: v for k, v in judgement.statuses.items() if not (k == "429" or 200 <= int(k) < 400)}
    return {
        "schema": SCHEMA_VERSION,
        "stage": stage,
        "api": scenario.api,
        "scenario": scenario.name,
        "id": scenario.id,
        "rule": scenario.rule,
        "verdict": judgement.status,
        "reasons": list(judgement.reasons),
        "offered": judgement.offered,
        "sent": judgement.sent,
        "dropped": judgement.dropped,
        "late": judgement.late,
        "late_share": round(judgement.late_share, 6),
        "accepted": sum(g.accepted for g in judgement.groups),
        "throttled": sum(g.throttled for g in judgement.groups),
        "quota_rejected": sum(g.quota_rejected for g in judgement.groups),
        "other_statuses": other,
        "statuses": dict(judgement.statuses),
        "expected_accepted": sum(g.expected_accepted for g in judgement.groups),
        "expected_band": [sum(g.expected_band[0] for g in judgement.groups),
                          sum(g.expected_band[1] for g in judgement.groups)],
        "configured": dict(scenario.configured),
        "fitted": {
            "rate": _round(primary.fitted_rate if primary else None, 3),
            "burst": _round(primary.fitted_burst if primary else None, 2),
        },
        "groups": groups,
        "series": {k: list(v) for k, v in judgement.series.items()},
        "start_s": round(scenario.start, 3),
        "duration_s": round(scenario.end - scenario.start, 3),
        "consumes_quota": scenario.consumes_quota,
        "model": MODEL,
        "locust": dict(locust_files or {}),
    }  # fmt: skip


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def write_results(out_dir: str, stage: str, results: Sequence[dict[str, Any]]) -> str:
    """Write <out_dir>/<stage>/load/<api>.<scenario>.json and summary.json; return the folder."""
    folder = os.path.join(out_dir, stage, "load")
    os.makedirs(folder, exist_ok=True)
    for name in os.listdir(folder):  # results of an earlier run must not mix with this one
        if name.endswith((".json", ".observations.csv")):
            os.remove(os.path.join(folder, name))
    for result in results:
        _dump(os.path.join(folder, f"{result['id']}.json"), result)
    _dump(os.path.join(folder, "summary.json"), list(results))
    return folder


def write_observations(folder: str, scenario_id: str, rows: Sequence[Sequence[object]]) -> str:
    """Raw per-request CSV beside the result (times in seconds from the run's start epoch)."""
    path = os.path.join(folder, f"{scenario_id}.observations.csv")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("index,group,planned_s,sent_s,latency_ms,status,body_kind,worker\n")
        for row in rows:
            handle.write(",".join("" if v is None else str(v) for v in row) + "\n")
    return path


def _dump(path: str, data: object) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1, sort_keys=False)
        handle.write("\n")
    os.replace(tmp, path)


def exit_code(verdicts: Sequence[str]) -> int:
    """0 all pass, 1 any fail, 3 any inconclusive (and none failed) or nothing judged."""
    if "fail" in verdicts:
        return 1
    if not verdicts or "inconclusive" in verdicts:
        return 3
    return 0


def verdict_line(result: Mapping[str, Any]) -> str:
    """One human line per scenario: verdict, id, counts and the first reason."""
    head = (
        f"{result['verdict'].upper():<12} {result['id']:<24} offered {result['offered']}, "
        f"accepted {result['accepted']} (model {result['expected_accepted']}), 429 {result['throttled']}"
        f"+{result['quota_rejected']} quota, late {result['late_share']:.1%}"
    )
    reasons = result["reasons"]
    return head + ("" if not reasons else "\n             - " + "\n             - ".join(reasons))
