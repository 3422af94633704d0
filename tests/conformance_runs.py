"""Run the conformance suite as a subprocess and read which rules failed (for the self-tests)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from fixtures.stage import load_stage
from fixtures.stage.copies import private_stage, remote_copy

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


# The only skip a healthy remote run may show: a CORS fact AWS does not document (conformance/test_cors.py).
UNDOCUMENTED_CORS = "AWS documents no answer for this"


def skips_are_only_undocumented_cors(run: SuiteRun) -> bool:
    """Every skip of a run started with -rs is the undocumented-CORS one (none counts as a pass)."""
    lines = [line for line in run.output.splitlines() if line.startswith("SKIPPED")]
    return len(lines) > 0 and all(UNDOCUMENTED_CORS in line for line in lines)


@dataclass(frozen=True)
class Collection:
    returncode: int
    ids: tuple[str, ...]  # selected node ids: conformance/test_<family>.py::<rule>[<case>]
    output: str


def collect_suite(*args: str, env: dict[str, str] | None = None) -> Collection:
    """`python -m pytest conformance --collect-only -q <args>`: what a run would select (no request sent)."""
    command = [sys.executable, "-m", "pytest", "conformance", "--collect-only", "-q", "-p", "no:randomly"]
    completed = subprocess.run(
        [*command, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        env={**os.environ, **(env or {})},
    )
    ids = tuple(line for line in completed.stdout.splitlines() if "::" in line)
    return Collection(completed.returncode, ids, completed.stdout + completed.stderr)


def stage_copy(source: Path, directory: Path, text_changes: dict[str, str] | None = None) -> Path:
    """An embedded stage file, with the given text changes, whose signing keys live in `directory`
    (parallel runs must not share keys): fixtures.stage.copies writes it."""
    text = source.read_text()
    for old, new in (text_changes or {}).items():
        if old not in text:
            raise ValueError(f"{old!r} not in {source}")
        text = text.replace(old, new)
    directory.mkdir(parents=True, exist_ok=True)
    edited = directory / source.name
    edited.write_text(text)
    return private_stage(load_stage(str(edited)), directory)


def local_stage_copy(directory: Path, text_changes: dict[str, str] | None = None) -> Path:
    """stages/local.toml with the signing keys under `directory`."""
    return stage_copy(ROOT / "stages" / "local.toml", directory, text_changes)


def remote_stage_text(embedded: Path, port: int, env: dict[str, str]) -> str:
    """The embedded stage file, its emulator running on `port`, as a remote stage named remote-test:
    no [emulator] tables, every secret from an environment variable (added to `env`)."""
    text, values = remote_copy(load_stage(str(embedded)), port, "remote-test")
    env.update(values)
    return text
