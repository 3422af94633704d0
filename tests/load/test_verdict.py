"""The pure verdict on synthetic observations: right gateways pass, each misbehaviour fails,
a driver that fell short or an unreachable stage is inconclusive (never pass)."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import replace
from itertools import accumulate

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


def _spread(obs: dict[int, Observation], start: float, stretch: float) -> dict[int, Observation]:
    """Sends after `start` s go out stretched by `stretch` (a driver that cannot keep the pace)."""
    out = {}
    for i, o in obs.items():
        offset = o.planned - EPOCH
        extra = max(0.0, offset - start) * stretch
        out[i] = replace(o, sent=(o.sent or 0.0) + extra)
    return out


def _regateway(
    sends: list[Send], obs: dict[int, Observation], limits: Mapping[str, Limit]
) -> dict[int, Observation]:
    """The same gateway answering the sends at their (changed) actual send times."""
    checked = [Event((obs[s.index].sent or 0.0) + 0.0002, s.buckets, s.quota) for s in sends]
    outcomes = replay(checked, limits, {})
    return {
        s.index: replace(
            obs[s.index],
            status=200 if x == "accepted" else 429,
            body_kind="none" if x == "accepted" else "throttled",
        )
        for s, x in zip(sends, outcomes, strict=True)
    }


def test_a_uniformly_late_driver_keeps_the_outcome_and_passes() -> None:
    """Every send 50 ms late (all > late_ms): the spacing, hence the model's count, is unchanged."""
    sends = _burst_sends()
    verdict = judge(_scenario(BURST), sends, _gateway(sends, BURST, late_s=0.05), TOL, True, EPOCH)
    assert verdict.status == "pass", verdict.reasons
    assert verdict.late == len(sends)
    assert verdict.groups[0].planned_accepted == verdict.groups[0].expected_accepted


def test_a_burst_that_was_not_at_once_is_inconclusive_never_pass() -> None:
    """The driver stretched the burst 6x: the model at the send times loses most planned rejections.

    Stretched 2x, the burst still draws far more than half its planned rejections: that passes.
    """
    sends = _burst_sends()
    mild = judge(
        _scenario(BURST),
        sends,
        _regateway(sends, _spread(_gateway(sends, BURST), 0.02, 1.0), BURST),
        TOL,
        True,
        EPOCH,
    )
    assert mild.status == "pass", mild.reasons
    assert mild.groups[0].expected_accepted - mild.groups[0].planned_accepted > TOL.accepted_abs
    obs = _regateway(sends, _spread(_gateway(sends, BURST), 0.02, 5.0), BURST)
    verdict = judge(_scenario(BURST), sends, obs, TOL, True, EPOCH)
    assert verdict.status == "inconclusive"
    assert any("change the model's count" in r for r in verdict.reasons)
    group = verdict.groups[0]
    assert group.expected_accepted - group.planned_accepted > TOL.accepted_abs


def test_a_late_driver_still_fails_a_gateway_that_disagrees_with_the_replay() -> None:
    sends = _burst_sends()
    obs = _regateway(sends, _spread(_gateway(sends, BURST), 0.02, 5.0), {"r": Limit(100, 400)})
    verdict = judge(_scenario(BURST), sends, obs, TOL, True, EPOCH)
    assert verdict.status == "fail"
    assert "accepted" in verdict.reasons[0]
    assert any("change the model's count" in r for r in verdict.reasons)


PLAN = {"k": Limit(10, 5)}


def _plan_sends() -> list[Send]:
    """plan-throttle on the example stage: 5 at once, then 80 at 2x the plan rate (85 sends)."""
    return _sends([("key a", ("k",), None, 5, 2000, 0.0), ("key a", ("k",), None, 80, 20, 0.0025)])


def test_late_sends_that_cannot_change_the_outcome_do_not_decide() -> None:
    """Flake (c): 2 of 85 sends 15-25 ms late (2.4 % > 1 %) in a 20/s stream: same count, pass."""
    sends = _plan_sends()
    obs = _gateway(sends, PLAN, jitter_s=0.002)
    for i in (30, 61):
        obs[i] = replace(obs[i], sent=(obs[i].sent or 0.0) + 0.015 + 0.01 * (i % 2))
    obs = _regateway(sends, obs, PLAN)
    verdict = judge(_scenario(PLAN, fit_rate=("key a",)), sends, obs, TOL, True, EPOCH)
    assert verdict.late == 2
    assert verdict.status == "pass", verdict.reasons


