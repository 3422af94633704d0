"""A previous run's gate.json read back into the RunInfo it recorded (a rebuild from files)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from reports.gate import DRIFT_RULE, DRIFT_UNCHECKED_RULE, Part
from reports.run_info import RunInfo


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
