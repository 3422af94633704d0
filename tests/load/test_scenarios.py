"""Scenarios derived from the embedded stage file, the timeline, and the load guards (pure)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import replace

import pytest

from fixtures.errors import ConfigError
from fixtures.stage import (
    ApiConfig,
    Limit,
    StageConfig,
    Throttle,
    Tolerance,
    UsagePlan,
    contract_of,
    load_stage,
)
from fixtures.stage.limits import THROTTLE_KEYS, throttle
from fixtures.stage.model import ACCOUNT_DEFAULT
from fixtures.stage.tomlcheck import Context, Table
from load.records import Observation
from load.scenarios import NAMES, Bounds, Run, Scenario
from load.timeline import guard, plan_stage
from load.verdict import judge


def test_every_api_gets_its_scenarios_and_none_is_skipped(stage: StageConfig, contracts: dict) -> None:
    run = plan_stage(stage, contracts, Bounds())
    ids = {sc.id for sc in run.scenarios if sc.runs}
    assert {"portal.burst", "portal.over-rate", "portal.under-rate", "portal.per-route"} <= ids
    assert {
        f"partner.{n}"
        for n in ("burst", "over-rate", "under-rate", "plan-throttle", "key-isolation", "quota")
    } <= ids
    assert [sc.id for sc in run.scenarios if sc.skipped] == []
    # Every API x scenario has a record: what the stage has no feature for says so.
    assert len(run.scenarios) == 2 * len(NAMES)
    assert {sc.id: sc.not_applicable for sc in run.scenarios if not sc.runs} == {
        "portal.plan-throttle": "usage plans exist only for REST APIs",
        "portal.key-isolation": "usage plans exist only for REST APIs",
        "portal.quota": "usage plans exist only for REST APIs",
        "partner.per-route": "no route override in [apis.partner.throttle.routes]",
    }


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
    run = plan_stage(stage, contracts, Bounds(), ["portal.per-route"])
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
    run = plan_stage(stage, contracts, Bounds(), ["partner.quota"])
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


# --- Power before verdict, real configurations, not applicable (issue 10) -------------------------


class _AnyEnv(Mapping[str, str]):
    """Every variable a stage file names is set (planning reads no secret value)."""

    def __getitem__(self, key: str) -> str:
        return f"placeholder-{key.lower()}"

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __contains__(self, key: object) -> bool:
        return True


@pytest.fixture(scope="module")
def staging() -> StageConfig:
    return load_stage("stages/staging.example.toml", environ=_AnyEnv())


def _by_id(run: Run) -> dict[str, Scenario]:
    return {sc.id: sc for sc in run.scenarios}


def _unenforced(run: Run, sc: Scenario) -> dict[int, Observation]:
    """A stage that enforces nothing (LocalStack's usage plans): every request answered 200."""
    return {
        s.index: Observation(s.index, 1e9 + s.at, 1e9 + s.at, 0.001, 200, "none")
        for s in run.sends
        if s.scenario == sc.id
    }


def test_staging_tolerances_plan_every_scenario_with_the_power_to_see_no_enforcement(
    staging: StageConfig,
) -> None:
    """With accepted_abs 20 / accepted_rel 0.10 the default plans of partner.quota (60 with key A),
    partner.key-isolation (50) and partner.burst (1,500) left "no enforcement" inside the pass band:
    a stage enforcing nothing passed. Each is enlarged until it is two tolerances away."""
    contracts = {api.name: contract_of(api) for api in staging.apis}
    run = plan_stage(staging, contracts, Bounds())
    scenarios = _by_id(run)
    judged = [sc for sc in run.scenarios if sc.runs and sc.power is not None]
    assert {sc.id for sc in judged} >= {"partner.quota", "partner.key-isolation", "partner.burst"}
    for sc in judged:
        power = sc.power
        assert power is not None and power.enough, (sc.id, power)
        assert power.unenforced_accepted - power.model_accepted >= 2 * power.tolerance
        assert power.margin >= power.tolerance > 0
        # And the verdict agrees: a stage that accepts everything never passes.
        api = staging.api(sc.api)
        sends = [s for s in run.sends if s.scenario == sc.id]
        verdict = judge(sc, sends, _unenforced(run, sc), api.tolerance, False, 1e9)
        assert verdict.status == "fail", (sc.id, verdict.reasons)
    quota = scenarios["partner.quota"]
    assert quota.power is not None and quota.power.requests >= 50 + 2 * 20 > quota.power.default_requests
    assert scenarios["partner.key-isolation"].power.requests > 50  # type: ignore[union-attr]
    assert scenarios["partner.burst"].power.requests > 1500  # type: ignore[union-attr]
    assert scenarios["portal.under-rate"].runs and scenarios["portal.under-rate"].power is None


def test_a_plan_the_bounds_cannot_make_powerful_is_inconclusive_with_the_numbers(
    staging: StageConfig,
) -> None:
    contracts = {api.name: contract_of(api) for api in staging.apis}
    run = plan_stage(staging, contracts, Bounds(max_requests=80), ["partner.quota"])
    (sc,) = run.scenarios
    assert sc.skipped is not None and not run.sends
    assert sc.skipped.startswith("cannot tell enforcement from none at tolerance 20 (needs ")
    assert sc.skipped.endswith("requests, bound 80)")
    assert sc.power is not None and not sc.power.enough  # the largest plan within the bound, shown
    assert judge(sc, [], {}, Tolerance(20, 0.1), False, 0.0).status == "inconclusive"
    assert plan_stage(staging, contracts, Bounds(), ["partner.quota"]).scenarios[0].runs  # control


def _with_api(stage: StageConfig, name: str, **changes: object) -> StageConfig:
    apis = tuple(replace(a, **changes) if a.name == name else a for a in stage.apis)  # type: ignore[arg-type]
    return replace(stage, apis=apis)


def test_no_stage_throttle_makes_the_stage_scenarios_not_applicable(
    stage: StageConfig, contracts: dict
) -> None:
    """A stage file without [throttle] (account default) made burst/over-rate/under-rate
    "inconclusive: not run" forever: the gate could never pass with load."""
    bare = _with_api(stage, "partner", throttle=Throttle(None, {}))
    scenarios = _by_id(plan_stage(bare, contracts, Bounds()))
    for name in ("burst", "over-rate", "under-rate"):
        sc = scenarios[f"partner.{name}"]
        assert sc.skipped is None and sc.not_applicable is not None
        assert "account default" in sc.not_applicable and "account_default = true" in sc.not_applicable
        assert judge(sc, [], {}, Tolerance(), True, 0.0).status == "not_applicable"
    assert scenarios["partner.quota"].runs  # the usage plans are still tested


def test_account_default_is_tested_only_when_the_stage_file_asks(stage: StageConfig, contracts: dict) -> None:
    asked = _with_api(stage, "partner", throttle=Throttle(None, {}, account_default=True))
    scenarios = _by_id(plan_stage(asked, contracts, Bounds()))
    burst = scenarios["partner.burst"]
    assert burst.not_applicable is None and burst.skipped is not None  # planned against 10,000/5,000 ...
    assert "cannot tell enforcement from none" in burst.skipped  # ... which the bounds cannot reach
    assert scenarios["partner.over-rate"].skipped == "needs 55000 requests / 20000 rps (bound 2000)"
    fast = plan_stage(asked, contracts, Bounds(max_rps=40000, max_requests=20000), ["partner.burst"])
    (sc,) = fast.scenarios
    assert sc.runs and set(sc.limits.values()) == {ACCOUNT_DEFAULT}  # a fast enough driver plans it


def test_account_default_in_the_stage_file() -> None:
    ctx = Context("stages/x.toml", False, {})
    parsed = throttle(Table({"account_default": True}, ("apis", "p", "throttle"), ctx, THROTTLE_KEYS))
    assert parsed == Throttle(None, {}, account_default=True)
    assert throttle(Table({"rate": 5, "burst": 10}, ("t",), ctx, THROTTLE_KEYS)).account_default is False
    both = Table(
        {"account_default": True, "rate": 5, "burst": 10}, ("apis", "p", "throttle"), ctx, THROTTLE_KEYS
    )
    with pytest.raises(ConfigError, match="account_default"):
        throttle(both)


def _one_key_each(api: ApiConfig) -> tuple[UsagePlan, ...]:
    return tuple(replace(p, keys=p.keys[:1]) for p in api.usage_plans)


def test_quota_and_plan_throttle_run_with_one_test_key(stage: StageConfig, contracts: dict) -> None:
    """Today's usual set-up: one test key per plan. Quota and plan-throttle demanded two."""
    partner = stage.api("partner")
    single = _with_api(stage, "partner", usage_plans=_one_key_each(partner))
    run = plan_stage(single, contracts, Bounds())
    scenarios = _by_id(run)
    assert scenarios["partner.plan-throttle"].runs and scenarios["partner.quota"].runs
    quota_sends = {s.credential for s in run.sends if s.scenario == "partner.quota"}
    assert quota_sends == {"key:quota-a"}
    isolation = scenarios["partner.key-isolation"]
    assert isolation.not_applicable == "key isolation needs a second test key in plan throttle-test-plan"
    assert "two test keys" not in (scenarios["partner.plan-throttle"].skipped or "")


def test_a_plan_with_quota_and_throttle_is_testable(stage: StageConfig, contracts: dict) -> None:
    """One plan, throttle 100/s burst 200 and a quota of 2,000 a day, one test key: plan-throttle
    sends no more than the quota (so it cannot bind), then the quota scenario uses the rest up."""
    partner = stage.api("partner")
    key = partner.usage_plans[1].keys[0]
    plan = UsagePlan("both", Limit(100, 200), 2000, "DAY", 0, (key,))
    run = plan_stage(_with_api(stage, "partner", usage_plans=(plan,)), contracts, Bounds())
    scenarios = _by_id(run)
    throttled, quota = scenarios["partner.plan-throttle"], scenarios["partner.quota"]
    assert throttled.runs and quota.runs and throttled.start < quota.start
    pt_sends = [s for s in run.sends if s.scenario == throttled.id]
    assert {s.quota for s in pt_sends} == {"quota:both:throttle-a"} and len(pt_sends) <= 2000
    assert throttled.consumes_quota and "of its quota" in throttled.rule
    assert throttled.quotas == quota.quotas == {"quota:both:throttle-a": 2000}
    # The quota scenario never gets throttled (only the quota binds) and stays within the time bound.
    q_sends = [s for s in run.sends if s.scenario == quota.id]
    assert quota.power is not None and quota.power.model_accepted == 2000
    assert q_sends[-1].at - q_sends[0].at <= Bounds().max_scenario_s
    # A quota smaller than what plan-throttle sends would bind: not run (inconclusive), said why.
    small = replace(plan, quota_limit=60)
    tight = _by_id(plan_stage(_with_api(stage, "partner", usage_plans=(small,)), contracts, Bounds()))
    assert tight["partner.plan-throttle"].skipped is not None
    assert "quota (60 per DAY) would bind" in tight["partner.plan-throttle"].skipped
    assert tight["partner.quota"].runs


def test_usage_plan_messages_name_what_is_missing(stage: StageConfig, contracts: dict) -> None:
    partner = stage.api("partner")
    no_plans = _by_id(plan_stage(_with_api(stage, "partner", usage_plans=()), contracts, Bounds()))
    for name in ("plan-throttle", "key-isolation", "quota"):
        assert no_plans[f"partner.{name}"].not_applicable == "no usage plan in [apis.partner.usage_plans]"
    # Plans exist, but only a real client's key (test_key = false): exists, cannot be exercised.
    real_only = tuple(
        replace(p, keys=tuple(replace(k, test_key=False) for k in p.keys)) for p in partner.usage_plans
    )
    scenarios = _by_id(plan_stage(_with_api(stage, "partner", usage_plans=real_only), contracts, Bounds()))
    assert scenarios["partner.plan-throttle"].skipped is not None
    assert "test_key = true" in scenarios["partner.plan-throttle"].skipped
    assert scenarios["partner.quota"].skipped is not None
    assert "key isolation needs two test keys" in (scenarios["partner.key-isolation"].not_applicable or "")


def test_keys_marked_test_key_false_or_disabled_are_never_sent(stage: StageConfig, contracts: dict) -> None:
    run = plan_stage(stage, contracts, Bounds())
    used = {part for s in run.sends for part in s.credential.split("+") if part.startswith("key:")}
    assert used == {"key:throttle-a", "key:throttle-b", "key:quota-a", "key:quota-b"}


def test_excluded_routes_are_never_targeted(stage: StageConfig, contracts: dict) -> None:
    portal = stage.api("portal")
    excluded = {"GET /health": "probe route, always 500", "POST /calls/transcribe": "under repair"}
    changed = _with_api(stage, "portal", excluded=excluded)
    run = plan_stage(changed, contracts, Bounds())
    routes = {s.route_key for s in run.sends if s.api == "portal"}
    assert routes and not routes & set(excluded)
    per_route = _by_id(run)["portal.per-route"]
    assert per_route.not_applicable == "POST /calls/transcribe is excluded in the stage file (under repair)"
    assert _by_id(run)["portal.burst"].runs  # another read route stands in for GET /health
    guard(changed, run)
    # Every read route excluded: the stage scenarios say so (not applicable, with the reasons).
    every = {
        t: "excluded" for t in ("GET /health", "GET /kiosk/queue", "GET /appointments", "GET /clinics/{id}")
    }
    none_left = _by_id(plan_stage(_with_api(stage, "portal", excluded=every), contracts, Bounds()))
    burst = none_left["portal.burst"]
    assert burst.not_applicable is not None and "GET /health (excluded)" in burst.not_applicable
    # The guard refuses a plan that would still send to an excluded route.
    original = plan_stage(stage, contracts, Bounds(), ["portal.burst"])
    with pytest.raises(ConfigError, match="excluded GET /health"):
        guard(_with_api(stage, "portal", excluded={"GET /health": "probe"}), original)
    assert portal.excluded == {}


def test_a_dedicated_failure_probe_route_is_never_a_load_target(stage: StageConfig, contracts: dict) -> None:
    """A route that always fails would turn every scenario on it into "refused for other reasons"."""
    from fixtures.stage import FailureProbe

    before = {s.route_key for s in plan_stage(stage, contracts, Bounds()).sends if s.api == "portal"}
    assert "GET /health" in before  # positive control: the route is a target when it is not a probe
    portal = stage.api("portal")
    samples = replace(portal.samples, failure_probes=(FailureProbe("GET /health"),))
    probed = _with_api(stage, "portal", samples=samples)
    after = {s.route_key for s in plan_stage(probed, contracts, Bounds()).sends if s.api == "portal"}
    assert after and "GET /health" not in after


def test_a_plan_throttle_hidden_by_a_lower_stage_limit_cannot_be_judged(
    stage: StageConfig, contracts: dict
) -> None:
    """Power is measured against the group's own limit ignored: with the stage's method limit below
    the usage plan's, a gateway that ignores the plan throttle looks the same, so no pass is possible."""
    before = _by_id(plan_stage(stage, contracts, Bounds()))["partner.plan-throttle"]
    assert before.runs and before.power is not None and before.power.enough  # positive control
    partner = stage.api("partner")
    low = replace(partner.throttle, stage=Limit(8, 4))  # below the plan's 10/s, burst 5
    hidden = _by_id(plan_stage(_with_api(stage, "partner", throttle=low), contracts, Bounds()))
    plan_throttle = hidden["partner.plan-throttle"]
    assert not plan_throttle.runs or plan_throttle.power is None or not plan_throttle.power.enough
    assert plan_throttle.skipped is not None and "cannot tell" in plan_throttle.skipped
