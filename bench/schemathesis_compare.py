"""Schemathesis side by side with stagegate's contract family, on the embedded stage (issue 16).

Method: for the clean stage and each of the three handler faults that break the contract only on
non-example inputs, one emulator (`fixtures.emulator.serve.runner.start_emulator`, 127.0.0.1, fresh
issuer keys) serves both APIs; Schemathesis runs against each contract (fixtures/clinic/*.openapi.json)
as its CLI from its own virtualenv (`st run --checks all --mode all`, bounded examples per operation,
a fixed seed, one worker, requests paced below the stage's tightest route limit, no example database)
with credentials per security scheme from a config file (`[auth.openapi.<scheme>]`: the JWT with every
scope the contract uses, the Lambda tokens, the API key, made by the suite's own ApiCredentials). Its
JUnit report gives the findings as (operation, check code); a fault counts as flagged when a run finds
something the clean run did not. Beside it, `pytest conformance -m contract` (stagegate's contract
family, its own emulator) with the same fault: the rules that failed. Each run has a timeout; all
traffic goes to 127.0.0.1 (a dead local proxy for anything else).

Usage: python bench/schemathesis_compare.py [--st /tmp/st/bin/st] [--examples 25] [--seed 16]
       [--rate 9/s] [--timeout 240]
Install Schemathesis apart from the project: python3 -m venv /tmp/st && /tmp/st/bin/pip install schemathesis
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from conformance.harness.credentials import ApiCredentials  # noqa: E402
from fixtures.contract import Contract  # noqa: E402
from fixtures.emulator.serve.runner import start_emulator  # noqa: E402
from fixtures.stage import ApiConfig  # noqa: E402
from fixtures.stage.routes import load_contracts  # noqa: E402
from tests.conformance_runs import local_stage_copy, run_suite  # noqa: E402

FAULTS: tuple[str | None, ...] = (
    None,
    "handler.drop_status_without_channel",
    "handler.crash_on_max_reason",
    "handler.notify_not_enforced",
)
CONTRACT_RULES = (
    "test_generated_valid_inputs_get_documented_answers",
    "test_generated_invalid_inputs_are_refused",
)
LOCAL_ONLY = {
    "HTTP_PROXY": "http://127.0.0.1:9",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "NO_PROXY": "127.0.0.1",
}

INSTALL = "python3 -m venv /tmp/st && /tmp/st/bin/pip install schemathesis"
Finding = tuple[str, str, str]  # (api, operation, check code)


@dataclass(frozen=True)
class StRun:
    findings: frozenset[Finding]
    titles: dict[str, str]  # check code -> its title
    returncode: int
    seconds: float
    cases: str  # Schemathesis' own count line


def scheme_auth(api: ApiConfig, contract: Contract, document: dict, timeout_s: float) -> str:
    """The `[auth.openapi.<scheme>]` tables: each security scheme's credential as the suite sends it."""
    creds = ApiCredentials(api, contract, timeout_s)
    scopes = tuple(sorted({s for r in contract.routes for s in r.scopes}))
    lines = []
    for name, scheme in document.get("components", {}).get("securitySchemes", {}).items():
        route = next((r for r in contract.routes if r.authorizer == name), None)
        if route is not None:
            header, value = next(iter(creds.auth_headers(replace(route, scopes=scopes)).items()))
            if scheme.get("type") in ("oauth2", "openIdConnect", "http"):
                lines += [f"[auth.openapi.{name}]", f"bearer = {json.dumps(value.removeprefix('Bearer '))}"]
            else:
                lines += [f"[auth.openapi.{name}]", f"api_key = {json.dumps(value)}"]
        elif scheme.get("type") == "apiKey" and scheme.get("name", "").lower() == "x-api-key":
            lines += [f"[auth.openapi.{name}]", f"api_key = {json.dumps(creds.api_key())}"]
    return "\n".join(lines) + "\n"


def st_run(st: str, api: ApiConfig, contract: Contract, work: Path, args: argparse.Namespace) -> StRun:
    document = json.loads(Path(api.contract_path).read_text())
    config = work / f"{api.name}.toml"
    config.write_text(scheme_auth(api, contract, document, 5.0))
    reports = work / f"{api.name}-reports"
    command = [st, "--config-file", str(config), "--no-color", "run", str(api.contract_path)]
    command += ["--url", api.base_url, "--checks", "all", "--mode", "all", "-n", str(args.examples)]
    command += ["--seed", str(args.seed), "-w", "1", "--rate-limit", args.rate, "--request-timeout", "5"]
    command += ["--generation-database", "none", "--warnings", "off", "--continue-on-failure"]
    command += ["--report", "junit", "--report-dir", str(reports)]
    started = time.perf_counter()
    done = subprocess.run(
        command,
        cwd=work,  # its .hypothesis and report folders stay in the scratch folder
        capture_output=True,
        text=True,
        timeout=args.timeout,
        env={**os.environ, **LOCAL_ONLY},
    )
    seconds = time.perf_counter() - started
    findings, titles = set(), {}
    for junit in reports.glob("junit*.xml"):
        for case in ET.parse(junit).getroot().iter("testcase"):
            for failure in case.iter("failure"):
                text = (failure.text or "").splitlines()
                for code in failure.get("message", "?").split(", "):  # one failure may carry several
                    findings.add((api.name, case.get("name", "?"), code))
                    title = next((ln for ln in text if ln.startswith(f"- {code}")), "")
                    titles[code] = title.removeprefix(f"- {code}").strip()
    cases = next((ln.strip() for ln in done.stdout.splitlines() if " generated" in ln), "")
    if not findings and done.returncode != 0:
        print(done.stdout[-3000:], done.stderr[-2000:])
    return StRun(frozenset(findings), titles, done.returncode, seconds, cases)


