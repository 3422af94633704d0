"""What a conformance test attaches to its Allure result: the exchanges it made, redacted."""

from __future__ import annotations

import contextlib
import json

from conformance.harness.client import Exchange
from conformance.harness.redaction import SuiteRedactor
from fixtures.redact import Redactor

MAX_ATTACHED = 12  # exchanges attached per test


class ExchangeLog:
    """The exchanges of the running test (reset per test; bounded)."""

    def __init__(self) -> None:
        self.items: list[Exchange] = []

    def add(self, exchange: Exchange) -> None:
        if len(self.items) < 200:
            self.items.append(exchange)

    def reset(self) -> None:
        self.items = []


def render_exchange(exchange: Exchange, redactor: Redactor | SuiteRedactor) -> str:
    lines = [f"{exchange.method} {exchange.url}"]
    lines += [f"{k}: {v}" for k, v in redactor.headers(list(exchange.request_headers))]
    if exchange.request_body:
        lines += ["", exchange.request_body.decode("utf-8", "replace")[:4000]]
    lines += ["", f"HTTP {exchange.status}  ({exchange.elapsed_ms:.1f} ms)"]
    lines += [f"{k}: {v}" for k, v in redactor.headers(list(exchange.headers))]
    if exchange.body:
        body = exchange.body.decode("utf-8", "replace")
        with contextlib.suppress(ValueError):  # not JSON: attached as text
            body = json.dumps(redactor.json(json.loads(body)), indent=2)
        lines += ["", body[:4000]]
    return redactor.text("\n".join(lines))


def attach_exchanges(log: ExchangeLog, redactor: Redactor | SuiteRedactor) -> None:
    """The running test's first MAX_ATTACHED exchanges, one Allure attachment each."""
    try:
        import allure
    except ImportError:  # allure-pytest is a dependency; without it there is nothing to attach to
        return
    for index, exchange in enumerate(log.items[:MAX_ATTACHED], start=1):
        allure.attach(
            render_exchange(exchange, redactor),
            name=f"{index}. {exchange.method} {exchange.status}",
            attachment_type=allure.attachment_type.TEXT,
        )
