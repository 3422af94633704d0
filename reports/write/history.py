"""History across runs of one stage: Allure 3's history file, read back for the gate's reasons.

Allure 3 keeps one line per report in `out/<stage>/history.jsonl` (allurerc.mjs `historyPath`,
bounded by `historyLimit`; reports/write/html.py passes both). The file survives the gate's clean-up
(reports/run.py `clean()` removes only a run's own outputs), so each report shows the previous
runs' outcome per test and per scenario in its History tab. Read here BEFORE the new report is
rendered, it says for each blocking reason how its result did in the runs before this one, so a
regression reads "passed in the last 5 runs, fails now".
"""

from __future__ import annotations

import json
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HISTORY_FILE = "history.jsonl"
HISTORY_LIMIT = 6  # runs kept (Allure's historyLimit): the report carries each run's results once more
GATE_FULL_NAME = "gate#verdict"
NOW = {"fail": "fails", "pass": "passes", "inconclusive": "is inconclusive"}


@dataclass(frozen=True)
class History:
    """Previous runs, oldest first: per run, (fullName, name) -> Allure status, and the gate's status."""

    runs: tuple[Mapping[tuple[str, str], str], ...] = ()
    verdicts: tuple[str, ...] = ()

    def outcomes(self, full_name: str, name: str | None = None) -> list[str]:
        """The result's status in each previous run, oldest first ("" where it did not run)."""
        out = []
        for run in self.runs:
            if name is not None:
                out.append(run.get((full_name, name), ""))
            else:
                out.append(next((s for (f, _), s in run.items() if f == full_name), ""))
        return out


def read_history(path: Path, before_ms: int | None = None, limit: int = HISTORY_LIMIT) -> History:
    """The last `limit` runs of the history file rendered before `before_ms` (epoch ms: this run's
    start, so a rebuild of this run does not count its own earlier rendering); an absent or
    unreadable file: no history."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return History()
    runs: list[dict[tuple[str, str], str]] = []
    for line in lines:
        try:
            point = json.loads(line)
        except ValueError:
            continue
        results = point.get("testResults") if isinstance(point, Mapping) else None
        if not isinstance(results, Mapping):
            continue
        stamp = point.get("timestamp")
        if before_ms is not None and isinstance(stamp, int | float) and stamp >= before_ms:
            continue
        runs.append(
            {
                (str(r.get("fullName", "")), str(r.get("name", ""))): str(r.get("status", ""))
                for r in results.values()
                if isinstance(r, Mapping)
            }
        )
    history = History(tuple(runs[-limit:] if limit else ()))
    return History(history.runs, tuple(history.outcomes(GATE_FULL_NAME)))


def phrase(previous: Sequence[str], now: str) -> str:
    """`passed in the last 5 runs, fails now`; "" without an earlier run."""
    if not previous:
        return ""
    ran = [p for p in previous if p]
    n, now_word = len(previous), NOW.get(now, now)
    last = "the last run" if n == 1 else f"the last {n} runs"
    if not ran:
        return f"not in {last}, {now_word} now"
    if all(p == "passed" for p in ran) and len(ran) == n:
        return f"passed in {last}, {now_word} now"
    failed = sum(1 for p in ran if p in ("failed", "broken"))
    if failed == n:
        return f"also failed in {last}"
    return (
        f"failed in {failed} of {last}, {now_word} now"
        if failed
        else f"{len(ran)} of {last} ran, {now_word} now"
    )


def _verdict(status: str) -> str:
    return {"passed": "pass", "failed": "fail", "broken": "inconclusive", "skipped": "n/a"}.get(
        status, status
    )


def annotate(gate: MutableMapping[str, Any], history: History) -> None:
    """Each blocking reason's history (detail.history), and the previous verdicts (gate.history)."""
    if not history.runs:
        return
    gate["history"] = {
        "runs": len(history.runs),
        "verdicts": [_verdict(v) for v in history.verdicts],
        "file": HISTORY_FILE,
    }
    for reason in gate.get("reasons") or ():
        detail = reason.get("detail")
        if not isinstance(detail, MutableMapping):
            continue
        now = str(reason.get("outcome", ""))
        if detail.get("type") == "conformance":
            report = detail.get("report") or {}
            previous = history.outcomes(str(report.get("full_name", "")), str(report.get("name", "")))
        elif detail.get("type") == "load":
            api, _, scenario = str(detail.get("scenario", "")).partition(".")
            previous = history.outcomes(f"load.{api}#{scenario}", f"load {api}.{scenario}")
        else:
            continue
        detail["history"] = phrase(previous, now)
