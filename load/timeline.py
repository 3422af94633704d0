"""The run's timeline: scenarios placed one after another, selection by name, and the guards (PURE)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from fixtures.contract import Contract
from fixtures.errors import ConfigError
from fixtures.stage import StageConfig
from fixtures.time_limits import LOAD_LIMIT_S
from load.records import Send
from load.scenarios import NAMES, Bounds, Phase, Run, Scenario, plan_api


def plan_stage(
    stage: StageConfig,
    contracts: Mapping[str, Contract],
    b: Bounds,
    names: Iterable[str] = (),
    lead_s: float = 0.0,
) -> Run:
    """Every scenario of every API that allows load; ConfigError when no API allows it."""
    allowed = [api for api in stage.apis if api.load_allowed]
    if not allowed:
        raise ConfigError(stage.path, "apis.*.load_allowed", "load is not allowed on any API of this stage")
    planned = [item for api in allowed for item in plan_api(api, contracts[api.name], b)]
    return layout(select(planned, names), b, lead_s)


def layout(planned: Iterable[tuple[Scenario, list[Phase]]], b: Bounds, lead_s: float = 0.0) -> Run:
    """Place scenarios one after another, each after its buckets have refilled."""
    scenarios: list[Scenario] = []
    sends: list[Send] = []
    clock = lead_s
    last_use: dict[str, float] = {}
    for sc, phases in planned:
        if not sc.runs or not phases:
            scenarios.append(sc)
            continue
        start = clock
        for name, limit in sc.limits.items():
            if name in last_use:
                start = max(start, last_use[name] + limit.burst / limit.rate + b.margin_s)
        end = start
        for phase in phases:
            for offset in phase.times():
                at = start + offset
                end = max(end, at)
                sends.append(
                    Send(
                        0,
                        sc.id,
                        round(at, 6),
                        phase.target.method,
                        phase.target.url,
                        phase.target.route_key,
                        phase.target.credential,
                        phase.buckets,
                        phase.quota,
                        phase.target.body,
                        phase.group,
                    )
                )
        for name in sc.limits:
            last_use[name] = end
        scenarios.append(replace(sc, start=start, end=end))
        clock = end + b.margin_s
    ordered = sorted(sends, key=lambda s: s.at)
    indexed = tuple(replace(s, index=i) for i, s in enumerate(ordered))
    return Run(tuple(scenarios), indexed, clock)


def select(
    planned: list[tuple[Scenario, list[Phase]]], names: Iterable[str]
) -> list[tuple[Scenario, list[Phase]]]:
    """Keep the named scenarios ("burst" or "portal.burst"); ConfigError for an unknown name."""
    wanted = set(names)
    if not wanted:
        return planned
    unknown = {n for n in wanted if n.split(".")[-1] not in NAMES}
    if unknown:
        raise ConfigError(
            "--scenario", ",".join(sorted(unknown)), f"unknown scenario; known: {', '.join(NAMES)}"
        )
    return [(sc, ph) for sc, ph in planned if sc.name in wanted or sc.id in wanted]


def check_length(run: Run, limit_s: float, stage_file: str) -> None:
    """ConfigError when the whole plan lasts longer than a run may (fixtures/time_limits.py)."""
    if run.duration > limit_s:
        starts = ", ".join(f"{sc.id} at {sc.start:,.0f} s" for sc in run.scenarios if sc.runs)
        raise ConfigError(
            stage_file,
            "load plan",
            f"lasts {run.duration:,.0f} s, longer than the {limit_s:,.0f} s a load run may plan within the "
            f"gate's {LOAD_LIMIT_S:,.0f} s limit (each scenario waits for its buckets to refill, burst / "
            f"rate; starts: {starts or 'none'})",
        )


def keys_of(run: Run, scenario_id: str) -> tuple[str, ...]:
    """The API keys (by name) a scenario's sends carry: whose quota it may use up."""
    labels = {s.credential for s in run.sends if s.scenario == scenario_id}
    return tuple(sorted({p[4:] for label in labels for p in label.split("+") if p.startswith("key:")}))


def guard(stage: StageConfig, run: Run) -> None:
    """Load only where the stage allows it, only to the stage file's base URLs, never to a route
    the stage file excludes, and only with keys marked `test_key = true` (load spends their quota)."""
    apis = {sc.api for sc in run.scenarios}
    for name in sorted(apis):
        api = stage.api(name)
        if not api.load_allowed:
            raise ConfigError(stage.path, f"apis.{name}.load_allowed", "load is not allowed on this stage")
        if "{" in api.base_url:
            raise ConfigError(
                stage.path, f"apis.{name}.base_url", "base URL not resolved (embedded stage not started)"
            )
    bases = tuple(stage.api(name).base_url.rstrip("/") + "/" for name in apis)
    for send in run.sends:
        if not send.url.startswith(bases):
            raise ConfigError(stage.path, send.scenario, "a planned request leaves the stage's base URLs")
        if send.route_key in stage.api(send.api).excluded:
            raise ConfigError(
                stage.path, send.scenario, f"a planned request goes to excluded {send.route_key}"
            )
    for sc in run.scenarios:
        marked = {k.name for p in stage.api(sc.api).usage_plans for k in p.keys if k.test_key and k.enabled}
        for name in keys_of(run, sc.id):
            if name not in marked:
                problem = f"would spend the quota of key {name}, not an enabled key with test_key = true"
                raise ConfigError(stage.path, sc.id, problem)
