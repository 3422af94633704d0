"""Locust entry: `locust -f load/locustfile.py --headless --stage staging [--scenario NAME]`.

Builds the scenarios from the stage file, fires them open-model (load/arrivals.py), judges each
against the token-bucket model (load/verdict.py), writes out/<stage>/load/ and sets the exit code:
0 pass (at least one scenario passed, the others passed or are not applicable), 1 fail, 3
inconclusive or nothing passed, 2 configuration error (load/results.py exit_code). `--stage
local` starts the embedded emulator. Distributed (`--processes N`, `--master`/`--worker`): the
master plans, sends each worker its interleaved share of the schedule (credential labels, never
credentials: each worker reads its own stage file and environment) and one start epoch, merges
their observations and judges once; workers never decide the exit code. The master listens on
127.0.0.1 unless `--master-bind-host` and `--allow-remote-workers` say otherwise.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import gevent
from gevent.event import Event
from locust import LoadTestShape, events, task
from locust.contrib.fasthttp import FastHttpUser
from locust.runners import MasterRunner, WorkerRunner
from locust.stats import CSV_STATS_INTERVAL_SEC

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # locust puts only load/ on the path
    sys.path.insert(0, ROOT)

from fixtures.errors import ConfigError  # noqa: E402
from fixtures.time_limits import MAX_LOAD_PLAN_S  # noqa: E402
from load.arrivals import ArrivalDriver, DriverConfig, shard  # noqa: E402
from load.records import observation_from_row, observation_to_row, send_from_row, send_to_row  # noqa: E402
from load.session import Session, master_exposure, worker_headers  # noqa: E402


@events.init_command_line_parser.add_listener
def _options(parser) -> None:  # type: ignore[no-untyped-def]
    group = parser.add_argument_group("stagegate")
    group.add_argument("--stage", default="local", help="stage name under stages/ or a stage file path")
    group.add_argument("--scenario", action="append", default=[], help="run only this scenario (repeatable)")
    group.add_argument(
        "--out-dir", default=os.path.join(ROOT, "out"), help="results root (out/<stage>/load/)"
    )
    group.add_argument("--max-rps", type=float, default=2000.0, help="fastest planned send rate")
    group.add_argument(
        "--max-plan-s",
        type=float,
        default=MAX_LOAD_PLAN_S,
        help=f"longest plan accepted, first to last send (default {MAX_LOAD_PLAN_S:.0f}: the gate's limit)",
    )
    group.add_argument(
        "--max-in-flight", type=int, default=1000, help="cap on requests in flight per process"
    )
    group.add_argument(
        "--emulator-fault", action="append", default=[], help="embedded stage: seed this fault"
    )
    group.add_argument("--bench-rps", type=float, default=0.0, help="driver benchmark: rate against --host")
    group.add_argument("--bench-seconds", type=float, default=3.0, help="driver benchmark: duration")
    group.add_argument("--bench-out", default="", help="driver benchmark: JSON figures file")
    group.add_argument(
        "--allow-remote-workers",
        action="store_true",
        help="let the master listen off loopback (--master-bind-host); prints a warning",
    )
    # The master listens on loopback unless told otherwise (Locust's own default is every interface).
    parser.set_defaults(master_bind_host="127.0.0.1")
    group.add_argument(
        "--progress-file",
        default="",
        help="JSON file rewritten at each scenario's start and end (for the gate)",
    )


class Controller:
    """Per-process state of one stagegate run (attached to the Locust environment)."""

    def __init__(self, environment) -> None:  # type: ignore[no-untyped-def]
        self.env = environment
        self.plan_ready = Event()
        self.plan: dict | None = None
        self.claimed = False
        self.session: Session | None = None
        self.rows: dict[int, list] = {}
        self.failed: dict[int, str] = {}  # workers that could not build their own headers
        self.shards = 1
        self.finished = False
        self.deadline: float | None = None
        self.follower: gevent.Greenlet | None = None
        self.last_answer = 0.0  # when the last observations arrived (Locust's CSV must catch up)

    def prepare(self) -> None:
        """Master/local: load the stage, start the emulator if embedded, plan and guard the run."""
        self.session = Session.open(self.env.parsed_options, self.env.host)
        self.deadline = time.time() + self.session.run.duration + 90.0

    def dispatch(self) -> None:
        """Master/local at test start: pick the start epoch and hand out the schedule."""
        session = self.session
        if session is None or self.plan_ready.is_set() and not isinstance(self.env.runner, MasterRunner):
            return
        runner = self.env.runner
        base: dict[str, Any] = {"cap": session.max_in_flight, "timeout": session.timeout_s}
        if isinstance(runner, MasterRunner):  # labels only: each worker builds its own headers
            base["stage"] = session.worker_stage
            clients = sorted(runner.clients.keys())
            self.shards = max(1, len(clients))
            epoch = time.time() + 3.0
            session.epoch = epoch
            for i, client_id in enumerate(clients):
                rows = [send_to_row(s) for s in shard(session.run.sends, i, self.shards)]
                runner.send_message(
                    "stagegate_plan",
                    {**base, "epoch": epoch, "worker": i, "sends": rows},
                    client_id=client_id,
                )
            self.follower = gevent.spawn(self.follow)
            return
        session.epoch = time.time() + 1.0
        self.plan = {
            **base,
            "headers": session.headers,  # this process's own: nothing leaves it
            "epoch": session.epoch,
            "worker": 0,
            "sends": [send_to_row(s) for s in session.run.sends],
        }
        self.plan_ready.set()
        self.follower = gevent.spawn(self.follow)

    def follow(self) -> None:
        """Rewrite the progress file at each scenario's start and last planned send."""
        assert self.session is not None
        for due, record in self.session.progress_marks():
            wait = due - time.time()
            if wait > 0:
                gevent.sleep(wait)
            if self.finished:
                return
            self.session.progress(record)

    def on_plan(self, msg, **_kw) -> None:  # type: ignore[no-untyped-def]
        """Worker: the master's schedule (labels only); the headers come from this worker's own stage
        file and environment."""
        plan = dict(msg.data)
        sends = [send_from_row(row) for row in plan["sends"]]
        # The master's stage file on this machine (--processes), else this worker's own --stage.
        stage_file = plan["stage"] if os.path.isfile(plan["stage"]) else self.env.parsed_options.stage
        try:
            plan["headers"] = worker_headers(stage_file, sends)
        except ConfigError as exc:
            print(f"stagegate: worker {plan['worker']}: configuration error: {exc}", file=sys.stderr)
            plan.update(headers={}, sends=[], error=str(exc))
        self.plan = plan
        self.plan_ready.set()

    def on_obs(self, msg, **_kw) -> None:  # type: ignore[no-untyped-def]
        self.collect(int(msg.data["worker"]), msg.data["rows"], str(msg.data.get("error") or ""))

    def collect(self, worker: int, rows: list, error: str = "") -> None:
        self.rows[worker] = rows
        if error:
            self.failed[worker] = error
            print(f"stagegate: worker {worker} sent nothing: {error}", file=sys.stderr, flush=True)
        self.last_answer = time.time()
        if len(self.rows) >= self.shards:
            self.finish()

    def finish(self) -> None:
        if self.finished or self.session is None:
            return
        self.finished = True
        if self.follower is not None:
            self.follower.kill(block=False)
        merged = [observation_from_row(r) for rows in self.rows.values() for r in rows]
        missing = self.shards - len(self.rows) + len(self.failed)
        self.session.judge_and_write(merged, missing_workers=missing)

    def cleanup(self) -> None:
        if self.session is not None:
            self.session.close()


