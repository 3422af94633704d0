"""One run on the master (or single process): stage, embedded emulator, plan, judgement, results.

No gevent here: the locustfile owns the event loop; this module owns the edges (stage file,
emulator process, result files, stdout).
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fixtures.errors import ConfigError
from fixtures.stage import StageConfig, Tolerance, load_stage
from fixtures.stage.copies import private_stage
from fixtures.stage.routes import load_contracts
from load.credentials import header_table
from load.records import Observation, Send
from load.results import (
    exit_code,
    locust_files,
    progress_marks,
    progress_record,
    scenario_result,
    verdict_line,
    write_observations,
    write_progress,
    write_results,
)
from load.scenarios import Bounds, Run, Scenario
from load.timeline import check_length, guard, keys_of, plan_stage
from load.verdict import judge, spent_quota


def _loopback_host(host: str) -> bool:
    """localhost or a loopback address ("[::1]" as in a URL too)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # "*", a name, an interface address: reachable from elsewhere


def master_exposure(bind_host: str, allowed: bool) -> tuple[str, str]:
    """(error, warning) for a master listening on `bind_host`: off loopback only when allowed.

    Any host that reaches the master's port can join as a worker and receive the schedule (URLs
    and credential labels; the credentials themselves never leave a process: each worker reads its
    own stage file and environment)."""
    if _loopback_host(bind_host):
        return "", ""
    shown = "all interfaces" if bind_host in ("*", "", "0.0.0.0", "::") else bind_host
    if not allowed:
        return (
            f"the master would listen on {shown} (--master-bind-host {bind_host}): workers on other hosts "
            "need --allow-remote-workers, and only on a network you trust",
            "",
        )
    return "", (
        f"stagegate: WARNING: the master listens on {shown} (--allow-remote-workers): any host that "
        "reaches its port can join as a worker and receive the schedule (URLs, credential labels)"
    )


def worker_headers(stage_file: str, sends: Sequence[Send]) -> dict[str, dict[str, str]]:
    """A worker's own request headers for the labels of its share: from the stage file and this
    process's environment, never from the master (which sends labels only). ConfigError if unusable,
    or if the master's schedule sends anywhere but the stage's own base URLs (the worker's
    credentials go only where its stage file says)."""
    stage = load_stage(stage_file)
    contracts = load_contracts(stage, only_load_allowed=True)
    # An embedded stage's file still holds {port}: the master's emulator runs on a port it chose.
    bases = {
        api.name: re.compile(re.escape(api.base_url.rstrip("/") + "/").replace(re.escape("{port}"), r"\d+"))
        for api in stage.apis
        if api.load_allowed
    }
    for send in sends:
        if send.api not in bases or not bases[send.api].match(send.url + "/"):
            problem = f"the master's schedule sends to {send.url}, not to this stage"
            raise ConfigError(stage.path, send.scenario, problem)
    return header_table(stage, contracts, {(s.api, s.credential) for s in sends})


def bench_run(host: str, rps: float, seconds: float) -> Run:
    """Driver benchmark: GET <host>/ at a constant rate (bare server on loopback only)."""
    if not _loopback_host(urlsplit(host).hostname or ""):
        raise ConfigError("--host", host, "the driver benchmark targets loopback servers only")
    count = int(rps * seconds)
    sends = tuple(
        Send(i, "bench.bare", round(i / rps, 6), "GET", host.rstrip("/") + "/", "GET /", "none", ())
        for i in range(count)
    )
    scenario = Scenario(
        "bench", "bare", f"{rps:g} rps for {seconds:g} s", 0.0, sends[-1].at if sends else 0.0, {}
    )
    return Run((scenario,), sends, seconds)


