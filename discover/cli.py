"""`stagegate discover` and `stagegate drift`: argument parsing and the two commands' flow.

    stagegate discover --http-api ID [--stage NAME] [--name API] [--contract FILE] [--base-url URL]
                       --rest-api ID --stage NAME [--name API] [--contract FILE] ... --out FILE
    stagegate discover --terraform DIR [--var k=v]... [--var-file FILE]... --out FILE
    stagegate drift --stage NAME|PATH

Exit codes: discover 0 written (or unchanged), 2 bad input; drift 0 no difference, 1 differences,
2 the check could not run. Every problem is one line naming what was asked and what to do.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from discover.aws import Clients, make_clients
from discover.errors import DiscoverError
from discover.model import DiscoveredApi, contract_routes
from discover.writer import (
    StageOptions,
    check_writable,
    contract_file,
    render_contract,
    render_stage,
    shown_path,
    write_files,
)
from fixtures.errors import ConfigError

EXIT_OK = 0
EXIT_DRIFT = 1
EXIT_CONFIG_ERROR = 2
_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass
class ApiSpec:
    """One --http-api / --rest-api and the --stage / --name / --contract given after it."""

    flavor: str
    api_id: str
    stage: str | None = None
    name: str | None = None
    contract: str | None = None
    base_url: str | None = None


@dataclass
class _Specs:
    apis: list[ApiSpec] = field(default_factory=list)
    defaults: dict[str, str] = field(default_factory=dict)  # --stage/--name/--contract before any API


class _ApiAction(argparse.Action):
    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: Any = None) -> None:
        specs = _specs(namespace)
        specs.apis.append(ApiSpec("http" if option_string == "--http-api" else "rest", str(values)))


class _ApiSetting(argparse.Action):
    """--stage / --name / --contract / --base-url: belong to the API named before them (else: every API)."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: Any = None) -> None:
        specs = _specs(namespace)
        setting = str(option_string).removeprefix("--").replace("-", "_")
        if specs.apis:
            setattr(specs.apis[-1], setting, str(values))
        else:
            specs.defaults[setting] = str(values)


def _specs(namespace: Any) -> _Specs:
    if getattr(namespace, "specs", None) is None:
        namespace.specs = _Specs()
    return namespace.specs  # type: ignore[no-any-return]


