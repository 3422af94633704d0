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
RUN_FILE = "run.json"  # what the run was asked to cover: {"selection": [...], "scenarios": [ids]}
MODEL = "token bucket per route/method (stage default per route), per usage-plan key; quota per key"
LOCUST_CSV = {
    "stats_csv": "_stats.csv",
    "failures_csv": "_failures.csv",
    "exceptions_csv": "_exceptions.csv",
    "history_csv": "_stats_history.csv",
}  # the files Locust writes for `--csv PREFIX`


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
        "checks": [dict(c) for c in judgement.checks],  # the comparisons that failed, with their numbers
        "chart": dict(judgement.chart),  # load/verdict.py chart_series(): burst, rate or quota
        "start_s": round(scenario.start, 3),
        "duration_s": round(scenario.end - scenario.start, 3),
        "consumes_quota": scenario.consumes_quota,
        "power": scenario.power.record() if scenario.power is not None else None,
        "model": MODEL,
        "locust": dict(locust_files or {}),
        "detail": detail(scenario, judgement),
    }  # fmt: skip


def _num(value: float, digits: int) -> str:
    text = f"{value:.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _limit(value: float | int | None, unit: str = "") -> str:
    return "-" if value is None else _num(float(value), 2) + unit


def detail(scenario: Scenario, judgement: Judgement) -> str:
    """One compact line of what happened, for every verdict (the reasons say why not pass)."""
    groups = list(judgement.groups)
    main = next((g for g in groups if g.name == scenario.primary), groups[0] if groups else None)
    if scenario.not_applicable is not None:
        return f"not applicable: {scenario.not_applicable}"
    if main is None:
        return f"offered {judgement.offered}, sent {judgement.sent}, nothing judged"
    rejected = main.throttled + main.quota_rejected
    if main.name in scenario.quota_exact:
        parts = [f"accepted {main.accepted} (quota {_limit(scenario.configured.get('quota'))})",
                 f"Limit Exceeded: {main.quota_rejected}"]  # fmt: skip
        if main.throttled:
            parts.append(f"Too Many Requests: {main.throttled}")
    else:
        none_allowed = " (none allowed)" if main.name in scenario.no_throttle else ""
        parts = [f"accepted {main.accepted}/{main.offered} (model {main.expected_accepted})",
                 f"429: {rejected}{none_allowed}"]  # fmt: skip
        if main.name in scenario.fit_rate:
            fitted = "-" if main.fitted_rate is None else _num(main.fitted_rate, 2)
            parts.append(f"fitted rate {fitted}/s (limit {_limit(main.configured_rate, '/s')})")
        elif main.fitted_burst is not None and rejected:
            parts.append(f"fitted burst {_num(main.fitted_burst, 1)} (burst {_limit(main.configured_burst)})")
        duration = scenario.end - scenario.start
        if main.name in scenario.no_throttle and main.offered > 1 and duration > 0:
            offered = (main.offered - 1) / duration  # evenly spaced sends: n - 1 gaps
            parts.append(f"offered {_num(offered, 1)}/s (limit {_limit(main.configured_rate, '/s')})")
    if main.other:
        parts.append(f"other statuses: {main.other}")
    for g in groups:
        if g is main:
            continue
        n = g.throttled + g.quota_rejected
        verdict = (
            ("ok" if not n else f"429: {n} (none allowed)") if g.name in scenario.no_throttle else f"429: {n}"
        )
        parts.append(f"{g.name}: {g.accepted}/{g.offered} {verdict}")
    if judgement.dropped or judgement.late:
        parts.append(f"late or dropped {judgement.late_share:.1%}")
    if scenario.power is not None:  # how far "no enforcement at all" falls outside the pass band
        power = scenario.power
        parts.append(f"power margin {_num(power.margin, 1)} (needs {_num(power.tolerance, 1)})")
    return ", ".join(parts)


