"""No false alarm from the contract family: `pytest conformance -m contract` on the clean embedded
stage with different seeds.

Method: for seeds 1..N (`--seeds N`, default 10), a copy of stages/local.toml with
`[apis.<api>.generated] seed = N` for every API, run as `python -m pytest conformance -m contract`
(its own emulator per run, sequential); reads junit.xml for failures, skips and the per-case
properties generated_requests / generated_unsent / generated_throttled. Prints per seed: exit code,
failed and skipped cases, requests sent, inputs unsent or throttled, wall time; then the totals.
Pass: every run exit 0 with nothing skipped (a skipped case is not exercised, never a pass).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conformance_runs import local_stage_copy  # noqa: E402

COUNTED = ("generated_requests", "generated_unsent", "generated_throttled")


def run(seed: int) -> tuple[int, list[str], list[str], dict[str, int], float]:
    with tempfile.TemporaryDirectory(prefix="stagegate-seed-") as tmp:
        stage = local_stage_copy(Path(tmp))
        apis = tomllib.loads(stage.read_text())["apis"]
        stage.write_text(
            stage.read_text() + "".join(f"\n[apis.{name}.generated]\nseed = {seed}\n" for name in apis)
        )
        junit = Path(tmp) / "junit.xml"
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "conformance", "-q", "-p", "no:randomly", "-m", "contract"]
            + ["--stage", str(stage), f"--junitxml={junit}"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        wall = time.perf_counter() - started
        failed, skipped, counts = [], [], dict.fromkeys(COUNTED, 0)
        for case in ET.parse(junit).getroot().iter("testcase"):
            outcome = {child.tag for child in case}
            if outcome & {"failure", "error"}:
                failed.append(case.get("name", ""))
            elif "skipped" in outcome:
                skipped.append(case.get("name", ""))
            for prop in case.iter("property"):
                if prop.get("name") in counts:
                    counts[prop.get("name", "")] += int(prop.get("value", "0"))
        if done.returncode not in (0, 1):
            print(done.stdout[-2000:], done.stderr[-2000:])
        return done.returncode, failed, skipped, counts, wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="runs, with seeds 1..N (default 10)")
    seeds = range(1, parser.parse_args().seeds + 1)
    alarms = unexercised = 0
    for seed in seeds:
        code, failed, skipped, counts, wall = run(seed)
        alarms += code != 0
        unexercised += bool(skipped)
        print(
            f"seed {seed:2}: exit {code}, {counts['generated_requests']} requests, "
            f"{counts['generated_unsent']} unsent, {counts['generated_throttled']} throttled, {wall:.1f} s, "
            f"failed {failed or '-'}, skipped {skipped or '-'}"
        )
    print(f"false alarms: {alarms} of {len(seeds)} runs on the clean stage; {unexercised} with skipped cases")
    return 1 if alarms or unexercised else 0


if __name__ == "__main__":
    raise SystemExit(main())
