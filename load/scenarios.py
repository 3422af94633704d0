"""Load scenarios derived from the stage file's limits, laid out on one timeline (PURE).

Each scenario is a bounded list of planned sends plus what the verdict needs: the limits of every
bucket it touches (per-route scope, see load/bucket.py), the quotas, and which groups must see no
429 at all. Scenarios run one after another; a scenario starts only once every bucket it touches
has had time to refill (burst / rate since its last planned use), so "after idle" holds.

Every scenario gets one of three planning outcomes:
- planned, with its power (load/power.py): "no enforcement" lies at least two tolerances away from
  the model's count. A plan short of that is enlarged (more excess requests, or a longer sustained
  phase) up to the Bounds; if even the bounds do not allow it the scenario is `skipped`;
- `skipped` (inconclusive): the stage has the feature but it could not be exercised (no route the
  stage can authorize, no test key, beyond the bounds, no power);
- `not_applicable` (neither pass nor fail): the stage has no such feature (no stage throttle and
  no `account_default = true`, no route override, no usage plan, a plan with a single test key
  for key isolation) or the stage file excludes every route the scenario could use.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from fixtures.contract import Contract
from fixtures.stage import ApiConfig, ApiKey, Limit, Tolerance, UsagePlan
from load.bucket import Event
from load.power import Power, assess
from load.records import Send
from load.routes import Target, excluded_list, keyed_target, read_pool, target

NAMES = ("burst", "over-rate", "under-rate", "per-route", "plan-throttle", "key-isolation", "quota")


@dataclass(frozen=True)
class Bounds:
    max_rps: float = 2000.0  # fastest planned send rate of any scenario ("at once" = this rate)
    max_requests: int = 5000  # per scenario
    max_scenario_s: float = 60.0  # per scenario, first to last planned send
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
    skipped: str | None = None  # the feature exists but the scenario could not be planned (inconclusive)
    not_applicable: str | None = None  # the stage has no such feature, or excludes its routes
    power: Power | None = None  # weakest judged group vs "no enforcement"; None: nothing to enforce

    @property
    def id(self) -> str:
        return f"{self.api}.{self.name}"

    @property
    def runs(self) -> bool:
        return self.skipped is None and self.not_applicable is None


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

    def times(self) -> list[float]:
        """Planned send times from the scenario's start."""
        return [self.offset + i / self.rps for i in range(self.count)]


Planned = tuple[Scenario, list[Phase]]


def stage_limit(api: ApiConfig) -> Limit | None:
    """The limit of routes without an override: the stage default, else the account default when
    the stage file asks for it to be tested, else None (not modelled, not tested)."""
    if api.throttle.stage is not None:
        return api.throttle.stage
    return api.throttle.account if api.throttle.account_default else None


def route_bucket(api: ApiConfig, route_key: str) -> tuple[str, Limit | None]:
    """The route's own bucket: its override, else the stage default (per-route scope)."""
    limit = api.throttle.routes.get(route_key, stage_limit(api))
    return f"route:{api.name}:{route_key}", limit


def _burst_count(limit: Limit, scale: float = 1.0) -> int:
    return limit.burst + math.ceil(scale * max(10, math.ceil(limit.burst / 2)))


def _skip(api: str, name: str, rule: str, why: str, power: Power | None = None) -> Planned:
    return Scenario(api, name, rule, 0.0, 0.0, {}, skipped=why, power=power), []


def _not_applicable(api: str, name: str, rule: str, why: str) -> Planned:
    return Scenario(api, name, rule, 0.0, 0.0, {}, not_applicable=why), []


# Enlarging steps (x the default excess or sustained length); the search goes on past the bounds
# only to say how many requests the scenario would need.
_SCALES = tuple(1.25**k for k in range(30))
_SEARCH_BEYOND = 10  # x the bounds