def test_late_sends_that_can_change_the_outcome_are_inconclusive() -> None:
    """The same stream stalled from 1 s to its end (4 s): the bucket (5) overflows, 25 of the 41
    planned rejections are lost, and with them the scenario's power.

    A stall shorter than burst / rate (0.5 s) only bunches the sends: the tokens wait in the bucket
    and the count is unchanged (shown first), so it does not decide either.
    """
    sends = _plan_sends()
    for stall, status in ((0.5, "pass"), (3.0, "inconclusive")):
        obs = _gateway(sends, PLAN, jitter_s=0.002)
        stalled = {i: o for i, o in obs.items() if 1.0 <= o.planned - EPOCH < 1.0 + stall}
        for i, o in stalled.items():
            obs[i] = replace(o, sent=EPOCH + 1.0 + stall + 0.0001 * i)
        obs = _regateway(sends, obs, PLAN)
        verdict = judge(_scenario(PLAN, fit_rate=("key a",)), sends, obs, TOL, True, EPOCH)
        assert verdict.late == len(stalled) == 20 * stall
        assert verdict.status == status, verdict.reasons
    obs = _regateway(sends, obs, PLAN)
    verdict = judge(_scenario(PLAN, fit_rate=("key a",)), sends, obs, TOL, True, EPOCH)
    assert any("change the model's count" in r for r in verdict.reasons)


def test_a_few_late_sends_in_a_burst_are_judged_by_their_effect_not_their_share() -> None:
    """Flake (b): 3 % of a burst 20-40 ms late moves the model by less than the tolerance: pass."""
    limits = {"r": Limit(200, 400)}
    sends = _sends([("GET /r", ("r",), None, 600, 2000, 0.0)])
    obs = _gateway(sends, limits, jitter_s=0.001)
    for i in range(100, 118):
        obs[i] = replace(obs[i], sent=(obs[i].sent or 0.0) + 0.02 + 0.001 * (i - 100))
    obs = _regateway(sends, obs, limits)
    verdict = judge(_scenario(limits), sends, obs, TOL, True, EPOCH)
    assert verdict.late == 18 and verdict.late_share > TOL.max_late_share
    assert verdict.status == "pass", verdict.reasons


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


ROUTE = {"t": Limit(10, 20)}


def _stalled_gateway(
    sends: list[Send], limits: Mapping[str, Limit], stall: tuple[float, float]
) -> dict[int, Observation]:
    """The gateway stalls from stall[0] to stall[1] s: requests sent then are checked at its end."""
    obs = _gateway(sends, limits, jitter_s=0.002)
    a, b = stall
    checks = [
        max(o.sent or 0.0, EPOCH + b) if a <= (o.sent or 0.0) - EPOCH < b else (o.sent or 0.0) + 0.0002
        for o in (obs[s.index] for s in sends)
    ]
    outcomes = replay([Event(c, s.buckets, s.quota) for c, s in zip(checks, sends, strict=True)], limits, {})
    for s, c, x in zip(sends, checks, outcomes, strict=True):
        o = obs[s.index]
        ok = x == "accepted"
        obs[s.index] = replace(o, status=200 if ok else 429, body_kind="none" if ok else "throttled",
                               latency=c - (o.sent or 0.0) + 0.0004)  # fmt: skip
    return obs


def _route_sends() -> list[Send]:
    """per-route on the example stage: 2x the override's burst at once, then 2x its rate for 2.5 s."""
    return _sends([("POST /t", ("t",), None, 40, 2000, 0.0), ("POST /t", ("t",), None, 50, 20, 0.02)])


def test_a_fit_biased_by_a_gateway_stall_is_reported_not_judged() -> None:
    """Flake (a): a 0.7 s stall of the gateway at the end packs acceptances onto early send times.

    The count matches the replay (44), the send-time fit says ~11.7/s against 10/s: report-only.
    """
    sends = _route_sends()
    verdict = judge(
        _scenario(ROUTE, fit_rate=("POST /t",)),
        sends,
        _stalled_gateway(sends, ROUTE, (1.8, 2.5)),
        TOL,
        True,
        EPOCH,
    )
    group = verdict.groups[0]
    assert group.fitted_rate is not None and group.fitted_rate > 10 * (1 + TOL.rate_rel)
    assert group.model_fitted_rate is not None and abs(group.model_fitted_rate - 10) < 0.5
    assert group.accepted == group.expected_accepted
    assert verdict.status == "pass", verdict.reasons


