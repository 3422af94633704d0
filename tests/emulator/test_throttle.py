"""Token buckets, quotas and throttling precedence (docs/aws-behaviour.md s4, s5), on a fake clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fixtures.behaviour import Kind
from fixtures.emulator.policy.throttle import Quota, Throttler, TokenBucket, period_start
from fixtures.stage import ApiKey, Limit, Secret, UsagePlan

BIG = Limit(10000, 5000)
T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC).timestamp()  # a Tuesday


def _ts(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> float:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp()


def _takes(bucket: TokenBucket, n: int, now: float) -> int:
    return sum(bucket.try_take(now) for _ in range(n))


def _plan(
    name: str,
    keys: tuple[str, ...],
    throttle: Limit | None = None,
    quota: int | None = None,
    period: str | None = None,
    offset: int = 0,
    methods: dict[str, Limit] | None = None,
) -> UsagePlan:
    return UsagePlan(
        name=name,
        throttle=throttle,
        quota_limit=quota,
        quota_period=period,  # type: ignore[arg-type]
        quota_offset=offset,
        keys=tuple(ApiKey(k, Secret(f"value-{k}", "literal")) for k in keys),
        method_throttle=methods or {},
    )


def _decisions(
    throttler: Throttler, n: int, now: float, route: str, key: str | None = None
) -> list[Kind | None]:
    return [throttler.check(now, route, key) for _ in range(n)]


# --- TokenBucket -------------------------------------------------------------------------------


def test_bucket_starts_full_and_allows_exactly_burst() -> None:
    bucket = TokenBucket(rate=10, burst=5)
    assert _takes(bucket, 6, T0) == 5
    assert not bucket.try_take(T0)


def test_bucket_refills_at_rate_up_to_burst() -> None:
    bucket = TokenBucket(rate=10, burst=5)
    assert _takes(bucket, 5, T0) == 5
    assert not bucket.try_take(T0 + 0.05)  # half a token
    assert bucket.try_take(T0 + 0.1)  # one token after 1/rate s
    assert _takes(bucket, 10, T0 + 100) == 5  # long idle refills only to burst


def test_bucket_fractional_rate() -> None:
    bucket = TokenBucket(rate=0.5, burst=1)
    assert bucket.try_take(T0)
    assert not bucket.try_take(T0 + 1.9)
    assert bucket.try_take(T0 + 2.0)


def test_bucket_burst_zero_rejects_and_clock_backwards_adds_nothing() -> None:
    assert not TokenBucket(rate=100, burst=0).try_take(T0)
    bucket = TokenBucket(rate=1, burst=1)
    assert bucket.try_take(T0 + 10)
    assert not bucket.try_take(T0)  # earlier time: no refill
    assert bucket.try_take(T0 + 11)


# --- periods and quotas ------------------------------------------------------------------------


def test_period_starts_are_utc_calendar_periods() -> None:
    now = _ts(2026, 3, 11, 17, 30)  # Wednesday
    assert period_start(now, "DAY") == _ts(2026, 3, 11)
    assert period_start(now, "WEEK") == _ts(2026, 3, 9)  # Monday
    assert period_start(now, "WEEK", week_start=6) == _ts(2026, 3, 8)  # Sunday, configurable
    assert period_start(now, "MONTH") == _ts(2026, 3, 1)


def test_quota_day_boundary_resets() -> None:
    quota = Quota(3, "DAY")
    before = _ts(2026, 3, 10, 23, 59, 59)
    assert [quota.try_take(before) for _ in range(4)] == [True, True, True, False]
    assert quota.remaining(before) == 0
    assert quota.try_take(_ts(2026, 3, 11))  # 00:00 UTC: new period
    assert quota.remaining(_ts(2026, 3, 11)) == 2


def test_quota_offset_applies_to_initial_period_only() -> None:
    quota = Quota(5, "DAY", offset=2, start=_ts(2026, 3, 10, 8))
    day1 = _ts(2026, 3, 10, 9)
    assert sum(quota.try_take(day1) for _ in range(5)) == 3
    assert sum(quota.try_take(_ts(2026, 3, 11, 9)) for _ in range(6)) == 5


def test_quota_offset_initial_period_is_first_request_when_no_start() -> None:
    quota = Quota(5, "DAY", offset=4)
    assert sum(quota.try_take(_ts(2026, 3, 12, 1)) for _ in range(5)) == 1
    assert sum(quota.try_take(_ts(2026, 3, 13, 1)) for _ in range(6)) == 5


def test_quota_offset_outside_initial_period_is_ignored() -> None:
    quota = Quota(5, "DAY", offset=2, start=_ts(2026, 3, 1))
    assert sum(quota.try_take(_ts(2026, 3, 10, 9)) for _ in range(6)) == 5


def test_quota_week_rolls_over_on_monday() -> None:
    quota = Quota(1, "WEEK")
    assert quota.try_take(_ts(2026, 3, 9, 0, 0, 1))  # Monday
    assert not quota.try_take(_ts(2026, 3, 15, 23, 59, 59))  # Sunday, same week
    assert quota.try_take(_ts(2026, 3, 16))  # next Monday


@pytest.mark.parametrize(
    ("first_day", "last_moment", "next_period"),
    [
        (_ts(2026, 12, 1), _ts(2026, 12, 31, 23, 59, 59), _ts(2027, 1, 1)),  # Dec -> Jan (year changes)
        (_ts(2026, 2, 1), _ts(2026, 2, 28, 23, 59, 59), _ts(2026, 3, 1)),  # Feb, non-leap year
        (_ts(2028, 2, 1), _ts(2028, 2, 29, 23, 59, 59), _ts(2028, 3, 1)),  # Feb 29, leap year
    ],
)
def test_quota_month_rollover(first_day: float, last_moment: float, next_period: float) -> None:
    quota = Quota(2, "MONTH")
    assert quota.try_take(first_day)
    assert quota.try_take(last_moment)
    assert not quota.try_take(last_moment)
    assert quota.try_take(next_period)
    assert quota.remaining(next_period) == 1


def test_quota_feb_28_is_still_february_in_a_leap_year() -> None:
    quota = Quota(1, "MONTH")
    assert quota.try_take(_ts(2028, 2, 1))
    assert not quota.try_take(_ts(2028, 2, 28, 23, 59, 59))
    assert not quota.try_take(_ts(2028, 2, 29, 12))


# --- Throttler: HTTP API -----------------------------------------------------------------------


def test_http_route_override_and_stage_default() -> None:
    throttler = Throttler(BIG, Limit(100, 3), {"POST /calls/transcribe": Limit(10, 2)})
    assert _decisions(throttler, 3, T0, "POST /calls/transcribe") == [None, None, Kind.THROTTLED]
    assert _decisions(throttler, 4, T0, "GET /appointments") == [None, None, None, Kind.THROTTLED]


def test_http_stage_default_is_per_route_by_default() -> None:
    throttler = Throttler(BIG, Limit(1, 2), {})
    assert _decisions(throttler, 3, T0, "GET /a") == [None, None, Kind.THROTTLED]
    assert _decisions(throttler, 2, T0, "GET /b") == [None, None]  # its own bucket


def test_stage_default_as_one_bucket_when_configured() -> None:
    throttler = Throttler(BIG, Limit(1, 2), {}, stage_per_route=False)
    assert _decisions(throttler, 2, T0, "GET /a") == [None, None]
    assert throttler.check(T0, "GET /b") is Kind.THROTTLED


def test_account_limit_caps_every_route() -> None:
    throttler = Throttler(Limit(1, 2), Limit(100, 100), {"GET /a": Limit(100, 100)})
    assert _decisions(throttler, 3, T0, "GET /a") == [None, None, Kind.THROTTLED]
    assert throttler.check(T0, "GET /b") is Kind.THROTTLED


def test_account_bucket_can_be_shared_between_apis() -> None:
    shared = TokenBucket(1, 1)
    portal = Throttler(BIG, None, {}, account_bucket=shared)
    partner = Throttler(BIG, None, {}, flavor="rest", account_bucket=shared)
    assert portal.check(T0, "GET /a") is None
    assert partner.check(T0, "GET /a") is Kind.THROTTLED


def test_rejection_at_route_level_does_not_consume_account_tokens() -> None:
    throttler = Throttler(Limit(1, 3), Limit(1, 1), {})
    assert _decisions(throttler, 3, T0, "GET /a") == [None, Kind.THROTTLED, Kind.THROTTLED]
    # The account bucket (3) lost only the one accepted request: two more routes get through.
    assert [throttler.check(T0, r) for r in ("GET /b", "GET /c", "GET /d")] == [None, None, Kind.THROTTLED]


def test_http_api_ignores_usage_plans() -> None:
    plan = _plan("p", ("k",), throttle=Limit(1, 1), quota=1, period="DAY")
    throttler = Throttler(BIG, None, {}, [plan])
    assert _decisions(throttler, 3, T0, "GET /a", "k") == [None, None, None]


# --- Throttler: REST usage plans -----------------------------------------------------------------


def test_rest_plan_limit_is_per_key() -> None:
    plan = _plan("p", ("a", "b"), throttle=Limit(1, 2))
    throttler = Throttler(BIG, None, {}, [plan], flavor="rest")
    assert _decisions(throttler, 3, T0, "GET /x", "a") == [None, None, Kind.THROTTLED]
    assert _decisions(throttler, 2, T0, "GET /x", "b") == [None, None]


def test_rest_plan_per_method_limit_overrides_plan_limit_for_that_method() -> None:
    plan = _plan("p", ("a",), throttle=Limit(1, 5), methods={"POST /x": Limit(1, 1)})
    throttler = Throttler(BIG, None, {}, [plan], flavor="rest")
    assert _decisions(throttler, 2, T0, "POST /x", "a") == [None, Kind.THROTTLED]
    assert _decisions(throttler, 6, T0, "GET /x", "a") == [None] * 5 + [Kind.THROTTLED]


def test_rest_plan_passed_explicitly() -> None:
    plan = _plan("p", ("a",), throttle=Limit(1, 1))
    throttler = Throttler(BIG, None, {}, flavor="rest")
    assert throttler.check(T0, "GET /x", "a", plan) is None
    assert throttler.check(T0, "GET /x", "a", plan) is Kind.THROTTLED
    assert throttler.check(T0, "GET /x", None) is None  # no key: no client level


def test_client_rejection_does_not_consume_stage_tokens() -> None:
    plan = _plan("p", ("a", "b"), throttle=Limit(1, 2))
    throttler = Throttler(BIG, Limit(1, 3), {}, [plan], flavor="rest")
    assert _decisions(throttler, 4, T0, "GET /x", "a") == [None, None, Kind.THROTTLED, Kind.THROTTLED]
    # The stage bucket (3) lost only a's two accepted requests.
    assert _decisions(throttler, 2, T0, "GET /x", "b") == [None, Kind.THROTTLED]


def test_quota_exceeded_per_key_after_throttling() -> None:
    plan = _plan("q", ("a", "b"), throttle=Limit(100, 100), quota=3, period="DAY")
    throttler = Throttler(BIG, None, {}, [plan], flavor="rest")
    assert _decisions(throttler, 4, T0, "GET /x", "a") == [None, None, None, Kind.QUOTA_EXCEEDED]
    assert _decisions(throttler, 3, T0, "GET /x", "b") == [None, None, None]
    assert throttler.check(_ts(2026, 3, 11), "GET /x", "a") is None  # next UTC day


def test_throttled_requests_do_not_count_against_quota() -> None:
    plan = _plan("q", ("a",), throttle=Limit(1, 1), quota=2, period="DAY")
    throttler = Throttler(BIG, None, {}, [plan], flavor="rest")
    assert _decisions(throttler, 3, T0, "GET /x", "a") == [None, Kind.THROTTLED, Kind.THROTTLED]
    quota = throttler.quota("a", plan)
    assert quota is not None and quota.remaining(T0) == 1


def test_quota_offset_through_throttler() -> None:
    plan = _plan("q", ("a",), quota=3, period="DAY", offset=2)
    throttler = Throttler(BIG, None, {}, [plan], flavor="rest", quota_start=T0)
    assert _decisions(throttler, 2, T0, "GET /x", "a") == [None, Kind.QUOTA_EXCEEDED]


# --- faults: each with the same scenario's positive control -------------------------------------


def _http(faults: frozenset[str] = frozenset()) -> Throttler:
    return Throttler(BIG, Limit(1, 3), {"POST /t": Limit(1, 1)}, faults=faults)


def _rest(faults: frozenset[str] = frozenset(), quota: int | None = None) -> Throttler:
    plan = _plan("p", ("a", "b"), throttle=Limit(1, 2), quota=quota, period="DAY" if quota else None)
    return Throttler(BIG, None, {}, [plan], flavor="rest", faults=faults)


def _accepted(throttler: Throttler, n: int, route: str, key: str | None = None, now: float = T0) -> int:
    return sum(d is None for d in _decisions(throttler, n, now, route, key))


def test_fault_off() -> None:
    assert _accepted(_http(), 10, "GET /a") == 3
    assert _accepted(_http(frozenset({"throttle.off"})), 10, "GET /a") == 10


def test_fault_burst_doubled() -> None:
    assert _accepted(_http(frozenset({"throttle.burst_doubled"})), 10, "GET /a") == 6


def test_fault_rate_halved() -> None:
    control, faulty = _http(), _http(frozenset({"throttle.rate_halved"}))
    for throttler in (control, faulty):
        _accepted(throttler, 3, "GET /a")
    assert _accepted(control, 3, "GET /a", now=T0 + 2) == 2
    assert _accepted(faulty, 3, "GET /a", now=T0 + 2) == 1


def test_fault_route_override_ignored() -> None:
    assert _accepted(_http(), 5, "POST /t") == 1
    assert _accepted(_http(frozenset({"throttle.route_override_ignored"})), 5, "POST /t") == 3


def test_fault_route_limit_whole_stage() -> None:
    control = _http()
    assert _accepted(control, 1, "POST /t") == 1 and _accepted(control, 3, "GET /a") == 3
    faulty = _http(frozenset({"throttle.route_limit_whole_stage"}))
    assert _accepted(faulty, 1, "POST /t") == 1
    assert _accepted(faulty, 3, "GET /a") == 0  # the route's bucket is shared by every route


def test_fault_shared_plan_buckets() -> None:
    control = _rest()
    assert _accepted(control, 2, "GET /x", "a") == 2 and _accepted(control, 2, "GET /x", "b") == 2
    faulty = _rest(frozenset({"throttle.shared_plan_buckets"}))
    assert _accepted(faulty, 2, "GET /x", "a") == 2 and _accepted(faulty, 2, "GET /x", "b") == 0


def test_fault_quota_off() -> None:
    assert _accepted(_rest(quota=1), 2, "GET /x", "a") == 1
    assert _accepted(_rest(frozenset({"throttle.quota_off"}), quota=1), 2, "GET /x", "a") == 2


def test_fault_quota_off_by_one() -> None:
    assert _accepted(_rest(frozenset({"throttle.quota_off_by_one"}), quota=1), 2, "GET /x", "a") == 2
    assert _accepted(_rest(frozenset({"throttle.quota_off_by_one"}), quota=1), 3, "GET /x", "a") == 2


def test_fault_quota_as_throttled() -> None:
    assert _decisions(_rest(quota=1), 2, T0, "GET /x", "a")[-1] is Kind.QUOTA_EXCEEDED
    faulty = _rest(frozenset({"throttle.quota_as_throttled"}), quota=1)
    assert _decisions(faulty, 2, T0, "GET /x", "a")[-1] is Kind.THROTTLED


def test_fault_bucket_starts_empty() -> None:
    assert _accepted(_http(), 3, "GET /a") == 3
    assert _accepted(_http(frozenset({"throttle.bucket_starts_empty"})), 3, "GET /a") == 0
    empty = TokenBucket(rate=2, burst=4, full=False)
    assert not empty.try_take(T0)
    assert _takes(empty, 4, T0 + 1) == 2  # refills from empty at the configured rate