def _size(phases: list[Phase]) -> tuple[int, float, float]:
    """(requests, fastest rate, seconds from the first to the last planned send)."""
    total = sum(p.count for p in phases)
    fastest = max((p.rps for p in phases), default=0.0)
    last = max((p.offset + (p.count - 1) / p.rps for p in phases if p.count), default=0.0)
    return total, fastest, last


def _power(sc: Scenario, phases: list[Phase], tolerance: Tolerance) -> Power | None:
    events = [(p.group, Event(t, p.buckets, p.quota)) for p in phases for t in p.times()]
    return assess(events, sc.limits, sc.quotas, tolerance, sc.no_throttle)


def _over(requests: int, seconds: float, b: Bounds) -> str:
    """Which bound a plan of `requests` over `seconds` breaks, in words."""
    if requests > b.max_requests:
        return f"needs {requests} requests, bound {b.max_requests}"
    return f"needs {requests} requests over {seconds:.1f} s, bound {b.max_scenario_s:g} s"


def powered(build: Callable[[float], Planned], b: Bounds, tolerance: Tolerance) -> Planned:
    """The default plan if it has the power to tell the limits from no enforcement, else the
    smallest enlarged one (build(scale): more excess / a longer sustained phase) within the bounds;
    a skipped scenario when the bounds do not allow any."""
    sc, phases = build(1.0)
    if not sc.runs:
        return sc, phases
    total, fastest, seconds = _size(phases)
    if fastest > b.max_rps:  # enlarging never lowers a rate
        return _skip(
            sc.api, sc.name, sc.rule, f"needs {total} requests / {fastest:.0f} rps (bound {b.max_rps:g})"
        )
    defaults: dict[str, int] = {}
    for p in phases:
        defaults[p.group] = defaults.get(p.group, 0) + p.count

    def measured(sc: Scenario, phases: list[Phase]) -> Power | None:
        pw = _power(sc, phases, tolerance)
        return None if pw is None else replace(pw, default_requests=defaults.get(pw.group, pw.requests))

    first = measured(sc, phases)
    cap_requests = _SEARCH_BEYOND * max(b.max_requests, total)
    cap_seconds = _SEARCH_BEYOND * max(b.max_scenario_s, seconds)
    best: Power | None = None  # the largest plan within the bounds, for the reason

    def undecided(why: str) -> Planned:
        """Skipped: no plan within the bounds tells enforcement from none (shown: the best found)."""
        shown = best or first
        assert shown is not None
        reason = f"cannot tell enforcement from none at tolerance {shown.tolerance:g} ({why})"
        return _skip(sc.api, sc.name, sc.rule, reason, shown)

    for scale in _SCALES:
        if scale > 1.0:
            sc, phases = build(scale)
            total, fastest, seconds = _size(phases)
        pw = first if scale == 1.0 else measured(sc, phases)
        fits = total <= b.max_requests and seconds <= b.max_scenario_s
        if pw is None or pw.enough:
            if fits:
                return replace(sc, power=pw), phases
            if scale == 1.0:
                return _skip(sc.api, sc.name, sc.rule, _over(total, seconds, b), pw)
            return undecided(_over(total, seconds, b))
        if fits:
            best = pw
        if scale > 1.0 and pw.separation <= 0:  # the sends never outpace the limit: more of them won't
            return undecided(
                f"the model accepts every request even at {fastest:g} rps: needs a faster driver than "
                f"--max-rps {b.max_rps:g}"
            )
        if total > cap_requests or seconds > cap_seconds:
            break
    return undecided(f"needs more than {total} requests, bound {b.max_requests}")


def _no_pool(api: ApiConfig, contract: Contract) -> tuple[str, str]:
    """("na", reason) when the stage file excluded every usable route, else ("skip", reason)."""
    hidden = read_pool(api, contract, with_excluded=True)
    if hidden:
        return (
            "na",
            "every GET route the stage could call is excluded in the stage file: "
            + excluded_list(api, hidden),
        )
    return (
        "skip",
        "no GET route without an API key or override that the stage's credentials and samples can call",
    )


