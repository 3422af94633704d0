"""Small builders for the emulator's integration tests: contracts, APIs, gateways, a clock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from fixtures.contract import (
    Contract,
    CorsConfig,
    GatewayResponse,
    Integration,
    LambdaAuthorizer,
    MockResponse,
    Parameter,
    Route,
    Validator,
)
from fixtures.emulator.gateway.pipeline import Gateway
from fixtures.emulator.integration.invoke import Invoker
from fixtures.emulator.serve.server import App, Mount
from fixtures.emulator.wire import Response
from fixtures.stage import (
    ApiConfig,
    ApiKey,
    Credentials,
    EmulatedApi,
    Limit,
    Samples,
    Secret,
    Throttle,
    Tolerance,
    UsagePlan,
)

from .asgi_client import call

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_TestPool"
AUDIENCE = "test-client"
KID = "test-kid"


# A REST TOKEN authorizer shared by the Lambda-authorizer and REST pipeline tests.
TOKEN_AUTHORIZER = LambdaAuthorizer(
    "tok",
    "token",
    "tok-fn",
    "1.0",
    False,
    ("method.request.header.Authorization",),
    300,
    r"^(allow|deny|error)-.+$",
)


class Clock:
    """An injected clock: starts at a fixed epoch, moves only when told."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def route(
    method: str,
    path: str,
    *,
    function: str | None = "fn",
    authorizer: str | None = None,
    scopes: tuple[str, ...] = (),
    version: str = "2.0",
    api_key: bool = False,
    validator: Validator | None = None,
    parameters: tuple[Parameter, ...] = (),
    bodies: Mapping[str, Mapping[str, Any]] | None = None,
    mock: MockResponse | None = None,
    timeout_ms: int = 30000,
) -> Route:
    if mock is not None:
        integration = Integration("mock", None, "1.0", timeout_ms, mock)
    else:
        integration = Integration("aws_proxy", function, version, timeout_ms)
    return Route(
        method=method,
        path=path,
        operation_id=None,
        authorizer=authorizer,
        scopes=scopes,
        api_key_required=api_key,
        parameters=parameters,
        request_bodies=bodies or {},
        body_required=bool(bodies),
        request_example=None,
        validator=validator,
        integration=integration,
        responses={},
    )


def contract(
    flavor: str,
    routes: Iterable[Route],
    *,
    authorizers: Mapping[str, Any] | None = None,
    cors: CorsConfig | None = None,
    gateway_responses: Mapping[str, GatewayResponse] | None = None,
    api_key_source: str = "HEADER",
    binary_media_types: tuple[str, ...] = (),
) -> Contract:
    return Contract(
        path="test.json",
        digest="0" * 64,
        title="test",
        flavor=flavor,  # type: ignore[arg-type]
        routes=tuple(routes),
        authorizers=dict(authorizers or {}),
        cors=cors,
        api_key_source=api_key_source,  # type: ignore[arg-type]
        gateway_responses=dict(gateway_responses or {}),
        binary_media_types=binary_media_types,
    )


def plan(
    name: str,
    keys: Iterable[tuple[str, str, bool]],
    *,
    rate: float | None = None,
    burst: int = 0,
    quota: int | None = None,
    period: str | None = None,
) -> UsagePlan:
    return UsagePlan(
        name=name,
        throttle=Limit(rate, burst) if rate is not None else None,
        quota_limit=quota,
        quota_period=period,  # type: ignore[arg-type]
        quota_offset=0,
        keys=tuple(ApiKey(n, Secret(v, "literal (embedded stage)"), enabled=e) for n, v, e in keys),
    )


def api(
    name: str,
    flavor: str,
    *,
    stage_rate: float = 1000.0,
    stage_burst: int = 1000,
    routes: Mapping[str, Limit] | None = None,
    plans: tuple[UsagePlan, ...] = (),
    timeout_ms: int | None = None,
) -> ApiConfig:
    stage_name = "$default" if flavor == "http" else "v1"
    base = f"http://127.0.0.1:{{port}}/{name}" + ("" if flavor == "http" else "/v1")
    return ApiConfig(
        name=name,
        flavor=flavor,  # type: ignore[arg-type]
        contract_path="test.json",
        base_url=base,
        credentials=Credentials(),
        throttle=Throttle(Limit(stage_rate, stage_burst), dict(routes or {})),
        usage_plans=plans,
        samples=Samples(),
        load_allowed=False,
        read_only=True,
        tolerance=Tolerance(),
        emulated=EmulatedApi("tests", stage_name, integration_timeout_ms=timeout_ms),
    )


def gateway(
    api_config: ApiConfig,
    contract_: Contract,
    handlers: Mapping[str, Callable[[dict, Any], Any]],
    *,
    faults: Iterable[str] = (),
    clock: Callable[[], float] | None = None,
    public_keys: Mapping[str, Any] | None = None,
    threaded: bool = False,
) -> Gateway:
    return Gateway(
        api_config,
        contract_,
        handlers,
        public_keys=public_keys,
        faults=frozenset(faults),
        clock=clock or Clock(),
        invoker=Invoker(inline=not threaded),
    )


def app(*gateways: Gateway) -> App:
    """Each gateway mounted under /<api name> (HTTP API) or /<api name>/v1 (REST)."""
    mounts = []
    for gw in gateways:
        base = f"/{gw.api.name}" + ("" if gw.flavor == "http" else "/v1")
        mounts.append(Mount(base, gw))
    return App(mounts)


def send(application: App, method: str, path: str | bytes, **kwargs: Any) -> Response:
    return asyncio.run(call(application, method, path, **kwargs))


def json_handler(payload: Any = None, status: int = 200) -> Callable[[dict, Any], Any]:
    """A handler answering JSON and remembering the events it got (handler.events)."""
    events: list[dict] = []

    def handler(event: dict, context: Any) -> Any:
        events.append(event)
        import json

        return {
            "statusCode": status,
            "headers": {"Content-Type": "application/json"},
            "body": json.dumps(payload if payload is not None else {"ok": True}),
        }

    handler.events = events  # type: ignore[attr-defined]
    return handler
