"""`stagegate`: the command users run (installed into .venv/bin by `make gate` / `make test`).

    stagegate gate --stage NAME|PATH [--smoke] [--no-load] [--fault NAME]... [--no-html] [--out DIR]
    stagegate discover (--http-api ID | --rest-api ID [--stage NAME] ... | --terraform DIR) --out FILE
    stagegate drift --stage NAME|PATH

Exit codes, exactly: 0 pass (safe to promote), 1 fail, 2 configuration error, 3 inconclusive
(including a PASS whose scope is narrower than the stage declares), 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys

from reports import run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stagegate", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    gate = commands.add_parser(
        "gate", help="conformance + load + report + verdict (exit 0 pass, 1 fail, 2 config, 3 inconclusive)"
    )
    run.add_gate_arguments(gate)
    from discover import cli as discover_cli

    discover = commands.add_parser(
        "discover", help="write a stage file (and contracts) from AWS or Terraform (exit 0, 2 bad input)"
    )
    discover_cli.add_discover_arguments(discover)
    drift = commands.add_parser(
        "drift", help="compare a stage file with the deployed stage (exit 0 same, 1 differs, 2 cannot check)"
    )
    discover_cli.add_drift_arguments(drift)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return run.EXIT_CONFIG_ERROR
    if args.command == "discover":
        return discover_cli.discover_main(args)
    if args.command == "drift":
        return discover_cli.drift_main(args)
    return run.gate_main(args)


if __name__ == "__main__":
    raise SystemExit(main())
