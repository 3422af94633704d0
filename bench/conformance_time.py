"""Wall time of `pytest` (conformance against the embedded stage), emulator start included.

Method: N sequential runs of `python -m pytest conformance -q` from the repo root; prints each wall
time, the median and the test count. Target: under 30 s.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 3


def main() -> int:
    times, counts = [], []
    for _ in range(RUNS):
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "conformance", "-q"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        times.append(time.perf_counter() - started)
        found = re.search(r"(\d+) passed", done.stdout)
        counts.append(int(found.group(1)) if found else 0)
        if done.returncode != 0:
            print(done.stdout[-2000:])
            return 1
    print(f"method: {RUNS} sequential runs of `python -m pytest conformance -q` (embedded stage)")
    print("wall s: " + ", ".join(f"{t:.2f}" for t in times) + f"; median {statistics.median(times):.2f} s")
    print(f"tests passed per run: {counts}; target < 30 s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
