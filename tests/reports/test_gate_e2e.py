"""The whole gate against the embedded stage (starts processes: marked slow).

These depend on the conformance suite and the locustfile; they skip, saying so, until those exist.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reports.write.report_data import missed_attachments
from tests.reports.browser import chromium, dump_dom, result_fragment, screenshot

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def need_parts(load: bool = True) -> None:
    if not list((ROOT / "conformance").glob("test_*.py")):
        pytest.skip("the conformance suite (conformance/test_*.py) is not written yet")
    if load and not (ROOT / "load" / "locustfile.py").is_file():
        pytest.skip("load/locustfile.py is not written yet")


def gate(out: Path, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reports.run", "--stage", "local", "--out", str(out), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_gate_on_the_embedded_stage_passes_and_writes_a_rendering_report() -> None:
    need_parts()
    out = ROOT / "out"  # the real location, so the report stays for people to look at
    done = gate(out)
    gate_json = json.loads((out / "local" / "gate.json").read_text())
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert gate_json["verdict"] == "pass" and gate_json["counts"]["load"]["scenarios"]
    assert "stagegate: PASS on stage local" in done.stdout
    records = json.loads((out / "local" / "load" / "summary.json").read_text())
    stats = (out / "local" / "load" / "locust_stats.csv").read_text()
    assert f",Aggregated,{sum(r['offered'] for r in records)}," in stats  # Locust saw every request
    assert all(r["locust"]["html"] == "locust.html" and r["detail"] for r in records)
    assert re.search(r"^load: (portal|partner)\.[a-z-]+ \(\d+/\d+\)", done.stdout, re.M)  # progress
    report = out / "local" / "report.html"
    assert report.is_file(), gate_json["report"]
    # Every attachment a result lists is in the single file (Allure marks the others "missed").
    assert gate_json["report"]["missed"] == [] and missed_attachments(report.read_text()) == []
    if chromium() is not None:
        fragment = result_fragment(out / "local" / "allure-results", "gate#verdict")
        assert "Gate verdict: PASS" in dump_dom(report, fragment)
        screenshot(report, out / "local" / "report-gate-verdict.png", fragment)


def test_seeded_fault_fails_the_gate_and_names_the_rule(tmp_path: Path) -> None:
    need_parts(load=False)
    control = gate(tmp_path / "control", "--no-load", "--no-html")
    done = gate(tmp_path / "fault", "--fault", "cors.reflect_any_origin", "--no-load", "--no-html")
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-2000:]

    def failing(run: str) -> set[str]:
        reasons = json.loads((tmp_path / run / "local" / "gate.json").read_text())["reasons"]
        return {r["message"] for r in reasons if r["rule"] == "conformance.unexpected_failure"}

    new = failing("fault") - failing("control")  # the control run is the positive control
    assert new and all("[cors]" in m for m in new), (new, control.stdout[-1500:])
    assert "FAIL [conformance.unexpected_failure] cors " in done.stdout
    # One reason per rule and cause (14 failing cases, two rules, one cause), each with what came
    # back, what was expected and the likely cause: as fields in gate.json, as rows in summary.md.
    reasons = json.loads((tmp_path / "fault" / "local" / "gate.json").read_text())["reasons"]
    grouped = [r["detail"] for r in reasons if r["rule"] == "conformance.unexpected_failure"]
    assert len(grouped) == 2 and sum(d["cases"] for d in grouped) == 14
    for d in grouped:
        assert "access-control-allow-origin: https://evil.example" in d["received"]
        assert (
            d["expected"].startswith("no Access-Control-Allow-Origin")
            and "allow_origins" in d["likely_cause"]
        )
    summary = (tmp_path / "fault" / "local" / "summary.md").read_text()
    rows = [line for line in summary.splitlines() if line.startswith("| `") and "(cors)" in line]
    assert len(rows) == 2 and all("evil.example" in r and "allow_origins" in r for r in rows), summary


def test_ctrl_c_stops_the_embedded_stage(tmp_path: Path) -> None:
    need_parts(load=False)
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "reports.run", "--stage", "local", "--out", str(tmp_path), "--no-load"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    port = None
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and port is None:
            line = process.stdout.readline()
            found = re.search(r"embedded emulator on 127\.0\.0\.1:(\d+)", line)
            port = int(found.group(1)) if found else None
            if not line and process.poll() is not None:
                break
        assert port is not None, "the gate did not report the emulator's port"
        process.send_signal(signal.SIGINT)
        assert process.wait(60) == 130
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    with socket.socket() as s:
        s.settimeout(1)
        assert s.connect_ex(("127.0.0.1", port)) != 0  # nothing listens: the emulator was stopped