def _stage_scenarios(api: ApiConfig, contract: Contract, pool: list[Target], b: Bounds) -> list[Planned]:
    names = ("burst", "over-rate", "under-rate")
    lim = stage_limit(api)
    if lim is None:
        why = (
            f"no stage default in [apis.{api.name}.throttle]: the API relies on the account default "
            f"({api.throttle.account.rate:,.0f} rps / {api.throttle.account.burst:,} burst), tested only "
            "with account_default = true"
        )
        return [_not_applicable(api.name, n, "stage default limits", why) for n in names]
    if not pool:
        kind, why = _no_pool(api, contract)
        out = _not_applicable if kind == "na" else _skip
        return [out(api.name, n, "stage default limits", why) for n in names]
    source = "stage default" if api.throttle.stage is not None else "account default"
    conf = {"rate": lim.rate, "burst": lim.burst, "quota": None}

    def one(
        name: str, rule: str, tgt: Target, phases: list[tuple[int, float, float]], **kw: object
    ) -> Planned:
        bucket, _ = route_bucket(api, tgt.route_key)
        group = tgt.route_key
        stream = [Phase(tgt, group, (bucket,), n, rps, off) for n, rps, off in phases]
        sc = Scenario(api.name, name, rule, 0.0, 0.0, {bucket: lim}, configured=conf, primary=group, **kw)  # type: ignore[arg-type]
        return sc, stream

    def burst(scale: float) -> Planned:
        n = _burst_count(lim, scale)
        rule = f"after idle, {n} requests at once: about {lim.burst} ({source} burst) accepted, the rest 429"
        return one("burst", rule, pool[0], [(n, b.max_rps, 0.0)])

    over = pool[1 % len(pool)]

    def over_rate(scale: float) -> Planned:
        drain, seconds = lim.burst, scale * b.sustain_s
        rule = (
            f"sustained at 2x the {source} rate ({2 * lim.rate:g}/s) for {seconds:.1f} s after draining "
            f"the bucket: accepted ~ {lim.rate:g}/s"
        )
        phases = [
            (drain, b.max_rps, 0.0),
            (math.ceil(2 * lim.rate * seconds), 2 * lim.rate, drain / b.max_rps),
        ]
        return one("over-rate", rule, over, phases, fit_rate=(over.route_key,))

    under = pool[2 % len(pool)]

    def under_rate(_scale: float) -> Planned:
        rule = f"sustained at 80% of the {source} rate ({0.8 * lim.rate:g}/s) after idle: zero 429"
        phases = [(math.ceil(0.8 * lim.rate * b.sustain_s), 0.8 * lim.rate, 0.0)]
        return one("under-rate", rule, under, phases, no_throttle=(under.route_key,))

    return [powered(build, b, api.tolerance) for build in (burst, over_rate, under_rate)]


