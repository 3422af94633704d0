"""The stage file and contract files discover writes: today's stage-file format, stable bytes.

PURE rendering (`render_stage`, `render_contract`) and a small writer. The same input always gives
the same bytes (sorted plans, keys and routes; no clock), so running discover twice changes nothing.
Secrets are never written: every secret is an `*_env` field naming a suggested variable.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from discover.errors import DiscoverError
from discover.model import DiscoveredApi, contract_routes
from fixtures.stage import Limit
from fixtures.stage.copies import env_name
from fixtures.stage.model import ACCOUNT_DEFAULT
from fixtures.stage.tomlcheck import toml_key

MARKER = "# Written by `stagegate discover`"
# AWS throttling is best effort (targets, not ceilings): the tolerances staging.example.toml uses.
AWS_TOLERANCE = (
    ("accepted_abs", 20),
    ("accepted_rel", 0.10),
    ("rate_rel", 0.25),
    ("max_late_share", 0.02),
    ("late_ms", 25.0),
)


@dataclass(frozen=True)
class StageOptions:
    """What the user decides, not AWS: the stage name, load and which keys load may spend."""

    name: str
    description: str
    load_allowed: bool = False
    test_keys: frozenset[str] = frozenset()  # key names whose quota the load scenarios may use up
    drift_check: bool | None = None
    origin: tuple[str, ...] = ()  # header lines: where the values came from, as a whole
    warnings: tuple[str, ...] = ()
    notes: Mapping[str, Sequence[str]] = field(default_factory=dict)  # API name -> contract notes


def toml_scalar(value: bool | float) -> str:
    """A TOML boolean or number: `true`, a whole float as an integer (`10000`), else its repr."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value)


def _value(value: Any) -> str:
    if isinstance(value, bool | int | float):
        return toml_scalar(value)
    return json.dumps(str(value), ensure_ascii=False)


def _line(name: str, value: Any, comment: str = "") -> str:
    text = f"{toml_key(name)} = {_value(value)}"
    return f"{text:<39} # {comment}" if comment else text


def _schemes_used(contract: Mapping[str, Any]) -> tuple[set[str], bool]:
    """(authorizer types the contract's routes use, whether any route requires an x-api-key)."""
    schemes = (contract.get("components") or {}).get("securitySchemes") or {}
    used: set[str] = set()
    key_required = False
    for item in (contract.get("paths") or {}).values():
        for op in item.values() if isinstance(item, dict) else ():
            if not isinstance(op, dict):
                continue
            for requirement in op.get("security") or contract.get("security") or []:
                for name in requirement if isinstance(requirement, dict) else ():
                    scheme = schemes.get(name) or {}
                    ext = scheme.get("x-amazon-apigateway-authorizer")
                    if isinstance(ext, dict):
                        used.add(str(ext.get("type", "")).lower())
                    elif str(scheme.get("name", "")).lower() == "x-api-key":
                        key_required = True
    return used, key_required


def _credentials(api: DiscoveredApi) -> list[str]:
    """The secrets the contract's authorizers and API keys call for, each as a suggested variable."""
    used, key_required = _schemes_used(api.contract)
    lines = []
    if used & {"jwt", "cognito_user_pools"}:
        lines.append(
            _line(
                "bearer_token_env",
                env_name(api.name, "token"),
                "a valid token for the JWT/Cognito authorizer",
            )
        )
        lines.append(
            f"# or [apis.{api.name}.credentials.oauth2]: token_url, client_id_env, client_secret_env, scopes"
        )
    if used & {"request", "token"}:
        lines.append(
            _line(
                "lambda_token_env", env_name(api.name, "lambda_token"), "a token the Lambda authorizer allows"
            )
        )
        lines.append(
            _line("lambda_deny_token_env", env_name(api.name, "lambda_deny_token"), "a token it denies")
        )
    if key_required:
        lines.append(_line("api_key_env", env_name(api.name, "api_key"), "a valid key of one of the plans"))
    return lines


def _limit_lines(limit: Limit) -> list[str]:
    if limit.rate <= 0 or limit.burst < 1:
        return [
            f"# rate = {_value(limit.rate)}  burst = {limit.burst}: API Gateway rejects every request "
            "at this limit; the stage file cannot declare it (rate > 0, burst >= 1)"
        ]
    return [_line("rate", limit.rate), _line("burst", limit.burst)]


def raised_account(account: Limit | None) -> Limit | None:
    """The account's limits when they differ from the default (a stage file declares only those)."""
    return account if account is not None and account != ACCOUNT_DEFAULT else None


