"""The stagegate pytest options, registered through a `pytest11` entry point (pyproject.toml).

An entry-point plugin is loaded before pytest parses the command line, so `pytest --stage PATH`
(space form, any path) is read as the option; from the repo's conftest.py it came too late and
pytest took PATH for a test path.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("stagegate")
    group.addoption(
        "--stage",
        default="local",
        help="stage name under stages/ or path to a stage TOML file (default: local, the embedded emulator)",
    )
    group.addoption(
        "--fault",
        action="append",
        default=[],
        metavar="NAME",
        help="seed a misconfiguration in the embedded emulator (repeatable; embedded stages only)",
    )
    group.addoption(
        "--stagegate-coverage",
        default=None,
        metavar="PATH",
        help="write the rule x API coverage of this run as JSON (the gate reads it)",
    )
