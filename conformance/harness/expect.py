"""Rule assertions that fail with a diagnosis (sent, received, expected, likely cause), redacted.

A failing assertion raises RuleFailure (a pytest.fail outcome) carrying the failure record, which
the conformance plugin keeps for the reports.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, NoReturn

from conformance.catalog.routes import all_routes, public_routes
from conformance.harness.api import ApiUnderTest
from conformance.harness.bodies import body_mismatch
from conformance.harness.client import Exchange
from conformance.harness.diagnosis import Protection, Redacts, RuleFailure, diagnose
from fixtures.behaviour import Kind, answer, asserted
from fixtures.contract import Route
from fixtures.failure_record import RuleKind


def is_success(exchange: Exchange) -> bool:
    return 200 <= exchange.status < 300


AUTHORIZER_WORD = {"JwtAuthorizer": "JWT", "CognitoAuthorizer": "Cognito", "LambdaAuthorizer": "Lambda"}


def protection_of(api: Any, route: Route) -> Protection | None:
    """How the contract protects the route (for the likely cause); None when the API has no contract."""
    contract = getattr(api, "contract", None)
    if contract is None:
        return None
    authorizer = contract.authorizers.get(route.authorizer) if route.authorizer else None
    word = AUTHORIZER_WORD.get(type(authorizer).__name__, "an") if route.authorizer else None
    return Protection(word, route.api_key_required)


class Check:
    """Per-test assertion helper bound to the rule (test id) and its family."""

    def __init__(self, rule: str, family: str, redactor: Redacts) -> None:
        self.rule = rule
        self.family = family
        self.redactor = redactor

    def fail(
        self,
        exchange: Exchange,
        expected: str,
        expected_status: int | None = None,
        protection: Protection | None = None,
        kind: RuleKind | None = None,
    ) -> NoReturn:
        raise RuleFailure(
            diagnose(
                self.rule, exchange, expected, self.redactor, self.family, expected_status, protection, kind
            )
        )

    def control(self, api: ApiUnderTest, route: Route) -> Exchange:
        """The route's positive control must succeed, or a rejection proves nothing."""
        exchange = api.control(route)
        if not is_success(exchange):
            self.fail(
                exchange,
                "2xx for the positive control (valid credentials and a valid request); a stage that "
                "rejects everything cannot show that it rejects the bad request",
                200,
                protection_of(api, route),
                "control",
            )
        return exchange

    def api_control(self, api: ApiUnderTest) -> Exchange | None:
        """An API-level rule's positive control: its first public route (else first route) succeeds.

        None only when the catalog gives the API no route to send (every route writes, read-only).
        """
        cases = public_routes(api.config, api.contract) or all_routes(api.config, api.contract)
        return self.control(api, cases[0].route) if cases else None

    def success(self, exchange: Exchange, what: str = "a valid request") -> None:
        if not is_success(exchange):
            self.fail(exchange, f"2xx for {what}", 200)

    def status_in(self, exchange: Exchange, statuses: Collection[int], what: str, detail: str = "") -> None:
        if exchange.status not in statuses:
            shown = "/".join(str(s) for s in sorted(statuses))
            self.fail(exchange, f"{shown} ({what}){detail}", min(statuses))

    def rejected(
        self,
        api: ApiUnderTest,
        exchange: Exchange,
        kind: Kind,
        message: str | None = None,
        fallback: Collection[int] = (),
        detail: str = "",
    ) -> None:
        """The gateway's answer for `kind`: its body (as parsed JSON) where it is known, else the status.

        On a real stage a row of unknown confidence is checked against `fallback` statuses only.
        `detail` ends the record's `expected` (e.g. the input that was refused and its curl line).
        """
        row = answer(api.flavor, kind)
        exact = asserted(api.flavor, kind, api.embedded)
        if not exact and fallback:
            self.status_in(exchange, fallback, f"rejection {kind.value}; exact answer unknown on AWS", detail)
            return
        body = row.body(api.flavor, message)
        expected = f"{row.status} {body.decode()}" if exact else f"{row.status}"
        if exchange.status != row.status:
            self.fail(exchange, f"{expected}{detail}", row.status)
        mismatch = body_mismatch(exchange.body, body) if exact else None
        if mismatch is not None:
            self.fail(exchange, f"{mismatch} ({row.confidence}: {row.source}){detail}", row.status)
        if exact and api.flavor == "rest" and row.error_type:
            error_type = exchange.header("x-amzn-ErrorType")
            if error_type is not None and error_type.split(":")[0] != row.error_type:
                self.fail(exchange, f"{expected} with x-amzn-ErrorType {row.error_type}{detail}", row.status)

    def not_reached(self, exchange: Exchange, what: str) -> None:
        """A request without credentials must be refused by the gateway (never reach the handler)."""
        if is_success(exchange) or exchange.status >= 500:
            self.fail(exchange, f"a 4xx rejection ({what})", 401)
