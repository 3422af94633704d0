"""Load scenarios derived from the stage file's limits, laid out on one timeline (PURE).

Each scenario is a bounded list of planned sends plus what the verdict needs: the limits of every
bucket it touches (per-route scope, see load/bucket.py), the quotas, and which groups must see no
429 at all. Scenarios run one after another; a scenario starts only once every bucket it touches
has had time to refill (burst / rate since its last planned use), so "after idle" holds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from fixtures.contract import Contract
from fixtures.stage import ApiConfig, Limit
from load.records import Send
from load.routes import Target, keyed_target, read_pool, target

NAMES = ("burst", "over-rate", "under-rate", "per-route", "plan-throttle", "key-isolation", "quota")


@dataclass(frozen=True)
class Bounds:
    max_rps: float = 2000.0  # fastest planned send rate of any scenario ("at once" = this rate)
    max_requests: int = 5000  # per scenario
    sustain_s: float = 2.5  # sustained phases
    plan_sustain_s: float = 4.0  # usage-plan throttle phase (low rates need longer for the rate fit)
    margin_s: float = 0.4  # after a scenario's last send, before the next one starts


@dataclass(frozen=True)
class Scenario:
    api: str
    name: str
    rule: str
    start: float  # seconds from the run's start epoch
    end: float  # last planned send
    limits: Mapping[str, Limit]
    quotas: Mapping[str, int] = field(default_factory=dict)
    configured: Mapping[str, float | int | None] = field(default_factory=dict)  # primary rate/burst/quota
    primary: str = ""  # group whose fitted rate/burst is reported at top level
    no_throttle: tuple[str, ...] = ()  # groups that must see zero 429s
    fit_rate: tuple[str, ...] = ()  # groups whose fitted rate is judged against the limit
    quota_exact: tuple[str, ...] = ()  # groups that must get exactly their quota accepted
    consumes_quota: bool = False
    skipped: str | None = None  # why the scenario could not be planned (inconclusive)

    @property
    def id(self) -> str:
        return f"{self.api}.{self.name}"


@dataclass(frozen=True)
class Run:
    scenarios: tuple[Scenario, ...]
    sends: tuple[Send, ...]
    duration: float


@dataclass(frozen=True)
class Phase:
    """A stream of sends to one target: `count` requests at `rps`, starting `offset` s in."""

    target: Target
    group: str
    buckets: tuple[str, ...]
    count: int
    rps: float
    offset: float = 0.0
    quota: str | None = None


def route_bucket(api: ApiConfig, route_key: str) -> tuple[str, Limit | None]:
    """The route's own bucket: its override, else the stage default (per-route scope)."""
    limit = api.throttle.routes.get(route_key, api.throttle.stage)
    return f"route:{api.name}:{route_key}", limit


def _burst_count(limit: Limit) -> int:
    return limit.burst + max(10, math.ceil(limit.burst / 2))


def _skip(api: str, name: str, rule: str, why: str) -> tuple[Scenario, list[Phase]]:
    return Scenario(api, name, rule, 0.0, 0.0, {}, skipped=why), []