def test_a_fit_still_explains_a_count_that_disagrees() -> None:
    """Positive control: a gateway refilling at 13/s fails on the count, and the fit says why."""
    sends = _route_sends()
    verdict = judge(
        _scenario(ROUTE, fit_rate=("POST /t",)),
        sends,
        _gateway(sends, {"t": Limit(13, 20)}),
        TOL,
        True,
        EPOCH,
    )
    assert verdict.status == "fail"
    assert any("model expects" in r for r in verdict.reasons)
    assert any("fitted rate 13." in r and "model fits 10.0/s" in r for r in verdict.reasons), verdict.reasons


def test_a_rate_fit_with_too_short_throttling_is_inconclusive() -> None:
    """Under the limit the model itself cannot fit a rate: the plan (throttling) was missed."""
    sends = _sends([("POST /t", ("t",), None, 20, 20, 0.0)])
    verdict = judge(_scenario(ROUTE, fit_rate=("POST /t",)), sends, _gateway(sends, ROUTE), TOL, True, EPOCH)
    assert verdict.status == "inconclusive"
    assert any("too short" in r for r in verdict.reasons)


def test_no_throttle_group_allows_429s_the_replay_expects_but_stays_inconclusive() -> None:
    """Sends bunched over the burst in a must-not-throttle group: the gateway's 429s match the
    replay, so it is no failure; but the plan (under the limit) was missed, so no pass either."""
    limits = {"r": Limit(10, 5)}
    sends = _sends([("GET /b", ("r",), None, 12, 5, 0.0)])
    obs = _gateway(sends, limits)
    obs = {i: replace(o, sent=EPOCH + 0.5 + 0.0001 * i) for i, o in obs.items()}  # all 12 at once
    obs = _regateway(sends, obs, limits)
    sc = _scenario(limits, no_throttle=("GET /b",))
    verdict = judge(sc, sends, obs, TOL, True, EPOCH)
    assert verdict.groups[0].throttled == 7
    assert verdict.status == "inconclusive", verdict.reasons
    assert not any("throttles too early" in r for r in verdict.reasons)
    too_early = {i: replace(o, status=429, body_kind="throttled") for i, o in _gateway(sends, limits).items()}
    assert judge(sc, sends, too_early, TOL, True, EPOCH).status == "fail"


def _few(status: int | None, count: int = 2) -> tuple[list[Send], dict[int, Observation]]:
    """`count` sends, each answered `status` (None: dropped at the in-flight cap)."""
    sends = _sends([("GET /a", ("r",), None, count, 10, 0.0)])
    sent = None if status is None else 0.0
    obs = {
        s.index: Observation(
            s.index, EPOCH + s.at, None if sent is None else EPOCH + s.at, 0.001, status or 0, "none"
        )
        for s in sends
    }
    return sends, obs


def test_zero_requests_sent_is_inconclusive_even_below_the_dropped_floor() -> None:
    """2 sends, both dropped (2 <= accepted_abs, so the dropped-share rule alone would not block)."""
    sends, obs = _few(None)
    for observations in (obs, {}):
        verdict = judge(_scenario(BURST), sends, observations, TOL, True, EPOCH)
        assert verdict.status == "inconclusive"
        assert any("no request was sent" in r for r in verdict.reasons), verdict.reasons
    # Positive control: the same 2 sends, answered, pass where no throttling is claimed (a group
    # that must show throttling has no power with 2 sends: see the power tests).
    control = judge(_scenario(BURST, no_throttle=("GET /a",)), sends, _few(200)[1], TOL, True, EPOCH)
    assert control.status == "pass", control.reasons


def test_zero_accepted_requests_never_pass_even_within_tolerance() -> None:
    """2 sends, both 429: 0 accepted is within +/- 2 of the model's 2, yet nothing shows a bucket."""
    sends, obs = _few(429)
    obs = {i: replace(o, body_kind="throttled") for i, o in obs.items()}
    for embedded in (True, False):
        verdict = judge(_scenario(BURST), sends, obs, TOL, embedded, EPOCH)
        assert verdict.status == "inconclusive"
        assert any("no request was accepted" in r for r in verdict.reasons), verdict.reasons


