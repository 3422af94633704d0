"""Model benchmark: on the embedded stage, observed accepted vs token-bucket replay, fitted vs configured.

Method: runs `locust -f load/locustfile.py --headless --stage local` (all scenarios; the locustfile
starts the embedded emulator with fresh keys) with results in a temporary folder, then reads
summary.json. For every scenario group: observed accepted requests vs the model replayed at the
actual send times (target <= 1 % apart, relative to the model's count), and, where the group was
throttled long enough to fit, the fitted rate and burst vs the configured ones (target +/- 5 %).
The fitted rate is judged only where the model's own fit at the same send times (column `model
fit`) recovers the configured rate; `planned` is the model at the planned times (lateness matters
only where it moves this count). Also prints the wall time of the whole run (target: all scenarios
in under 60 s) and each verdict's reasons. `--hog` runs a competing busy-loop process (one core) for
the length of each run, as on a 2-core CI machine where the emulator, Locust and the gate share.

Usage: .venv/bin/python bench/model_bench.py [--runs 1] [--hog] [--locust-arg ARG ...]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOCUST = os.path.join(os.path.dirname(sys.executable), "locust")


def run_once(extra: list[str], hog: bool) -> tuple[list[dict], float, int]:
    busy = None
    if hog:  # bounded: killed below, and it exits by itself after 120 s anyway
        loop = "import time\nt = time.monotonic() + 120\nwhile time.monotonic() < t: pass"
        busy = subprocess.Popen([sys.executable, "-c", loop])
    try:
        return _run(extra)
    finally:
        if busy is not None:
            busy.kill()
            busy.wait(timeout=10)


def _run(extra: list[str]) -> tuple[list[dict], float, int]:
    with tempfile.TemporaryDirectory() as out:
        cmd = [LOCUST, "-f", os.path.join(ROOT, "load", "locustfile.py"), "--headless", "--only-summary",
               "--stage", "local", "--out-dir", out, "--loglevel", "WARNING", *extra]  # fmt: skip
        start = time.monotonic()
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
        wall = time.monotonic() - start
        with open(os.path.join(out, "local", "load", "summary.json"), encoding="utf-8") as handle:
            return json.load(handle), wall, proc.returncode


def _pct(a: float, b: float) -> str:
    return f"{(a / b - 1):+.1%}" if b else "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--hog", action="store_true", help="a competing busy loop during each run")
    parser.add_argument("--locust-arg", action="append", default=[])
    args = parser.parse_args()
    print(
        f"model benchmark: embedded stage, {args.runs} run(s){', CPU hog' if args.hog else ''}, "
        f"load average {os.getloadavg()[0]:.2f} at start"
    )
    worst_model = worst_rate = worst_burst = 0.0
    for n in range(args.runs):
        results, wall, code = run_once(args.locust_arg, args.hog)
        print(f"\nrun {n + 1}: wall {wall:.1f} s, exit code {code}")
        head = f"{'scenario':<24} {'group':<24} {'verdict':<12} {'late':>6} "
        head += f"{'observed':>8} {'model':>6} {'planned':>7} {'apart':>7} "
        print(head + f"{'fit rate':>9} {'conf':>6} {'apart':>7} {'fit burst':>9} {'conf':>6} {'apart':>7}")
        for r in results:
            for g in r["groups"]:
                model = g["expected_accepted"]
                apart = abs(g["accepted"] - model) / model if model else 0.0
                worst_model = max(worst_model, apart)
                line = (
                    f"{r['id']:<24} {g['name'][:24]:<24} {r['verdict']:<12} {r['late_share']:>6.1%} "
                    f"{g['accepted']:>8} {model:>6} {g.get('planned_accepted', '-'):>7} "
                    f"{apart:>7.2%}"
                )
                if g["fitted_rate"] is not None:
                    worst_rate = max(worst_rate, abs(g["fitted_rate"] / g["configured_rate"] - 1))
                    line += f" {g['fitted_rate']:>9.2f} {g['configured_rate']:>6g} "
                    line += f"{_pct(g['fitted_rate'], g['configured_rate']):>7}"
                    if g["fitted_burst"] is not None:
                        worst_burst = max(worst_burst, abs(g["fitted_burst"] / g["configured_burst"] - 1))
                        line += f" {g['fitted_burst']:>9.1f} {g['configured_burst']:>6} "
                        line += f"{_pct(g['fitted_burst'], g['configured_burst']):>7}"
                    if g.get("model_fitted_rate") is not None:
                        line += f"  model fit {g['model_fitted_rate']:.2f}"
                print(line)
            for reason in r["reasons"]:
                print(f"    {r['id']}: {reason}")
    print(
        f"\nworst: observed vs model {worst_model:.2%} (target <= 1 %), fitted rate {worst_rate:.2%} and "
        f"burst {worst_burst:.2%} from configured (target <= 5 %)"
    )


if __name__ == "__main__":
    main()
