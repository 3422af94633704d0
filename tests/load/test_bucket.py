"""The pure token-bucket/quota model and the rate/burst fit, on synthetic send times."""

from __future__ import annotations

import random

import pytest

from fixtures.stage import Limit
from load.bucket import Event, count, fit, min_burst, replay


def _times(n: int, rps: float, start: float = 0.0) -> list[float]:
    return [start + i / rps for i in range(n)]


def _accepted(times: list[float], limit: Limit) -> list[bool]:
    return [o == "accepted" for o in replay([Event(t, ("b",)) for t in times], {"b": limit})]


def test_burst_at_once_accepts_exactly_the_bucket_size() -> None:
    outcomes = replay([Event(0.0, ("b",))] * 300, {"b": Limit(100, 200)})
    assert count(outcomes, "accepted") == 200
    assert count(outcomes, "throttled") == 100


def test_under_rate_after_idle_is_never_throttled() -> None:
    outcomes = replay([Event(t, ("b",)) for t in _times(400, 80)], {"b": Limit(100, 200)})
    assert count(outcomes, "throttled") == 0


def test_sustained_over_rate_accepts_burst_plus_rate_times_duration() -> None:
    times = _times(1000, 200)  # 5 s at 2x the rate
    accepted = sum(_accepted(times, Limit(100, 200)))
    assert accepted == pytest.approx(200 + 100 * times[-1], abs=2)


def test_aws_documented_example_5000_then_5000_at_101_ms() -> None:
    """DOCS api-gateway-request-throttling: 5,000 at 0 ms, 5,000 at 101 ms -> about 6,000 served."""
    events = [Event(0.0, ("acct",))] * 5000 + [Event(0.101, ("acct",))] * 5000
    assert count(replay(events, {"acct": Limit(10000, 5000)}), "accepted") == 6010


def test_a_request_drawing_from_two_buckets_needs_a_token_in_both() -> None:
    limits = {"key": Limit(1, 2), "route": Limit(100, 1)}
    outcomes = replay([Event(0.0, ("key", "route")), Event(0.0, ("key", "route"))], limits)
    assert outcomes == ["accepted", "throttled"]


def test_quota_counts_only_accepted_requests_and_answers_quota() -> None:
    events = [Event(i * 0.01, ("k",), "q") for i in range(60)]
    outcomes = replay(events, {"k": Limit(200, 100)}, {"q": 50})
    assert count(outcomes, "accepted") == 50
    assert outcomes[50:] == ["quota"] * 10


def test_quota_already_used_before_the_run_is_honoured() -> None:
    outcomes = replay([Event(0.0, (), "q")] * 5, {}, {"q": 3}, quota_used={"q": 2})
    assert outcomes == ["accepted", "quota", "quota", "quota", "quota"]


def test_replay_is_invariant_under_a_clock_offset() -> None:
    rng = random.Random(7)
    times = sorted(rng.uniform(0, 3) for _ in range(700))
    base = _accepted(times, Limit(100, 200))
    shifted = _accepted([t + 12345.678 for t in times], Limit(100, 200))
    assert base == shifted


def test_min_burst_recovers_the_bucket_size() -> None:
    times = [0.0] * 50 + _times(100, 40, 0.1)
    accepted = [t for t, ok in zip(times, _accepted(times, Limit(20, 30)), strict=True) if ok]
    assert min_burst(accepted, 20) == pytest.approx(30, abs=1)


@pytest.mark.parametrize(("rate", "burst"), [(10, 20), (100, 200), (500, 1000), (10, 5)])
def test_fit_recovers_rate_and_burst_within_5_percent(rate: float, burst: int) -> None:
    # A burst of `burst` at 20x the rate, then 4 s at 2x the rate.
    times = _times(burst, 20 * rate) + _times(int(8 * rate), 2 * rate, burst / (20 * rate))
    result = fit(times, _accepted(times, Limit(rate, burst)))
    assert result.rate == pytest.approx(rate, rel=0.05)
    assert result.burst == pytest.approx(burst, rel=0.05, abs=1)


def test_fit_with_jittered_and_offset_send_times() -> None:
    """Server-side jitter (1 ms) and a constant clock offset barely move the fitted limits."""
    rng = random.Random(3)
    planned = _times(200, 2000) + _times(500, 200, 0.1)
    jittered = sorted(t + rng.uniform(0, 0.001) + 1000.0 for t in planned)
    result = fit(jittered, _accepted(jittered, Limit(100, 200)))
    assert result.rate == pytest.approx(100, rel=0.05)
    assert result.burst == pytest.approx(200, rel=0.05)


def test_fit_without_any_rejection_reports_only_a_lower_bound() -> None:
    times = _times(100, 50)
    result = fit(times, [True] * len(times))
    assert (result.rate, result.burst, result.burst_lower_bound) == (None, None, 100)


def test_fit_of_a_doubled_burst_is_detected() -> None:
    """Positive control for the fit: a gateway with twice the burst is fitted at twice the burst."""
    times = _times(500, 5000) + _times(800, 200, 0.1)
    result = fit(times, _accepted(times, Limit(100, 400)), rate_hint=100)
    assert result.burst == pytest.approx(400, rel=0.05)


def test_fit_is_not_fooled_by_reordered_sends_around_the_first_rejection() -> None:
    """Burst sends reach the gateway out of order: a few acceptances follow the first rejection."""
    times = _times(40, 500) + _times(50, 20, 0.08)
    accepted = _accepted(times, Limit(10, 20))
    # Swap send times of the last burst acceptances with the first rejections (as seen client-side).
    swapped = times[:]
    swapped[17], swapped[22] = times[22], times[17]
    swapped[18], swapped[23] = times[23], times[18]
    result = fit(swapped, accepted)
    assert result.rate == pytest.approx(10, rel=0.05)
