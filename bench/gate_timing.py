"""Benchmark: wall time of the full gate on the embedded stage (both APIs, conformance + load + report).

Method: runs `python -m reports.run --stage local` N times (default 1) as a subprocess, measures wall
time with time.monotonic around it, and prints the per-part seconds the gate recorded in
out/local/gate.json. Target: under 90 s on the 2-core box. Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--stage", default="local")
    args = parser.parse_args()
    walls = []
    for i in range(args.runs):
        start = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "reports.run", "--stage", args.stage],
            cwd=ROOT, capture_output=True, text=True, timeout=900, check=False,
        )  # fmt: skip
        walls.append(time.monotonic() - start)
        gate = json.loads((ROOT / "out" / args.stage / "gate.json").read_text())
        parts = gate["timing"]["seconds"]
        print(
            f"run {i + 1}: exit {done.returncode} verdict {gate['verdict']} "
            f"wall {walls[-1]:.1f} s; parts {parts}"
        )
    print(
        f"method: {args.runs} run(s) of `python -m reports.run --stage {args.stage}` "
        f"on {os.cpu_count()} cores"
    )
    print(f"wall seconds: min {min(walls):.1f}, median {statistics.median(walls):.1f}, max {max(walls):.1f}")
    print("target: under 90 s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
