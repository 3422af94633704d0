"""The load part's progress line, from the file the locustfile rewrites (`--progress-file`).

The file holds one JSON object {"state", "scenario", "index", "total"} (load/results.py
`progress_record`); state is starting, running, sent (its last request went out; buckets refill
before the next one), judging or done. Reading is tolerant: a missing or half-written file only
means "no news yet".
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def read_load_progress(path: Path) -> Mapping[str, Any] | None:
    """The last progress record, or None when there is none (yet) or it cannot be read."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, Mapping) else None


def describe_load(record: Mapping[str, Any] | None, elapsed: float) -> str:
    """PURE: `load: portal.over-rate (3/10), 12 s` and the states around the scenarios."""
    seconds = f"{elapsed:.0f} s"
    if record is None:
        return f"load: starting the stage and planning, {seconds}"
    state, total = str(record.get("state", "")), record.get("total") or 0
    where = f"{record.get('scenario', '?')} ({record.get('index', '?')}/{total})"
    if state == "running":
        return f"load: {where}, {seconds}"
    if state == "sent":
        return f"load: {where} sent, buckets refilling, {seconds}"
    if state == "judging":
        return f"load: judging {total} scenarios against the model, {seconds}"
    if state == "done":
        return f"load: {total} scenario results written, {seconds}"
    return f"load: {total} scenarios planned, traffic about to start, {seconds}"
