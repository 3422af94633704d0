"""Emulator fidelity: the share of responses recorded from real AWS that the emulator reproduces.

Run from the repo root:  .venv/bin/python bench/fidelity.py [--verbose]

Method: the recorded cases of tests/fidelity/cases.json (LocalStack's AWS-validated API Gateway
REST tests, github:localstack/localstack @ 8b9a79f05: each case names its snapshot file and key, or
the asserting line) are replayed, one request per case over a socket on 127.0.0.1, against
`python -m fixtures.emulator --stage tests/fidelity/stage.toml` (the recorded APIs configured alike:
resources, methods, validators and models, Lambda handlers returning the recorded shapes, gateway
responses, usage plans). A case matches when status, parsed JSON body, headers by name and the Lambda
event (ids, times and addresses masked) all agree; the comparison rules are in tests/fidelity/replay.py.
Two figures: strict (header-name case counts where it is the point: the payload 1.0 event's header
names, the multiValueHeaders name case) and lenient (every name compared case-insensitively).
Known deviations (cases marked `deviation`, README "Assumptions and limits") count as mismatches.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--verbose", action="store_true", help="every difference of every mismatching case")
    args = parser.parse_args()
    os.chdir(ROOT)
    from fixtures.emulator.serve.runner import start_emulator
    from tests.fidelity import replay

    cases, defaults = replay.load_cases()
    strict_ok: Counter[str] = Counter()
    lenient_ok: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    misses: list[tuple[replay.Case, list[str]]] = []
    with start_emulator(str(replay.STAGE), port=0, fresh_keys=False, access_log=False) as running:
        for case in cases:
            observed = replay.send(case, running.base_url_for(case.api), defaults)
            totals[case.group] += 1
            strict = replay.differences(case, observed, strict=True)
            strict_ok[case.group] += not strict
            lenient_ok[case.group] += not replay.differences(case, observed, strict=False)
            if strict:
                misses.append((case, strict))
    total = sum(totals.values())
    print(f"fidelity: {len(cases)} recorded REST cases replayed on the emulator (tests/fidelity/cases.json)")
    print(f"{'group':<20}{'strict':>10}{'lenient':>10}")
    for group in sorted(totals):
        print(f"{group:<20}{strict_ok[group]:>6}/{totals[group]:<3}{lenient_ok[group]:>6}/{totals[group]:<3}")
    s, lenient = sum(strict_ok.values()), sum(lenient_ok.values())
    print(f"{'all':<20}{s:>6}/{total:<3}{lenient:>6}/{total:<3}")
    print(
        f"match rate: {s / total:.1%} strict (header-name case counted where it is the point), "
        f"{lenient / total:.1%} ignoring header-name case"
    )
    for case, found in misses:
        known = f" [known deviation: {case.deviation}]" if case.deviation else ""
        shown = found if args.verbose else found[:2]
        print(f"  MISMATCH {case.id}{known}: " + "; ".join(shown))
    print(
        "method: one request per case over a socket on 127.0.0.1 to python -m fixtures.emulator "
        "(uvicorn httptools); status, parsed body, headers by name, Lambda event with masked ids/times "
        "(tests/fidelity/replay.py)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