def _stage_scenarios(api: ApiConfig, pool: list[Target], b: Bounds) -> list[tuple[Scenario, list[Phase]]]:
    out: list[tuple[Scenario, list[Phase]]] = []
    if api.throttle.stage is None or not pool:
        why = "no stage default limit" if api.throttle.stage is None else "no route the stage can authorize"
        for name in ("burst", "over-rate", "under-rate"):
            out.append(_skip(api.name, name, "stage default limits", why))
        return out
    lim = api.throttle.stage
    conf = {"rate": lim.rate, "burst": lim.burst, "quota": None}

    def one(name: str, rule: str, tgt: Target, phases: list[tuple[int, float, float]], **kw: object) -> None:
        bucket, _ = route_bucket(api, tgt.route_key)
        group = tgt.route_key
        stream = [Phase(tgt, group, (bucket,), n, rps, off) for n, rps, off in phases]
        total = sum(p.count for p in stream)
        if total > b.max_requests or max(p.rps for p in stream) > b.max_rps:
            out.append(
                _skip(api.name, name, rule, f"needs {total} requests / {max(p.rps for p in stream):.0f} rps")
            )
            return
        sc = Scenario(api.name, name, rule, 0.0, 0.0, {bucket: lim}, configured=conf, primary=group, **kw)  # type: ignore[arg-type]
        out.append((sc, stream))

    burst_n = _burst_count(lim)
    one(
        "burst",
        f"after idle, {burst_n} requests at once: about {lim.burst} (burst) accepted, the rest 429",
        pool[0],
        [(burst_n, b.max_rps, 0.0)],
    )
    over = pool[1 % len(pool)]
    drain = lim.burst
    one(
        "over-rate",
        f"sustained at 2x the rate ({2 * lim.rate:g}/s) after draining the bucket: accepted ~ {lim.rate:g}/s",
        over,
        [(drain, b.max_rps, 0.0), (math.ceil(2 * lim.rate * b.sustain_s), 2 * lim.rate, drain / b.max_rps)],
        fit_rate=(over.route_key,),
    )
    under = pool[2 % len(pool)]
    one(
        "under-rate",
        f"sustained at 80% of the rate ({0.8 * lim.rate:g}/s) after idle: zero 429",
        under,
        [(math.ceil(0.8 * lim.rate * b.sustain_s), 0.8 * lim.rate, 0.0)],
        no_throttle=(under.route_key,),
    )
    return out


def _per_route(
    api: ApiConfig, contract: Contract, pool: list[Target], b: Bounds
) -> list[tuple[Scenario, list[Phase]]]:
    rule = "a route override holds while other routes keep their own (per-route) default limits"
    overrides = [(k, v) for k, v in sorted(api.throttle.routes.items())]
    if not overrides:
        return []
    key, lim = overrides[0]
    try:
        route = contract.route(key)
    except KeyError:
        return [_skip(api.name, "per-route", rule, f"override {key!r} is not a route of the contract")]
    tgt = target(api, contract, route)
    if tgt is None or (route.writes and api.read_only):
        return [_skip(api.name, "per-route", rule, f"cannot send to {key} on this stage")]
    if api.throttle.stage is None or len(pool) < 2:
        return [_skip(api.name, "per-route", rule, "needs a stage default and two other routes")]
    stage = api.throttle.stage
    bucket, _ = route_bucket(api, key)
    phases = [
        Phase(tgt, key, (bucket,), 2 * lim.burst, b.max_rps),
        Phase(
            tgt,
            key,
            (bucket,),
            math.ceil(2 * lim.rate * b.sustain_s),
            2 * lim.rate,
            2 * lim.burst / b.max_rps,
        ),
    ]
    limits = {bucket: lim}
    others = pool[:2]
    share = max(1, math.ceil(0.75 * stage.burst))  # each under its own burst, together over one
    for other in others:
        ob, _ = route_bucket(api, other.route_key)
        limits[ob] = stage
        phases.append(
            Phase(other, other.route_key, (ob,), share, b.max_rps * 3 / 16)
        )  # 1/2 of max_rps in all
    conf = {"rate": lim.rate, "burst": lim.burst, "quota": None}
    sc = Scenario(
        api.name,
        "per-route",
        rule,
        0.0,
        0.0,
        limits,
        configured=conf,
        primary=key,
        fit_rate=(key,),
        no_throttle=tuple(o.route_key for o in others),
    )
    return [(sc, phases)]