def test_all_connection_errors_are_inconclusive_whatever_the_sample_size() -> None:
    for count in (1, 2, 300):
        sends, obs = _few(0, count)
        verdict = judge(_scenario(BURST), sends, obs, TOL, True, EPOCH)
        assert verdict.status == "inconclusive"
        assert "unreachable" in verdict.reasons[0]


# --- Power, quota and not-applicable verdicts (issue 10) ------------------------------------------

STAGING = Tolerance(accepted_abs=20, accepted_rel=0.10)  # stages/staging.example.toml


def _accept_all(sends: list[Send]) -> dict[int, Observation]:
    """A stage that enforces nothing (LocalStack's usage plans): every request accepted."""
    return _gateway(sends, {})


def test_quota_without_limit_exceeded_fails_whatever_the_tolerance() -> None:
    """Observed on LocalStack: "accepted 60 (quota 50), Limit Exceeded: 0" passed at accepted_abs 20."""
    sc, sends = _quota_case()
    for tolerance in (STAGING, Tolerance(accepted_abs=1000, accepted_rel=1.0)):
        verdict = judge(sc, sends, _accept_all(sends), tolerance, False, EPOCH)
        assert verdict.status == "fail", verdict.reasons
        assert any("no 429 'Limit Exceeded'" in r and "not enforced" in r for r in verdict.reasons)
    # Positive controls: a quota-enforcing gateway passes, at the tight tolerance with 60 sends and
    # at the staging tolerance with the enlarged plan (98 sends: "accept all" 48 beyond the quota).
    assert judge(sc, sends, _gateway(sends, QUOTA_LIMITS, QUOTAS), TOL, True, EPOCH).status == "pass"
    big = _sends([("key a", ("ka",), "qa", 98, 100, 0.0), ("key b", ("kb",), "qb", 10, 100, 1.1)])
    good = judge(sc, big, _gateway(big, QUOTA_LIMITS, QUOTAS), STAGING, False, EPOCH)
    assert good.status == "pass", good.reasons


def test_no_enforcement_inside_the_band_is_never_a_pass() -> None:
    """key-isolation on the staging tolerances: key A sends 48 at 2x a 10/s plan, the model accepts
    28; +/- 20 puts "accept all 48" inside the band, so agreement proves nothing (inconclusive)."""
    limits = {"ka": Limit(10, 5), "kb": Limit(10, 5)}
    sends = _sends([("key a", ("ka",), None, 48, 20, 0.0), ("key b", ("kb",), None, 12, 5, 0.1)])
    sc = _scenario(limits, no_throttle=("key b",))
    for obs in (_accept_all(sends), _gateway(sends, limits)):
        verdict = judge(sc, sends, obs, STAGING, False, EPOCH)
        assert verdict.status == "inconclusive", verdict.reasons
        assert any("cannot tell enforcement from none as sent" in r for r in verdict.reasons)
    tight = judge(sc, sends, _gateway(sends, limits), TOL, False, EPOCH)
    assert tight.status == "pass", tight.reasons  # the embedded tolerance has the power


def test_not_applicable_scenario_is_its_own_verdict() -> None:
    sc = replace(_scenario(BURST), not_applicable="no route override in [apis.x.throttle.routes]")
    verdict = judge(sc, [], {}, TOL, True, EPOCH)
    assert verdict.status == "not_applicable"
    assert verdict.reasons == ("no route override in [apis.x.throttle.routes]",)


def test_quota_after_a_throttle_scenario_on_the_same_key_expects_what_is_left() -> None:
    """One test key: plan-throttle spent 20 of the key's quota of 50 earlier in the run."""
    sc, sends = _quota_case()
    obs = _gateway(sends, QUOTA_LIMITS, {"qa": 30, "qb": 50})
    without = judge(sc, sends, obs, TOL, True, EPOCH)
    assert without.status == "fail"  # positive control: the spent requests matter
    verdict = judge(sc, sends, obs, TOL, True, EPOCH, quota_used={"qa": 20})
    assert verdict.status == "pass", verdict.reasons
    off_by_one = judge(sc, sends, _gateway(sends, QUOTA_LIMITS, {"qa": 31}), TOL, True, EPOCH, {"qa": 20})
    assert off_by_one.status == "fail"
    assert any("exactly 30 (20 used earlier in this run)" in r for r in off_by_one.reasons)


