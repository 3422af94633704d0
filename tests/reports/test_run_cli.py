"""The gate command's verdict paths: config typo -> 2, unreachable stage -> 3, smoke/no-load planning."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.stage import load_stage
from reports.gate import Part
from reports.live.parts import PartRun
from reports.run import part_after, plan_run

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = ROOT / "fixtures" / "clinic" / "portal.openapi.json"


def gate(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reports.run", "--no-html", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed when the socket is: nothing listens there


def remote_stage(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "stages" / "unreach.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body)
    return path


def test_a_stage_file_with_a_typo_exits_2_naming_the_key(tmp_path: Path) -> None:
    text = (
        (ROOT / "stages" / "local.toml").read_text().replace("load_allowed = true", "load_alowed = true", 1)
    )
    path = tmp_path / "typo.toml"
    path.write_text(text)
    done = gate("--stage", str(path), "--out", str(tmp_path / "out"))
    assert done.returncode == 2, done.stderr
    assert "load_alowed" in done.stderr and "Traceback" not in done.stderr + done.stdout


def test_control_the_same_file_without_the_typo_loads() -> None:
    assert load_stage(str(ROOT / "stages" / "local.toml")).name == "local"


def test_an_unreachable_stage_exits_3_with_one_clear_line_and_no_traceback(tmp_path: Path) -> None:
    port = closed_port()
    path = remote_stage(
        tmp_path,
        f"""name = "unreach"
[apis.portal]
flavor = "http"
contract = "{CONTRACT}"
base_url = "http://127.0.0.1:{port}/portal"
load_allowed = false
[apis.portal.credentials]
bearer_token_env = "STAGEGATE_TEST_UNREACH_TOKEN"
""",
    )
    env = {"PATH": "/usr/bin:/bin", "STAGEGATE_TEST_UNREACH_TOKEN": "planted-unreach-token-123456"}
    done = gate("--stage", str(path), "--out", str(tmp_path / "out"), env=env)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "stage: UNREACHABLE (portal at http://127.0.0.1" in done.stdout
    gate_json = json.loads((tmp_path / "out" / "unreach" / "gate.json").read_text())
    assert [r["rule"] for r in gate_json["reasons"]] == ["stage.unreachable"]
    assert "planted-unreach-token-123456" not in (tmp_path / "out" / "unreach" / "gate.json").read_text()


def test_fault_on_a_remote_stage_is_a_configuration_error(tmp_path: Path) -> None:
    path = remote_stage(
        tmp_path,
        f'name = "unreach"\n[apis.portal]\nflavor = "http"\ncontract = "{CONTRACT}"\n'
        'base_url = "http://127.0.0.1:9/portal"\n',
    )
    done = gate("--stage", str(path), "--fault", "cors.reflect_any_origin", "--out", str(tmp_path / "out"))
    assert done.returncode == 2 and "--fault needs the embedded stage" in done.stderr


def test_plan_runs_load_on_the_embedded_stage_and_skips_it_by_flag() -> None:
    stage = load_stage("local")
    assert plan_run(stage, no_load=False, smoke=False).load.state == "ran"
    assert plan_run(stage, no_load=True, smoke=False).load.state == "skipped_by_request"
    smoke = plan_run(stage, no_load=False, smoke=True)
    assert smoke.smoke and smoke.load.state == "skipped_by_request"


def test_prod_example_plans_the_smoke_subset_and_no_load(monkeypatch: pytest.MonkeyPatch) -> None:
    prod = ROOT / "stages" / "prod.example.toml"
    if not prod.is_file():
        pytest.skip("stages/prod.example.toml is not written yet")
    text = prod.read_text()
    env = {name: "placeholder-value" for name in _env_names(text)}
    stage = load_stage(str(prod), environ=env)
    plan = plan_run(stage, no_load=False, smoke=False)
    assert plan.smoke and plan.load.state == "skipped_by_policy" and 'gate_scope = "smoke"' in plan.why_smoke


def _env_names(text: str) -> list[str]:
    import re

    return re.findall(r'_env\s*=\s*"([A-Z0-9_]+)"', text)


def test_a_part_that_crashed_before_writing_results_is_missing_with_its_last_log_line() -> None:
    crashed = PartRun(-11, 1.0, "collecting\nSegmentation fault")
    assert part_after(crashed, "pytest", False, 600) == Part("missing", "pytest exit -11: Segmentation fault")
    assert part_after(PartRun(4, 1.0, ""), "locust", False, 900) == Part(
        "missing", "locust exit 4: no output"
    )
    assert part_after(PartRun(None, 900.0, "x"), "locust", True, 900) == Part(
        "aborted", "stopped after 900 s"
    )
    assert part_after(PartRun(1, 3.0, "1 failed"), "pytest", True, 600) == Part("ran")  # control
