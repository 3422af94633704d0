"""Distributed load: the master sends its workers credential labels, never credentials, and listens
on loopback unless told otherwise; a plan longer than the gate's limit is refused before traffic.

Locust runs as subprocesses (gevent never enters pytest); `worker_headers` and `master_exposure`
are the pure parts.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from fixtures.errors import ConfigError
from fixtures.stage import load_stage
from fixtures.stage.routes import load_contracts
from load.credentials import header_table
from load.records import Send
from load.session import master_exposure, worker_headers

ROOT = Path(__file__).resolve().parents[2]
LOCUST = str(Path(sys.executable).parent / "locust")
LOCUSTFILE = str(ROOT / "load" / "locustfile.py")
SPY = str(ROOT / "tests" / "load" / "spy_worker.py")
QUIET = ["--headless", "--only-summary", "--loglevel", "WARNING"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("host", "allowed", "error", "warning"),
    [
        ("127.0.0.1", False, "", ""),
        ("localhost", False, "", ""),
        ("::1", False, "", ""),
        ("*", False, "would listen on all interfaces", ""),
        ("0.0.0.0", False, "would listen on all interfaces", ""),
        ("192.0.2.7", False, "would listen on 192.0.2.7", ""),
        ("0.0.0.0", True, "", "WARNING: the master listens on all interfaces (--allow-remote-workers)"),
    ],
)
def test_a_master_off_loopback_needs_the_flag_and_warns(
    host: str, allowed: bool, error: str, warning: str
) -> None:
    found_error, found_warning = master_exposure(host, allowed)
    assert (error in found_error) and (bool(found_error) == bool(error))
    assert (warning in found_warning) and (bool(found_warning) == bool(warning))


def _send(api: str, url: str, credential: str) -> Send:
    return Send(0, f"{api}.burst", 0.0, "GET", url, "GET /x", credential, ())


def test_a_worker_builds_the_same_headers_from_its_own_stage_file() -> None:
    stage = load_stage("local").with_port(8080)
    path = Path(tempfile.mkdtemp()) / "local.toml"
    path.write_text(Path(stage.path).read_text().replace("{port}", "8080"))
    contracts = load_contracts(stage, only_load_allowed=True)
    labels = {("partner", "key:quota-a"), ("portal", "lambda:X-Clinic-Token"), ("partner", "none")}
    sends = [_send(api, stage.api(api).base_url + "/x", label) for api, label in labels]
    assert worker_headers(str(path), sends) == header_table(stage, contracts, labels)
    # A schedule that would carry this worker's credentials anywhere else is refused.
    with pytest.raises(ConfigError, match="not to this stage"):
        worker_headers(str(path), [_send("partner", "http://127.0.0.2:8080/partner/v1/x", "key:quota-a")])


@pytest.mark.slow
def test_a_master_bound_to_every_interface_is_refused_before_any_worker_joins(tmp_path: Path) -> None:
    """Before: Locust's master listened on every interface and waited for workers to hand them the
    credential headers."""
    started = time.monotonic()
    done = subprocess.run(
        [LOCUST, "-f", LOCUSTFILE, *QUIET, "--master", "--master-bind-host", "0.0.0.0",
         "--master-bind-port", str(_free_port()), "--expect-workers", "1", "--stage", "local",
         "--out-dir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-2000:]
    assert "would listen on all interfaces" in done.stderr and "--allow-remote-workers" in done.stderr
    assert time.monotonic() - started < 30
    assert not (tmp_path / "local" / "load" / "summary.json").exists()


@pytest.mark.slow
def test_a_plan_longer_than_the_gate_allows_exits_2_before_traffic(tmp_path: Path) -> None:
    text = (ROOT / "stages" / "local.toml").read_text()
    stage = tmp_path / "slow.toml"
    stage.write_text(
        text.replace(
            "[apis.portal.throttle]\nrate = 100\nburst = 200",
            "[apis.portal.throttle]\nrate = 0.001\nburst = 1000",
        )
    )
    done = subprocess.run(
        [LOCUST, "-f", LOCUSTFILE, *QUIET, "--stage", str(stage), "--out-dir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-2000:]
    assert "load plan: lasts 1,00" in done.stderr and "longer than the 780 s" in done.stderr, done.stderr[
        -2000:
    ]
    assert not (tmp_path / "local" / "load" / "summary.json").exists()


@pytest.mark.slow
def test_workers_receive_labels_only_and_build_their_own_headers(tmp_path: Path) -> None:
    """A spying worker records what the master sent: no token, key or credential header in it, and
    the run still passes (the worker's own headers work). Before, the plan carried every header."""
    port, plan_file = _free_port(), tmp_path / "plans.jsonl"
    scenarios = ["--scenario", "partner.quota", "--scenario", "portal.per-route"]
    master = subprocess.Popen(
        [LOCUST, "-f", LOCUSTFILE, *QUIET, "--master", "--master-bind-port", str(port),
         "--expect-workers", "1", "--stage", "local", "--out-dir", str(tmp_path), *scenarios],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    worker = subprocess.Popen(
        [LOCUST, "-f", SPY, "--worker", "--master-port", str(port), "--loglevel", "WARNING"],
        cwd=ROOT, env={**os.environ, "STAGEGATE_SPY_PLAN": str(plan_file)},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        stdout, stderr = master.communicate(timeout=150)
    finally:
        for proc in (master, worker):
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)
    plans = [json.loads(line) for line in plan_file.read_text().splitlines()]
    assert len(plans) == 1 and plans[0]["sends"], stderr[-2000:]
    assert "headers" not in plans[0] and plans[0]["stage"].endswith("local.toml")
    sent = json.dumps(plans)
    secrets = load_stage("local").secrets()
    leaked = [s[:6] for s in secrets if s in sent] + (["a JWT"] if "eyJ" in sent else [])
    assert leaked == [] and "x-api-key" not in sent.lower() and "Bearer" not in sent
    assert {row[6] for row in plans[0]["sends"]} >= {"key:quota-a", "key:quota-b"}  # labels travel
    summary = {
        r["id"]: r["verdict"] for r in json.loads((tmp_path / "local" / "load" / "summary.json").read_text())
    }
    assert summary == {"partner.quota": "pass", "portal.per-route": "pass"}, (stdout[-2000:], stderr[-2000:])
    assert master.returncode == 0
    assert "partner.quota consumes quota of test key(s) quota-a, quota-b" in stdout
