"""A bare 127.0.0.1 HTTP server for the driver's self-tests and benchmark (raw ASGI on uvicorn).

`python tests/load/bare_server.py --port N [--max-seconds S]` answers every request 200 "ok" and
stops by itself after S seconds. `start(port, max_seconds)` runs it as a subprocess and waits until
it answers.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from typing import Any


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(port: int, max_seconds: float = 120.0) -> subprocess.Popen[bytes]:
    """Start the server as a subprocess; return once it answers (or raise RuntimeError)."""
    cmd = [sys.executable, os.path.abspath(__file__), "--port", str(port), "--max-seconds", str(max_seconds)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=0.5) as answer:
                if answer.status == 200:
                    return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("bare server did not start")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--max-seconds", type=float, default=120.0)
    args = parser.parse_args()
    signal.signal(signal.SIGALRM, lambda *_: os._exit(0))  # stops by itself
    signal.alarm(max(1, int(args.max_seconds)))
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=args.port, http="httptools", loop="uvloop", access_log=False,
                log_level="warning")  # fmt: skip


if __name__ == "__main__":
    main()