def schemathesis_runs(st: str, fault: str | None, args: argparse.Namespace) -> dict[str, StRun]:
    with tempfile.TemporaryDirectory(prefix="stagegate-st-") as tmp:
        work = Path(tmp)
        stage_path = local_stage_copy(work)
        with start_emulator(str(stage_path), faults=[fault] if fault else [], access_log=False) as emulator:
            stage = emulator.stage
            contracts = load_contracts(stage)
            return {api.name: st_run(st, api, contracts[api.name], work, args) for api in stage.apis}


def stagegate_run(fault: str | None) -> tuple[int, list[str], float]:
    with tempfile.TemporaryDirectory(prefix="stagegate-st-sg-") as tmp:
        stage = local_stage_copy(Path(tmp))
        started = time.perf_counter()
        run = run_suite("--stage", str(stage), "-m", "contract", *(["--fault", fault] if fault else []))
        rules = sorted(r for r in run.failed_rules if r in CONTRACT_RULES)
        if run.returncode not in (0, 1):
            print(run.output[-3000:])
        return run.returncode, rules, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--st", default="/tmp/st/bin/st", help="the Schemathesis CLI (its own virtualenv)")
    parser.add_argument("--examples", type=int, default=25, help="examples per operation (-n)")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument(
        "--rate", default="9/s", help="Schemathesis --rate-limit (below 10/s: transcribe's limit)"
    )
    parser.add_argument("--timeout", type=float, default=240.0, help="seconds per Schemathesis run")
    args = parser.parse_args()
    if not Path(args.st).exists():
        print(f"no Schemathesis CLI at {args.st}: {INSTALL}")
        return 2
    version = subprocess.run(
        [args.st, "--version"], capture_output=True, text=True, timeout=60
    ).stdout.strip()
    print(
        f"{version}; --checks all --mode all -n {args.examples} --seed {args.seed} --rate-limit {args.rate}"
    )
    clean: frozenset[Finding] = frozenset()
    titles: dict[str, str] = {}
    rows = []
    for fault in FAULTS:
        st_runs = schemathesis_runs(args.st, fault, args)
        found = frozenset().union(*(r.findings for r in st_runs.values()))
        for r in st_runs.values():
            titles.update(r.titles)
        sg_code, sg_rules, sg_seconds = stagegate_run(fault)
        st_seconds = sum(r.seconds for r in st_runs.values())
        name = fault or "clean"
        for api, r in st_runs.items():
            print(f"  {name} {api}: Schemathesis exit {r.returncode}, {r.seconds:.0f} s, {r.cases}")
        if fault is None:
            clean = found
            print(f"clean stage: Schemathesis {len(found)} findings ({st_seconds:.0f} s):")
            for api, op, code in sorted(found):
                print(f"    {api} {op}: {code} {titles.get(code, '')}")
            print(f"clean stage: stagegate contract family exit {sg_code}, failed {sg_rules or '-'}")
            continue
        new = sorted(found - clean)
        shown = "; ".join(f"{api} {op} {code}" for api, op, code in new) or "-"
        rows.append(
            (fault, "FLAGGED" if new else "missed", shown, "CAUGHT" if sg_rules else "missed", sg_rules)
        )
        st_word, sg_word = ("flagged" if new else "missed"), ("caught" if sg_rules else "missed")
        print(f"{fault}: Schemathesis {st_word} ({shown}), {st_seconds:.0f} s; ", end="")
        print(f"stagegate {sg_word} {sg_rules or ''} (exit {sg_code}, {sg_seconds:.0f} s)")
    print("\nfault | Schemathesis (findings not on the clean stage) | stagegate contract family")
    for fault, st_verdict, shown, sg_verdict, rules in rows:
        print(f"{fault} | {st_verdict}: {shown} | {sg_verdict}: {', '.join(rules) or '-'}")
    print("codes: " + "; ".join(f"{code} {title}" for code, title in sorted(titles.items())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