def locust_files(csv_prefix: str | None, html_file: str | None, folder: str) -> dict[str, str]:
    """Locust's --csv files and --html report: relative to the results folder when inside it."""
    paths = {key: csv_prefix + suffix for key, suffix in LOCUST_CSV.items()} if csv_prefix else {}
    if html_file:
        paths["html"] = html_file
    base = os.path.abspath(folder)
    out = {}
    for key, path in paths.items():
        full = os.path.abspath(path)
        inside = os.path.commonpath([base, full]) == base
        out[key] = os.path.relpath(full, base) if inside else full
    return out


def progress_record(state: str, scenario: str = "", index: int = 0, total: int = 0) -> dict[str, Any]:
    """The progress file's contents: state is starting, running, sent, judging or done."""
    return {"state": state, "scenario": scenario, "index": index, "total": total}


def progress_marks(scenarios: Sequence[Scenario]) -> list[tuple[float, dict[str, Any]]]:
    """(seconds from the run's epoch, record) at each planned scenario's start and last send."""
    planned = sorted((sc for sc in scenarios if sc.runs), key=lambda sc: sc.start)
    marks = []
    for i, sc in enumerate(planned, 1):
        marks.append((sc.start, progress_record("running", sc.id, i, len(planned))))
        marks.append((sc.end, progress_record("sent", sc.id, i, len(planned))))
    return marks


def write_progress(path: str, record: Mapping[str, Any]) -> None:
    """Replace the progress file atomically (the gate reads it while the run goes on); "" = none."""
    if path:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        _dump(path, record)


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def write_results(
    out_dir: str, stage: str, results: Sequence[dict[str, Any]], selection: Sequence[str] = ()
) -> str:
    """Write <out_dir>/<stage>/load/<api>.<scenario>.json, summary.json and run.json (the scenario
    selection the run used: a narrowed run must not read as the whole); return the folder."""
    folder = os.path.join(out_dir, stage, "load")
    os.makedirs(folder, exist_ok=True)
    for name in os.listdir(folder):  # results of an earlier run must not mix with this one
        if name.endswith((".json", ".observations.csv")):
            os.remove(os.path.join(folder, name))
    for result in results:
        _dump(os.path.join(folder, f"{result['id']}.json"), result)
    _dump(os.path.join(folder, "summary.json"), list(results))
    run = {"selection": list(selection), "scenarios": [r["id"] for r in results]}
    _dump(os.path.join(folder, RUN_FILE), run)
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
    """1 any fail; else 3 any inconclusive, or no scenario passed (nothing judged, or every scenario
    not applicable); else 0. A not-applicable scenario is neither pass nor fail: it never changes
    the code of the others."""
    judged = [v for v in verdicts if v != "not_applicable"]
    if "fail" in judged:
        return 1
    if "inconclusive" in judged or "pass" not in judged:
        return 3
    return 0


def verdict_line(result: Mapping[str, Any]) -> str:
    """One human line per scenario: verdict, id, counts and the reasons."""
    if result["verdict"] == "not_applicable":
        return f"{'N/A':<12} {result['id']:<24} " + "; ".join(result["reasons"])
    head = (
        f"{result['verdict'].upper():<12} {result['id']:<24} offered {result['offered']}, "
        f"accepted {result['accepted']} (model {result['expected_accepted']}), 429 {result['throttled']}"
        f"+{result['quota_rejected']} quota, late {result['late_share']:.1%}"
    )
    power = result.get("power")
    if power:
        head += f", power margin {power['margin']:g} (needs {power['required_margin']:g})"
    failed = [
        f"{c['comparison']} ({c['group']}): {c['observed']} vs {c['expected']}"
        for c in result.get("checks") or ()
    ]
    if failed:  # which comparison failed, with its numbers, on the verdict line itself
        head += " | failed: " + "; ".join(failed)
    reasons = result["reasons"]
    return head + ("" if not reasons else "\n             - " + "\n             - ".join(reasons))