def _per_route(api: ApiConfig, contract: Contract, pool: list[Target], b: Bounds) -> Planned:
    rule = "a route override holds while other routes keep their own (per-route) default limits"
    if not api.throttle.routes:
        return _not_applicable(
            api.name, "per-route", rule, f"no route override in [apis.{api.name}.throttle.routes]"
        )
    problems: list[str] = []
    chosen: tuple[str, Limit, Target] | None = None
    for key, lim in sorted(api.throttle.routes.items()):
        if key in api.excluded:
            problems.append(f"{key} is excluded in the stage file ({api.excluded[key]})")
            continue
        try:
            route = contract.route(key)
        except KeyError:
            problems.append(f"override {key!r} is not a route of the contract")
            continue
        tgt = target(api, contract, route)
        if route.writes and api.read_only:
            problems.append(f"{key} writes and the stage is read-only")
        elif tgt is None:
            problems.append(f"cannot send to {key} validly with the stage's credentials and samples")
        else:
            chosen = (key, lim, tgt)
            break
    if chosen is None:
        if all(k in api.excluded for k in api.throttle.routes):
            return _not_applicable(api.name, "per-route", rule, "; ".join(problems))
        return _skip(api.name, "per-route", rule, "; ".join(problems))
    key, lim, tgt = chosen
    if len(pool) < 2:
        why = f"needs two GET routes without an override the stage can call besides {key} (found {len(pool)})"
        return _skip(api.name, "per-route", rule, why)
    bucket, _ = route_bucket(api, key)
    declared = api.throttle.stage
    # The other routes' own limit: the stage default, else the account default (which the API
    # relies on; far above what is sent here, so the model needs no declared value to hold).
    other_limit = stage_limit(api) or api.throttle.account
    # Each other route under its own burst, together over one: a stage-wide bucket shows. Under the
    # account default a modest stream still shows an override leaking to the whole stage.
    share = math.ceil(0.75 * declared.burst) if declared is not None else max(20, 2 * lim.burst)
    conf = {"rate": lim.rate, "burst": lim.burst, "quota": None}
    others = pool[:2]

    def build(scale: float) -> Planned:
        seconds = scale * b.sustain_s
        phases = [
            Phase(tgt, key, (bucket,), 2 * lim.burst, b.max_rps),
            Phase(
                tgt,
                key,
                (bucket,),
                math.ceil(2 * lim.rate * seconds),
                2 * lim.rate,
                2 * lim.burst / b.max_rps,
            ),
        ]
        limits = {bucket: lim}
        for other in others:
            ob, _ = route_bucket(api, other.route_key)
            limits[ob] = other_limit
            phases.append(
                Phase(other, other.route_key, (ob,), share, b.max_rps * 3 / 16)
            )  # 3/8 of max_rps in all
        sc = Scenario(
            api.name, "per-route", rule, 0.0, 0.0, limits, configured=conf, primary=key, fit_rate=(key,),
            no_throttle=tuple(o.route_key for o in others),
        )  # fmt: skip
        return sc, phases

    return powered(build, b, api.tolerance)


def _test_keys(plan: UsagePlan) -> list[ApiKey]:
    """Keys a scenario may spend: enabled and not marked `test_key = false` (a real client's key)."""
    return [k for k in plan.keys if k.enabled and k.test_key]


def _quota_note(plan: UsagePlan) -> str:
    return f"{plan.quota_limit} per {plan.quota_period}"


class _Budget:
    """Quota left for this run's planned scenarios, per quota counter (planning state, local to one
    plan_api call): a throttle scenario on a plan with a quota must send no more than what is left,
    so that the quota cannot bind whatever the gateway does with the throttle."""

    def __init__(self) -> None:
        self.left: dict[str, int] = {}

    def check(self, plan: UsagePlan, phases: list[Phase]) -> str | None:
        """None when every counter the phases draw from has room for them, else why not."""
        if plan.quota_limit is None:
            return None
        need: dict[str, int] = {}
        for p in phases:
            if p.quota is not None:
                need[p.quota] = need.get(p.quota, 0) + p.count
        for counter, n in sorted(need.items()):
            left = self.left.get(counter, plan.quota_limit)
            if n > left:
                key = counter.rsplit(":", 1)[-1]
                return (
                    f"plan {plan.name}'s quota ({_quota_note(plan)}) would bind: the scenario sends {n} "
                    f"requests with key {key}, {left} left for this run"
                )
        return None

    def spend(self, plan: UsagePlan, phases: list[Phase]) -> None:
        if plan.quota_limit is None:
            return
        for p in phases:
            if p.quota is not None:
                self.left[p.quota] = self.left.get(p.quota, plan.quota_limit) - p.count


