"""Load plans bounded by the gate's time limit, and quota spent only on keys marked `test_key = true`.

Pure: the planner, the guards and the session's notice, on the embedded stage's records.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from fixtures.errors import ConfigError
from fixtures.stage import ApiKey, Limit, Secret, StageConfig, contract_of, load_stage
from fixtures.time_limits import LOAD_LIMIT_S, MAX_LOAD_PLAN_S
from load.records import Send
from load.scenarios import Bounds
from load.timeline import check_length, guard, keys_of, plan_stage

ROOT = Path(__file__).resolve().parents[2]


def _with_stage_limit(stage: StageConfig, api: str, limit: Limit) -> StageConfig:
    apis = tuple(
        dataclasses.replace(a, throttle=dataclasses.replace(a.throttle, stage=limit)) if a.name == api else a
        for a in stage.apis
    )
    return dataclasses.replace(stage, apis=apis)


def test_a_plan_longer_than_the_gate_allows_is_refused_with_its_length(
    stage: StageConfig, contracts: dict
) -> None:
    """rate = 0.001, burst = 1000: each scenario waits burst / rate = 1,000,000 s for its bucket to
    refill; the plan used to be accepted (a 1,000,001-second run)."""
    slow = _with_stage_limit(stage, "portal", Limit(0.001, 1000))
    run = plan_stage(slow, contracts, Bounds())
    assert run.duration > 1_000_000
    with pytest.raises(ConfigError) as info:
        check_length(run, MAX_LOAD_PLAN_S, slow.path)
    message = str(info.value)
    assert f"load plan: lasts {run.duration:,.0f} s, longer than the {MAX_LOAD_PLAN_S:,.0f} s" in message
    assert f"gate's {LOAD_LIMIT_S:,.0f} s limit" in message and "\n" not in message


def test_the_embedded_stage_plan_fits_the_gate(stage: StageConfig, contracts: dict) -> None:
    run = plan_stage(stage, contracts, Bounds())
    check_length(run, MAX_LOAD_PLAN_S, stage.path)  # control: no error
    assert MAX_LOAD_PLAN_S < LOAD_LIMIT_S


def test_the_largest_limits_a_stage_file_accepts_plan_without_overflow(
    stage: StageConfig, contracts: dict
) -> None:
    """The account maximum (10,000 rps, 5,000 burst) plans (inconclusive beyond one generator at
    most); 1e308 and 1e18 no longer reach the planner (the stage loader refuses them)."""
    big = _with_stage_limit(stage, "portal", Limit(10_000.0, 5_000))
    run = plan_stage(big, contracts, Bounds())
    check_length(run, MAX_LOAD_PLAN_S, big.path)


def test_test_key_defaults_to_false(tmp_path: Path) -> None:
    """A key without `test_key` is a real client's key: load never spends its quota (it used to)."""
    assert ApiKey("k", Secret("v" * 8, "literal")).test_key is False
    text = (ROOT / "stages" / "local.toml").read_text().replace("test_key = true", "")
    path = tmp_path / "local.toml"
    path.write_text(text)
    keys = [k for p in load_stage(str(path)).api("partner").usage_plans for k in p.keys]
    assert keys and not any(k.test_key for k in keys)


def test_the_quota_scenario_names_the_keys_it_consumes(stage: StageConfig, contracts: dict) -> None:
    run = plan_stage(stage, contracts, Bounds(), ["partner.quota", "partner.plan-throttle"])
    quota = next(sc for sc in run.scenarios if sc.id == "partner.quota")
    assert quota.consumes_quota and keys_of(run, "partner.quota") == ("quota-a", "quota-b")
    assert "quota-a" in quota.rule and "quota-b" in quota.rule
    assert keys_of(run, "partner.plan-throttle") == ("throttle-a",)


def test_without_marked_keys_the_quota_scenario_spends_nothing(tmp_path: Path) -> None:
    text = (ROOT / "stages" / "local.toml").read_text().replace("test_key = true", "")
    path = tmp_path / "local.toml"
    path.write_text(text)
    unmarked = load_stage(str(path)).with_port(8999)
    contracts = {api.name: contract_of(api) for api in unmarked.apis}
    run = plan_stage(unmarked, contracts, Bounds())
    for name in ("quota", "plan-throttle", "key-isolation"):
        sc = next(s for s in run.scenarios if s.id == f"partner.{name}")
        why = sc.skipped or sc.not_applicable or ""
        assert not sc.runs and "test_key = true" in why, why
    assert not [s for s in run.sends if "key:" in s.credential]


def test_the_guard_refuses_a_send_with_a_key_not_marked(stage: StageConfig, contracts: dict) -> None:
    run = plan_stage(stage, contracts, Bounds(), ["partner.quota"])
    send = next(s for s in run.sends if s.scenario == "partner.quota")
    forged = dataclasses.replace(
        run, sends=(*run.sends, dataclasses.replace(send, credential="key:partner-7"))
    )
    guard(stage, run)  # control: the planned run passes
    with pytest.raises(ConfigError, match="would spend the quota of key partner-7, not an enabled key"):
        guard(stage, forged)
    disabled = dataclasses.replace(send, credential="key:disabled-key")
    with pytest.raises(ConfigError, match="key disabled-key"):
        guard(stage, dataclasses.replace(run, sends=(*run.sends, disabled)))
    assert isinstance(send, Send)
