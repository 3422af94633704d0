"""Sending the contract family's generated inputs (what their answers must be: contract_answers.py).

Requests are paced by a client-side bucket at half the stage's tightest limit; a 429 is retried once
the bucket refills and never judged; an input still throttled after the retries is not sent and the
case is not exercised (a skip, never a pass: a throttled stage is no contract break). `explore` runs
a property under a fixed seed and a request/seconds budget and returns the shrunk failure, which is
printed as a curl line with credentials read from environment variables.
"""

from __future__ import annotations

import shlex
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, example, given, seed, settings
from hypothesis import strategies as st

from conformance.catalog.generated import ABSENT, Inputs
from conformance.catalog.payloads import JSON, encode
from conformance.catalog.records import RouteCase
from conformance.harness.api import ApiUnderTest, RequestSpec
from conformance.harness.client import Exchange, join_url
from conformance.harness.expect import Check
from fixtures.contract import Route
from fixtures.contract.paths import fill_path
from fixtures.stage import ApiConfig, Limit
from fixtures.stage.copies import env_name

RETRIES_429 = 5


class Throttled(Exception):
    """The stage still answered 429 after the retries: the input was not judged."""


# --- pacing ---------------------------------------------------------------------------------------


def pace_limit(api: ApiConfig, route: Route, api_key: str | None) -> Limit | None:
    """The tightest limit this route's requests meet (route, stage, the key's usage plan), if any."""
    limits = [api.throttle.routes.get(route.route_key) or api.throttle.stage]
    if route.api_key_required and api_key is not None:
        for plan in api.usage_plans:
            if any(k.value.value == api_key for k in plan.keys):
                limits += [plan.method_throttle.get(route.route_key) or plan.throttle]
    found = [limit for limit in limits if limit is not None]
    return min(found, key=lambda limit: limit.rate) if found else None