def _table(parts: Iterable[str], comment: str = "", array: bool = False) -> str:
    name = ".".join(toml_key(p) for p in parts)
    text = f"[[{name}]]" if array else f"[{name}]"
    return f"{text:<39} # {comment}" if comment else text


def _path_params(contract: Mapping[str, Any]) -> list[str]:
    names = set()
    for path in contract.get("paths") or {}:
        names.update(re.findall(r"\{([^}+]+)\+?\}", str(path)))
    return sorted(names)


def render_api(api: DiscoveredApi, contract_path: str, options: StageOptions) -> list[str]:
    d = api.deployed
    base = ("apis", api.name)
    kind = "HTTP API" if d.flavor == "http" else "REST API"
    out = [f"# --- {api.name}: {kind} {d.api_id} ({d.title}), stage {d.stage}", _table(base)]
    out.append(_line("flavor", d.flavor))
    out.append(_line("contract", contract_path, api.contract_source[:120]))
    out.append(_line("base_url", d.base_url))
    unresolved = dict(d.unresolved)
    if "base_url" in unresolved:
        out.append(f"# UNRESOLVED base_url: {unresolved.pop('base_url')}")
    out.append(_line("load_allowed", options.load_allowed, "true lets the load scenarios run here"))
    out.append(_line("read_only", False, "true: no test sends a writing request"))
    credentials = _credentials(api)
    if credentials:
        out += ["", _table((*base, "credentials"), "suggested names: export them; never put values here")]
        out += credentials
    routes = contract_routes(api.contract)
    account = raised_account(d.account)
    if d.throttle or d.routes or "throttle" in unresolved or account:
        out += ["", _table((*base, "throttle"), d.sources.get("throttle", ""))]
        if account:
            out.append(_line("account_rate", account.rate, "the account's raised limits (get-account)"))
            out.append(_line("account_burst", account.burst))
        if d.throttle:
            out += _limit_lines(d.throttle)
        if "throttle" in unresolved:
            out.append(f"# UNRESOLVED rate and burst: {unresolved.pop('throttle')}")
        for route_key, limit in sorted(d.routes.items()):
            if route_key not in routes and routes:
                out.append(
                    f"# {route_key}: {_value(limit.rate)}/{limit.burst} is set on a route the contract lacks"
                )
                continue
            out += ["", _table((*base, "throttle", "routes", route_key))] + _limit_lines(limit)
    for plan in d.plans:
        plan_base = (*base, "usage_plans", plan.name)
        out += ["", _table(plan_base, plan.source)]
        prefix = f"usage_plans.{plan.name}."
        for where in sorted(k for k in unresolved if k.startswith(prefix)):
            what = where.removeprefix(prefix)
            shown = f"{what} rate and burst" if what.startswith(("throttle", "method_throttle")) else what
            out.append(f"# UNRESOLVED {shown}: {unresolved.pop(where)}")
        if plan.throttle:
            out += _limit_lines(plan.throttle)
        if plan.quota is not None and plan.period:
            out += [_line("quota", plan.quota), _line("period", plan.period), _line("offset", plan.offset)]
        for route_key, limit in sorted(plan.method_throttle.items()):
            out += ["", _table((*plan_base, "method_throttle", route_key))] + _limit_lines(limit)
        for found in plan.keys:
            out += ["", _table((*plan_base, "keys"), array=True)]
            out.append(_line("name", found.name))
            out.append(
                _line("value_env", env_name(api.name, "key", found.name), "suggested name: the key's value")
            )
            out.append(_line("enabled", found.enabled))
            test_key = found.name in options.test_keys
            comment = "load may use up its quota" if test_key else "true lets load use up its quota"
            out.append(_line("test_key", test_key, comment))
    for where, expression in sorted(unresolved.items()):
        out.append(f"# UNRESOLVED {where}: {expression}")
    params = _path_params(api.contract)
    out += ["", f"# {_table((*base, 'samples'))}  where the contract has no example (values that exist here)"]
    if params:
        out.append("# path_params = { " + ", ".join(f'{toml_key(p)} = "..."' for p in params) + " }")
    out += ["", _table((*base, "tolerance"), "AWS throttling is best effort: wider than the emulator's")]
    out += [_line(name, value) for name, value in AWS_TOLERANCE]
    return out


