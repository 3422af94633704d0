"""Judge one scenario: observations + token-bucket model + tolerance -> pass / fail / inconclusive (PURE).

The model replays the ACTUAL send times (not the planned ones). The gateway checked each request
somewhere between its send and the end of its response, so the model is replayed at both ends and
the observed count must fall in that band widened by the stage's tolerance. Inconclusive (never
pass) when the stage could not be reached or requests were refused for reasons other than
throttling (then no comparison counts). A disagreement with the replay of the actual send times is
a failure even from a late driver. Lateness itself matters only where it could change the outcome:
the model is also replayed at the PLANNED times, and when the sends as made cost the scenario its
power (the replays differ by more than half the planned rejections, and more than a floor) the
plan was missed and agreement proves little (inconclusive unless something failed). The fitted
rate is judged only when the model's own fit at the same send times recovers the configured rate
(bunched sends bias the estimator for any gateway), and only to explain a count that disagrees:
with a matching count the fit is reported, never decisive on its own.

Power as sent: a group that must show enforcement (any group not in `no_throttle`) passes only
while a stage enforcing nothing (every request accepted) would fall outside its band; the plan
made sure of that with a margin (load/power.py), the sends as made must keep it. A quota group
fails whenever the quota was used up and no `Limit Exceeded` came back, whatever the tolerance.
A scenario the stage has no feature for is "not_applicable" (neither pass nor fail).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from fixtures.stage import Tolerance
from load.bucket import Event, Fit, Outcome, fit, replay
from load.records import Observation, Send
from load.scenarios import Scenario

Status = Literal["pass", "fail", "inconclusive", "not_applicable"]


@dataclass(frozen=True)
class Group:
    """One route or key inside a scenario, with what was seen and what the model expects."""

    name: str
    offered: int
    sent: int
    accepted: int
    throttled: int  # 429 Too Many Requests (or a 429 with an unknown body)
    quota_rejected: int  # 429 Limit Exceeded
    other: int
    expected_accepted: int  # model replayed at the send times
    expected_band: tuple[int, int]  # model replayed at send and at response times
    tolerance: float
    configured_rate: float | None
    configured_burst: int | None
    fitted_rate: float | None
    fitted_burst: float | None
    planned_accepted: int = 0  # model replayed at the planned times (what the plan intended)
    model_fitted_rate: float | None = None  # the same fit on the model's outcomes at the send times


@dataclass(frozen=True)
class Judgement:
    scenario: str
    status: Status
    reasons: tuple[str, ...]
    groups: tuple[Group, ...]
    offered: int
    sent: int
    dropped: int
    late: int
    late_share: float
    statuses: Mapping[str, int]
    series: Mapping[str, list[int]] = field(default_factory=dict)  # per second from scenario start
    checks: tuple[Mapping[str, object], ...] = ()  # each failed comparison, with its numbers
    chart: Mapping[str, object] = field(default_factory=dict)  # chart_series(): at the behaviour's scale


def _observed(obs: Observation) -> Outcome | None:
    if 200 <= obs.status < 400:
        return "accepted"
    if obs.status == 429:
        return "quota" if obs.body_kind == "quota" else "throttled"
    return None


def judge(
    scenario: Scenario,
    sends: Sequence[Send],
    observations: Mapping[int, Observation],
    tolerance: Tolerance,
    embedded: bool,
    epoch: float,
    quota_used: Mapping[str, int] | None = None,
) -> Judgement:
    """The verdict for one scenario from its planned sends and what each of them observed.

    `quota_used`: requests per quota counter accepted earlier in this run (spent_quota), so that a
    quota scenario after a throttle scenario on the same key expects what is left.
    """
    if scenario.not_applicable is not None:
        return Judgement(scenario.id, "not_applicable", (scenario.not_applicable,), (), 0, 0, 0, 0, 0.0, {})
    if scenario.skipped is not None:
        return Judgement(
            scenario.id, "inconclusive", (f"not run: {scenario.skipped}",), (), 0, 0, 0, 0, 0.0, {}
        )
    obs = [observations.get(s.index) for s in sends]
    dropped = sum(1 for o in obs if o is None or o.dropped)
    late = sum(
        1
        for o in obs
        if o is not None and o.sent is not None and o.sent - o.planned > tolerance.late_ms / 1e3
    )
    offered = len(sends)
    sent = offered - dropped
    statuses: dict[str, int] = {}
    for o in obs:
        if o is not None and not o.dropped:
            statuses[str(o.status)] = statuses.get(str(o.status), 0) + 1
    late_share = (dropped + late) / offered if offered else 1.0
    inconclusive: list[str] = []  # the model comparison is meaningless: never pass, never fail
    shortfall: list[str] = []  # the scenario's intent was not met: never pass, but a fail stands
    reasons: list[str] = []  # failures
    checks: list[dict[str, object]] = []  # the comparison behind each failure, with its numbers
    if offered == 0 or statuses.get("0", 0) > sent / 2:
        inconclusive.append(f"stage unreachable: {statuses.get('0', 0)} of {sent} requests got no response")
    elif sent == 0:  # a handful of sends, all dropped: below the dropped-share floor, still nothing seen
        inconclusive.append(f"no request was sent: all {offered} planned sends were dropped")
    # Dropped sends mean the in-flight cap was reached: the driver or the stage was overwhelmed.
    if dropped > max(tolerance.accepted_abs, tolerance.max_late_share * offered):
        shortfall.append(f"driver dropped {dropped} of {offered} sends at the in-flight cap")
    others = {k: v for k, v in statuses.items() if not (k == "429" or 200 <= int(k) < 400)}
    if sum(others.values()) > tolerance.accepted_abs:
        listed = ", ".join(f"{v}x {k}" for k, v in sorted(others.items()))
        inconclusive.append(f"requests refused for other reasons than throttling ({listed})")

    # Model: sends with a throttling-relevant answer, at send times and at response times; and every
    # planned send (dropped ones too) at its planned time, for what the plan intended.
    usable = [(s, o) for s, o in zip(sends, obs, strict=True) if o is not None and o.sent is not None]
    usable = [(s, o) for s, o in usable if _observed(o) is not None]
    used = dict(quota_used or {})
    limits, quotas = scenario.limits, scenario.quotas
    early = replay([Event(o.sent or 0.0, s.buckets, s.quota) for s, o in usable], limits, quotas, used)
    late_ev = [Event((o.sent or 0.0) + (o.latency or 0.0), s.buckets, s.quota) for s, o in usable]
    late_model = replay(late_ev, limits, quotas, used)
    intended = [(s, o) for s, o in zip(sends, obs, strict=True) if o is None or o.dropped or _observed(o)]
    planned = replay([Event(epoch + s.at, s.buckets, s.quota) for s, _ in intended], limits, quotas, used)

    groups: list[Group] = []
    for name in sorted({s.group for s in sends}):
        idx = [i for i, (s, _) in enumerate(usable) if s.group == name]
        g_sends = [s for s in sends if s.group == name]
        seen = [_observed(usable[i][1]) for i in idx]
        acc = seen.count("accepted")
        thr = seen.count("throttled")
        quo = seen.count("quota")
        exp_early = sum(1 for i in idx if early[i] == "accepted")
        exp_late = sum(1 for i in idx if late_model[i] == "accepted")
        lo, hi = min(exp_early, exp_late), max(exp_early, exp_late)
        tol = max(tolerance.accepted_abs, tolerance.accepted_rel * len(idx))  # whichever is larger
        n_plan = sum(1 for s, _ in intended if s.group == name)
        exp_plan = sum(
            1 for (s, _), x in zip(intended, planned, strict=True) if s.group == name and x == "accepted"
        )
        binding = scenario.limits.get(g_sends[0].buckets[0]) if g_sends and g_sends[0].buckets else None
        times = [usable[i][1].sent or 0.0 for i in idx]
        hint = binding.rate if binding else None
        f = fit(times, [x == "accepted" for x in seen], rate_hint=hint)
        fm = fit(times, [early[i] == "accepted" for i in idx], rate_hint=hint)
        g_sent = sum(1 for s, o in zip(sends, obs, strict=True) if s.group == name and o and not o.dropped)
        groups.append(
            Group(name, len(g_sends), g_sent, acc, thr, quo, g_sent - len(idx), exp_early, (lo, hi), tol,
                  binding.rate if binding else None, binding.burst if binding else None, f.rate, f.burst,
                  exp_plan, fm.rate)
        )  # fmt: skip
        count_ok = lo - tol <= acc <= hi + tol
        if not count_ok:
            band = f"{exp_early}" if lo == hi else f"{exp_early} ({lo}-{hi})"
            reasons.append(f"{name}: {acc} of {len(idx)} accepted, model expects {band} +/- {tol:.0f}")
            checks.append(_check(name, "accepted vs model", acc, f"{band} +/- {tol:.0f}", model=exp_early,
                                 band=[lo, hi], tolerance=round(tol, 1), requests=len(idx)))  # fmt: skip
        # Lateness counts only where it could change the outcome: the model at the planned times
        # against the model at the actual send times. The scenario keeps its power while the sends
        # as made still draw at least half the planned rejections (a gateway without that limit
        # would then differ by far more than the tolerance); an absolute floor keeps tiny samples sane.
        moved = abs(exp_plan - exp_early)  # dropped sends count in exp_plan, not in exp_early
        if moved > max(tolerance.accepted_abs, tolerance.max_late_share * n_plan, (n_plan - exp_plan) / 2):
            shortfall.append(
                f"{name}: the sends as made change the model's count from {exp_plan} (planned times) to "
                f"{exp_early} ({dropped} dropped, {late} late > {tolerance.late_ms:g} ms in the scenario)"
            )
        # Power as sent: a stage enforcing nothing accepts every request; inside the band, a pass
        # would prove nothing (the plan kept a margin, late or bunched sends can lose it).
        if name not in scenario.no_throttle and idx and count_ok and len(idx) - hi <= tol:
            shortfall.append(
                f"{name}: cannot tell enforcement from none as sent: accepting all {len(idx)} is within "
                f"the model's {lo}-{hi} +/- {tol:.0f}"
            )
        allowance = 0 if embedded else tol
        if name in scenario.no_throttle:
            if thr + quo > len(idx) - lo + allowance:
                reasons.append(f"{name}: {thr + quo} answered 429 where none may be (throttles too early)")
                checks.append(
                    _check(name, "429 where none may be", thr + quo, 0, allowance=len(idx) - lo + allowance)
                )
            if exp_early < len(idx):
                shortfall.append(
                    f"{name}: the sends as made exceed the limit in the model "
                    f"({len(idx) - exp_early} 429 expected)"
                )
        counter = next((s.quota for s in g_sends if s.quota and s.quota in scenario.quotas), None)
        exp_quota = sum(1 for i in idx if early[i] == "quota")
        if name in scenario.quota_exact and counter is not None:
            spent = used.get(counter, 0)
            left = max(0, scenario.quotas[counter] - spent)
            earlier = f" ({spent} used earlier in this run)" if spent else ""
            slack = 0 if embedded else tolerance.accepted_abs
            if idx and acc == 0 and quo == len(idx) and left:
                inconclusive.append(
                    f"{name}: every request answered 'Limit Exceeded': the key's quota was used up before "
                    f"the scenario (an earlier run this period?), so exactly {left} cannot be checked"
                )
            if abs(acc - left) > slack:
                reasons.append(f"{name}: {acc} accepted, the quota is exactly {left}{earlier}")
                checks.append(
                    _check(name, "accepted vs quota", acc, left, tolerance=slack, used_earlier=spent)
                )
            # Whatever the tolerance: requests past the quota must meet 'Limit Exceeded'.
            if exp_quota and not quo:
                reasons.append(
                    f"{name}: no 429 'Limit Exceeded' although {len(idx)} requests went out against a quota "
                    f"of {left}{earlier}: the quota is not enforced"
                )
                checks.append(
                    _check(name, "'Limit Exceeded' after the quota", 0, exp_quota, requests=len(idx))
                )
            if thr:
                reasons.append(
                    f"{name}: {thr} quota rejections answered 'Too Many Requests', not 'Limit Exceeded'"
                )
                checks.append(
                    _check(name, "429 body", f"{thr} 'Too Many Requests'", "'Limit Exceeded'", count=thr)
                )
        elif quo > exp_quota and not scenario.quota_exact:
            if counter is not None:  # a throttle scenario spending a plan's quota: it ran out
                inconclusive.append(
                    f"{name}: {quo} answered 'Limit Exceeded' (model: {exp_quota}): the key's quota ran out, "
                    "spent before this run?; its throttle cannot be judged"
                )
            else:
                reasons.append(
                    f"{name}: {quo} throttle rejections answered 'Limit Exceeded', not 'Too Many Requests'"
                )
                checks.append(
                    _check(name, "429 body", f"{quo} 'Limit Exceeded'", "'Too Many Requests'", count=quo)
                )
        if name in scenario.fit_rate and binding is not None:
            failure, short = _judge_fit(name, f.rate, fm, binding.rate, tolerance.rate_rel, count_ok)
            reasons += [failure] if failure else []
            if failure:
                checks.append(
                    _check(
                        name, "fitted rate", f.rate, binding.rate, tolerance=tolerance.rate_rel, model=fm.rate
                    )
                )
            shortfall += [short] if short else []

    # The model replays the ACTUAL send times, so a disagreement is evidence even when the driver
    # was late; a pass is not when the plan was missed. Answers that never reached throttling (no
    # response, 401...) make the comparison itself meaningless.
    # Zero acceptances can sit within the tolerance of a small model count, yet show no bucket at all.
    if sent and not any(g.accepted for g in groups):
        shortfall.append("no request was accepted: nothing shows the limit")
    if inconclusive:
        status: Status = "inconclusive"
    elif reasons:
        status = "fail"
    else:
        status = "inconclusive" if shortfall else "pass"
    return Judgement(
        scenario.id, status, tuple(inconclusive + reasons + shortfall), tuple(groups), offered, sent,
        dropped, late, late_share, statuses, series(scenario, sends, obs, early, usable, epoch),
        tuple(checks), chart_series(scenario, groups, usable, early, epoch, used),
    )  # fmt: skip


def _check(
    group: str, comparison: str, observed: object, expected: object, **numbers: object
) -> dict[str, object]:
    """One failed comparison: which, on which group, what was observed and expected, and its numbers."""
    return {"group": group, "comparison": comparison, "observed": observed, "expected": expected, **numbers}


def spent_quota(sends: Sequence[Send], observations: Mapping[int, Observation]) -> dict[str, int]:
    """Accepted requests per quota counter among `sends` (what they spent of each key's quota)."""
    spent: dict[str, int] = {}
    for s in sends:
        o = observations.get(s.index)
        if s.quota is not None and o is not None and not o.dropped and _observed(o) == "accepted":
            spent[s.quota] = spent.get(s.quota, 0) + 1
    return spent


def _judge_fit(
    name: str,
    observed: float | None,
    model: Fit,
    configured: float,
    rate_rel: float,
    count_ok: bool,
) -> tuple[str | None, str | None]:
    """Fitted rate -> (failure, shortfall); the fit never decides on its own.

    The spacing estimator runs on send times, but the gateway checks each request later, so a stall
    on either side bunches acceptances and biases the fit for any gateway. It is therefore a
    diagnosis of a count that disagrees with the replay, judged only where the model's own fit at
    the same send times recovers the configured rate; with a matching count it is reported only.
    Too short a throttled span even in the model means the plan was missed (inconclusive).
    """
    if model.rate is None:
        return None, f"{name}: throttling too short ({model.saturated_s:.2f} s) to fit a rate"
    if count_ok or abs(model.rate / configured - 1) > rate_rel:
        return None, None
    if observed is not None and abs(observed / configured - 1) <= rate_rel:
        return None, None
    seen = "no rate could be fitted" if observed is None else f"fitted rate {observed:.1f}/s"
    return (
        f"{name}: {seen}, configured {configured:g}/s (> {rate_rel:.0%} apart; "
        f"the model fits {model.rate:.1f}/s at the same send times)"
    ), None


def series(
    scenario: Scenario,
    sends: Sequence[Send],
    obs: Sequence[Observation | None],
    model: Sequence[Outcome],
    usable: Sequence[tuple[Send, Observation]],
    epoch: float,
) -> dict[str, list[int]]:
    """Per-second counts from the scenario's start: offered, accepted, 429s, model-accepted."""
    width = int(scenario.end - scenario.start) + 2
    out = {k: [0] * width for k in ("offered", "accepted", "throttled", "quota_rejected", "model_accepted")}

    def slot(t: float) -> int:
        return min(width - 1, max(0, int(t - epoch - scenario.start)))

    for s in sends:
        out["offered"][slot(epoch + s.at)] += 1
    for o in obs:
        if o is None or o.sent is None:
            continue
        kind = _observed(o)
        key = {"accepted": "accepted", "throttled": "throttled", "quota": "quota_rejected"}.get(kind or "")
        if key:
            out[key][slot(o.sent)] += 1
    for (_, o), outcome in zip(usable, model, strict=True):
        if outcome == "accepted":
            out["model_accepted"][slot(o.sent or 0.0)] += 1
    return out


CHART_RATE_BIN_S = 0.1  # rate scenarios: sent, accepted, 429 and the model per 100 ms
CHART_BURST_MAX_BIN_S = 0.01  # a burst: bins of at most 10 ms (1 ms for a burst sent within 0.15 s)
CHART_MAX_BINS = 3000


def chart_series(
    scenario: Scenario,
    groups: Sequence[Group],
    usable: Sequence[tuple[Send, Observation]],
    model: Sequence[Outcome],
    epoch: float,
    used: Mapping[str, int],
) -> dict[str, object]:
    """What a person reads the scenario by, at the scale of its behaviour (reports/write/charts.py draws it).

    quota: per key group, accepted, 'Limit Exceeded', 'Too Many Requests' and the model's accepted,
    with the quota left for the key; burst (no rate judged, no group that must pass unthrottled):
    the primary group's sends, acceptances, 429s and the model's acceptances per bin of at most
    10 ms by send time, with the bucket size (drawn cumulative); rate: the same per 100 ms bin, with
    the configured rate. Bins count from the group's first send; only sends whose answer the model
    judges (accepted or 429) count, as in the verdict.
    """
    if not groups:
        return {}
    if scenario.quota_exact:
        return {"kind": "quota", "groups": [_quota_group(g, usable, scenario.quotas, used) for g in groups]}
    names = {g.name for g in groups}
    primary = scenario.primary if scenario.primary in names else groups[0].name
    mine = [(o, m) for (s, o), m in zip(usable, model, strict=True) if s.group == primary]
    if not mine:
        return {}
    times = [o.sent or 0.0 for o, _ in mine]
    t0, span = min(times), max(times) - min(times)
    kind = "rate" if (scenario.fit_rate or scenario.no_throttle) else "burst"
    bin_s = CHART_RATE_BIN_S
    if kind == "burst":
        bin_s = min(CHART_BURST_MAX_BIN_S, max(0.001, round(span / 150, 3)))
    n = min(CHART_MAX_BINS, int(span / bin_s) + 1)
    out = {k: [0] * n for k in ("sent", "accepted", "throttled", "quota_rejected", "model_accepted")}
    for (o, m), t in zip(mine, times, strict=True):
        i = min(n - 1, int((t - t0) / bin_s))
        out["sent"][i] += 1
        seen = {"accepted": "accepted", "throttled": "throttled", "quota": "quota_rejected"}.get(
            _observed(o) or ""
        )
        if seen:
            out[seen][i] += 1
        if m == "accepted":
            out["model_accepted"][i] += 1
    group = next(g for g in groups if g.name == primary)
    return {
        "kind": kind,
        "group": primary,
        "bin_s": bin_s,
        "start_s": round(t0 - epoch - scenario.start, 4),  # first send, from the scenario's planned start
        "rate": group.configured_rate,
        "burst": group.configured_burst,
        **out,
    }


def _quota_group(
    g: Group, usable: Sequence[tuple[Send, Observation]], quotas: Mapping[str, int], used: Mapping[str, int]
) -> dict[str, object]:
    counter = next((s.quota for s, _ in usable if s.group == g.name and s.quota in quotas), None)
    left = None if counter is None else max(0, quotas[counter] - used.get(counter, 0))
    return {
        "name": g.name,
        "sent": g.sent,
        "accepted": g.accepted,
        "limit_exceeded": g.quota_rejected,
        "too_many_requests": g.throttled,
        "model_accepted": g.expected_accepted,
        "quota": left,
    }
