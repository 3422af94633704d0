"""Emulator throughput vs a bare ASGI hello-world on the same server stack (uvicorn httptools, uvloop).

Run from the repo root:  .venv/bin/python bench/emulator_bench.py --rounds 3 [--seconds 5] [--connections 32]

Method: both servers run as separate processes (one uvicorn worker each, no access log) on
127.0.0.1, measured alternately (--rounds) in the same run for the same duration. The emulator serves
`GET /portal/appointments` with a valid JWT (RS256, the stage's test issuer) and an allowed Origin
(route, JWT authorizer, throttling, payload 2.0, the clinic handler, CORS) from a copy of
stages/local.toml whose portal throttle and account limits are raised so nothing is throttled.
The baseline gets the same request (path, Authorization, Origin), so both servers parse the same
bytes; a baseline on a bare `GET /` is measured too and printed for comparison.
Load: wrk (Debian package; installed here with apt-get if missing and allowed) or, failing that,
a Python keep-alive load generator in a separate process. Prints req/s, p50, p99 and the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


async def hello_app(scope: dict, receive, send) -> None:  # noqa: ANN001
    """The baseline: the smallest ASGI app that answers 200 JSON."""
    if scope["type"] != "http":
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
        return
    await receive()
    body = b'{"hello":"world"}'
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _bench_stage(directory: str) -> str:
    """stages/local.toml with a private issuer key for this run (fixtures.stage.copies) and the
    portal's stage and account limits raised (no 429 during the run)."""
    import tomllib
    from pathlib import Path

    from fixtures.stage import load_stage
    from fixtures.stage.copies import dumps, private_stage

    path = private_stage(load_stage("local"), Path(directory))
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    portal = raw["apis"]["portal"]
    portal["throttle"].update(rate=1000000, burst=1000000)
    portal["emulator"].update(account_rate=1000000, account_burst=1000000)
    path.write_text(dumps(raw), encoding="utf-8")
    return str(path)


def _wait_ready(url: str, deadline_s: float = 10.0) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(url, timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} not ready")


def _ensure_wrk() -> str | None:
    found = shutil.which("wrk")
    if found or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    subprocess.run(["apt-get", "install", "-y", "wrk"], capture_output=True, timeout=300, check=False)
    return shutil.which("wrk")


def _ms(text: str) -> float:
    """A wrk latency ('812.00us', '1.39ms', '2.01s', '1.02m') in milliseconds."""
    found = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if found is None:
        raise ValueError(f"unexpected wrk latency {text!r}")
    value, unit = found.groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}[unit]


def run_wrk(wrk: str, url: str, headers: dict[str, str], seconds: int, connections: int) -> dict:
    command = [wrk, "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run([*command, url], capture_output=True, text=True, timeout=seconds + 30).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    # The latency distribution's own lines ("    50%    1.39ms"), not a "+/- Stdev" column such as 78.50%.
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {"rps": rps, "p50": p50, "p99": p99, "non2xx": int(bad.group(1)) if bad else 0}


def run_python(url: str, headers: dict[str, str], seconds: int, connections: int) -> dict:
    """Fallback: bench/_pyload.py in its own process (keep-alive connections, asyncio)."""
    import json

    command = [sys.executable, os.path.join(ROOT, "bench", "_pyload.py"), url, str(seconds), str(connections)]
    env = dict(os.environ, BENCH_HEADERS=json.dumps(headers))
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 30, env=env).stdout
    return json.loads(out)