def render_stage(
    apis: Sequence[DiscoveredApi], contract_paths: Mapping[str, str], options: StageOptions
) -> str:
    """The whole stage file (text). contract_paths: API name -> the path written in the file."""
    header = [
        f"{MARKER}: running it again with the same options rewrites this file and its contracts.",
        *(f"# {line}" for line in options.origin),
        "# Where the values came from:",
    ]
    for api in apis:
        header.append(f"#   {api.name}: {api.deployed.sources.get('api', api.deployed.title)}")
        header.append(f"#     contract: {api.contract_source}")
        header += [f"#       {note}" for note in options.notes.get(api.name, ())]
        for section in ("throttle", "credentials"):
            if section in api.deployed.sources:
                header.append(f"#     {section}: {api.deployed.sources[section]}")
    header += [
        "# Secrets are never read or written: each *_env field names a suggested environment variable;",
        "# export those (in CI from the secret store) before running the gate. Load is off",
        "# (load_allowed = false) and no key may be spent (test_key = false) unless you say so",
        "# (--load-allowed, --test-key NAME).",
    ]
    header += [f"# WARNING: {w}" for w in options.warnings]
    top = [_line("name", options.name), _line("description", options.description), _line("timeout_s", 10.0)]
    if options.drift_check is not None:
        top.append(
            _line("drift_check", options.drift_check, "the gate compares this file with AWS before load")
        )
    body: list[str] = []
    for api in apis:
        body += ["", *render_api(api, contract_paths[api.name], options)]
    return "\n".join([*header, *top, *body]) + "\n"


WITHHELD = "'stagegate-withheld'"  # a static value of the deployed integration, not copied
WITHHELD_TEMPLATE = "## withheld by stagegate discover: a mapping template may hold a secret"


def withhold_literals(node: Any) -> Any:
    """The contract with every static value an integration sends to its backend withheld: a
    request parameter given as a 'literal' or a mapping template can carry a backend secret, and
    a stage's files hold no secret. Conformance does not read them (they shape the backend call)."""
    if isinstance(node, list):
        return [withhold_literals(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: withhold_literals(v) for k, v in node.items()}
    integration = out.get("x-amazon-apigateway-integration")
    if isinstance(integration, dict):
        params = integration.get("requestParameters")
        if isinstance(params, dict):
            integration["requestParameters"] = {
                k: WITHHELD if isinstance(v, str) and v.startswith("'") else v for k, v in params.items()
            }
        if isinstance(integration.get("requestTemplates"), dict):
            integration["requestTemplates"] = {k: WITHHELD_TEMPLATE for k in integration["requestTemplates"]}
    return out


def render_contract(contract: Mapping[str, Any]) -> str:
    return json.dumps(withhold_literals(contract), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def contract_file(stage_path: str, api_name: str) -> str:
    """Where an API's contract goes: beside the stage file, `<stage>.<api>.openapi.json`."""
    stem = os.path.basename(stage_path).removesuffix(".toml")
    return os.path.join(os.path.dirname(os.path.abspath(stage_path)), f"{stem}.{api_name}.openapi.json")


def shown_path(path: str, stage_path: str, root: str) -> str:
    """The contract path as the stage file names it: repo-relative inside the repo, else beside the file."""
    path = os.path.abspath(path)
    rel = os.path.relpath(path, root)
    if not rel.startswith(".."):
        return rel
    return os.path.relpath(path, os.path.dirname(os.path.abspath(stage_path)))


def check_writable(stage_path: str, force: bool) -> None:
    """Refuse to overwrite a stage file discover did not write (a hand-edited file), unless forced."""
    if force or not os.path.exists(stage_path):
        return
    try:
        with open(stage_path, encoding="utf-8") as handle:
            first = handle.readline()
    except OSError as exc:
        raise DiscoverError(f"cannot read {stage_path}: {exc.strerror}; choose another --out") from None
    if not first.startswith(MARKER):
        raise DiscoverError(
            f"{stage_path} exists and was not written by stagegate discover; "
            "choose another --out, or pass --force to replace it"
        )


def write_files(files: Mapping[str, str]) -> list[str]:
    """Write each path -> text (only when it changed) through a temporary file renamed over it, so
    an interrupted run never leaves half a file; the paths written, sorted."""
    written = []
    for path, text in sorted(files.items()):
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        try:
            with open(path, encoding="utf-8") as handle:
                if handle.read() == text:
                    continue
        except OSError:
            pass
        descriptor, temporary = tempfile.mkstemp(
            dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp"
        )
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.chmod(temporary, 0o666 & ~_umask())
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        written.append(path)
    return written


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