@dataclass
class Session:
    run: Run
    headers: dict[str, dict[str, str]]
    stage: StageConfig | None
    out_dir: str
    max_in_flight: int
    timeout_s: float
    bench_out: str = ""
    locust_files: dict[str, str] = field(default_factory=dict)
    emulator: Any = None
    epoch: float = 0.0
    exit_code: int | None = None
    progress_file: str = ""  # --progress-file: where the gate follows the run ("" = nowhere)
    worker_stage: str = ""  # the stage file workers load (the embedded stage: this run's own copy)
    selection: tuple[str, ...] = ()  # --scenario filters: the gate treats a narrowed run as partial

    @classmethod
    def open(cls, options: Any, host: str | None) -> Session:
        """Plan the run from the command line; ConfigError for anything unusable."""
        if options.bench_rps > 0:
            run = bench_run(host or "", options.bench_rps, options.bench_seconds)
            return cls(run, {}, None, options.out_dir, options.max_in_flight, 5.0, options.bench_out)
        stage = load_stage(options.stage)
        folder = os.path.join(options.out_dir, stage.name, "load")
        files = locust_files(options.csv_prefix, options.html_file, folder)
        if not any(api.load_allowed for api in stage.apis):
            raise ConfigError(
                stage.path, "apis.*.load_allowed", "load is not allowed on any API of this stage"
            )
        emulator, worker_stage = None, options.stage
        if stage.needs_emulator:
            from fixtures.emulator.gateway.faults import UnknownFaults, check_faults
            from fixtures.emulator.serve.runner import start_emulator

            try:
                check_faults(options.emulator_fault)
            except UnknownFaults as exc:
                raise ConfigError("--emulator-fault", ",".join(exc.names), "unknown emulator fault") from None

            folder = os.path.join(options.out_dir, stage.name, "load", f"run-{os.getpid()}")
            copy = str(private_stage(stage, Path(folder)))
            log = os.path.join(folder, "emulator.log")
            emulator = start_emulator(copy, faults=tuple(options.emulator_fault), log_path=log)
            stage, worker_stage = emulator.stage, copy
        elif options.emulator_fault:
            raise ConfigError(stage.path, "--emulator-fault", "faults apply only to the embedded emulator")
        try:
            contracts = load_contracts(stage, only_load_allowed=True)
            run = plan_stage(stage, contracts, Bounds(max_rps=options.max_rps), options.scenario)
            check_length(run, options.max_plan_s, stage.path)
            guard(stage, run)
            labels = {(s.api, s.credential) for s in run.sends}
            headers = header_table(stage, contracts, labels)
        except BaseException:
            if emulator is not None:
                emulator.stop()
            raise
        session = cls(
            run, headers, stage, options.out_dir, options.max_in_flight, stage.timeout_s, "", files, emulator,
            progress_file=options.progress_file, worker_stage=worker_stage, selection=tuple(options.scenario),
        )  # fmt: skip
        session.progress(progress_record("starting", total=sum(sc.runs for sc in run.scenarios)))
        for sc in run.scenarios:  # named before anything is sent: these keys' quota may be used up
            if sc.consumes_quota and sc.runs:
                keys = ", ".join(keys_of(run, sc.id)) or "none"
                print(f"stagegate: {sc.id} consumes quota of test key(s) {keys}: {sc.rule}", flush=True)
        return session

    def progress(self, record: dict[str, Any]) -> None:
        write_progress(self.progress_file, record)

    def progress_marks(self) -> list[tuple[float, dict[str, Any]]]:
        """(epoch seconds, record) at each scenario's start and last send, for the progress file."""
        return [(self.epoch + at, record) for at, record in progress_marks(self.run.scenarios)]

    def judge_and_write(self, observations: list[Observation], missing_workers: int = 0) -> None:
        """Judge every scenario, write the result files, print one line per scenario, set exit_code."""
        by_index = {o.index: o for o in observations}
        if self.stage is None:
            self._bench(observations)
            return
        self.progress(progress_record("judging", total=len(self.run.scenarios)))
        results = []
        spent: dict[str, int] = {}  # quota accepted per key so far in this run (scenarios in run order)
        for sc in self.run.scenarios:
            sends = [s for s in self.run.sends if s.scenario == sc.id]
            api = self.stage.api(sc.api)
            j = judge(sc, sends, by_index, api.tolerance, self.stage.embedded, self.epoch, spent)
            for counter, n in spent_quota(sends, by_index).items():
                spent[counter] = spent.get(counter, 0) + n
            if missing_workers:
                why = f"{missing_workers} worker(s) did not report"
                j = replace(j, status="inconclusive", reasons=(why, *j.reasons))
            results.append(scenario_result(sc, j, self.stage.name, self.locust_files))
        folder = write_results(self.out_dir, self.stage.name, results, self.selection)
        for sc in self.run.scenarios:
            rows = [_row(s, by_index.get(s.index), self.epoch) for s in self.run.sends if s.scenario == sc.id]
            write_observations(folder, sc.id, rows)
        for result in results:
            print(verdict_line(result), flush=True)
        self.exit_code = exit_code([r["verdict"] for r in results])
        if results and all(r["verdict"] == "not_applicable" for r in results):
            print("stagegate: no load scenario applies to this stage: nothing was judged", flush=True)
        self.progress(progress_record("done", total=len(results)))
        print(f"stagegate: results in {folder}; exit code {self.exit_code}", flush=True)

    def _bench(self, observations: list[Observation]) -> None:
        figures = bench_figures(self.run, observations, Tolerance().late_ms)
        print(json.dumps(figures), flush=True)
        if self.bench_out:
            with open(self.bench_out, "w", encoding="utf-8") as handle:
                json.dump(figures, handle, indent=1)
        self.exit_code = 0

    def close(self) -> None:
        if self.emulator is None:
            return
        self.emulator.stop()
        run_dir = os.path.dirname(self.emulator.log_path)
        if os.path.basename(run_dir).startswith("run-"):  # per-run stage copy and test issuer keys
            with contextlib.suppress(OSError):
                os.replace(self.emulator.log_path, os.path.join(os.path.dirname(run_dir), "emulator.log"))
            shutil.rmtree(run_dir, ignore_errors=True)
        self.emulator = None


