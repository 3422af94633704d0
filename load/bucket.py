"""Token-bucket and quota models (PURE): replay send times, fit rate and burst from observations.

THROTTLE SCOPE (which requests share a bucket), the model used here and by the emulator:
- REST API: stage default ("default method throttling") limits apply to EACH METHOD separately,
  not to the stage as a whole. DOCS api-gateway-request-throttling (current guide): "Per-API,
  per-stage throttling limits are applied at the API method level for a stage. You can configure
  the same settings for all methods, or configure different throttle settings for each method."
  https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html
- HTTP API: the stage's default route throttling (DefaultRouteSettings) likewise applies per
  route; a RouteSettings entry overrides it for its route. DOCS http-api-throttling ("You can set
  route-level throttling to override the account-level request throttling limits for a specific
  stage or for individual routes"). ASSUMPTION (by analogy with REST, no HTTP API sentence says
  "per route" outright): one bucket per route key with the stage default as its limits.
  https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-throttling.html
- Usage plans (REST): one throttle bucket and one quota counter per API key ("per-client").
  ASSUMPTION: a key's plan throttle is shared by all methods of the stage (scenarios send each
  key to one method only, so the other reading gives the same expectation).
- A request is accepted only if every bucket it draws from has a token and its quota is not
  used up; tokens and quota are consumed only by accepted requests. ASSUMPTION: scenarios are
  built so that at most one limit binds at a time, which makes this choice immaterial.
Buckets start full (DOCS: burst is the bucket size; the examples start from a full bucket).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from fixtures.stage import Limit

Outcome = Literal["accepted", "throttled", "quota"]


@dataclass(frozen=True)
class Event:
    """One request as the model sees it: when the gateway checked it and what it draws from."""

    at: float
    buckets: tuple[str, ...]
    quota: str | None = None


@dataclass(frozen=True)
class Fit:
    """Effective limits fitted from observed acceptances (None where the data cannot tell)."""

    rate: float | None
    burst: float | None
    burst_lower_bound: int  # accepted requests seen without any throttling in between
    saturated_s: float  # length of the window used for the rate fit


def replay(
    events: Sequence[Event],
    limits: Mapping[str, Limit],
    quotas: Mapping[str, int] | None = None,
    quota_used: Mapping[str, int] | None = None,
) -> list[Outcome]:
    """Outcome of each event (in the given order) under full-at-start token buckets and quotas."""
    quotas = quotas or {}
    used = dict(quota_used or {})
    tokens = {name: float(limit.burst) for name, limit in limits.items()}
    last: dict[str, float] = {}
    order = sorted(range(len(events)), key=lambda i: (events[i].at, i))
    outcomes: list[Outcome] = ["accepted"] * len(events)
    for i in order:
        event = events[i]
        known = [b for b in event.buckets if b in limits]
        for name in known:
            limit = limits[name]
            if name in last:
                elapsed = max(0.0, event.at - last[name])
                tokens[name] = min(float(limit.burst), tokens[name] + elapsed * limit.rate)
            last[name] = max(event.at, last.get(name, event.at))
        if any(tokens[name] < 1.0 for name in known):
            outcomes[i] = "throttled"
            continue
        if (
            event.quota is not None
            and event.quota in quotas
            and used.get(event.quota, 0) >= quotas[event.quota]
        ):
            outcomes[i] = "quota"
            continue
        for name in known:
            tokens[name] -= 1.0
        if event.quota is not None:
            used[event.quota] = used.get(event.quota, 0) + 1
    return outcomes


def min_burst(times: Sequence[float], rate: float) -> float:
    """Smallest bucket size that lets every accepted request at `times` through at `rate`.

    B(r) = max over i <= j of (j - i + 1) - r * (t_j - t_i), computed in one pass.
    """
    best = 0.0
    lowest = float("inf")
    for j, t in enumerate(sorted(times)):
        lowest = min(lowest, j - rate * t)  # the i - r * t_i term, i = j included
        best = max(best, (j + 1) - rate * t - lowest)
    return best


def fit(
    times: Sequence[float],
    accepted: Sequence[bool],
    rate_hint: float | None = None,
    min_window_s: float = 0.5,
) -> Fit:
    """Fit rate and burst from one bucket's send times and which of them were accepted.

    Rate: while the offer exceeds the rate, acceptances come one token apart, so the rate is
    (k - 1) / span over the k acceptances between the first and the last rejection (this spacing
    estimate is not biased by the fractional tokens left at either end, unlike a plain count).
    Burst: min_burst at the fitted rate (or `rate_hint` when the rate cannot be fitted).
    """
    pairs = sorted(zip(times, accepted, strict=True))
    accepted_times = [t for t, ok in pairs if ok]
    rejected_times = [t for t, ok in pairs if not ok]
    if not rejected_times:
        return Fit(None, None, len(accepted_times), 0.0)
    first_rejected = rejected_times[0]
    lower_bound = sum(1 for t in accepted_times if t < first_rejected)
    # Concurrent sends around the first rejection can reach the gateway in another order than
    # they were sent: skip acceptances in the first tenth of the throttled span.
    settle = first_rejected + 0.1 * (rejected_times[-1] - first_rejected)
    inside = [t for t in accepted_times if settle < t <= rejected_times[-1]]
    window = inside[-1] - inside[0] if len(inside) >= 3 else 0.0
    rate = (len(inside) - 1) / window if window >= min_window_s else None
    basis = rate if rate is not None else rate_hint
    burst = min_burst(accepted_times, basis) if basis is not None and accepted_times else None
    return Fit(rate, burst, lower_bound, window)


def count(outcomes: Sequence[Outcome], wanted: Outcome) -> int:
    return sum(1 for o in outcomes if o == wanted)
