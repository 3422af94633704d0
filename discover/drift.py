"""Drift: the stage file's limits, usage plans, keys, CORS and authorizers against the deployed stage.

`drift_lines(stage, clients_for)` reads each API's deployed stage with the same read-only calls as
discover and returns one line per difference, e.g.
`apis.partner.usage_plans.partner-plan.quota: file 10000, deployed 5000`. The gate runs it before
load (`drift_check`): a difference means the load verdict would be judged against the wrong limits.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from discover.aws import Clients
from discover.errors import DiscoverError
from discover.model import Deployed, DeployedKey
from discover.writer import raised_account, toml_scalar
from fixtures.contract import Authorizer, CognitoAuthorizer, Contract, CorsConfig, JwtAuthorizer
from fixtures.errors import ConfigError
from fixtures.stage import ApiConfig, ApiKey, Limit, StageConfig, contract_of
from fixtures.stage.tomlcheck import key_path

_EXECUTE_API = re.compile(
    r"^https://(?P<id>[a-z0-9]{1,20})\.execute-api\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?P<path>/[^?#]*)?$"
)
Tree = dict[str, Any]


@dataclass(frozen=True)
class Location:
    """Where an API of the stage file is deployed, read from its execute-api base URL."""

    api_id: str
    region: str
    stage: str


@dataclass(frozen=True)
class DriftResult:
    """What the gate learns from drift before load."""

    checked: bool
    differences: tuple[str, ...] = ()
    error: str = ""  # the check was asked for but could not run (one line)
    why_not: str = ""  # why it was not run

    @property
    def blocks_load(self) -> bool:
        return bool(self.differences or self.error)

    @property
    def load_detail(self) -> str:
        """Why load was skipped, for the report's load part."""
        if self.differences:
            return (
                f"drift: {len(self.differences)} difference(s) between the stage file and the deployed stage"
            )
        return "drift: the deployed stage could not be read (drift_check = true)"

    @property
    def summary(self) -> str:
        """One progress line."""
        if self.differences:
            return f"{len(self.differences)} difference(s) from the deployed stage; load skipped"
        if self.error:
            return f"could not check; load skipped ({self.error})"
        if self.checked:
            return "the deployed stage matches the stage file"
        return f"not checked ({self.why_not})"


class AnyEnvironment(Mapping[str, str]):
    """An environment in which every variable is set: drift reads no secret, so none is looked up."""

    def __getitem__(self, name: str) -> str:
        return "not-read-by-stagegate-drift"

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __contains__(self, name: object) -> bool:
        return True


def locate(api: ApiConfig) -> Location | None:
    """The API id, region and stage of an execute-api base URL; None for any other URL."""
    match = _EXECUTE_API.match(api.base_url)
    if match is None:
        return None
    segments = [s for s in (match.group("path") or "").split("/") if s]
    if api.flavor == "rest":
        if not segments:
            return None
        return Location(match.group("id"), match.group("region"), segments[0])
    return Location(match.group("id"), match.group("region"), segments[0] if segments else "$default")


def should_check(stage: StageConfig, credentials: Callable[[], bool]) -> tuple[bool, str]:
    """(run drift before load?, why not). drift_check unset: when every base URL is an execute-api URL
    and AWS credentials are available."""
    if stage.embedded:
        return False, ""  # nothing deployed in AWS: nothing to say
    if stage.drift_check is False:
        return False, "drift_check = false"
    if stage.drift_check is True:
        return True, ""
    if not all(locate(api) for api in stage.apis):
        return False, ""  # not (only) API Gateway's own URLs: nothing to compare by default
    if not credentials():
        return False, "no AWS credentials (set drift_check = true to require the check)"
    return True, ""


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def _limit(limit: Limit | None) -> Tree:
    return {} if limit is None else {"rate": _number(limit.rate), "burst": limit.burst}


def _routes(routes: Mapping[str, Limit], default: Limit | None) -> Tree:
    """Route overrides; one equal to the stage default overrides nothing (discover leaves it out, AWS
    may keep it), so it is left out on both sides."""
    return {k: _limit(v) for k, v in routes.items() if v != default}


def _account(account: Limit | None) -> Tree:
    """account_rate/account_burst when raised (the file declares only those)."""
    raised = raised_account(account)
    return {} if raised is None else {"account_rate": _number(raised.rate), "account_burst": raised.burst}


