"""Open-model arrival driver on gevent and Locust's FastHttpUser client.

Each planned send starts at its planned time in its own greenlet, whatever earlier responses are
doing (k6's arrival-rate executors, brought to Locust). A cap bounds the requests in flight: a send
that finds the cap reached at its planned time is dropped and counted, never shifted to later; a
send that starts after its planned time keeps both times, so lateness is measured, not hidden.
Requests go through the user's FastHttpSession, so Locust's stats, CSV and HTML keep working;
429 is marked as a success there because the verdict judges it against the token-bucket model.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import gevent
from gevent.pool import Group

from load.records import BodyKind, Observation, Send, classify_body


@dataclass(frozen=True)
class DriverConfig:
    max_in_flight: int = 1000
    worker: int = 0
    join_timeout_s: float = 30.0  # after the last planned send, for the answers still in flight


class ArrivalDriver:
    """Fires a schedule of sends at their planned epoch times through one FastHttpSession."""

    def __init__(
        self,
        client: object,
        headers: Mapping[str, Mapping[str, str]],
        config: DriverConfig,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._headers = headers
        self._config = config
        self._clock = clock
        self._in_flight = 0
        self._results: dict[int, Observation] = {}

    def run(self, sends: Sequence[Send], epoch: float) -> list[Observation]:
        """Fire every send at epoch + send.at; return one observation per send, in schedule order."""
        group = Group()
        clock = self._clock
        for send in sorted(sends, key=lambda s: s.at):
            due = epoch + send.at
            wait = due - clock()
            if wait > 0:
                gevent.sleep(wait)
            if self._in_flight >= self._config.max_in_flight:
                self._results[send.index] = Observation(
                    send.index, due, None, None, 0, "none", self._config.worker
                )
                continue
            self._in_flight += 1
            group.spawn(self._one, send, due)
        group.join(timeout=self._config.join_timeout_s)
        group.kill(block=False)
        return [self._results.get(s.index) or self._missing(s, epoch) for s in sends]

    def _missing(self, send: Send, epoch: float) -> Observation:
        # Still in flight when the join timed out: sent, but no answer.
        return Observation(send.index, epoch + send.at, epoch + send.at, None, 0, "none", self._config.worker)

    def _one(self, send: Send, due: float) -> None:
        headers = dict(self._headers.get(f"{send.api}|{send.credential}", {}))
        if send.body is not None:
            headers.setdefault("Content-Type", "application/json")
        sent = self._clock()
        status = 0
        kind: BodyKind = "none"
        try:
            with self._client.request(  # type: ignore[attr-defined]
                send.method,
                send.url,
                name=f"{send.scenario} {send.route_key}",
                data=send.body,
                headers=headers,
                catch_response=True,
            ) as response:
                status = int(response.status_code or 0)
                kind = classify_body(status, response.content if status == 429 else None)
                if 200 <= status < 400 or status == 429:
                    response.success()
                else:
                    response.failure(f"status {status}")
        except Exception:  # noqa: BLE001 - any client error is an unanswered request, recorded as status 0
            status = 0
        finally:
            self._in_flight -= 1
        latency = self._clock() - sent
        self._results[send.index] = Observation(
            send.index, due, sent, latency, status, kind, self._config.worker
        )


def shard(sends: Sequence[Send], index: int, count: int) -> list[Send]:
    """Interleaved share of the schedule for one of `count` workers (keeps every phase's shape)."""
    return [s for s in sends if s.index % count == index]
