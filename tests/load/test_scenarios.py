"""Scenarios derived from the embedded stage file, the timeline, and the load guards (pure)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace

import pytest

from fixtures.errors import ConfigError
from fixtures.stage import StageConfig, load_stage
from load.scenarios import NAMES, Bounds
from load.timeline import guard, plan_stage


@pytest.fixture(scope="module")
def stage() -> StageConfig:
    return load_stage("local").with_port(8999)


@pytest.fixture(scope="module")
def contracts(stage: StageConfig) -> dict:
    return {api.name: api.contract() for api in stage.apis}


def test_every_api_gets_its_scenarios_and_none_is_skipped(stage: StageConfig, contracts: dict) -> None:
    run = plan_stage(stage, contracts, Bounds())
    ids = {sc.id for sc in run.scenarios}
    assert {"portal.burst", "portal.over-rate", "portal.under-rate", "portal.per-route"} <= ids
    assert {
        f"partner.{n}"
        for n in ("burst", "over-rate", "under-rate", "plan-throttle", "key-isolation", "quota")
    } <= ids
    assert [sc.id for sc in run.scenarios if sc.skipped] == []


def test_run_is_bounded_in_time_and_requests(stage: StageConfig, contracts: dict) -> None:
    run = plan_stage(stage, contracts, Bounds())
    assert run.duration < 45  # leaves room for start-up inside the 60 s budget
    per_scenario = {sc.id: sum(1 for s in run.sends if s.scenario == sc.id) for sc in run.scenarios}
    assert max(per_scenario.values()) <= Bounds().max_requests
    assert all(
        s.url.startswith(("http://127.0.0.1:8999/portal/", "http://127.0.0.1:8999/partner/v1/"))
        for s in run.sends
    )


def test_each_scenario_starts_after_its_buckets_refilled(stage: StageConfig, contracts: dict) -> None:
    run = plan_stage(stage, contracts, Bounds())
    last: dict[str, float] = {}
    for sc in sorted((s for s in run.scenarios if not s.skipped), key=lambda s: s.start):
        sends = [s for s in run.sends if s.scenario == sc.id]
        for name, limit in sc.limits.items():
            if name in last:
                assert sc.start - last[name] >= limit.burst / limit.rate
        for s in sends:
            for b in s.buckets:
                last[b] = max(last.get(b, 0.0), s.at)


def test_burst_offers_more_than_the_burst_at_the_fastest_rate(stage: StageConfig, contracts: dict) -> None:
    run = plan_stage(stage, contracts, Bounds(), ["portal.burst"])
    sends = [s for s in run.sends if s.scenario == "portal.burst"]
    assert len(sends) > 200
    assert sends[-1].at - sends[0].at < 0.2


def test_per_route_covers_the_override_and_two_default_routes(stage: StageConfig, contracts: dict) -> None:
    run = plan_stage(stage, contracts, Bounds(), ["per-route"])
    (sc,) = run.scenarios
    groups = {s.group for s in run.sends}
    assert "POST /calls/transcribe" in groups and len(groups) == 3
    assert sc.limits["route:portal:POST /calls/transcribe"].rate == 10
    others = [g for g in groups if g != "POST /calls/transcribe"]
    # Each other route stays under its own burst, together over one: a stage-wide bucket shows.
    for g in others:
        assert sum(1 for s in run.sends if s.group == g) < 200
    assert sum(1 for s in run.sends if s.group in others) > 200


def test_quota_uses_only_enabled_test_keys_and_says_it_consumes_quota(
    stage: StageConfig, contracts: dict
) -> None:
    run = plan_stage(stage, contracts, Bounds(), ["quota"])
    (sc,) = run.scenarios
    assert sc.consumes_quota and "consumes" in sc.rule
    labels = {s.credential for s in run.sends}
    assert labels == {"key:quota-a", "key:quota-b"}
    assert sc.quotas == {"quota:quota-test-plan:quota-a": 50, "quota:quota-test-plan:quota-b": 50}


def test_unknown_scenario_name_is_a_config_error(stage: StageConfig, contracts: dict) -> None:
    with pytest.raises(ConfigError, match="unknown scenario"):
        plan_stage(stage, contracts, Bounds(), ["slow-loris"])
    assert plan_stage(stage, contracts, Bounds(), [NAMES[0]]).sends  # positive control


def test_stage_that_forbids_load_is_refused(stage: StageConfig, contracts: dict) -> None:
    forbidden = replace(stage, apis=tuple(replace(a, load_allowed=False) for a in stage.apis))
    with pytest.raises(ConfigError, match="load is not allowed"):
        plan_stage(forbidden, contracts, Bounds())
    guard(stage, plan_stage(stage, contracts, Bounds()))  # positive control: allowed stage passes


def test_guard_refuses_urls_outside_the_stage_base_urls(stage: StageConfig, contracts: dict) -> None:
    run = plan_stage(stage, contracts, Bounds(), ["burst"])
    moved = replace(
        run, sends=(replace(run.sends[0], url="http://127.0.0.2:8999/portal/health"), *run.sends[1:])
    )
    with pytest.raises(ConfigError, match="leaves the stage's base URLs"):
        guard(stage, moved)
    guard(stage, run)


def test_guard_refuses_an_unstarted_embedded_stage(contracts: dict) -> None:
    raw = load_stage("local")
    run = plan_stage(raw.with_port(1), contracts, Bounds(), ["burst"])
    with pytest.raises(ConfigError, match="not resolved"):
        guard(raw, run)


def test_limits_beyond_the_driver_bounds_make_the_scenario_skipped(
    stage: StageConfig, contracts: dict
) -> None:
    """partner.over-rate needs 2x the stage rate (400/s): above --max-rps 300 it is not run."""
    run = plan_stage(stage, contracts, Bounds(max_rps=300), ["partner.over-rate"])
    (sc,) = run.scenarios
    assert sc.skipped is not None and "400 rps" in sc.skipped and not run.sends
    fits = plan_stage(stage, contracts, Bounds(max_rps=400), ["partner.over-rate"])
    assert fits.scenarios[0].skipped is None and fits.sends


def test_pure_modules_import_neither_gevent_nor_locust() -> None:
    code = (
        "import sys; import load.bucket, load.verdict, load.scenarios, load.timeline, load.results, "
        "load.session; print(sorted(m for m in sys.modules if m.split('.')[0] in ('gevent', 'locust')))"
    )
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True, cwd=root
    )
    assert out.stdout.strip() == "[]"
