"""The gate: `python -m reports.run --stage NAME [--fault NAME]... [--no-load] [--smoke]`.

Runs conformance (pytest) and load (Locust, headless) against the stage as subprocesses, builds the
report, prints the verdict and the report's path, and exits 0 pass, 1 fail, 2 configuration
error, 3 inconclusive. The embedded stage is started once for the whole run and always stopped,
also on Ctrl-C. Imports fixtures only, never conformance/ or load/.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from types import FrameType

from discover.drift import DriftResult
from fixtures.errors import ConfigError
from fixtures.reachability import unreachable as unreachable_stage
from fixtures.stage import StageConfig, load_stage
from fixtures.stage.copies import check_secret_names, private_stage, write_resolved_stage
from fixtures.stage.deviations import load_deviations
from fixtures.stage.routes import load_contracts
from fixtures.time_limits import CONFORMANCE_LIMIT_S, LOAD_LIMIT_S
from reports.build import build
from reports.gate import EXIT_CODES, EXIT_CONFIG_ERROR, Part
from reports.live.load_progress import describe_load, read_load_progress
from reports.live.parts import PartRun, ProgressLine, run_part
from reports.live.pytest_progress import ENV as PROGRESS_ENV
from reports.live.pytest_progress import read_progress
from reports.read.coverage import FILE as COVERAGE_FILE
from reports.run_info import ROOT, ContractFile, RunInfo, contract_digest
from reports.write.redaction import make_redactor, sensitive_headers
from reports.write.summary import console_reasons, console_table

PROBE_TIMEOUT_S = 5.0
EXIT_INTERRUPTED = 130
MAX_REASONS_SHOWN = 10
STALE = (
    "allure-results", "junit.xml", "load", "gate.json", "summary.md", "report.html", "progress.txt",
    "load-progress.json", "coverage.json",
)  # fmt: skip
# Not stale: history.jsonl, the stage's earlier runs (reports/write/history.py), stays between runs.
# Environment that would change what pytest runs behind the gate's back (the scope is the stage's).
PYTEST_ENV_DROPPED = ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTEST_DISABLE_PLUGIN_AUTOLOAD")
LOAD_PROGRESS = "load-progress.json"  # rewritten by the locustfile at each scenario's start and end


@dataclass(frozen=True)
class Plan:
    """What this run does, decided from the stage and the flags before anything starts."""

    smoke: bool
    load: Part  # state "ran" means: run it
    why_smoke: str = ""


def plan_run(stage: StageConfig, no_load: bool, smoke: bool) -> Plan:
    """PURE: the smoke subset when asked or declared (gate_scope); load skipped by flag or by policy.

    A narrower run than the stage declares still runs, and its verdict says so (PASS (partial)).
    """
    declared = stage.gate_scope == "smoke" and not smoke
    why = 'the stage declares gate_scope = "smoke": the read-only smoke subset, no load' if declared else ""
    if declared:
        return Plan(True, Part("skipped_by_policy", 'gate_scope = "smoke": no load'), why)
    if smoke:
        return Plan(True, Part("skipped_by_request", "--smoke: read-only smoke subset, no load"), why)
    if stage.gate_scope == "conformance":
        return Plan(False, Part("skipped_by_policy", 'gate_scope = "conformance": no load'))
    if not any(api.load_allowed for api in stage.apis):
        return Plan(False, Part("skipped_by_policy", "the stage forbids load (load_allowed = false)"))
    if no_load:
        return Plan(False, Part("skipped_by_request", "--no-load"))
    return Plan(False, Part("ran"))


def clean(out_dir: Path) -> None:
    """Remove a previous run's results so nothing stale is reported."""
    for name in STALE:
        path = out_dir / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def run_gate(args: argparse.Namespace, progress: ProgressLine) -> int:
    try:
        stage = load_stage(args.stage)
    except ConfigError as exc:
        print(f"stagegate: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    if args.fault and not stage.embedded:
        print(
            f"stagegate: configuration error: --fault needs the embedded stage, not {stage.name}",
            file=sys.stderr,
        )
        return EXIT_CONFIG_ERROR
    if args.fault:
        from fixtures.emulator.gateway.faults import UnknownFaults, check_faults

        try:
            check_faults(args.fault)
        except UnknownFaults as exc:
            print(f"stagegate: configuration error: unknown --fault {', '.join(exc.names)}", file=sys.stderr)
            return EXIT_CONFIG_ERROR
    try:
        waivers = dict(load_deviations(stage).waivers)
        contracts = load_contracts(stage)  # a contract it cannot use: a configuration error, up front
        if stage.embedded:
            check_secret_names(stage)
    except ConfigError as exc:
        print(f"stagegate: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    plan = plan_run(stage, args.no_load, args.smoke)
    # Drift matters to the load part only (its verdict would be judged on the wrong limits): a run
    # without load neither checks it nor is blocked by a check that cannot run.
    drift = drift_before_load(stage, progress) if plan.load.state == "ran" else DriftResult(False)
    if drift.blocks_load:
        plan = replace(plan, load=Part("skipped_by_policy", drift.load_detail))
    out_dir = Path(args.out).resolve() / stage.name
    out_dir.mkdir(parents=True, exist_ok=True)
    clean(out_dir)
    secrets, headers = stage.secrets(), sensitive_headers(contracts.values())
    redact = make_redactor(secrets, headers).text
    started, seconds = time.time(), {}
    conformance, load, unreachable = Part("missing", "not run"), plan.load, ""
    exits: dict[str, int | None] = {"conformance": None, "load": None}
    if plan.why_smoke:
        print(f"stagegate: {plan.why_smoke}")
    emulator, private = None, tempfile.TemporaryDirectory(prefix="stagegate-gate-")
    try:
        stage_file, env = stage.path, dict(os.environ)
        live = stage
        if stage.embedded:
            from fixtures.emulator.serve.runner import start_emulator

            progress.update("stage: starting the embedded emulator")
            log = out_dir / "emulator.log"
            own = private_stage(stage, Path(private.name))
            emulator = start_emulator(str(own), faults=tuple(args.fault), log_path=str(log))
            path, secret_env = write_resolved_stage(emulator.stage, emulator.port, Path(args.out).resolve())
            stage_file, env, live = str(path), {**env, **secret_env}, emulator.stage
            faults = f" with faults {', '.join(args.fault)}" if args.fault else ""
            progress.finish(f"stage: embedded emulator on 127.0.0.1:{emulator.port}{faults}")
        unreachable = unreachable_stage(live, min(live.timeout_s, PROBE_TIMEOUT_S))
        if unreachable:
            progress.finish(f"stage: UNREACHABLE ({redact(unreachable)})")
            load = Part("missing", "not run: stage unreachable") if load.state == "ran" else load
        else:
            conformance, exits["conformance"], seconds["conformance"] = _conformance(
                stage_file, {k: v for k, v in env.items() if k not in PYTEST_ENV_DROPPED}, out_dir,
                plan.smoke, progress,
            )  # fmt: skip
            if load.state == "ran":
                load_env = isolated_load_env(env, private.name)
                load, exits["load"], seconds["load"] = _load(stage_file, load_env, out_dir, progress)
            else:
                progress.finish(f"load: skipped ({load.detail})")
    except KeyboardInterrupt:
        progress.finish("stagegate: interrupted; stopping the stage")
        return EXIT_INTERRUPTED
    except ConfigError as exc:  # the emulator refused its configuration (e.g. its handlers module)
        progress.finish("stagegate: configuration error; stopping the stage")
        shown = str(exc).replace(str(Path(private.name) / Path(stage.path).name), stage.path)  # own copy
        print(f"stagegate: configuration error: {redact(shown)}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    except RuntimeError as exc:  # the emulator did not start: one line, no traceback
        first = str(exc).splitlines()[0]
        print(f"stagegate: the embedded stage did not start: {redact(first)}", file=sys.stderr)
        unreachable = f"embedded emulator did not start ({first})"
    finally:
        if emulator is not None:
            emulator.stop()
        private.cleanup()
    progress.update("report: building")
    info = RunInfo(
        stage=stage.name,
        stage_file=_shown(Path(stage.path)),
        embedded=stage.embedded,
        conformance_part=conformance,
        load_part=load,
        conformance_exit=exits["conformance"],
        load_exit=exits["load"],
        smoke=plan.smoke,
        unreachable=unreachable,
        contract_digest=contract_digest(
            [
                ContractFile(api.name, api.flavor, api.contract_path, asdict(api.generated))
                for api in stage.apis
            ]
        ),
        started=started,
        seconds=seconds,
        secrets=secrets,
        sensitive_headers=headers,
        gate_scope=stage.gate_scope,
        waivers=waivers,
        without_load=tuple(api.name for api in stage.apis if not api.load_allowed),
        drift=drift.differences,
        drift_error=drift.error,
    )
    built = build(info, out_dir, ROOT, render_html=not args.no_html)
    progress.finish("report: built")
    print()
    print(console_table(built.gate))
    print()
    reasons = console_reasons(built.gate, MAX_REASONS_SHOWN, _shown(out_dir / "summary.md"))
    if reasons:  # grouped per rule and cause: received, expected, likely cause (all in summary.md)
        print(reasons)
    for note in built.decision.notes:
        print(f"  note: {note}")
    total = built.gate["timing"]["seconds"]["total"]
    verdict, code = built.decision.headline, built.decision.exit_code
    print(f"stagegate: {verdict} on stage {stage.name} in {total} s (exit {code})")
    print(f"report: {_shown(built.html.path)}" if built.html.path else built.html.note)
    print(f"results: {_shown(out_dir)}/ (gate.json, summary.md, junit.xml, allure-results/)")
    return built.decision.exit_code


def drift_before_load(stage: StageConfig, progress: ProgressLine) -> DriftResult:
    """`stagegate drift` before anything runs (drift_check; discover/drift.py decides when)."""
    from discover.aws import credentials_available, make_clients
    from discover.drift import gate_drift

    result = gate_drift(stage, make_clients, credentials_available)
    if result.checked or result.why_not:
        progress.finish(f"drift: {result.summary}")
    return result


def _conformance(
    stage_file: str, env: dict[str, str], out_dir: Path, smoke: bool, progress: ProgressLine
) -> tuple[Part, int | None, float]:
    progress_file = out_dir / "progress.txt"
    command = [sys.executable, "-m", "pytest", "conformance", "--stage", stage_file,
               "--alluredir", str(out_dir / "allure-results"), "--junitxml", str(out_dir / "junit.xml"),
               "--stagegate-coverage", str(out_dir / COVERAGE_FILE),
               "-p", "no:cacheprovider", "-p", "reports.live.pytest_progress",
               "-q", "--color=no"]  # fmt: skip
    if smoke:
        command += ["-m", "smoke"]

    def describe(elapsed: float) -> str:
        seen = read_progress(progress_file)
        if seen is None:
            return f"conformance: collecting ({elapsed:.0f} s)"
        done, total, failed = seen
        share = f"{100 * done // total}%" if total else "-"
        return f"conformance: {done}/{total} tests ({share}), {failed} failed, {elapsed:.0f} s"

    run = run_part(command, cwd=ROOT, env={**env, PROGRESS_ENV: str(progress_file)},
                   log_path=out_dir / "conformance.log", describe=describe, progress=progress,
                   timeout_s=CONFORMANCE_LIMIT_S)  # fmt: skip
    progress.finish(describe(run.seconds) + (" - done" if run.exit_code is not None else " - TIME LIMIT"))
    progress_file.unlink(missing_ok=True)
    part = part_after(run, "pytest", (out_dir / "junit.xml").is_file(), CONFORMANCE_LIMIT_S)
    return part, run.exit_code, run.seconds


def part_after(run: PartRun, tool: str, results_written: bool, limit_s: float) -> Part:
    """PURE: the part's state from its exit and whether it left results (the log's last line says why not)."""
    if run.exit_code is None:
        return Part("aborted", f"stopped after {limit_s:.0f} s")
    if not results_written:
        last = run.log_tail.splitlines()[-1:] or ["no output"]
        return Part("missing", f"{tool} exit {run.exit_code}: {last[0][:200]}")
    return Part("ran")


def isolated_load_env(env: dict[str, str], home: str) -> dict[str, str]:
    """PURE: Locust's environment without what would narrow the run behind the gate's back: its
    LOCUST_* options (e.g. LOCUST_SCENARIO) and ~/.locust.conf (HOME points at this run's folder)."""
    return {**{k: v for k, v in env.items() if not k.upper().startswith("LOCUST_")}, "HOME": home}


def load_command(stage_file: str, out_dir: Path) -> list[str]:
    """PURE: Locust headless on the stage, results, CSV, HTML and progress file under out_dir."""
    load_dir = out_dir / "load"
    return [sys.executable, "-m", "locust", "-f", "load/locustfile.py", "--headless", "--only-summary",
            "--stage", stage_file, "--out-dir", str(out_dir.parent),
            "--progress-file", str(out_dir / LOAD_PROGRESS),
            "--csv", str(load_dir / "locust"), "--html", str(load_dir / "locust.html")]  # fmt: skip


def _load(
    stage_file: str, env: dict[str, str], out_dir: Path, progress: ProgressLine
) -> tuple[Part, int | None, float]:
    load_dir, progress_file = out_dir / "load", out_dir / LOAD_PROGRESS
    command = load_command(stage_file, out_dir)

    def describe(elapsed: float) -> str:
        return describe_load(read_load_progress(progress_file), elapsed)

    run = run_part(command, cwd=ROOT, env=env, log_path=out_dir / "load.log", describe=describe,
                   progress=progress, timeout_s=LOAD_LIMIT_S)  # fmt: skip
    progress.finish(
        describe(run.seconds) + (f" - exit {run.exit_code}" if run.exit_code is not None else " - TIME LIMIT")
    )
    progress_file.unlink(missing_ok=True)
    part = part_after(run, "locust", (load_dir / "summary.json").is_file(), LOAD_LIMIT_S)
    return part, run.exit_code, run.seconds


def add_gate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--stage", default="local", help="stage name under stages/ or a stage file (default local)"
    )
    parser.add_argument(
        "--fault", action="append", default=[], metavar="NAME", help="seed a fault (embedded only)"
    )
    parser.add_argument("--no-load", action="store_true", help="skip the load part (the verdict is partial)")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help='read-only smoke subset, no load (partial unless the stage declares gate_scope = "smoke")',
    )
    parser.add_argument("--no-html", action="store_true", help="do not render report.html")
    parser.add_argument("--out", default=str(ROOT / "out"), help="results root (default out/)")


def gate_main(args: argparse.Namespace) -> int:
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)  # CI cancels with SIGTERM: clean up too
    try:
        return run_gate(args, ProgressLine())
    except KeyboardInterrupt:
        print("\nstagegate: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # a crash of the gate itself decides nothing: never 1 (read as FAIL)
        first = (str(exc).splitlines() or [""])[0][:300]
        print(f"stagegate: internal error, no verdict: {type(exc).__name__}: {first}", file=sys.stderr)
        return EXIT_CODES["inconclusive"]
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reports.run", description=__doc__.splitlines()[0])
    add_gate_arguments(parser)
    return gate_main(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
