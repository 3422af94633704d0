"""Run the conformance suite as a subprocess and read which rules failed (for the self-tests)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUN_TIMEOUT_S = 120


@dataclass(frozen=True)
class SuiteRun:
    returncode: int
    passed: int
    failed: frozenset[str]  # failing test ids (function name + [case])
    skipped: int
    output: str

    @property
    def failed_rules(self) -> frozenset[str]:
        return frozenset(test_id.split("[", 1)[0] for test_id in self.failed)


def run_suite(*args: str, env: dict[str, str] | None = None) -> SuiteRun:
    """`python -m pytest conformance <args>`; results read from its JUnit XML."""
    with tempfile.TemporaryDirectory(prefix="stagegate-run-") as tmp:
        junit = Path(tmp) / "junit.xml"
        command = [sys.executable, "-m", "pytest", "conformance", "-q", "-p", "no:randomly"]
        command += [f"--junitxml={junit}", *args]
        completed = subprocess.run(
            command,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_S,
            env={**os.environ, **(env or {})},
        )
        passed, skipped, failed = 0, 0, set()
        if junit.exists():
            for case in ET.parse(junit).getroot().iter("testcase"):
                outcome = {child.tag for child in case}
                if outcome & {"failure", "error"}:
                    failed.add(case.get("name", ""))
                elif "skipped" in outcome:
                    skipped += 1
                else:
                    passed += 1
        return SuiteRun(
            completed.returncode, passed, frozenset(failed), skipped, completed.stdout + completed.stderr
        )


def local_stage_copy(directory: Path, text_changes: dict[str, str] | None = None) -> Path:
    """stages/local.toml with the issuer keys under `directory` (parallel runs must not share keys)."""
    text = (ROOT / "stages" / "local.toml").read_text()
    text = text.replace('"out/local/issuer/', f'"{directory}/issuer/')
    for old, new in (text_changes or {}).items():
        if old not in text:
            raise ValueError(f"{old!r} not in stages/local.toml")
        text = text.replace(old, new)
    path = directory / "local.toml"
    path.write_text(text)
    return path
