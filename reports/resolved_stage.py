"""The embedded stage, once its emulator is up, as the stage file the parts are given.

`write_resolved_stage(stage, port)` writes out/<stage>/stage.resolved.toml: concrete base URLs,
the [emulator] tables with the running port (the parts attach to it, never start one), absolute
paths, and every literal secret replaced by `<field>_env = "STAGEGATE_<STAGE>_<API>_<FIELD>"`.
The values travel only in the returned environment mapping (pass it to the subprocess), never in
a file.
"""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fixtures.deviations import SUFFIX as DEVIATIONS_SUFFIX
from fixtures.deviations import deviations_path
from fixtures.errors import ConfigError
from fixtures.stage import StageConfig
from fixtures.stage_parse import SECRET_FIELDS

OAUTH_SECRET_FIELDS = ("client_id", "client_secret")
TOKEN_SOURCES = ("wrong_audience", "wrong_issuer")  # fixtures.stage.Credentials token sources
RESOLVED_NAME = "stage.resolved.toml"
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def env_name(*parts: str) -> str:
    """STAGEGATE_<PARTS> upper-cased, anything but letters and digits -> "_"."""
    return "_".join(["STAGEGATE", *(re.sub(r"[^A-Za-z0-9]+", "_", p).strip("_").upper() for p in parts)])


def _to_env(
    table: dict[str, Any], field: str, name: str, env: dict[str, str], where: tuple[str, str]
) -> None:
    """Move a literal secret to the environment variable `name`; two secrets never share one."""
    if isinstance(table.get(field), str):
        if name in env:  # e.g. keys "quota-a" and "quota_a": the second value would win silently
            problem = f"its secret would share the environment variable {name} with another; rename one"
            raise ConfigError(where[0], f"{where[1]}.{field}", problem)
        env[name] = table.pop(field)
        table[f"{field}_env"] = name


def resolve(raw: dict[str, Any], stage: StageConfig, port: int) -> tuple[dict[str, Any], dict[str, str]]:
    """PURE: the raw stage table -> (remote-stage table, env values for the secrets it names)."""
    data = json.loads(json.dumps(raw))  # deep copy of plain TOML data
    # [emulator] stays (the stage is still the emulator: its exact answers are asserted) with the
    # running port in every base URL, so neither part starts a second one (StageConfig.needs_emulator).
    data.setdefault("emulator", {})["port"] = port
    env: dict[str, str] = {}
    resolved = stage.with_port(port)
    for api in resolved.apis:
        table = data["apis"][api.name]
        table["base_url"] = api.base_url
        table["contract"] = api.contract_path
        table["load_allowed"] = api.load_allowed
        creds = table.get("credentials") or {}
        if api.credentials.signing_key is not None:
            creds["signing_key_file"] = api.credentials.signing_key.key_file
        where = f"apis.{_key(api.name)}"
        for field in SECRET_FIELDS:
            name = env_name(stage.name, api.name, field)
            _to_env(creds, field, name, env, (stage.path, f"{where}.credentials"))
        oauth = creds.get("oauth2") or {}
        for field in OAUTH_SECRET_FIELDS:
            name = env_name(stage.name, api.name, "oauth2", field)
            _to_env(oauth, field, name, env, (stage.path, f"{where}.credentials.oauth2"))
        for source in TOKEN_SOURCES:  # a ready token or an OAuth2 client of another audience/issuer
            sub = creds.get(source) or {}
            for field in ("token", *OAUTH_SECRET_FIELDS):
                name = env_name(stage.name, api.name, source, field)
                _to_env(sub, field, name, env, (stage.path, f"{where}.credentials.{source}"))
        for plan_name, plan in (table.get("usage_plans") or {}).items():
            for index, key in enumerate(plan.get("keys") or []):
                key_name = str(key.get("name") or index)
                name = env_name(stage.name, api.name, "key", plan_name, key_name)
                at = f"{where}.usage_plans.{_key(plan_name)}.keys[{index}]"
                _to_env(key, "value", name, env, (stage.path, at))
    return data, env


def _key(k: str) -> str:
    return k if _BARE_KEY.match(k) else json.dumps(k)


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)  # JSON string escapes are valid TOML basic-string escapes
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _is_table_array(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


def dumps(data: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> str:
    """A minimal TOML writer for stage files (tables, arrays of tables, scalars, arrays)."""
    lines = []
    for k, v in data.items():
        if not isinstance(v, dict) and not _is_table_array(v):
            lines.append(f"{_key(k)} = {_value(v)}")
    out = "\n".join(lines) + ("\n" if lines else "")
    for k, v in data.items():
        path = (*prefix, k)
        header = ".".join(_key(p) for p in path)
        if isinstance(v, dict):
            body = dumps(v, path)
            only_tables = v and all(isinstance(x, dict) or _is_table_array(x) for x in v.values())
            out += body if only_tables else f"\n[{header}]\n" + body  # implicit parent tables
        elif _is_table_array(v):
            for item in v:
                out += f"\n[[{header}]]\n" + dumps(item, path)
    return out


def check_secret_names(stage: StageConfig) -> None:
    """ConfigError when two secrets of the embedded stage would share one environment variable in
    the resolved copy (before the emulator starts)."""
    resolve(tomllib.loads(Path(stage.path).read_text(encoding="utf-8")), stage, 1)


def write_resolved_stage(
    stage: StageConfig, port: int, out_root: Path | None = None
) -> tuple[Path, dict[str, str]]:
    """Write out/<stage>/stage.resolved.toml for the running emulator; return (path, secret env)."""
    raw = tomllib.loads(Path(stage.path).read_text(encoding="utf-8"))
    data, env = resolve(raw, stage, port)
    root = out_root if out_root is not None else Path(stage.path).resolve().parent.parent / "out"
    path = root / stage.name / RESOLVED_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    header = (
        f"# Generated by reports.resolved_stage from {stage.path} for port {port}; secrets come from env.\n"
    )
    path.write_text(header + dumps(data), encoding="utf-8")
    # The parts look for the stage's deviations beside the stage file they are given.
    deviations = deviations_path(stage)
    copy = Path(str(path).removesuffix(".toml") + DEVIATIONS_SUFFIX)
    copy.unlink(missing_ok=True)
    if deviations is not None:
        shutil.copyfile(deviations, copy)
    return path, env


def private_stage(stage: StageConfig, folder: Path) -> Path:
    """A copy of the embedded stage file whose signing keys live in `folder` (this run's own).

    Every emulator start regenerates the stage's signing keys; with the shared out/<stage>/issuer/
    another run starting meanwhile would swap them under this run's emulator (tokens -> 401).
    """
    raw = tomllib.loads(Path(stage.path).read_text(encoding="utf-8"))
    for api in stage.apis:
        if api.credentials.signing_key is not None:
            creds = raw["apis"][api.name].setdefault("credentials", {})
            creds["signing_key_file"] = str(folder.resolve() / f"{api.name}-signing-key.pem")
    path = folder / Path(stage.path).name
    path.write_text(dumps(raw), encoding="utf-8")
    return path
