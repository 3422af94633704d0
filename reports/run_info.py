"""What a gate run knows that its result files do not say (RunInfo), and the contracts it checked.

The orchestrator (reports/run.py) fills a RunInfo; a rebuild from files reads one back from the
run's gate.json (reports/read/previous.py); the assembly (reports/build.py) and the gate.json
writer (reports/write/gate_json.py) read it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reports.gate import Part

ROOT = Path(__file__).resolve().parent.parent  # the repository: paths in the outputs are shown from here


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