class StagegateUser(FastHttpUser):
    """One per process: fires this process's share of the schedule once, then idles."""

    host = "http://127.0.0.1"  # placeholder: every planned URL is absolute (from the stage file)
    concurrency = 1000
    network_timeout = 10.0
    connection_timeout = 10.0

    @task
    def drive(self) -> None:
        ctl: Controller = self.environment.stagegate
        if ctl.claimed or not ctl.plan_ready.wait(timeout=60):
            gevent.sleep(1.0)
            return
        ctl.claimed = True
        plan = ctl.plan or {}
        sends = [send_from_row(r) for r in plan["sends"]]
        config = DriverConfig(
            int(plan["cap"]), int(plan["worker"]), join_timeout_s=float(plan["timeout"]) + 2
        )
        observations = ArrivalDriver(self.client, plan["headers"], config).run(sends, float(plan["epoch"]))
        rows = [observation_to_row(o) for o in observations]
        runner = self.environment.runner
        if isinstance(runner, WorkerRunner):
            answer = {"worker": plan["worker"], "rows": rows, "error": plan.get("error", "")}
            runner.send_message("stagegate_obs", answer)
        else:
            ctl.collect(0, rows)


class StagegateShape(LoadTestShape):
    """One user per process until the run is judged (or its deadline passes)."""

    def tick(self):  # type: ignore[no-untyped-def]
        ctl: Controller | None = getattr(getattr(self.runner, "environment", None), "stagegate", None)
        if ctl is None or ctl.finished or ctl.session is None:
            return None
        if ctl.deadline is not None and time.time() > ctl.deadline:
            ctl.finish()
            return None
        n = max(1, self.runner.worker_count) if isinstance(self.runner, MasterRunner) else 1
        return (n, n)


