"""Repository-root pytest configuration: the stage options and the conformance plugin.

`pytest` checks the embedded stage (`--stage local`); `pytest --stage staging` (a name under
stages/ or a path) checks a deployed one. The plugin itself lives in conformance/plugin.py and does
nothing unless conformance tests are collected, so the self-tests in tests/ never load a stage.
"""

from __future__ import annotations

import pytest

pytest_plugins = ["conformance.plugin", "conformance.session"]


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