def _plans(api: ApiConfig, contract: Contract, b: Bounds) -> list[tuple[Scenario, list[Phase]]]:
    out: list[tuple[Scenario, list[Phase]]] = []
    if api.flavor != "rest":
        return out
    usable = [
        (plan, [k for k in plan.keys if k.enabled and k.test_key])
        for plan in api.usage_plans
        if plan.throttle
    ]
    throttle_plans = [(p, ks) for p, ks in usable if len(ks) >= 2 and p.quota_limit is None]
    quota_plans = [(p, ks) for p, ks in usable if len(ks) >= 2 and p.quota_limit is not None]
    for name, plans in (
        ("plan-throttle", throttle_plans),
        ("key-isolation", throttle_plans),
        ("quota", quota_plans),
    ):
        if not plans:
            out.append(_skip(api.name, name, "usage plans", "no usage plan with throttle and two test keys"))
            continue
        plan, keys = plans[0]
        lim = plan.throttle
        assert lim is not None
        tgts = [keyed_target(api, contract, k.name) for k in keys[:2]]
        if tgts[0] is None or tgts[1] is None:
            out.append(_skip(api.name, name, "usage plans", "no key-protected GET route the stage can call"))
            continue
        ta, tb = tgts[0], tgts[1]
        ka, kb = (f"key:{plan.name}:{k.name}" for k in keys[:2])
        ga, gb = f"key {keys[0].name}", f"key {keys[1].name}"
        rb, rlim = route_bucket(api, ta.route_key)
        limits = {ka: lim, kb: lim, **({rb: rlim} if rlim else {})}
        conf = {"rate": lim.rate, "burst": lim.burst, "quota": plan.quota_limit}
        if name == "plan-throttle":
            n = math.ceil(2 * lim.rate * b.plan_sustain_s)
            phases = [
                Phase(ta, ga, (ka, rb), lim.burst, b.max_rps),
                Phase(ta, ga, (ka, rb), n, 2 * lim.rate, lim.burst / b.max_rps),
            ]
            rule = f"usage plan {plan.name}: a key sending at 2x its rate gets {lim.rate:g}/s"
            sc = Scenario(api.name, name, rule, 0, 0, limits, configured=conf, primary=ga, fit_rate=(ga,))
        elif name == "key-isolation":
            n_a = math.ceil(2 * lim.rate * b.sustain_s)
            n_b = max(1, math.ceil(0.5 * lim.rate * b.sustain_s))
            phases = [
                Phase(ta, ga, (ka, rb), n_a, 2 * lim.rate),
                Phase(tb, gb, (kb, rb), n_b, 0.5 * lim.rate, 0.5 / lim.rate),
            ]
            rule = f"usage plan {plan.name}: a second key is unaffected while the first is throttled"
            sc = Scenario(api.name, name, rule, 0, 0, limits, configured=conf, primary=ga, no_throttle=(gb,))
        else:
            quota = int(plan.quota_limit or 0)
            qa, qb = f"quota:{plan.name}:{keys[0].name}", f"quota:{plan.name}:{keys[1].name}"
            rps = min(b.max_rps, 0.5 * lim.rate)  # under the plan's throttle: only the quota binds
            extra = max(10, quota // 5)
            phases = [
                Phase(ta, ga, (ka, rb), quota + extra, rps, 0.0, qa),
                Phase(tb, gb, (kb, rb), 10, rps, (quota + extra) / rps + 0.1, qb),
            ]
            rule = (
                f"usage plan {plan.name}: exactly {quota} accepted then 429 Limit Exceeded; "
                "a second key unaffected (consumes the test keys' quota for the period)"
            )
            sc = Scenario(
                api.name,
                name,
                rule,
                0,
                0,
                limits,
                quotas={qa: quota, qb: quota},
                configured=conf,
                primary=ga,
                no_throttle=(gb,),
                quota_exact=(ga,),
                consumes_quota=True,
            )
        total = sum(p.count for p in phases)
        if total > b.max_requests:
            out.append(_skip(api.name, name, sc.rule, f"needs {total} requests"))
            continue
        out.append((sc, phases))
    return out


def plan_api(api: ApiConfig, contract: Contract, b: Bounds) -> list[tuple[Scenario, list[Phase]]]:
    pool = read_pool(api, contract)
    return _stage_scenarios(api, pool, b) + _per_route(api, contract, pool, b) + _plans(api, contract, b)
