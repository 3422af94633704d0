"""Power before verdict (PURE): can a scenario tell the configured limits from no enforcement?

A scenario claims enforcement through its judged groups (every group that is not a must-not-
throttle group). For each of them the planned sends are replayed through the token-bucket/quota
model and through "no enforcement" (every request accepted). The verdict passes a group whose
accepted count lies within the model's count +/- tol, tol = max(accepted_abs, accepted_rel * n).
If "no enforcement" lies inside that band a gateway that enforces nothing passes too, so a
scenario is run only when

    separation = unenforced_accepted - model_accepted >= 2 * tol

i.e. "no enforcement" lies at least one more tolerance outside the pass band (margin = separation
- tol >= tol). The extra tolerance absorbs what the run itself moves: the verdict's band also spans
the replay at the response times, and late sends can lose some planned rejections. Otherwise the
plan is enlarged (load/scenarios.py) or the scenario is inconclusive. Must-not-throttle groups
(under-rate, the other routes of per-route, the second key) check the other direction (a gateway
that throttles too early): a stage without limits passes them by design, so they carry no power.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from fixtures.stage import Limit, Tolerance
from load.bucket import Event, replay


@dataclass(frozen=True)
class Power:
    """How far a stage that ignores the group's own limit lands from the pass band, for one group."""

    group: str
    requests: int  # planned requests of the group
    model_accepted: int  # the configured limits replayed at the planned times
    unenforced_accepted: int  # accepted with the group's own limit ignored (the others in force)
    tolerance: float  # the verdict's band half-width: max(accepted_abs, accepted_rel * requests)
    default_requests: int = 0  # the group's requests in the default plan, before any enlarging

    @property
    def separation(self) -> int:
        return self.unenforced_accepted - self.model_accepted

    @property
    def margin(self) -> float:
        """How far outside the pass band "no enforcement" falls (negative: inside it)."""
        return self.separation - self.tolerance

    @property
    def enough(self) -> bool:
        return self.margin >= self.tolerance

    def record(self) -> dict[str, object]:
        """The result record's "power" object (load/README.md)."""
        return {
            "group": self.group,
            "requests": self.requests,
            "default_requests": self.default_requests,
            "enlarged": self.requests > self.default_requests,
            "model_accepted": self.model_accepted,
            "unenforced_accepted": self.unenforced_accepted,
            "tolerance": round(self.tolerance, 3),
            "separation": self.separation,
            "margin": round(self.margin, 3),
            "required_margin": round(self.tolerance, 3),
        }


def band_tolerance(tolerance: Tolerance, requests: int) -> float:
    """The verdict's count tolerance for a group of `requests` (load/verdict.py uses the same)."""
    return float(max(tolerance.accepted_abs, tolerance.accepted_rel * requests))


def assess(
    sends: Iterable[tuple[str, Event]],
    limits: Mapping[str, Limit],
    quotas: Mapping[str, int],
    tolerance: Tolerance,
    no_throttle: Iterable[str] = (),
) -> Power | None:
    """The weakest judged group's power for planned (group, event) sends; None when no group is
    judged for enforcement (every group must not be throttled)."""
    pairs = list(sends)
    events = [e for _, e in pairs]
    outcomes = replay(events, limits, quotas)
    exempt = set(no_throttle)
    weakest: Power | None = None
    for group in sorted({g for g, _ in pairs} - exempt):
        picked = [o for (g, _), o in zip(pairs, outcomes, strict=True) if g == group]
        accepted = sum(1 for o in picked if o == "accepted")
        # "Not enforced" means this group's own limit ignored (its first bucket, its quota), the
        # others still in force: where another limit binds first, the plan cannot tell them apart.
        first = next(e for g, e in pairs if g == group)
        own_limits = {k: v for k, v in limits.items() if not first.buckets or k != first.buckets[0]}
        own_quotas = {k: v for k, v in quotas.items() if k != first.quota}
        unenforced = replay(events, own_limits, own_quotas)
        free = sum(1 for (g, _), o in zip(pairs, unenforced, strict=True) if g == group and o == "accepted")
        p = Power(group, len(picked), accepted, free, band_tolerance(tolerance, len(picked)))
        if weakest is None or p.margin - p.tolerance < weakest.margin - weakest.tolerance:
            weakest = p
    return weakest