class Pacer:
    """A client-side bucket at half the stage's limit: throttling never masks a result."""

    def __init__(
        self,
        limit: Limit | None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = limit.rate / 2 if limit else 0.0
        self.capacity = max(limit.burst / 2, 1.0) if limit else 0.0
        self.tokens = self.capacity
        self.clock, self.sleep = clock, sleep
        self.last = clock()

    def wait(self) -> None:
        if not self.rate:
            return
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens < 1:
            self.sleep((1 - self.tokens) / self.rate)
            self.tokens, self.last = 1.0, self.clock()
        self.tokens -= 1

    def refill_s(self) -> float:
        return 1 / self.rate if self.rate else 0.5


# --- exploring ------------------------------------------------------------------------------------


@dataclass
class Budget:
    examples: int
    seconds: float
    sent: int = 0  # requests, retries of a 429 included
    skipped: int = 0  # inputs not sent: the seconds ran out
    throttled: int = 0  # inputs not judged: still 429 after the retries, and every input after it
    started: float = field(default_factory=time.monotonic)

    def spent(self) -> bool:
        return time.monotonic() - self.started > self.seconds

    def take(self) -> bool:
        """Whether the next input may be sent; if not, it is counted as unsent (and why)."""
        if self.throttled:
            self.throttled += 1
            return False
        if self.spent():
            self.skipped += 1
            return False
        return True


@dataclass(frozen=True)
class Found:
    inputs: Inputs
    problem: str
    evidence: Any  # the exchange


def explore(
    strategy: st.SearchStrategy[Inputs],
    explicit: Sequence[Inputs],
    check_one: Callable[[Inputs], tuple[str, Any] | None],
    budget: Budget,
    run_seed: int,
) -> Found | None:
    """Run `check_one` over explicit then generated inputs (fixed seed); the shrunk failure, if any.
    An input `check_one` could not send (Throttled) is counted, never judged."""
    found: list[Found] = []

    def prop(inputs: Inputs) -> None:
        if not budget.take():
            return
        try:
            result = check_one(inputs)
        except Throttled:
            budget.throttled += 1
            return
        if result is not None:
            found.append(Found(inputs, result[0], result[1]))
            raise AssertionError(result[0])

    test = given(strategy)(prop)
    for item in reversed(explicit):
        test = example(item)(test)
    test = settings(
        max_examples=budget.examples,
        deadline=None,
        database=None,
        derandomize=False,
        print_blob=False,
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
    )(test)
    test = seed(run_seed)(test)
    try:
        test()
    except Exception:  # the property's AssertionError, or Hypothesis' own (flaky replay): keep the last
        if not found:
            raise
    return found[-1] if found else None


# --- reproducing ----------------------------------------------------------------------------------


def curl_line(
    base_url: str,
    method: str,
    path: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    body: bytes | None,
    secret_headers: Mapping[str, str],
) -> str:
    """A ready-to-run curl command; each credential header is read whole from $ENV_NAME (e.g.
    STAGEGATE_PORTAL_AUTHORIZATION='Authorization: Bearer ...'), so no secret is ever printed."""
    parts = ["curl", "-sS", "-i", "-X", method, shlex.quote(join_url(base_url, path, query))]
    lowered = {k.lower(): v for k, v in secret_headers.items()}
    for name, value in headers.items():
        env = lowered.get(name.lower())
        shown = f'"${env}"' if env else shlex.quote(f"{name}: {value}")
        parts += ["-H", shown]
    if body is not None:
        parts += ["--data-binary", shlex.quote(body.decode("utf-8", "replace"))]
    return " ".join(parts)


# --- sending --------------------------------------------------------------------------------------


class Runner:
    """Sends one route's generated inputs: credentials from the stage, paced, 429 retried."""

    def __init__(
        self, api: ApiUnderTest, case: RouteCase, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.api, self.route = api, case.route
        self.base = api.valid_request(case.route)
        key = getattr(api.config.credentials, "api_key", None)
        limit = pace_limit(api.config, case.route, key.value if key is not None else None)
        self.pacer = Pacer(limit, sleep=sleep)
        self.sleep = sleep
        generated = api.config.generated
        self.budget = Budget(generated.examples, generated.seconds)
        self.seed = generated.seed
        self.notes: Counter[str] = Counter()  # accepted answers worth a look (documented errors, ...)
        self._params = {p.name.lower() for p in case.route.parameters if p.location == "header"}

    def spec(self, inputs: Inputs) -> RequestSpec:
        headers = {k: v for k, v in self.base.headers.items() if k.lower() not in self._params}
        body: bytes | None = None
        if inputs.raw_body is not None:
            body = inputs.raw_body
        elif inputs.body is not ABSENT:
            body = encode(inputs.body)
        headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        if body is not None:
            headers["Content-Type"] = JSON
        headers.update(inputs.headers)
        path = self.base.path
        if inputs.path:  # generated values are path-safe: no percent-encoding needed
            path = self.api.path_for(replace(self.route, path=fill_path(self.route.path, inputs.path)))
        return replace(self.base, path=path, query=dict(inputs.query), headers=headers, body=body)

    def send(self, inputs: Inputs) -> Exchange:
        """The answer to one input; Throttled if the stage still answers 429 after the retries."""
        spec = self.spec(inputs)
        for _ in range(RETRIES_429):  # throttled: retried once the bucket refills, never judged
            self.pacer.wait()
            exchange = self.api.send(spec)
            self.budget.sent += 1
            if exchange.status != 429:
                return exchange
            self.sleep(self.pacer.refill_s())
        raise Throttled(f"{spec.method} {spec.path}: 429 after {RETRIES_429} tries")

    def each(self, variants: Iterable[Inputs]) -> Iterator[tuple[Inputs, Exchange]]:
        """Each variant with its answer, within the budget; the others are counted as unsent."""
        for inputs in variants:
            if not self.budget.take():
                continue
            try:
                exchange = self.send(inputs)
            except Throttled:
                self.budget.throttled += 1
                continue
            yield inputs, exchange

    def curl(self, inputs: Inputs) -> str:
        spec = self.spec(inputs)
        names = list(self.api.creds.identity_headers(self.route))
        if self.route.api_key_required:
            names.append("x-api-key")
        secret = {n: env_name(self.api.name, n) for n in names}
        return curl_line(
            self.api.client.base_url, spec.method, spec.path, spec.query, spec.headers, spec.body, secret
        )

    def record(self, record_property: Callable[[str, object], None]) -> None:
        """The seed, requests sent, inputs left unsent or throttled and the notes, in junit.xml per case."""
        record_property("generated_seed", self.seed)
        record_property("generated_requests", self.budget.sent)
        record_property("generated_unsent", self.budget.skipped)
        record_property("generated_throttled", self.budget.throttled)
        if self.notes:
            shown = "; ".join(f"{note} x{count}" for note, count in sorted(self.notes.items()))
            record_property("generated_notes", shown)

    def finish(self, record_property: Callable[[str, object], None]) -> None:
        """Record the run; inputs left unsent (seconds spent) or unjudged (still throttled) were not
        checked, so the rule is not exercised (a skip: blocking until fixed or waived), never passed."""
        self.record(record_property)
        reasons = []
        if self.budget.throttled:
            reasons.append(
                f"{self.budget.throttled} generated inputs not sent: the stage still answered 429 after "
                f"{RETRIES_429} tries (throttled, not a contract break; lower the stage's load or raise "
                "its limit)"
            )
        if self.budget.skipped:
            reasons.append(
                f"{self.budget.skipped} generated inputs not sent within {self.budget.seconds:g} s "
                f"({self.budget.sent} sent): raise [apis.{self.api.name}.generated] seconds"
            )
        if reasons:
            pytest.skip("not exercised: " + "; ".join(reasons))

    def fail(self, check: Check, found: Found, expected_status: int) -> None:
        check.fail(
            found.evidence,
            f"{found.problem}; minimal input: {found.inputs.describe()} (seed {self.seed}, "
            f"{self.budget.sent} requests); reproduce: {self.curl(found.inputs)}",
            expected_status,
        )
