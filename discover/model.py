"""What discover found for one API: the deployed stage's values, its contract, and where each came from.

The same records come from AWS (discover/aws_http.py, discover/aws_rest.py) and from Terraform
(discover/terraform.py); the stage-file writer and drift read only these.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fixtures.contract import Authorizer, CorsConfig, Flavor
from fixtures.contract.routes import ANY_METHOD, OPENAPI_METHODS
from fixtures.stage import Limit
from fixtures.stage.model import ACCOUNT_DEFAULT


@dataclass(frozen=True)
class DeployedKey:
    """An API key of a usage plan: its name and enabled flag (never its value)."""

    name: str
    enabled: bool


@dataclass(frozen=True)
class DeployedPlan:
    name: str
    throttle: Limit | None
    quota: int | None
    period: str | None  # DAY | WEEK | MONTH
    offset: int
    method_throttle: Mapping[str, Limit]  # "GET /appointments" -> limit
    keys: tuple[DeployedKey, ...]
    source: str = ""  # where the values came from (shown in the stage file)


@dataclass(frozen=True)
class Deployed:
    """One API's stage as deployed: the values a stage file declares and drift compares."""

    flavor: Flavor
    api_id: str
    stage: str  # the API Gateway stage name ("$default", "v1")
    region: str
    title: str  # the API's name in API Gateway
    base_url: str
    throttle: Limit | None  # stage default (HTTP API default route settings / REST "*/*")
    routes: Mapping[str, Limit]  # route key -> override
    plans: tuple[DeployedPlan, ...] = ()
    cors: CorsConfig | None = None  # HTTP API only
    authorizers: Mapping[str, Authorizer] = field(default_factory=dict)  # by name
    sources: Mapping[str, str] = field(default_factory=dict)  # section -> where its values came from
    warnings: tuple[str, ...] = ()
    # Values that could not be evaluated (Terraform): stage-file key -> the expression, shown as a
    # commented placeholder so the file says what is missing instead of guessing.
    unresolved: Mapping[str, str] = field(default_factory=dict)
    # The account's limits in the region (get-account throttleSettings, shared by every API of the
    # account): the default unless raised; None when they could not be read.
    account: Limit | None = ACCOUNT_DEFAULT
    # Route key -> {"authorization": NONE | JWT | CUSTOM | COGNITO_USER_POOLS | AWS_IAM, "authorizer":
    # name or None, "api_key_required": bool (REST)}; None when not read (Terraform).
    route_auth: Mapping[str, Mapping[str, Any]] | None = None


@dataclass(frozen=True)
class DiscoveredApi:
    name: str  # the API's name in the stage file ([apis.<name>])
    deployed: Deployed
    contract: Mapping[str, Any]  # OpenAPI 3 document with x-amazon-apigateway-* extensions
    contract_source: str  # how the contract was obtained (one line)


def execute_api_endpoint(api_id: str, region: str) -> str:
    """An API's default endpoint (drift's `locate` reads the id and region back)."""
    return f"https://{api_id}.execute-api.{region}.amazonaws.com"


def stage_url(endpoint: str, stage: str) -> str:
    """A stage's base URL: an HTTP API's `$default` stage is served at the endpoint itself."""
    return endpoint if stage == "$default" else f"{endpoint}/{stage}"


def contract_routes(contract: Mapping[str, Any]) -> set[str]:
    """Route keys of a contract document ("GET /appointments", "$default")."""
    out = set()
    for path, item in (contract.get("paths") or {}).items():
        for method in item if isinstance(item, dict) else ():
            if method == ANY_METHOD:
                out.add("$default" if path == "$default" else f"ANY {path}")
            elif method in OPENAPI_METHODS:
                out.add(f"{method.upper()} {path}")
    return out


def route_key_of_method_path(method_path: str) -> str:
    """'/appointments/GET' (usage plans), '~1appointments/GET' (method settings) -> 'GET /appointments'."""
    resource, _, method = method_path.rpartition("/")
    path = resource.replace("~1", "/")
    return f"{method.upper()} {path if path.startswith('/') else '/' + path}"


def limit_or_none(rate: Any, burst: Any) -> Limit | None:
    """A throttle limit from AWS numbers; None when unset (absent, or negative: "not overridden")."""
    if rate is None or burst is None:
        return None
    if isinstance(rate, bool) or isinstance(burst, bool):
        return None
    if float(rate) < 0 or int(burst) < 0:
        return None
    return Limit(float(rate), int(burst))