def _cors(cors: CorsConfig | None) -> Tree:
    if cors is None:
        return {}
    return {
        "allow_origins": sorted(cors.allow_origins),
        "allow_methods": sorted(m.upper() for m in cors.allow_methods),
        "allow_headers": sorted(h.lower() for h in cors.allow_headers),
        "expose_headers": sorted(h.lower() for h in cors.expose_headers),
        "max_age": cors.max_age,
        "allow_credentials": cors.allow_credentials,
    }


def authorizer_tree(authorizer: Authorizer, flavor: str) -> Tree:
    """The settings of an authorizer that decide who gets in (its name aside)."""
    if isinstance(authorizer, JwtAuthorizer):
        return {
            "type": "jwt",
            "identity_source": authorizer.identity_source,
            "issuer": authorizer.issuer,
            "audience": sorted(authorizer.audience),
        }
    if isinstance(authorizer, CognitoAuthorizer):
        return {
            "type": "cognito_user_pools",
            "identity_source": authorizer.identity_source,
            "provider_arns": sorted(authorizer.provider_arns),
        }
    tree: Tree = {
        "type": authorizer.kind,
        "function": authorizer.function,
        "identity_sources": sorted(authorizer.identity_sources),
        "ttl_seconds": authorizer.ttl_seconds,
    }
    if flavor == "http":
        tree.update(payload_version=authorizer.payload_version, simple_responses=authorizer.simple_responses)
    if authorizer.kind == "token":
        tree["identity_validation_regex"] = authorizer.identity_validation_regex
    return tree


def file_tree(api: ApiConfig, contract: Contract) -> Tree:
    """What the stage file (and its contract) declares, in drift's shape."""
    used = sorted({r.authorizer for r in contract.routes if r.authorizer})
    plans = {
        plan.name: _plan_tree(
            plan.throttle,
            (plan.quota_limit, plan.quota_period, plan.quota_offset),
            plan.method_throttle,
            plan.keys,
        )
        for plan in api.usage_plans
    }
    authorizers = {name: contract.authorizers[name] for name in used}
    throttle = api.throttle
    return _tree(
        api.flavor, throttle.stage, throttle.account, throttle.routes, authorizers, contract.cors, plans
    )


def deployed_tree(deployed: Deployed, authorizer_names: list[str]) -> Tree:
    """The deployed stage in drift's shape (authorizers: those the file's routes name)."""
    plans = {
        plan.name: _plan_tree(
            plan.throttle, (plan.quota, plan.period, plan.offset), plan.method_throttle, plan.keys
        )
        for plan in deployed.plans
    }
    authorizers = {
        name: deployed.authorizers[name] for name in authorizer_names if name in deployed.authorizers
    }
    return _tree(
        deployed.flavor,
        deployed.throttle,
        deployed.account,
        deployed.routes,
        authorizers,
        deployed.cors,
        plans,
    )


def _tree(
    flavor: str,
    stage: Limit | None,
    account: Limit | None,
    routes: Mapping[str, Limit],
    authorizers: Mapping[str, Authorizer],
    cors: CorsConfig | None,
    plans: Tree,
) -> Tree:
    """Drift's shape, from the stage file's records or the deployed ones alike."""
    tree: Tree = {
        "throttle": {**_limit(stage), **_account(account), "routes": _routes(routes, stage)},
        "authorizers": {name: authorizer_tree(found, flavor) for name, found in authorizers.items()},
    }
    if flavor == "http":
        tree["cors"] = _cors(cors)
    else:
        tree["usage_plans"] = plans
    return tree


def _plan_tree(
    throttle: Limit | None,
    quota: tuple[Any, Any, Any],
    method_throttle: Mapping[str, Limit],
    keys: Iterable[ApiKey | DeployedKey],
) -> Tree:
    """One usage plan in drift's shape, from the stage file's record or the deployed one alike."""
    limit, period, offset = quota
    return {
        **_limit(throttle),
        **({"quota": limit, "period": period, "offset": offset} if limit is not None else {}),
        "method_throttle": {k: _limit(v) for k, v in method_throttle.items()},
        "keys": {key.name: {"enabled": key.enabled} for key in keys},
    }


def _shown(value: Any) -> str:
    if value is None:
        return "absent"
    if isinstance(value, dict):
        return "present" if value else "absent"
    if isinstance(value, bool | int | float):
        return toml_scalar(value)
    return json.dumps(value)