@events.init.add_listener
def _init(environment, **_kw) -> None:  # type: ignore[no-untyped-def]
    ctl = Controller(environment)
    environment.stagegate = ctl
    runner = environment.runner
    options = environment.parsed_options
    StagegateUser.concurrency = max(10, int(options.max_in_flight))
    if isinstance(runner, WorkerRunner):
        runner.register_message("stagegate_plan", ctl.on_plan)
        return
    if isinstance(runner, MasterRunner):
        problem, warning = master_exposure(options.master_bind_host, options.allow_remote_workers)
        if problem:
            print(f"stagegate: configuration error: {problem}", file=sys.stderr, flush=True)
            os._exit(2)  # before any worker is sent anything
        if warning:
            print(warning, file=sys.stderr, flush=True)
    try:
        ctl.prepare()
    except ConfigError as exc:
        ctl.cleanup()
        print(f"stagegate: configuration error: {exc}", file=sys.stderr, flush=True)
        os._exit(2)  # before any traffic; Locust would otherwise carry on with no plan
    except Exception as exc:  # noqa: BLE001 - e.g. the embedded emulator did not come up
        ctl.cleanup()
        print(f"stagegate: inconclusive, the stage could not be started or reached: {exc}", file=sys.stderr)
        os._exit(3)
    assert ctl.session is not None
    StagegateUser.network_timeout = StagegateUser.connection_timeout = ctl.session.timeout_s
    if isinstance(runner, MasterRunner):
        runner.register_message("stagegate_obs", ctl.on_obs)


@events.test_start.add_listener
def _start(environment, **_kw) -> None:  # type: ignore[no-untyped-def]
    if not isinstance(environment.runner, WorkerRunner):
        environment.stagegate.dispatch()


@events.quitting.add_listener
def _quitting(environment, **_kw) -> None:  # type: ignore[no-untyped-def]
    ctl: Controller = environment.stagegate
    if isinstance(environment.runner, WorkerRunner):
        return  # workers' stats are partial: only the master decides
    ctl.finish()
    ctl.cleanup()
    if environment.parsed_options.csv_prefix and ctl.last_answer:
        # Locust rewrites <prefix>_stats.csv once a second: let it write the final counts once more.
        gevent.sleep(max(0.0, ctl.last_answer + CSV_STATS_INTERVAL_SEC + 0.2 - time.time()))
    session = ctl.session
    environment.process_exit_code = 3 if session is None or session.exit_code is None else session.exit_code
