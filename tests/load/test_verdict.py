"""The pure verdict on synthetic observations: right gateways pass, each misbehaviour fails,
a driver that fell short or an unreachable stage is inconclusive (never pass)."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import replace

from fixtures.stage import Limit, Tolerance
from load.bucket import Event, replay
from load.records import Observation, Send
from load.scenarios import Scenario
from load.verdict import judge

EPOCH = 1_700_000_000.0
TOL = Tolerance()


def _sends(streams: list[tuple[str, tuple[str, ...], str | None, int, float, float]]) -> list[Send]:
    """(group, buckets, quota, count, rps, offset) streams -> planned sends."""
    out: list[Send] = []
    for group, buckets, quota, n, rps, offset in streams:
        url = "http://127.0.0.1:1/x"
        out += [
            Send(0, "api.sc", offset + i / rps, "GET", url, group, "none", buckets, quota, None, group)
            for i in range(n)
        ]
    out.sort(key=lambda s: s.at)
    return [replace(s, index=i) for i, s in enumerate(out)]


def _gateway(
    sends: list[Send],
    limits: Mapping[str, Limit],
    quotas: Mapping[str, int] | None = None,
    *,
    jitter_s: float = 0.0,
    late_s: float = 0.0,
    quota_body: str = "quota",
    status_for_all: int | None = None,
    seed: int = 1,
) -> dict[int, Observation]:
    """Observations of a gateway enforcing `limits`, seen through a driver with jitter/lateness."""
    rng = random.Random(seed)
    sent = {s.index: EPOCH + s.at + late_s + rng.uniform(0, jitter_s) for s in sends}
    checked = [Event(sent[s.index] + 0.0002, s.buckets, s.quota) for s in sends]
    outcomes = replay(checked, limits, quotas or {})
    obs = {}
    for s, outcome in zip(sends, outcomes, strict=True):
        status, kind = (200, "none") if outcome == "accepted" else (429, "throttled")
        if outcome == "quota":
            kind = quota_body
        if status_for_all is not None:
            status, kind = status_for_all, "none"
        obs[s.index] = Observation(s.index, EPOCH + s.at, sent[s.index], 0.0004, status, kind)  # type: ignore[arg-type]
    return obs


def _scenario(limits: Mapping[str, Limit], **kw: object) -> Scenario:
    return Scenario("api", "sc", "rule", 0.0, 5.0, dict(limits), **kw)  # type: ignore[arg-type]


BURST = {"r": Limit(100, 200)}


def _burst_sends() -> list[Send]:
    return _sends([("GET /health", ("r",), None, 300, 2000, 0.0)])


def test_burst_passes_on_a_gateway_with_the_configured_bucket() -> None:
    sends = _burst_sends()
    verdict = judge(_scenario(BURST), sends, _gateway(sends, BURST), TOL, True, EPOCH)
    assert verdict.status == "pass", verdict.reasons
    assert verdict.groups[0].accepted == verdict.groups[0].expected_accepted


def test_burst_fails_on_a_gateway_with_a_doubled_burst() -> None:
    sends = _burst_sends()
    verdict = judge(_scenario(BURST), sends, _gateway(sends, {"r": Limit(100, 400)}), TOL, True, EPOCH)
    assert verdict.status == "fail"
    assert "accepted" in verdict.reasons[0]


def test_burst_fails_when_throttling_is_off() -> None:
    sends = _burst_sends()
    verdict = judge(_scenario(BURST), sends, _gateway(sends, {}), TOL, True, EPOCH)
    assert verdict.status == "fail"


def test_jitter_and_a_clock_offset_still_pass() -> None:
    """2 ms send jitter and a constant 37 ms lag on all sends: the model replays actual times."""
    sends = _sends([("GET /a", ("r",), None, 300, 2000, 0.0), ("GET /a", ("r",), None, 500, 200, 0.2)])
    obs = _gateway(sends, BURST, jitter_s=0.002, late_s=0.0)
    shifted = {i: replace(o, sent=(o.sent or 0) + 0.037, planned=o.planned + 0.037) for i, o in obs.items()}
    verdict = judge(_scenario(BURST, fit_rate=("GET /a",)), sends, shifted, TOL, True, EPOCH)
    assert verdict.status == "pass", verdict.reasons


def test_over_rate_fails_on_a_halved_rate_through_the_fit_and_the_count() -> None:
    sends = _sends([("GET /a", ("r",), None, 200, 2000, 0.0), ("GET /a", ("r",), None, 500, 200, 0.1)])
    sc = _scenario(BURST, fit_rate=("GET /a",))
    good = judge(sc, sends, _gateway(sends, BURST), TOL, True, EPOCH)
    bad = judge(sc, sends, _gateway(sends, {"r": Limit(50, 200)}), TOL, True, EPOCH)
    assert good.status == "pass", good.reasons
    assert good.groups[0].fitted_rate is not None and abs(good.groups[0].fitted_rate - 100) < 5
    assert bad.status == "fail"
    assert any("fitted rate" in r for r in bad.reasons)


def test_under_rate_fails_on_any_429_where_none_may_be() -> None:
    sends = _sends([("GET /a", ("r",), None, 200, 80, 0.0)])
    sc = _scenario(BURST, no_throttle=("GET /a",))
    assert judge(sc, sends, _gateway(sends, BURST), TOL, True, EPOCH).status == "pass"
    early = judge(sc, sends, _gateway(sends, {"r": Limit(60, 5)}), TOL, True, EPOCH)
    assert early.status == "fail"
    assert any("throttles too early" in r for r in early.reasons)


QUOTA_LIMITS = {"ka": Limit(200, 100), "kb": Limit(200, 100)}
QUOTAS = {"qa": 50, "qb": 50}


def _quota_case() -> tuple[Scenario, list[Send]]:
    sends = _sends([("key a", ("ka",), "qa", 60, 100, 0.0), ("key b", ("kb",), "qb", 10, 100, 0.7)])
    sc = _scenario(QUOTA_LIMITS, quotas=QUOTAS, quota_exact=("key a",), no_throttle=("key b",))
    return sc, sends


def test_quota_passes_with_exactly_the_quota_and_limit_exceeded_bodies() -> None:
    sc, sends = _quota_case()
    verdict = judge(sc, sends, _gateway(sends, QUOTA_LIMITS, QUOTAS), TOL, True, EPOCH)
    assert verdict.status == "pass", verdict.reasons
    assert [g.quota_rejected for g in verdict.groups] == [10, 0]


def test_quota_off_by_one_fails() -> None:
    sc, sends = _quota_case()
    verdict = judge(sc, sends, _gateway(sends, QUOTA_LIMITS, {"qa": 51, "qb": 51}), TOL, True, EPOCH)
    assert verdict.status == "fail"
    assert any("quota is exactly 50" in r for r in verdict.reasons)


def test_quota_answered_as_throttling_fails_on_the_body() -> None:
    sc, sends = _quota_case()
    verdict = judge(
        sc, sends, _gateway(sends, QUOTA_LIMITS, QUOTAS, quota_body="throttled"), TOL, True, EPOCH
    )
    assert verdict.status == "fail"
    assert any("'Too Many Requests', not 'Limit Exceeded'" in r for r in verdict.reasons)


def test_second_key_throttled_by_a_shared_plan_bucket_fails() -> None:
    limits = {"ka": Limit(10, 5), "kb": Limit(10, 5)}
    sends = _sends([("key a", ("ka",), None, 50, 20, 0.0), ("key b", ("kb",), None, 12, 5, 0.05)])
    sc = _scenario(limits, no_throttle=("key b",))
    assert judge(sc, sends, _gateway(sends, limits), TOL, True, EPOCH).status == "pass"
    shared = [replace(s, buckets=("shared",)) for s in sends]
    obs = _gateway(shared, {"shared": Limit(10, 5)})
    verdict = judge(sc, sends, obs, TOL, True, EPOCH)
    assert verdict.status == "fail"


def test_a_driver_that_fell_behind_is_inconclusive_never_pass() -> None:
    sends = _burst_sends()
    verdict = judge(_scenario(BURST), sends, _gateway(sends, BURST, late_s=0.05), TOL, True, EPOCH)
    assert verdict.status == "inconclusive"
    assert any("driver fell short" in r for r in verdict.reasons)


def test_a_late_driver_still_fails_a_gateway_that_disagrees_with_the_replay() -> None:
    sends = _burst_sends()
    obs = _gateway(sends, {"r": Limit(100, 400)}, late_s=0.05)
    verdict = judge(_scenario(BURST), sends, obs, TOL, True, EPOCH)
    assert verdict.status == "fail"
    assert any("driver fell short" in r for r in verdict.reasons)


def test_one_late_send_in_a_small_scenario_does_not_decide() -> None:
    sends = _sends([("GET /a", ("r",), None, 50, 100, 0.0)])
    obs = _gateway(sends, BURST)
    obs[7] = replace(obs[7], sent=(obs[7].sent or 0) + 0.05)
    assert judge(_scenario(BURST), sends, obs, TOL, True, EPOCH).status == "pass"
    obs[9] = replace(obs[9], sent=(obs[9].sent or 0) + 0.05)
    assert judge(_scenario(BURST), sends, obs, TOL, True, EPOCH).status == "inconclusive"


def test_dropped_sends_are_inconclusive() -> None:
    sends = _burst_sends()
    dropped = {s.index for s in sends if s.index % 10 == 0}
    obs = _gateway([s for s in sends if s.index not in dropped], BURST)  # the gateway never saw them
    for s in sends:
        if s.index in dropped:
            obs[s.index] = Observation(s.index, EPOCH + s.at, None, None, 0, "none")
    verdict = judge(_scenario(BURST), sends, obs, TOL, True, EPOCH)
    assert verdict.status == "inconclusive", verdict.reasons
    assert verdict.dropped == 30


def test_unreachable_stage_is_inconclusive() -> None:
    sends = _burst_sends()
    verdict = judge(_scenario(BURST), sends, _gateway(sends, BURST, status_for_all=0), TOL, True, EPOCH)
    assert verdict.status == "inconclusive"
    assert "unreachable" in verdict.reasons[0]


def test_requests_refused_before_throttling_are_inconclusive() -> None:
    sends = _burst_sends()
    verdict = judge(_scenario(BURST), sends, _gateway(sends, BURST, status_for_all=401), TOL, True, EPOCH)
    assert verdict.status == "inconclusive"
    assert any("401" in r for r in verdict.reasons)


def test_aws_stage_tolerance_is_wider_than_the_embedded_one() -> None:
    """Best-effort throttling: 12 extra acceptances fail the tight stage, pass a 5 % AWS tolerance."""
    sends = _burst_sends()
    obs = _gateway(sends, {"r": Limit(100, 212)})
    tight = judge(_scenario(BURST), sends, obs, TOL, True, EPOCH)
    wide = judge(_scenario(BURST), sends, obs, Tolerance(accepted_abs=5, accepted_rel=0.05), False, EPOCH)
    assert (tight.status, wide.status) == ("fail", "pass")


def test_skipped_scenario_is_inconclusive() -> None:
    sc = replace(_scenario(BURST), skipped="needs 9000 requests")
    assert judge(sc, [], {}, TOL, True, EPOCH).status == "inconclusive"


def test_series_counts_offered_and_accepted_per_second() -> None:
    sends = _sends([("GET /a", ("r",), None, 300, 100, 0.0)])
    verdict = judge(_scenario(BURST), sends, _gateway(sends, BURST), TOL, True, EPOCH)
    assert verdict.series["offered"][:3] == [100, 100, 100]
    assert sum(verdict.series["accepted"]) == verdict.groups[0].accepted
    assert sum(verdict.series["model_accepted"]) == verdict.groups[0].expected_accepted