def differences(file: Tree, deployed: Tree, parts: tuple[str, ...]) -> list[str]:
    """One line per leaf (or whole subtree present on one side only) that differs, in sorted order."""
    out = []
    for name in sorted(set(file) | set(deployed)):
        mine, theirs = file.get(name), deployed.get(name)
        here = (*parts, name)
        if isinstance(mine, dict) and isinstance(theirs, dict):
            out += differences(mine, theirs, here)
        elif mine in (None, {}) and theirs in (None, {}):
            continue
        elif mine != theirs:
            out.append(f"{key_path(here)}: file {_shown(mine)}, deployed {_shown(theirs)}")
    return out


def _authorization(authorizer: Authorizer | None) -> str:
    if authorizer is None:
        return "NONE"
    if isinstance(authorizer, JwtAuthorizer):
        return "JWT"
    if isinstance(authorizer, CognitoAuthorizer):
        return "COGNITO_USER_POOLS"
    return "CUSTOM"


def route_auth_trees(
    api: ApiConfig, contract: Contract, deployed: Deployed
) -> tuple[dict[str, Tree], dict[str, Tree]]:
    """Who may call each route, on both sides: its authorization type, authorizer and (REST) API key.
    Only routes on both sides (the route set is the contract's business), IAM routes aside."""
    if deployed.route_auth is None:
        return {}, {}
    mine: dict[str, Tree] = {}
    theirs: dict[str, Tree] = {}
    for route in contract.routes:
        found = deployed.route_auth.get(route.route_key)
        if found is None or found.get("authorization") == "AWS_IAM":
            continue
        authorizer = contract.authorizers.get(route.authorizer) if route.authorizer else None
        mine[route.route_key] = {"authorization": _authorization(authorizer), "authorizer": route.authorizer}
        theirs[route.route_key] = {
            "authorization": found.get("authorization"),
            "authorizer": found.get("authorizer"),
        }
        if api.flavor == "rest":
            mine[route.route_key]["api_key_required"] = route.api_key_required
            theirs[route.route_key]["api_key_required"] = bool(found.get("api_key_required"))
    return mine, theirs


def api_drift(api: ApiConfig, deployed: Deployed) -> list[str]:
    """Every difference between one API of the stage file and its deployed stage."""
    contract = contract_of(api)
    mine = file_tree(api, contract)
    mine["route_auth"], theirs_auth = route_auth_trees(api, contract, deployed)
    if deployed.account is None:  # get-account could not be read: the account limits are not compared
        for name in ("account_rate", "account_burst"):
            mine["throttle"].pop(name, None)
    theirs = deployed_tree(deployed, sorted(mine["authorizers"]))
    theirs["route_auth"] = theirs_auth
    return differences(mine, theirs, ("apis", api.name))


def read_deployed(api: ApiConfig, clients: Clients, where: Location) -> Deployed:
    from discover.aws_http import read_http
    from discover.aws_rest import read_rest

    reader = read_http if api.flavor == "http" else read_rest
    return reader(clients, where.api_id, where.stage)


def drift_lines(stage: StageConfig, clients_for: Callable[[str], Clients]) -> list[str]:
    """Every difference of the stage, API by API. Raises DiscoverError / ConfigError when it cannot check."""
    out: list[str] = []
    clients: dict[str, Clients] = {}
    for api in stage.apis:
        where = locate(api)
        if where is None:
            raise DiscoverError(
                f"apis.{api.name}.base_url {api.base_url} is not an execute-api URL, so drift cannot find "
                "the API; use the execute-api URL, or set drift_check = false"
            )
        if where.region not in clients:
            clients[where.region] = clients_for(where.region)
        out += api_drift(api, read_deployed(api, clients[where.region], where))
    return out


def gate_drift(
    stage: StageConfig, clients_for: Callable[[str], Clients], credentials: Callable[[], bool]
) -> DriftResult:
    """The gate's drift step: run when asked (or by default), never raising."""
    run, why = should_check(stage, credentials)
    if not run:
        return DriftResult(False, why_not=why)
    try:
        return DriftResult(True, differences=tuple(drift_lines(stage, clients_for)))
    except (DiscoverError, ConfigError) as exc:
        problem = str(exc)
    except Exception as exc:  # the gate never dies on its drift step: an unexpected answer is a finding
        problem = f"drift check failed: {type(exc).__name__}: {str(exc)[:200]}"
    if stage.drift_check is None:  # the default check: what it cannot do is a note, not a block
        return DriftResult(False, why_not=f"could not check: {problem}")
    return DriftResult(True, error=problem)
