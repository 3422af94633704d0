"""Fixture plumbing out of the report: allure-pytest records every fixture a test uses as a set-up
or tear-down step (`suite`, `check`, `loaded`, the parametrized case, and pytest's own finalizers as
`check::<lambda>`). They say nothing about the stage; a fixture that failed, or one that recorded a
step or an attachment, stays.

Operates on the allure-results of the conformance part before the report is rendered.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

KEEP_STATUSES = ("failed", "broken")


def _telling(fixture: Mapping[str, Any]) -> bool:
    """A fixture worth showing: it failed, or it recorded steps, attachments or parameters."""
    if fixture.get("status") in KEEP_STATUSES:
        return True
    return bool(fixture.get("steps") or fixture.get("attachments") or fixture.get("parameters"))


def tidy_fixtures(results_dir: Path) -> int:
    """Drop the silent fixtures from every *-container.json (a container left empty goes); returns
    how many fixture entries were dropped."""
    dropped = 0
    for path in sorted(results_dir.glob("*-container.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict):
            continue
        changed = False
        for side in ("befores", "afters"):
            fixtures = data.get(side)
            if not isinstance(fixtures, list):
                continue
            kept = [f for f in fixtures if isinstance(f, Mapping) and _telling(f)]
            if len(kept) != len(fixtures):
                dropped += len(fixtures) - len(kept)
                data[side], changed = kept, True
        if not changed:
            continue
        if data.get("befores") or data.get("afters"):
            path.write_text(json.dumps(data), encoding="utf-8")
        else:
            path.unlink(missing_ok=True)
    return dropped
