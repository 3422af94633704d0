"""No false alarm from the contract family: `pytest conformance -m contract` on the clean embedded
stage with 10 different seeds.

Method: for seeds 1..10, a copy of stages/local.toml with `[apis.<api>.generated] seed = N` for every
API, run as `python -m pytest conformance -m contract` (its own emulator per run, sequential); reads
junit.xml for failures and the per-case properties generated_requests / generated_unsent. Prints per
seed: exit code, failed cases, requests sent, wall time; then the totals. Pass: every run exit 0.
"""

from __future__ import annotations

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

SEEDS = range(1, 11)


def run(seed: int) -> tuple[int, list[str], int, int, float]:
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
        failed, sent, unsent = [], 0, 0
        for case in ET.parse(junit).getroot().iter("testcase"):
            if {child.tag for child in case} & {"failure", "error"}:
                failed.append(case.get("name", ""))
            for prop in case.iter("property"):
                if prop.get("name") == "generated_requests":
                    sent += int(prop.get("value", "0"))
                if prop.get("name") == "generated_unsent":
                    unsent += int(prop.get("value", "0"))
        if done.returncode not in (0, 1):
            print(done.stdout[-2000:], done.stderr[-2000:])
        return done.returncode, failed, sent, unsent, wall


def main() -> int:
    alarms = 0
    for seed in SEEDS:
        code, failed, sent, unsent, wall = run(seed)
        alarms += code != 0
        print(
            f"seed {seed:2}: exit {code}, {sent} requests, {unsent} unsent, {wall:.1f} s, "
            f"failed {failed or '-'}"
        )
    print(f"false alarms: {alarms} of {len(SEEDS)} runs on the clean stage")
    return 1 if alarms else 0


if __name__ == "__main__":
    raise SystemExit(main())
