"""The commands users run: `stagegate gate` exit codes, run integrity, `pytest --stage PATH`, make gate."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conformance_runs import ROOT, local_stage_copy

pytestmark = pytest.mark.slow
TIMEOUT_S = 300
STAGEGATE = [sys.executable, "-m", "reports.cli"]


def _run(
    command: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT_S, env={**os.environ, **(env or {})}
    )


def test_the_environment_cannot_narrow_the_conformance_part(tmp_path: Path) -> None:
    """PYTEST_ADDOPTS / PYTEST_PLUGINS are ignored: every test the catalogue selects runs."""
    env = {"PYTEST_ADDOPTS": "-m smoke", "PYTEST_PLUGINS": "no_such_plugin_module"}
    run = _run(
        [*STAGEGATE, "gate", "--stage", "local", "--no-load", "--no-html", "--out", str(tmp_path)], env
    )
    gate = json.loads((tmp_path / "local" / "gate.json").read_text())
    coverage = json.loads((tmp_path / "local" / "coverage.json").read_text())
    ran = gate["counts"]["conformance"]["total"]
    assert sum(ran.values()) == len(coverage["items"]) > 300, run.stdout[-2000:]
    assert not any(i["outcome"] == "deselected" for i in coverage["items"])
    # --no-load on a stage that allows load: everything that ran passed, yet the verdict is partial.
    assert run.returncode == 3 and gate["headline"] == "PASS (partial)", run.stdout[-2000:]
    assert "stagegate: PASS (partial) on stage local" in run.stdout


def test_a_smoke_run_of_a_full_scope_stage_is_partial(tmp_path: Path) -> None:
    run = _run([*STAGEGATE, "gate", "--stage", "local", "--smoke", "--no-html", "--out", str(tmp_path)])
    gate = json.loads((tmp_path / "local" / "gate.json").read_text())
    assert run.returncode == 3 and gate["partial"], run.stdout[-2000:]
    assert any("smoke subset only" in r["message"] for r in gate["reasons"])


def test_stagegate_without_a_command_is_a_usage_error() -> None:
    assert _run(STAGEGATE).returncode == 2


def test_pytest_takes_stage_with_a_space_for_a_path_outside_the_repo() -> None:
    with tempfile.TemporaryDirectory(prefix="stagegate-elsewhere-") as tmp:
        stage = local_stage_copy(Path(tmp))
        for form in (["--stage", str(stage)], [f"--stage={stage}"], ["--stage", "local"]):
            run = _run([str(ROOT / ".venv" / "bin" / "pytest"), *form, "--collect-only", "-q"])
            assert run.returncode == 0, (form, run.stdout[-2000:] + run.stderr[-2000:])
            assert "conformance/test_auth.py::" in run.stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_gate_prints_the_exit_code_make_would_hide(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text((ROOT / "stages" / "local.toml").read_text() + "\nnot_a_key = 1\n")
    run = _run(["make", "--no-print-directory", "gate", f"STAGE={bad}"])
    assert run.returncode == 2  # make's own code for any failing recipe ...
    assert (
        "stagegate exited 2 (1 fail, 2 configuration error, 3 inconclusive)" in run.stdout
    )  # ... and the real one


def test_an_unknown_fault_is_a_configuration_error() -> None:
    run = _run([*STAGEGATE, "gate", "--stage", "local", "--fault", "no.such_fault", "--no-html"])
    assert run.returncode == 2 and "unknown --fault no.such_fault" in run.stderr


def test_a_crash_of_the_gate_itself_is_inconclusive_never_fail(tmp_path: Path) -> None:
    """An internal error decides nothing: exit 3 with one line, not a traceback read as FAIL (1)."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    run = _run([*STAGEGATE, "gate", "--stage", "local", "--no-load", "--no-html", "--out", str(blocker)])
    assert run.returncode == 3, run.stderr[-2000:]
    assert "internal error, no verdict" in run.stderr and "Traceback" not in run.stderr