def test_a_quota_used_up_before_the_run_is_inconclusive_not_a_failure() -> None:
    """A second run in the same quota period: every request meets 'Limit Exceeded' from the start."""
    sc, sends = _quota_case()
    verdict = judge(sc, sends, _gateway(sends, QUOTA_LIMITS, {"qa": 0, "qb": 50}), STAGING, False, EPOCH)
    assert verdict.status == "inconclusive", verdict.reasons
    assert "used up before the scenario" in verdict.reasons[0]


def test_limit_exceeded_in_a_throttle_scenario_spending_a_quota_is_inconclusive() -> None:
    """plan-throttle on a plan with a quota whose key ran out before the run: the throttle is unseen."""
    sends = _sends([("key a", ("k",), "q", 5, 2000, 0.0), ("key a", ("k",), "q", 80, 20, 0.0025)])
    sc = _scenario(PLAN, quotas={"q": 1000}, fit_rate=("key a",))
    assert judge(sc, sends, _gateway(sends, PLAN, {"q": 1000}), TOL, True, EPOCH).status == "pass"
    spent = judge(sc, sends, _gateway(sends, PLAN, {"q": 10}), TOL, True, EPOCH)
    assert spent.status == "inconclusive", spent.reasons
    assert any("quota ran out" in r for r in spent.reasons)
    # Without a quota in the scenario, 'Limit Exceeded' for throttling stays a failure.
    plain = [replace(s, quota=None) for s in sends]
    mislabelled = {
        i: replace(o, body_kind="quota") if o.status == 429 else o for i, o in _gateway(plain, PLAN).items()
    }
    assert judge(_scenario(PLAN), plain, mislabelled, TOL, True, EPOCH).status == "fail"


def test_each_failure_names_its_comparison_with_the_numbers() -> None:
    """The reasons' comparisons, as fields: which comparison failed, on which group, the numbers."""
    sc, sends = _quota_case()
    verdict = judge(
        sc, sends, _gateway(sends, QUOTA_LIMITS, QUOTAS, quota_body="throttled"), TOL, True, EPOCH
    )
    body = next(c for c in verdict.checks if c["comparison"] == "429 body")
    assert body["group"] == "key a" and body["count"] == 10 and body["expected"] == "'Limit Exceeded'"
    sends = _burst_sends()
    doubled = judge(_scenario(BURST), sends, _gateway(sends, {"r": Limit(100, 400)}), TOL, True, EPOCH)
    count = next(c for c in doubled.checks if c["comparison"] == "accepted vs model")
    assert (
        count["observed"] == doubled.groups[0].accepted
        and count["model"] == doubled.groups[0].expected_accepted
    )
    assert judge(_scenario(BURST), sends, _gateway(sends, BURST), TOL, True, EPOCH).checks == ()


def test_a_burst_chart_series_has_bins_of_at_most_10_ms_and_the_bucket_size() -> None:
    sends = _burst_sends()  # 300 requests in 0.15 s against a bucket of 200
    chart = judge(_scenario(BURST), sends, _gateway(sends, BURST), TOL, True, EPOCH).chart
    assert chart["kind"] == "burst" and chart["burst"] == 200 and chart["rate"] == 100
    assert isinstance(chart["bin_s"], float) and chart["bin_s"] <= 0.01
    accepted, throttled, sent = (list(chart[k]) for k in ("accepted", "throttled", "sent"))  # type: ignore[call-overload]
    assert sum(accepted) + sum(throttled) == sum(sent) == 300
    cumulative = list(accumulate(accepted))
    full = next(i for i, v in enumerate(cumulative) if v >= 200)  # the bucket is empty here...
    assert full < len(cumulative) * 0.75 and cumulative[-1] - 200 < 30  # ...then only the refill


def test_rate_and_quota_chart_series() -> None:
    sends = _sends([("GET /a", ("r",), None, 200, 2000, 0.0), ("GET /a", ("r",), None, 500, 200, 0.1)])
    rate = judge(
        _scenario(BURST, fit_rate=("GET /a",)), sends, _gateway(sends, BURST), TOL, True, EPOCH
    ).chart
    assert rate["kind"] == "rate" and rate["bin_s"] == 0.1 and rate["group"] == "GET /a"
    sc, sends = _quota_case()
    quota = judge(sc, sends, _gateway(sends, QUOTA_LIMITS, QUOTAS), TOL, True, EPOCH).chart
    assert quota["kind"] == "quota"
    assert [(g["name"], g["accepted"], g["limit_exceeded"], g["quota"]) for g in quota["groups"]] == [
        ("key a", 50, 10, 50),
        ("key b", 10, 0, 50),
    ]