def _hello_server(port: int) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "emulator_bench:hello_app",
        "--app-dir",
        os.path.join(ROOT, "bench"),
    ]
    command += ["--http", "httptools", "--loop", "uvloop", "--workers", "1", "--port", str(port)]
    # The same settings as the emulator's own uvicorn.Config (fixtures/emulator/__main__.py).
    command += ["--no-access-log", "--no-proxy-headers", "--no-server-header", "--log-level", "warning"]
    return subprocess.Popen(command, cwd=ROOT)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5, help="duration of each measurement")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds (the box is shared)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--python-load", action="store_true", help="use the Python generator even if wrk exists"
    )
    parser.add_argument(
        "--in-process", action="store_true", help="time the ASGI app in a loop instead (thread CPU time)"
    )
    parser.add_argument(
        "--in-stack",
        action="store_true",
        help="time uvicorn's httptools protocol + each app in-process, no sockets (thread CPU time)",
    )
    args = parser.parse_args()
    if args.in_process:
        return in_process(args.rounds)
    if args.in_stack:
        return in_stack(args.rounds)

    from fixtures.emulator.serve.runner import free_port, start_emulator
    from fixtures.stage import contract_of
    from fixtures.tokens import TokenFactory

    wrk = None if args.python_load else _ensure_wrk()
    load = "wrk -t2" if wrk else "Python asyncio keep-alive generator (bench/_pyload.py, separate process)"

    def measure(url: str, headers: dict[str, str]) -> dict:
        if wrk:
            return run_wrk(wrk, url, headers, args.seconds, args.connections)
        return run_python(url, headers, args.seconds, args.connections)

    port = free_port()
    hello = _hello_server(port)
    rows: list[tuple[dict, dict]] = []
    try:
        with tempfile.TemporaryDirectory() as tmp, start_emulator(_bench_stage(tmp), access_log=False) as emu:
            _wait_ready(f"http://127.0.0.1:{port}/")
            api = emu.stage.api("portal")
            jwt = contract_of(api).authorizers["clinic-cognito"]
            key = api.credentials.signing_key
            token = TokenFactory(key.key_file, key.kid, jwt.issuer, jwt.audience).valid(["appointments/read"])
            url = emu.base_url_for("portal") + "/appointments"
            origin = contract_of(api).cors.allow_origins[0]  # type: ignore[union-attr]
            headers = {"Authorization": f"Bearer {token}", "Origin": origin}
            _check_emulator(url, headers, origin)
            path = urllib.parse.urlsplit(url).path
            for _ in range(args.rounds):  # alternate, so a burst of foreign load hits all alike
                bare = measure(f"http://127.0.0.1:{port}/", {})
                baseline = measure(f"http://127.0.0.1:{port}{path}", headers)
                emulator = measure(url, headers)
                rows.append((bare, baseline, emulator))
    finally:
        hello.terminate()
        hello.wait(10)

    print(
        f"method: {load}, {args.connections} connections, {args.seconds} s per measurement, {args.rounds} "
        f"alternating rounds, 127.0.0.1; all servers uvicorn --http httptools --loop uvloop, 1 worker, "
        f"no access log; {os.cpu_count()} cores shared with the load generator"
    )
    print(f"{'round':<6}{'server':<48} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
    ratios, bare_ratios = [], []
    for number, (bare, baseline, emulator) in enumerate(rows, 1):
        for name, row in (
            ("hello-world, bare GET /", bare),
            ("hello-world, same request as the emulator", baseline),
            ("emulator GET /portal/appointments (JWT, CORS)", emulator),
        ):
            figures = f"{row['rps']:>9.0f} {row['p50']:>8.2f} {row['p99']:>8.2f} {row['non2xx']:>8}"
            print(f"{number:<6}{name:<48} {figures}")
        ratios.append(emulator["rps"] / baseline["rps"] if baseline["rps"] else 0.0)
        bare_ratios.append(emulator["rps"] / bare["rps"] if bare["rps"] else 0.0)
    for label, values in (("same request", ratios), ("bare GET /", bare_ratios)):
        listed = ", ".join(f"{r:.2f}" for r in values)
        print(
            f"ratio emulator / hello-world ({label}) per round: {listed}; median "
            f"{statistics.median(values):.2f}, spread {min(values):.2f}-{max(values):.2f} (target >= 0.5)"
        )
    return 1 if any(row[2]["non2xx"] for row in rows) else 0


def _emulator_app():  # noqa: ANN202
    """The emulator's ASGI app on the bench stage, a valid token, the allowed origin, the path."""
    from fixtures.emulator.serve.server import build_app
    from fixtures.stage import contract_of, load_stage
    from fixtures.tokens import TokenFactory, ensure_signing_key

    with tempfile.TemporaryDirectory() as tmp:
        stage = load_stage(_bench_stage(tmp))
        for api in stage.apis:
            if api.emulated is not None and api.credentials.signing_key is not None:
                ensure_signing_key(api.credentials.signing_key.key_file, regenerate=False)
        api = stage.api("portal")
        app = build_app(stage)
        jwt = contract_of(api).authorizers["clinic-cognito"]
        key = api.credentials.signing_key
        assert key is not None
        token = TokenFactory(key.key_file, key.kid, jwt.issuer, jwt.audience).valid(["appointments/read"])
    origin = contract_of(api).cors.allow_origins[0]  # type: ignore[union-attr]
    path = urllib.parse.urlsplit(api.base_url).path.rstrip("/") + "/appointments"
    return app, token, origin, path


def in_process(rounds: int, requests: int = 20000) -> int:
    """The emulator's ASGI app driven in a loop (no server, no network): thread CPU us per request."""

    app, token, origin, path_text = _emulator_app()
    path = path_text.encode()
    headers = [
        (b"host", b"127.0.0.1"),
        (b"authorization", b"Bearer " + token.encode()),
        (b"origin", origin.encode()),
    ]
    scope = {"type": "http", "http_version": "1.1", "method": "GET", "path": path.decode(), "raw_path": path}
    scope |= {"query_string": b"", "headers": headers, "client": ("127.0.0.1", 40000)}
    request = {"type": "http.request", "body": b"", "more_body": False}
    sent: list[dict] = []

    async def receive() -> dict:
        return request

    async def send(message: dict) -> None:
        sent.append(message)

    async def loop() -> list[float]:
        for _ in range(50):  # past the invoker's probation: the handler runs inline, as under load
            await app(scope, receive, send)
        if sent[-2]["status"] != 200:
            raise RuntimeError(f"emulator answered {sent[-2]['status']}")
        figures = []
        for _ in range(rounds):
            sent.clear()
            started = time.thread_time()
            for _ in range(requests):
                await app(scope, receive, send)
            figures.append((time.thread_time() - started) / requests * 1e6)
        return figures

    import uvloop

    figures = uvloop.run(loop())
    listed = ", ".join(f"{f:.2f}" for f in figures)
    print(f"in-process GET /portal/appointments (JWT, CORS), {requests} requests per round, uvloop")
    print(f"us per request (thread CPU) per round: {listed}; median {statistics.median(figures):.2f}")
    return 0


class _RecordingTransport:
    """The transport uvicorn's protocol writes to: counts writes, resolves `done` on the body's."""

    def __init__(self) -> None:
        self.writes = 0
        self.head = b""  # the last response's start line and headers
        self.done: asyncio.Future | None = None

    def get_extra_info(self, name: str, default: object = None) -> object:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 40000)}.get(name, default)

    def write(self, data: bytes) -> None:
        self.writes += 1
        if self.writes % 2:
            self.head = data
        elif self.done is not None:  # start line + headers, then the body
            self.done.set_result(None)

    def is_closing(self) -> bool:
        return False

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...

    def close(self) -> None: ...


