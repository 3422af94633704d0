"""The AWS edge of discover and drift: boto3 clients and read-only calls, errors as one line.

Every call goes through `call()`, which turns botocore's exceptions into a DiscoverError saying what
was asked and what to do. Only read calls are made (the README lists them as IAM actions).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from discover.errors import DiscoverError
from discover.model import limit_or_none
from fixtures.stage import Limit

CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 30.0
MAX_PAGES = 1000  # a guard: an endpoint that keeps answering with a next token never ends the loop
IAM_HINT = "grant the read-only actions listed in README 'Discover and drift' (apigateway:GET)"
CREDENTIALS_HINT = "set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or run `aws sso login`"
_ACCESS_DENIED = frozenset({"AccessDeniedException", "AccessDenied", "ForbiddenException"})
_BAD_CREDENTIALS = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "ExpiredTokenException",
        "ExpiredToken",
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "UnauthorizedException",
    }
)


@dataclass(frozen=True)
class Clients:
    """The two API Gateway control-plane clients of one region."""

    rest: Any  # boto3 "apigateway"
    http: Any  # boto3 "apigatewayv2"
    region: str


def make_clients(region: str | None = None, profile: str | None = None) -> Clients:
    """Clients from the standard credential chain and region settings (or the given region/profile)."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, NoRegionError, ProfileNotFound

    config = Config(
        connect_timeout=CONNECT_TIMEOUT_S,
        read_timeout=READ_TIMEOUT_S,
        retries={"max_attempts": 4, "mode": "standard"},
    )
    region = region or os.environ.get("AWS_REGION") or None  # botocore reads AWS_DEFAULT_REGION only
    try:
        session = boto3.session.Session(region_name=region, profile_name=profile)
        rest = session.client("apigateway", config=config)
        http = session.client("apigatewayv2", config=config)
    except NoRegionError:
        raise DiscoverError(
            "no AWS region: pass --region, or set AWS_REGION (or a region in your AWS profile)"
        ) from None
    except ProfileNotFound as exc:
        raise DiscoverError(f"{exc}: check --profile / AWS_PROFILE (`aws configure list-profiles`)") from None
    except BotoCoreError as exc:
        raise DiscoverError(f"cannot create the AWS clients: {exc}") from None
    return Clients(rest=rest, http=http, region=rest.meta.region_name)


def credentials_available(profile: str | None = None) -> bool:
    """True when the standard credential chain finds credentials (nothing is sent to AWS)."""
    import boto3
    from botocore.exceptions import BotoCoreError

    try:
        return boto3.session.Session(profile_name=profile).get_credentials() is not None
    except BotoCoreError:
        return False


def call(what: str, fn: Callable[..., Any], not_found: str = "", **kwargs: Any) -> Any:
    """fn(**kwargs); any failure becomes a DiscoverError: `<what>: <problem>; <what to do>`."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return fn(**kwargs)
    except (BotoCoreError, ClientError) as exc:
        raise explain(what, exc, not_found) from None


def explain(what: str, exc: Exception, not_found: str = "") -> DiscoverError:
    """A botocore exception as one line: what was asked, what went wrong, what to do."""
    from botocore.exceptions import (
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
        ReadTimeoutError,
    )

    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return DiscoverError(f"{what}: no AWS credentials found; {CREDENTIALS_HINT}")
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError | ReadTimeoutError):
        return DiscoverError(f"{what}: cannot reach AWS ({exc}); check the network and the region")
    if not isinstance(exc, ClientError):
        return DiscoverError(f"{what}: {exc}")
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    message = " ".join(str(error.get("Message", "")).split())[:300]
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code == "NotFoundException" and not_found:
        return DiscoverError(f"{what}: {not_found}")
    if code in _BAD_CREDENTIALS:
        return DiscoverError(
            f"{what}: AWS rejected the credentials ({code}); refresh them: {CREDENTIALS_HINT}"
        )
    if code in _ACCESS_DENIED or status == 403:
        return DiscoverError(f"{what}: access denied ({code or status}); {IAM_HINT}")
    return DiscoverError(f"{what}: AWS answered {code or status}: {message or 'no message'}")


ACCOUNT_UNREAD = (
    "the account limits are taken as the default (10,000 rps / 5,000 burst); if they were raised, add "
    "account_rate and account_burst under [apis.NAME.throttle]"
)


def account_limit(clients: Clients) -> tuple[Limit | None, str]:
    """(the account's limits from get-account throttleSettings, a warning). (None, why) when they
    cannot be read (an emulator without get-account, a policy without apigateway:GET on /account)."""
    try:
        answer = call("get-account", clients.rest.get_account)
    except DiscoverError as exc:
        return None, f"{exc}; {ACCOUNT_UNREAD}"
    settings = answer.get("throttleSettings") or {}
    found = limit_or_none(settings.get("rateLimit"), settings.get("burstLimit"))
    if found is None:
        return None, f"get-account: no throttleSettings in the answer; {ACCOUNT_UNREAD}"
    return found, ""


def pages_v1(what: str, fn: Callable[..., Any], key: str = "items", **kwargs: Any) -> list[dict[str, Any]]:
    """Every item of a paginated `apigateway` list call (position tokens)."""
    out: list[dict[str, Any]] = []
    position = None
    for _ in range(MAX_PAGES):
        page = call(what, fn, **kwargs, **({"position": position} if position else {}), limit=500)
        out += page.get(key, [])
        position = page.get("position")
        if not position:
            return out
    raise DiscoverError(f"{what}: more than {MAX_PAGES} pages; the endpoint keeps paginating")


def pages_v2(what: str, fn: Callable[..., Any], not_found: str = "", **kwargs: Any) -> list[dict[str, Any]]:
    """Every item of a paginated `apigatewayv2` list call (NextToken)."""
    out: list[dict[str, Any]] = []
    token = None
    for _ in range(MAX_PAGES):
        page = call(what, fn, not_found, **kwargs, **({"NextToken": token} if token else {}))
        out += page.get("Items", [])
        token = page.get("NextToken")
        if not token:
            return out
    raise DiscoverError(f"{what}: more than {MAX_PAGES} pages; the endpoint keeps paginating")
