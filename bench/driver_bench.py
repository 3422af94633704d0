"""Driver benchmark: achieved vs requested rate and late-send share of the open-model driver.

Method: one process tree. This script starts a bare raw-ASGI server on 127.0.0.1 (uvicorn,
httptools, one worker: tests/load/bare_server.py) and, for each rate, runs
`locust -f load/locustfile.py --headless --bench-rps R --bench-seconds S --host http://127.0.0.1:P`
(one Locust process, the same ArrivalDriver and FastHttpSession the scenarios use). Achieved rate =
(sent - 1) / (last send - first send); late = started more than 10 ms after its planned time
(the stage files' default late_ms); dropped = found the in-flight cap reached. Server and driver
share the machine's 2 cores, as they do in a local gate run.

Usage: .venv/bin/python bench/driver_bench.py [--rates 100,500,...] [--seconds 5] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "load"))

import bare_server  # noqa: E402

LOCUST = os.path.join(os.path.dirname(sys.executable), "locust")


def one(port: int, rps: float, seconds: float) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
        out = tmp.name
    cmd = [LOCUST, "-f", os.path.join(ROOT, "load", "locustfile.py"), "--headless", "--only-summary",
           "--host", f"http://127.0.0.1:{port}", "--bench-rps", str(rps), "--bench-seconds", str(seconds),
           "--bench-out", out, "--loglevel", "WARNING"]  # fmt: skip
    subprocess.run(cmd, cwd=ROOT, capture_output=True, timeout=seconds + 60, check=True)
    with open(out, encoding="utf-8") as handle:
        figures = json.load(handle)
    os.remove(out)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rates", default="100,500,1000,2000,3000,4000,5000")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--repeat", type=int, default=3, help="runs per rate; the median run is reported")
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    port = bare_server.free_port()
    server = bare_server.start(port, max_seconds=len(rates) * args.repeat * (args.seconds + 30) + 30)
    print(
        f"driver benchmark: bare server 127.0.0.1:{port}, {args.seconds:g} s per run, {args.repeat} runs per "
        f"rate (the median run by late share is shown), {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.2f} at start"
    )
    print(f"{'requested':>10} {'achieved':>10} {'ratio':>7} {'late>10ms':>10} {'dropped':>8} "
          f"{'lateness p50/p99 ms':>20} {'latency p50/p99 ms':>19}")  # fmt: skip
    try:
        for rps in rates:
            runs = sorted(
                (one(port, rps, args.seconds) for _ in range(args.repeat)), key=lambda r: r["late_share"]
            )
            f = runs[len(runs) // 2]
            ratio = f["achieved_rps"] / f["requested_rps"]
            ok = abs(ratio - 1) <= 0.02 and (f["late_share"] or 0) < 0.01 and f["dropped"] == 0
            verdict = "within target" if ok else "OUT OF TARGET"
            shares = ", ".join(format(r["late_share"], ".2%") for r in runs)
            print(
                f"{f['requested_rps']:>10.0f} {f['achieved_rps']:>10.1f} {ratio:>7.3f} "
                f"{f['late_share']:>10.2%} {f['dropped']:>8} "
                f"{f['lateness_ms_p50']:>9.2f}/{f['lateness_ms_p99']:<10.2f} "
                f"{f['latency_ms_p50']:>8.2f}/{f['latency_ms_p99']:<9.2f} {verdict}  "
                f"(late shares {shares})",
                flush=True,
            )
    finally:
        bare_server.stop(server)
    print("target: achieved within +/-2 % of requested and < 1 % late sends")


if __name__ == "__main__":
    main()
