"""Records shared by the driver, the model and the verdict (PURE: no gevent, no locust, no I/O).

A planned send says when, where and with which credential label a request goes; an observation
says what happened to it. Credential labels ("jwt:appointments/read", "key:throttle-a") stand in
for secrets everywhere outside the driver, so results and reports never carry a token or key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

BodyKind = Literal["throttled", "quota", "other", "none"]

# The two 429 bodies API Gateway sends (docs/aws-behaviour.md section 4: THROTTLED and QUOTA_EXCEEDED).
THROTTLED_MESSAGE = "Too Many Requests"
QUOTA_MESSAGE = "Limit Exceeded"


@dataclass(frozen=True)
class Send:
    """One planned request of a scenario. `at` is seconds from the run's start epoch."""

    index: int  # position in the run's schedule (unique across scenarios)
    scenario: str  # "<api>.<scenario>"
    at: float
    method: str
    url: str  # absolute URL under one of the stage file's base URLs
    route_key: str  # "GET /health": Locust stats name and model grouping
    credential: str  # label resolved to headers by the driver; never a secret
    buckets: tuple[str, ...]  # throttle buckets this request draws from, per the model
    quota: str | None = None  # quota counter id (usage-plan key) or None
    body: str | None = None  # JSON text for POST/PUT
    group: str = ""  # verdict group inside the scenario (a route, or a key)

    @property
    def api(self) -> str:
        return self.scenario.split(".", 1)[0]


@dataclass(frozen=True)
class Observation:
    """What happened to one planned send. Times are epoch seconds of the sending process."""

    index: int
    planned: float  # epoch seconds
    sent: float | None  # None: dropped (the in-flight cap was reached at the planned time)
    latency: float | None  # seconds from send to the end of the response
    status: int  # 0: no response (connection error or timeout) or dropped
    body_kind: BodyKind
    worker: int = 0

    @property
    def dropped(self) -> bool:
        return self.sent is None


def classify_body(status: int, body: bytes | str | None) -> BodyKind:
    """Which 429 body came back: the throttle one, the quota one, or something else."""
    if status != 429:
        return "none"
    if not body:
        return "other"
    try:
        message = json.loads(body).get("message")
    except (ValueError, AttributeError):
        return "other"
    if message == THROTTLED_MESSAGE:
        return "throttled"
    if message == QUOTA_MESSAGE:
        return "quota"
    return "other"


def observation_to_row(obs: Observation) -> list[object]:
    """Compact wire form (Locust worker -> master messages)."""
    return [obs.index, obs.planned, obs.sent, obs.latency, obs.status, obs.body_kind, obs.worker]


def observation_from_row(row: list[object] | tuple[object, ...]) -> Observation:
    index, planned, sent, latency, status, kind, worker = row
    return Observation(
        index=int(index),  # type: ignore[call-overload]
        planned=float(planned),  # type: ignore[arg-type]
        sent=None if sent is None else float(sent),  # type: ignore[arg-type]
        latency=None if latency is None else float(latency),  # type: ignore[arg-type]
        status=int(status),  # type: ignore[call-overload]
        body_kind=str(kind),  # type: ignore[arg-type]
        worker=int(worker),  # type: ignore[call-overload]
    )


def send_to_row(send: Send) -> list[object]:
    return [
        send.index,
        send.scenario,
        send.at,
        send.method,
        send.url,
        send.route_key,
        send.credential,
        list(send.buckets),
        send.quota,
        send.body,
        send.group,
    ]


def send_from_row(row: list[object] | tuple[object, ...]) -> Send:
    index, scenario, at, method, url, route_key, credential, buckets, quota, body, group = row
    return Send(
        index=int(index),  # type: ignore[call-overload]
        scenario=str(scenario),
        at=float(at),  # type: ignore[arg-type]
        method=str(method),
        url=str(url),
        route_key=str(route_key),
        credential=str(credential),
        buckets=tuple(str(b) for b in buckets),  # type: ignore[attr-defined]
        quota=None if quota is None else str(quota),
        body=None if body is None else str(body),
        group=str(group),
    )