def _keyed(api: ApiConfig, contract: Contract, key: ApiKey) -> tuple[Target | None, str, bool]:
    """(target, why none, excluded): the key-protected GET route the key is sent to."""
    tgt = keyed_target(api, contract, key.name)
    if tgt is not None:
        return tgt, "", False
    hidden = keyed_target(api, contract, key.name, with_excluded=True)
    if hidden is not None:
        return None, f"the only key-protected GET route is excluded: {excluded_list(api, [hidden])}", True
    return None, "no GET route that requires an API key the stage's credentials and samples can call", False


def _key_stream(plan: UsagePlan, key: ApiKey, tgt: Target) -> tuple[str, str, str | None, Limit | None]:
    """(group, key bucket, quota counter, the key's throttle on this route) for one key of a plan."""
    method_limit = plan.method_throttle.get(tgt.route_key)
    bucket = f"key:{plan.name}:{key.name}" + (f":{tgt.route_key}" if method_limit else "")
    counter = f"quota:{plan.name}:{key.name}" if plan.quota_limit is not None else None
    return f"key {key.name}", bucket, counter, method_limit or plan.throttle


def _plan_order(item: tuple[UsagePlan, list[ApiKey]]) -> tuple[bool, int, str]:
    # A plan without a quota first (nothing to spend), else the largest quota (least likely to bind).
    plan = item[0]
    return plan.quota_limit is not None, -(plan.quota_limit or 0), plan.name


def _plan_throttle(api: ApiConfig, contract: Contract, b: Bounds, budget: _Budget) -> Planned:
    rule0 = "usage plan throttle"
    throttled = [p for p in api.usage_plans if p.throttle is not None]
    if not throttled:
        return _not_applicable(
            api.name, "plan-throttle", rule0, "no usage plan with a throttle (rate, burst)"
        )
    usable = sorted(((p, _test_keys(p)) for p in throttled if _test_keys(p)), key=_plan_order)
    if not usable:
        names = ", ".join(p.name for p in throttled)
        return _skip(api.name, "plan-throttle", rule0, f"no enabled key with test_key = true in {names}")
    plan, keys = usable[0]
    tgt, why, excluded = _keyed(api, contract, keys[0])
    if tgt is None:
        return (_not_applicable if excluded else _skip)(api.name, "plan-throttle", rule0, why)
    group, kb, counter, key_limit = _key_stream(plan, keys[0], tgt)
    assert key_limit is not None  # the plan has a throttle
    lim = key_limit
    rb, rlim = route_bucket(api, tgt.route_key)
    limits = {kb: lim, **({rb: rlim} if rlim else {})}
    quotas = {counter: int(plan.quota_limit or 0)} if counter else {}
    conf = {"rate": lim.rate, "burst": lim.burst, "quota": plan.quota_limit}

    def build(scale: float) -> Planned:
        seconds = scale * b.plan_sustain_s
        n = math.ceil(2 * lim.rate * seconds)
        phases = [
            Phase(tgt, group, (kb, rb), lim.burst, b.max_rps, 0.0, counter),
            Phase(tgt, group, (kb, rb), n, 2 * lim.rate, lim.burst / b.max_rps, counter),
        ]
        rule = (
            f"usage plan {plan.name}: key {keys[0].name} sending at 2x its rate for {seconds:.1f} s gets "
            f"{lim.rate:g}/s"
        )
        if counter:
            rule += f" (spends up to {lim.burst + n} of its quota, {_quota_note(plan)})"
        sc = Scenario(
            api.name, "plan-throttle", rule, 0, 0, limits, quotas=quotas, configured=conf, primary=group,
            fit_rate=(group,), consumes_quota=counter is not None,
        )  # fmt: skip
        return sc, phases

    return _within_quota(powered(build, b, api.tolerance), plan, budget)


def _within_quota(planned: Planned, plan: UsagePlan, budget: _Budget) -> Planned:
    """A throttle scenario on a plan with a quota runs only if the quota cannot bind."""
    sc, phases = planned
    if not sc.runs:
        return planned
    why = budget.check(plan, phases)
    if why is not None:
        return _skip(sc.api, sc.name, sc.rule, why, sc.power)
    budget.spend(plan, phases)
    return planned