def add_discover_arguments(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(specs=None)
    aws = parser.add_argument_group("from AWS (boto3: the standard credential chain and region settings)")
    aws.add_argument("--http-api", action=_ApiAction, metavar="ID", help="an HTTP API (apigatewayv2)")
    aws.add_argument("--rest-api", action=_ApiAction, metavar="ID", help="a REST API (apigateway)")
    aws.add_argument(
        "--stage",
        action=_ApiSetting,
        metavar="NAME",
        help="the API Gateway stage of the API named before it (HTTP API default: $default)",
    )
    aws.add_argument(
        "--name", action=_ApiSetting, metavar="API", help="its name in the stage file (default: from AWS)"
    )
    aws.add_argument(
        "--contract",
        action=_ApiSetting,
        metavar="FILE",
        help="an export document to use instead of calling export-api / get-export",
    )
    aws.add_argument(
        "--base-url",
        action=_ApiSetting,
        metavar="URL",
        help="the URL the gate sends to, when it is not the execute-api URL (a custom domain, an "
        "emulator's invoke URL); the stage file then has no drift_check",
    )
    aws.add_argument("--region", help="AWS region (default: AWS_REGION / the profile's region)")
    aws.add_argument("--profile", help="AWS profile (default: AWS_PROFILE / the default chain)")
    tf = parser.add_argument_group("from Terraform (python-hcl2)")
    tf.add_argument("--terraform", metavar="DIR", help="a Terraform module: one environment, one stage file")
    tf.add_argument("--var", action="append", default=[], metavar="K=V", help="a Terraform variable (repeat)")
    tf.add_argument("--var-file", action="append", default=[], metavar="FILE", help="a .tfvars file (repeat)")
    parser.add_argument(
        "--out", required=True, metavar="FILE", help="the stage file to write (stages/NAME.toml)"
    )
    parser.add_argument(
        "--load-allowed", action="store_true", help="write load_allowed = true (default false)"
    )
    parser.add_argument(
        "--test-key",
        action="append",
        default=[],
        metavar="NAME",
        help="a key whose quota the load scenarios may use up: test_key = true (repeat)",
    )
    parser.add_argument("--force", action="store_true", help="replace a stage file discover did not write")


def add_drift_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stage", required=True, help="stage name under stages/ or a stage file")
    parser.add_argument("--profile", help="AWS profile (default: AWS_PROFILE / the default chain)")


def _fail(command: str, message: str) -> int:
    print(f"stagegate {command}: {message}", file=sys.stderr)
    return EXIT_CONFIG_ERROR


def discover_main(
    args: argparse.Namespace, clients_for: Callable[[str | None], Clients] | None = None
) -> int:
    try:
        return _discover(args, clients_for)
    except (DiscoverError, ConfigError) as exc:
        return _fail("discover", str(exc))
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # unreadable input, unwritable --out
        return _fail("discover", f"{type(exc).__name__}: {exc}")


def _stage_name(out: str) -> str:
    name = os.path.basename(out).removesuffix(".toml")
    if not out.endswith(".toml") or not _NAME.match(name):
        raise DiscoverError(
            f"--out {out}: a stage file is NAME.toml with letters, digits, '-' and '_' in NAME "
            "(e.g. stages/staging.toml)"
        )
    return name


def _discover(args: argparse.Namespace, clients_for: Callable[[str | None], Clients] | None) -> int:
    specs: _Specs = args.specs or _Specs()
    name = _stage_name(args.out)
    if bool(args.terraform) == bool(specs.apis):
        raise DiscoverError(
            "say where to discover from: --http-api ID / --rest-api ID (AWS) or --terraform DIR, not both"
        )
    if not args.terraform and (args.var or args.var_file):
        raise DiscoverError("--var and --var-file belong to --terraform DIR")
    check_writable(args.out, args.force)
    if args.terraform:
        from discover.terraform import discover_terraform

        found = discover_terraform(args.terraform, args.var, args.var_file)
        apis, notes, warnings = list(found.apis), dict(found.notes), list(found.warnings)
        origin = (f"Discovered from the Terraform module {args.terraform} ({found.variables}).",)
        description = f"From Terraform {os.path.basename(os.path.abspath(args.terraform))}: " + "; ".join(
            f"{a.name} = {a.deployed.title}" for a in apis
        )
        drift_check = None
    else:
        factory = clients_for or (lambda region: make_clients(region, args.profile))
        clients = factory(args.region)
        apis, notes, warnings = _from_aws(clients, specs)
        origin = (
            f"Discovered from AWS ({clients.region}) with read-only calls; "
            "values as deployed when the command ran.",
        )
        description = f"AWS {clients.region}: " + "; ".join(
            f"{a.name} = {'HTTP' if a.deployed.flavor == 'http' else 'REST'} API {a.deployed.api_id} "
            f"stage {a.deployed.stage}"
            for a in apis
        )
        # every base URL is an execute-api URL of the account just read, unless --base-url replaced it
        drift_check = None if any(_given_base_url(spec, specs) for spec in specs.apis) else True
    warnings = list(dict.fromkeys([*warnings, *(w for api in apis for w in api.deployed.warnings)]))
    known_keys = {k.name for api in apis for plan in api.deployed.plans for k in plan.keys}
    unknown = sorted(set(args.test_key) - known_keys)
    if unknown:
        raise DiscoverError(
            f"--test-key {', '.join(unknown)}: no such key in the discovered usage plans "
            f"(keys: {', '.join(sorted(known_keys)) or 'none'})"
        )
    options = StageOptions(
        name=name,
        description=description,
        load_allowed=args.load_allowed,
        test_keys=frozenset(args.test_key),
        drift_check=drift_check,
        origin=origin,
        warnings=tuple(warnings),
        notes=notes,
    )
    from fixtures.stage import repo_root

    contracts = {api.name: render_contract(api.contract) for api in apis}
    shown = {api.name: shown_path(contract_file(args.out, api.name), args.out, repo_root()) for api in apis}
    for warning in warnings:
        print(f"stagegate discover: warning: {warning}", file=sys.stderr)
    problem = _load_problem(args.out, contracts, lambda paths: render_stage(apis, paths, options))
    if problem and not any(api.deployed.unresolved for api in apis):
        return _fail("discover", f"nothing written: the stage file would not load: {problem}")
    files = {contract_file(args.out, name): text for name, text in contracts.items()}
    files[args.out] = render_stage(apis, shown, options)
    written = write_files(files)
    print(
        f"stagegate discover: {args.out} and {len(apis)} contract(s): "
        + (f"{len(written)} file(s) written" if written else "unchanged")
    )
    marked = [f"apis.{api.name}.{where}" for api in apis for where in sorted(api.deployed.unresolved)]
    if marked:
        print(
            f"stagegate discover: {len(marked)} UNRESOLVED value(s) marked in {args.out}: "
            + ", ".join(marked),
            file=sys.stderr,
        )
    if problem:
        print(f"stagegate discover: fill in the UNRESOLVED values; until then: {problem}", file=sys.stderr)
    return EXIT_OK


def _load_problem(out: str, contracts: dict[str, str], render: Callable[[dict[str, str]], str]) -> str:
    """Why the stage file and its contracts would not load (secrets aside), or "": checked on copies
    in a temporary folder, so a file that does not load never replaces the one in place."""
    import tempfile

    from discover.drift import AnyEnvironment
    from fixtures.stage import contract_of, load_stage

    with tempfile.TemporaryDirectory(prefix="stagegate-discover-") as folder:
        paths = {}
        for name, text in contracts.items():
            paths[name] = os.path.join(folder, os.path.basename(contract_file(out, name)))
            with open(paths[name], "w", encoding="utf-8") as handle:
                handle.write(text)
        stage_path = os.path.join(folder, os.path.basename(out))
        with open(stage_path, "w", encoding="utf-8") as handle:
            handle.write(render(paths))
        try:
            stage = load_stage(stage_path, environ=AnyEnvironment())
            for api in stage.apis:
                contract_of(api)
        except ConfigError as exc:
            return str(exc).replace(stage_path, out).replace(folder + os.sep, "")
    return ""


def _read_contract(path: str) -> dict[str, Any]:
    from discover.aws_http import parse_export

    try:
        with open(path, "rb") as handle:
            return parse_export(f"--contract {path}", handle.read())
    except OSError as exc:
        raise DiscoverError(f"--contract {path}: cannot read it ({exc.strerror})") from None


def _given_base_url(spec: ApiSpec, specs: _Specs) -> str | None:
    url = spec.base_url or (specs.defaults.get("base_url") if len(specs.apis) == 1 else None)
    if url is not None and not re.match(r"^https?://[^/\s]+", url):
        raise DiscoverError(f"--base-url {url}: give an http(s) URL (e.g. https://api.example.com/v1)")
    return url


def _api_name(title: str, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_-]+", "-", title).strip("-").lower() or "api"
    name, index = base, 2
    while name in taken:
        name, index = f"{base}-{index}", index + 1
    return name


def _from_aws(
    clients: Clients, specs: _Specs
) -> tuple[list[DiscoveredApi], dict[str, tuple[str, ...]], list[str]]:
    from discover.aws_http import export_http, read_http, route_keys
    from discover.aws_rest import read_rest, rest_contract

    apis: list[DiscoveredApi] = []
    notes: dict[str, tuple[str, ...]] = {}
    warnings: list[str] = []
    taken: set[str] = set()
    for spec in specs.apis:
        stage = spec.stage or specs.defaults.get("stage") or ("$default" if spec.flavor == "http" else None)
        if stage is None:
            raise DiscoverError(f"--rest-api {spec.api_id}: give its stage with --stage NAME after it")
        given = spec.contract or specs.defaults.get("contract") if len(specs.apis) == 1 else spec.contract
        export = _read_contract(given) if given else None
        if spec.flavor == "http":
            deployed = read_http(clients, spec.api_id, stage)
            contract = export if export is not None else export_http(clients, spec.api_id, stage)
            source = f"--contract {given}" if given else "export-api OAS30 with extensions"
            missing = sorted(route_keys(clients, spec.api_id) - contract_routes(contract))
            api_notes: tuple[str, ...] = ()
            if missing:
                warnings.append(f"HTTP API {spec.api_id}: routes not in the contract: {', '.join(missing)}")
        else:
            deployed = read_rest(clients, spec.api_id, stage)
            contract, api_notes = rest_contract(clients, spec.api_id, stage, export)
            source = (f"--contract {given}" if given else "get-export oas30 extensions=apigateway") + (
                f", completed from get-method ({len(api_notes)} changes)" if api_notes else ""
            )
        base_url = _given_base_url(spec, specs)
        if base_url is not None:
            deployed = replace(deployed, base_url=base_url.rstrip("/"))
        name = spec.name or (specs.defaults.get("name") if len(specs.apis) == 1 else None)
        name = name or _api_name(deployed.title, taken)
        if not _NAME.match(name) or name in taken:
            raise DiscoverError(f"--name {name}: use letters, digits, '-' and '_', one name per API")
        taken.add(name)
        notes[name] = api_notes
        apis.append(DiscoveredApi(name, deployed, contract, source))
    return apis, notes, warnings


def drift_main(
    args: argparse.Namespace,
    clients_for: Callable[[str], Clients] | None = None,
) -> int:
    from discover.drift import AnyEnvironment, drift_lines
    from fixtures.stage import load_stage

    try:
        stage = load_stage(args.stage, environ=AnyEnvironment())  # drift reads no secret
        if stage.embedded:
            raise DiscoverError(f"--stage {args.stage}: the embedded stage has no AWS deployment to compare")
        lines = drift_lines(stage, clients_for or (lambda region: make_clients(region, args.profile)))
    except (DiscoverError, ConfigError) as exc:
        return _fail("drift", str(exc))
    except Exception as exc:  # never 1: drift's 1 means "differences"
        return _fail("drift", f"cannot check: {type(exc).__name__}: {exc}")
    for line in lines:
        print(line)
    if lines:
        print(f"stagegate drift: {len(lines)} difference(s) between {args.stage} and the deployed stage")
        return EXIT_DRIFT
    print(f"stagegate drift: {args.stage} matches the deployed stage ({len(stage.apis)} API(s))")
    return EXIT_OK
