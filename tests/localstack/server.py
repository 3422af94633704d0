"""Start and stop LocalStack community in host mode (no Docker), bound to 127.0.0.1.

Its state, caches and volume live under one temporary folder; it is stopped by the process group
of the PID this module started, never by name.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

SERVICES = "apigateway,sts,iam"
START_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class LocalStack:
    process: subprocess.Popen[bytes]
    port: int
    home: Path
    log: Path
    started_in_s: float

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment(port: int, home: Path) -> dict[str, str]:
    """The host-mode settings that made it start here (docs/field-notes.md)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LOCALSTACK_"))}
    env.update(
        {
            # The default twisted server binds 0.0.0.0 whatever GATEWAY_LISTEN says.
            "GATEWAY_SERVER": "hypercorn",
            "GATEWAY_LISTEN": f"127.0.0.1:{port}",
            "SERVICES": SERVICES,
            "EAGER_SERVICE_LOADING": "1",
            # Nothing leaves 127.0.0.1: no DNS server (it would bind port 53 and look up
            # localstack.cloud), no telemetry or analytics events, no certificate download.
            "DNS_ADDRESS": "0",
            "LOCALSTACK_TELEMETRY_DISABLED": "1",
            "DISABLE_EVENTS": "1",
            "SKIP_SSL_CERT_DOWNLOAD": "1",
            "FILESYSTEM_ROOT": str(home / "filesystem"),
            "LOCALSTACK_VOLUME_DIR": str(home / "volume"),
            "XDG_CACHE_HOME": str(home / "cache"),
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
    )
    return env


def health(port: int) -> dict[str, object] | None:
    try:
        url = f"http://127.0.0.1:{port}/_localstack/health"
        with urllib.request.urlopen(url, timeout=2) as answer:
            return json.loads(answer.read())  # type: ignore[no-any-return]
    except (OSError, ValueError):
        return None


def _ready(state: dict[str, object] | None) -> bool:
    services = state.get("services") if state else None
    return isinstance(services, dict) and services.get("apigateway") in ("available", "running")


def start(python: Path, home: Path, port: int = 0, timeout_s: float = START_TIMEOUT_S) -> LocalStack:
    """Start `python -m localstack.runtime.main` and wait until its health lists apigateway."""
    port = port or free_port()
    for sub in ("filesystem", "volume", "cache"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    log = home / "localstack.log"
    started = time.monotonic()
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(python), "-m", "localstack.runtime.main"],
            cwd=home,
            env=environment(port, home),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped as a whole, by our PID
        )
    stack = LocalStack(process, port, home, log, 0.0)
    while time.monotonic() - started < timeout_s:
        if process.poll() is not None:
            raise RuntimeError(
                f"LocalStack exited with {process.returncode} before it was ready: {tail(log)}"
            )
        if _ready(health(port)):
            return LocalStack(process, port, home, log, time.monotonic() - started)
        time.sleep(0.25)
    stop(stack)
    raise RuntimeError(f"LocalStack not ready after {timeout_s:.0f} s: {tail(log)}")


def stop(stack: LocalStack) -> None:
    """SIGTERM to the process group we started, then SIGKILL if it lingers."""
    process = stack.process
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT_S)


def tail(log: Path, lines: int = 5) -> str:
    try:
        text = log.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return " | ".join(text[-lines:])[-600:]