def _key_isolation(api: ApiConfig, contract: Contract, b: Bounds, budget: _Budget) -> Planned:
    rule0 = "usage plan keys are isolated"
    throttled = [p for p in api.usage_plans if p.throttle is not None]
    if not throttled:
        return _not_applicable(
            api.name, "key-isolation", rule0, "no usage plan with a throttle (rate, burst)"
        )
    usable = sorted(((p, _test_keys(p)) for p in throttled if len(_test_keys(p)) >= 2), key=_plan_order)
    if not usable:
        plan = max(throttled, key=lambda p: (len(_test_keys(p)), p.name))
        found = len(_test_keys(plan))
        why = (
            f"key isolation needs a second test key in plan {plan.name}"
            if found == 1
            else f"key isolation needs two test keys in one plan; plan {plan.name} has none "
            "(enabled, test_key = true)"
        )
        return _not_applicable(api.name, "key-isolation", rule0, why)
    plan, keys = usable[0]
    tgt_a, why, excluded = _keyed(api, contract, keys[0])
    tgt_b = keyed_target(api, contract, keys[1].name)
    if tgt_a is None or tgt_b is None:
        return (_not_applicable if excluded else _skip)(api.name, "key-isolation", rule0, why)
    ga, ka, qa, key_limit = _key_stream(plan, keys[0], tgt_a)
    gb, kb, qb, _ = _key_stream(plan, keys[1], tgt_b)
    assert key_limit is not None  # the plan has a throttle
    lim = key_limit
    rb, rlim = route_bucket(api, tgt_a.route_key)
    limits = {ka: lim, kb: lim, **({rb: rlim} if rlim else {})}
    quotas = {q: int(plan.quota_limit or 0) for q in (qa, qb) if q}
    conf = {"rate": lim.rate, "burst": lim.burst, "quota": plan.quota_limit}

    def build(scale: float) -> Planned:
        seconds = scale * b.sustain_s
        n_a = math.ceil(2 * lim.rate * seconds)
        n_b = max(1, math.ceil(0.5 * lim.rate * seconds))
        phases = [
            Phase(tgt_a, ga, (ka, rb), n_a, 2 * lim.rate, 0.0, qa),
            Phase(tgt_b, gb, (kb, rb), n_b, 0.5 * lim.rate, 0.5 / lim.rate, qb),
        ]
        rule = (
            f"usage plan {plan.name}: key {keys[1].name} is unaffected while key {keys[0].name} is throttled "
            f"({seconds:.1f} s at 2x the plan rate)"
        )
        sc = Scenario(
            api.name, "key-isolation", rule, 0, 0, limits, quotas=quotas, configured=conf, primary=ga,
            no_throttle=(gb,), consumes_quota=bool(quotas),
        )  # fmt: skip
        return sc, phases

    return _within_quota(powered(build, b, api.tolerance), plan, budget)


