"""The suite runs unchanged against a remote stage: a second emulator on another port, other keys.

The remote stage file has no [emulator] table and takes every secret from environment variables,
as a deployed stage's file would.
"""

from __future__ import annotations

import re
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conformance_runs import (
    ROOT,
    local_stage_copy,
    remote_stage_text,
    run_suite,
    skips_are_only_undocumented_cors,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def remote() -> Iterator[tuple[Path, dict[str, str]]]:
    from fixtures.emulator.serve.runner import start_emulator

    with tempfile.TemporaryDirectory(prefix="stagegate-remote-") as tmp:
        embedded = local_stage_copy(Path(tmp))
        with start_emulator(str(embedded), port=0, fresh_keys=True) as running:
            env: dict[str, str] = {}
            path = Path(tmp) / "remote-test.toml"
            path.write_text(remote_stage_text(embedded, running.port, env))
            yield path, env


def test_the_suite_passes_against_a_remote_stage(remote: tuple[Path, dict[str, str]]) -> None:
    path, env = remote
    run = run_suite("--stage", str(path), "-rs", env=env)
    assert run.returncode == 0, run.output[-3000:]
    assert run.passed > 100 and not run.failed
    assert run.skipped == 0 or skips_are_only_undocumented_cors(run), run.output[-3000:]


def test_no_secret_reaches_the_output_of_a_failing_remote_run(remote: tuple[Path, dict[str, str]]) -> None:
    path, env = remote
    key_var = next(k for k, v in env.items() if v.startswith("local-partner-key"))
    wrong = {**env, key_var: "stagegate-wrong-partner-key-000000"}
    run = run_suite("--stage", str(path), "-m", "api_keys", env=wrong)
    assert run.returncode == 1
    assert "rule: test_key_route" in run.output  # the diagnosis is there ...
    for value in wrong.values():
        assert value not in run.output  # ... without any secret


def test_without_a_signing_key_the_key_variants_are_skipped_with_the_reason(
    remote: tuple[Path, dict[str, str]],
) -> None:
    from fixtures.tokens import TokenFactory

    path, env = remote
    text = path.read_text()
    key_line = re.search(r'signing_key_file = "([^"]+portal[^"]+)"', text)
    assert key_line is not None
    scopes = ("appointments/read", "appointments/write")
    factory = TokenFactory(
        key_line.group(1),
        "stagegate-local-portal",
        "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_ClinicPool",
        "clinic-portal-web",
        lifetime_s=600,
    )
    ready = {**env, "SG_PORTAL_BEARER": factory.valid(scopes)}
    portal_only = re.sub(
        r'signing_key_file = "[^"]+portal[^"]+"[^\n]*\nkid = "[^"]+"',
        'bearer_token_env = "SG_PORTAL_BEARER"',
        text,
    )
    stripped = path.with_name("remote-bearer.toml")
    stripped.write_text(portal_only)
    run = run_suite("--stage", str(stripped), "-m", "auth", "-rs", env=ready)
    assert run.returncode == 0, run.output[-3000:]
    assert run.skipped > 0
    assert "needs a signing key" in run.output
    assert ready["SG_PORTAL_BEARER"] not in run.output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_stage_fails_at_once_with_one_line(remote: tuple[Path, dict[str, str]]) -> None:
    path, env = remote
    dead = path.with_name("dead.toml")
    dead.write_text(re.sub(r"127\.0\.0\.1:\d+", f"127.0.0.1:{_free_port()}", path.read_text()))
    started = time.monotonic()
    run = run_suite("--stage", str(dead), env=env)
    assert run.returncode == 3
    assert time.monotonic() - started < 20
    assert "unreachable" in run.output and "Traceback" not in run.output


def test_a_bad_stage_file_is_a_usage_error() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        bad = Path(tmp) / "bad.toml"
        bad.write_text((ROOT / "stages" / "local.toml").read_text() + "\nnot_a_key = 1\n")
        run = run_suite("--stage", str(bad))
    assert run.returncode == 4
    assert "not_a_key" in run.output and "Traceback" not in run.output
