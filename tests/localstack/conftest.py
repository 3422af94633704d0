"""Session fixture: LocalStack community in host mode on 127.0.0.1, installed on first use.

The only acceptable skip of the LocalStack self-test: the machine cannot install LocalStack (no
Python 3.13, no PyPI). The reason is printed and the test skips with it;
STAGEGATE_REQUIRE_LOCALSTACK=1 turns that skip into a failure (for a CI that must run the proof).
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.localstack import install, server


@pytest.fixture(scope="session")
def say(pytestconfig: pytest.Config) -> Callable[[str], None]:
    """Print past pytest's output capture: what the self-test measured, or why it skips, shows in a
    plain `make test` log."""
    capture = pytestconfig.pluginmanager.get_plugin("capturemanager")

    def line(text: str) -> None:
        with capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext():
            sys.stderr.write(f"\n{text}\n")
            sys.stderr.flush()

    return line


@pytest.fixture(scope="session")
def localstack_python(say: Callable[[str], None]) -> Path:
    """The python of LocalStack's own venv (installed now if needed: about a minute)."""
    started = time.monotonic()
    try:
        python = install.ensure_installed(log=False)
    except install.InstallError as exc:
        reason = f"LocalStack cannot be installed here: {exc}"
        say(f"tests/localstack: SKIPPED: {reason}")
        if os.environ.get("STAGEGATE_REQUIRE_LOCALSTACK") == "1":
            pytest.fail(f"{reason} (STAGEGATE_REQUIRE_LOCALSTACK=1)", pytrace=False)
        pytest.skip(reason)
    if time.monotonic() - started > 1.0:
        say(f"tests/localstack: LocalStack installed in {time.monotonic() - started:.0f} s ({python})")
    return python


@pytest.fixture(scope="session")
def localstack(localstack_python: Path, say: Callable[[str], None]) -> Iterator[server.LocalStack]:
    """A running LocalStack (apigateway, sts, iam) with its state under a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="stagegate-localstack-") as home:
        try:
            stack = server.start(localstack_python, Path(home))
        except RuntimeError as exc:
            pytest.fail(f"LocalStack did not start: {exc}", pytrace=False)
        ready = f"ready in {stack.started_in_s:.1f} s"
        say(f"tests/localstack: LocalStack on {stack.endpoint} (pid {stack.process.pid}), {ready}")
        try:
            yield stack
        finally:
            stopping = time.monotonic()
            server.stop(stack)
            say(f"tests/localstack: LocalStack stopped in {time.monotonic() - stopping:.1f} s")