def _row(send: Send, obs: Observation | None, epoch: float) -> list[object]:
    if obs is None:
        return [send.index, send.group, round(send.at, 6), None, None, 0, "none", None]
    sent = None if obs.sent is None else round(obs.sent - epoch, 6)
    latency = None if obs.latency is None else round(obs.latency * 1e3, 3)
    return [send.index, send.group, round(send.at, 6), sent, latency, obs.status, obs.body_kind, obs.worker]


def bench_figures(run: Run, observations: list[Observation], late_ms: float) -> dict[str, Any]:
    """Achieved vs requested rate and late share of a driver benchmark."""
    sent = sorted(o.sent for o in observations if o.sent is not None)
    answered = [o for o in observations if o.status]
    late = [o for o in observations if o.sent is not None and o.sent - o.planned > late_ms / 1e3]
    lateness = sorted((o.sent - o.planned) * 1e3 for o in observations if o.sent is not None)
    requested = len(run.sends) / run.duration if run.duration else 0.0
    span = (sent[-1] - sent[0]) if len(sent) > 1 else 0.0
    achieved = (len(sent) - 1) / span if span else 0.0
    latencies = sorted(o.latency * 1e3 for o in answered if o.latency is not None)

    def pct(values: list[float], q: float) -> float | None:
        return round(values[min(len(values) - 1, int(q * len(values)))], 3) if values else None

    return {
        "requested_rps": round(requested, 1),
        "achieved_rps": round(achieved, 1),
        "planned": len(run.sends),
        "sent": len(sent),
        "answered": len(answered),
        "dropped": sum(1 for o in observations if o.sent is None),
        "late_share": round(len(late) / len(observations), 5) if observations else None,
        "lateness_ms_p50": pct(lateness, 0.5),
        "lateness_ms_p99": pct(lateness, 0.99),
        "latency_ms_p50": pct(latencies, 0.5),
        "latency_ms_p99": pct(latencies, 0.99),
    }