def _quota(api: ApiConfig, contract: Contract, b: Bounds, budget: _Budget) -> Planned:
    rule0 = "usage plan quota"
    with_quota = [p for p in api.usage_plans if p.quota_limit is not None]
    if not with_quota:
        return _not_applicable(api.name, "quota", rule0, "no usage plan with a quota")
    usable = [(p, _test_keys(p)) for p in with_quota if _test_keys(p)]
    if not usable:
        names = ", ".join(p.name for p in with_quota)
        why = f"no enabled key with test_key = true in {names} (the scenario uses up its key's quota)"
        return _skip(api.name, "quota", rule0, why)
    # The smallest quota (fewest requests); a second key, when there is one, as the unaffected control.
    plan, keys = min(usable, key=lambda pk: (pk[0].quota_limit or 0, -len(pk[1]), pk[0].name))
    quota = int(plan.quota_limit or 0)
    tgt_a, why, excluded = _keyed(api, contract, keys[0])
    if tgt_a is None:
        return (_not_applicable if excluded else _skip)(api.name, "quota", rule0, why)
    ga, ka, qa, key_limit = _key_stream(plan, keys[0], tgt_a)
    assert qa is not None
    rb, rlim = route_bucket(api, tgt_a.route_key)
    limits = {**({ka: key_limit} if key_limit else {}), **({rb: rlim} if rlim else {})}
    quotas = {qa: quota}
    control: tuple[Target, str, str, str] | None = None
    tgt_b = keyed_target(api, contract, keys[1].name) if len(keys) >= 2 else None
    if tgt_b is not None:
        gb, kb, qb, _ = _key_stream(plan, keys[1], tgt_b)
        assert qb is not None
        # Key B's quota may be partly spent by key-isolation earlier in the run: keep 10 within it.
        if budget.left.get(qb, quota) >= 10:
            control = (tgt_b, gb, kb, qb)
            limits.update({kb: key_limit} if key_limit else {})
            quotas[qb] = quota
    conf = {"rate": key_limit.rate if key_limit else None, "burst": key_limit.burst if key_limit else None,
            "quota": quota}  # fmt: skip

    def build(scale: float) -> Planned:
        extra = math.ceil(scale * max(10, quota // 5))
        rps = _under_throttle(limits, quota + extra + (10 if control else 0), b.max_rps)
        phases = [Phase(tgt_a, ga, (ka, rb), quota + extra, rps, 0.0, qa)]
        second = ""
        if control is not None:
            tgt_b, gb, kb, qb = control
            phases.append(Phase(tgt_b, gb, (kb, rb), 10, rps, (quota + extra) / rps + 0.1, qb))
            second = f"; key {keys[1].name} unaffected"
        rule = (
            f"usage plan {plan.name}: {quota + extra} requests with key {keys[0].name}, exactly {quota} "
            f"accepted then 429 Limit Exceeded{second} (consumes the test keys' quota, {_quota_note(plan)})"
        )
        sc = Scenario(
            api.name, "quota", rule, 0, 0, limits, quotas=quotas, configured=conf, primary=ga,
            no_throttle=(control[1],) if control else (), quota_exact=(ga,), consumes_quota=True,
        )  # fmt: skip
        return sc, phases

    return powered(build, b, api.tolerance)


def _under_throttle(limits: Mapping[str, Limit], count: int, max_rps: float) -> float:
    """The fastest even rate at which `count` sends after idle never draw any bucket below half
    full, so that only the quota binds (whether a throttled request counts against the quota is not
    documented: the quota scenario never gets throttled). From B - n + R * n / r >= B / 2."""
    rps = max_rps
    for limit in limits.values():
        if count > limit.burst / 2:
            rps = min(rps, limit.rate * count / (count - limit.burst / 2))
    return rps


def _plans(api: ApiConfig, contract: Contract, b: Bounds) -> list[Planned]:
    names = ("plan-throttle", "key-isolation", "quota")
    if api.flavor != "rest":
        return [
            _not_applicable(api.name, n, "usage plans", "usage plans exist only for REST APIs") for n in names
        ]
    if not api.usage_plans:
        why = f"no usage plan in [apis.{api.name}.usage_plans]"
        return [_not_applicable(api.name, n, "usage plans", why) for n in names]
    budget = _Budget()  # in run order: the quota scenario comes last and spends what is left
    return [
        _plan_throttle(api, contract, b, budget),
        _key_isolation(api, contract, b, budget),
        _quota(api, contract, b, budget),
    ]


def plan_api(api: ApiConfig, contract: Contract, b: Bounds) -> list[Planned]:
    pool = read_pool(api, contract)
    return [
        *_stage_scenarios(api, contract, pool, b),
        _per_route(api, contract, pool, b),
        *_plans(api, contract, b),
    ]