async def _stack_loop(  # noqa: ANN001
    app, request: bytes, rounds: int, requests: int, protocol_class=None
) -> tuple[list[float], bytes]:
    """Feed `request` to uvicorn's HttpToolsProtocol (or `protocol_class`, the emulator's subclass that
    keeps header names as sent) `requests` times per round; us per request."""
    from uvicorn.config import Config
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    from uvicorn.server import ServerState

    # The emulator's own uvicorn settings (fixtures/emulator/__main__.py).
    config = Config(app, http="httptools", loop="uvloop", lifespan="off", access_log=False)
    config.server_header, config.proxy_headers = False, False
    config.load()
    protocol = (protocol_class or HttpToolsProtocol)(config=config, server_state=ServerState(), app_state={})
    transport = _RecordingTransport()
    protocol.connection_made(transport)  # type: ignore[arg-type]
    loop = asyncio.get_running_loop()

    async def one() -> None:
        transport.done = loop.create_future()
        protocol.data_received(request)
        await transport.done

    for _ in range(200):  # past the invoker's probation, caches warm
        await one()
    figures = []
    for _ in range(rounds):
        started = time.thread_time()
        for _ in range(requests):
            await one()
        figures.append((time.thread_time() - started) / requests * 1e6)
    return figures, transport.head


def in_stack(rounds: int, requests: int = 10000) -> int:
    """uvicorn's protocol in-process with a recording transport: the server stack + app, no kernel.

    The same request bytes go to the hello-world and to the emulator, alternately per round; the
    ratio of their CPU per request is the throughput ratio a server saturating one core would show
    without the socket and scheduling costs (which both pay alike, so this ratio is the lower one).
    """
    import uvloop

    from fixtures.emulator.serve.connection import (
        guarded_protocol,  # what python -m fixtures.emulator serves with
    )

    emulator, token, origin, path = _emulator_app()
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nAuthorization: Bearer {token}\r\n"
        f"Origin: {origin}\r\n\r\n"
    ).encode()
    hello_us, emulator_us = [], []
    for _ in range(rounds):
        figures, _ = uvloop.run(_stack_loop(hello_app, request, 1, requests))
        hello_us += figures
        figures, head = uvloop.run(_stack_loop(emulator, request, 1, requests, guarded_protocol()))
        if not head.startswith(b"HTTP/1.1 200") or b"access-control-allow-origin" not in head:
            raise RuntimeError(f"emulator answered {head[:200]!r}")
        emulator_us += figures
    print(f"in-stack GET {path} (JWT, CORS), {requests} requests per round, uvicorn httptools + uvloop")
    for name, values in (("hello-world", hello_us), ("emulator", emulator_us)):
        listed = ", ".join(f"{v:.1f}" for v in values)
        median = statistics.median(values)
        print(f"{name:<12} us per request (thread CPU) per round: {listed}; median {median:.1f}")
    ratios = [h / e for h, e in zip(hello_us, emulator_us, strict=True)]
    print(
        f"ratio hello-world / emulator CPU per round: {', '.join(f'{r:.2f}' for r in ratios)}; "
        f"median {statistics.median(ratios):.2f} (target >= 0.5)"
    )
    return 0


def _check_emulator(url: str, headers: dict[str, str], origin: str) -> None:
    """One request before the load: 200 with the CORS header, or the figures would mean nothing."""
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as response:
        allowed = response.headers.get("access-control-allow-origin")
        if response.status != 200 or allowed != origin:
            raise RuntimeError(f"emulator answered {response.status}, allow-origin {allowed!r}")


if __name__ == "__main__":
    sys.exit(main())
