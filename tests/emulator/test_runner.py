"""The CLI and the runner: a real emulator subprocess on 127.0.0.1, bounded and always stopped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from email.message import Message
from pathlib import Path

import pytest

from fixtures.emulator.serve.runner import start_emulator
from fixtures.errors import ConfigError
from fixtures.stage import contract_of, load_stage
from fixtures.stage.copies import private_stage
from fixtures.tokens import TokenFactory

pytestmark = pytest.mark.slow
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, Message]:
    """(status, body, headers); header lookup is case-insensitive, as on the wire."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            return resp.status, resp.read(), resp.headers
    except urllib.error.HTTPError as err:
        return err.code, err.read(), err.headers


def own_stage(directory: Path) -> str:
    """stages/local.toml with the issuer keys in `directory` (runs elsewhere keep their own keys)."""
    return str(private_stage(load_stage("local"), directory))


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory):
    directory = tmp_path_factory.mktemp("emu")
    with start_emulator(own_stage(directory), log_path=str(directory / "emulator.log")) as running:
        yield running
    assert running.process.poll() is not None  # stopped, no orphan


def test_health_and_stage_port_filled(emulator) -> None:
    status, body, _ = _get(f"http://127.0.0.1:{emulator.port}/_stagegate/health")
    assert (status, body) == (200, b'{"status":"ok"}')
    assert emulator.base_url_for("portal") == f"http://127.0.0.1:{emulator.port}/portal"
    assert emulator.stage.emulator.port == emulator.port


def test_portal_jwt_over_the_wire(emulator) -> None:
    api = emulator.stage.api("portal")
    contract = contract_of(api)
    jwt = contract.authorizers["clinic-cognito"]
    key = api.credentials.signing_key
    tokens = TokenFactory(key.key_file, key.kid, jwt.issuer, jwt.audience)
    url = emulator.base_url_for("portal") + "/appointments"
    status, body, headers = _get(url)
    assert (status, body) == (401, b'{"message":"Unauthorized"}') and headers.get("apigw-requestid")
    status, body, _ = _get(url, {"Authorization": f"Bearer {tokens.valid(['appointments/read'])}"})
    assert status == 200 and isinstance(json.loads(body), dict | list)


def test_partner_rest_over_the_wire(emulator) -> None:
    base = emulator.base_url_for("partner")
    status, body, headers = _get(base + "/nothing-here")
    assert (status, body) == (403, b'{"message": "Missing Authentication Token"}')
    assert headers.get("x-amzn-ErrorType") == "MissingAuthenticationTokenException"
    key = emulator.stage.api("partner").credentials.api_key.value
    status, _, headers = _get(base + "/appointments?clinic_id=c1", {"x-api-key": key})
    assert status == 200 and headers.get("x-amzn-RequestId")


def test_access_log_reaches_the_log_file(emulator) -> None:
    _get(f"http://127.0.0.1:{emulator.port}/portal/health")
    with open(emulator.log_path, encoding="utf-8") as handle:
        lines = [line for line in handle.read().splitlines() if line.startswith("{")]
    assert any(json.loads(line)["routeKey"] == "GET /health" for line in lines)


def test_fault_reaches_the_subprocess(tmp_path) -> None:
    stage = own_stage(tmp_path)
    with start_emulator(stage, faults=["routing.unknown_route_200"], log_path=str(tmp_path / "l")) as emu:
        status, _, _ = _get(emu.base_url_for("portal") + "/no/such/route")
    assert status == 200


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "fixtures.emulator", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_cli_unknown_fault_lists_known_ones() -> None:
    result = _cli("--stage", "stages/local.toml", "--port", "0", "--fault", "no.such_fault")
    assert result.returncode == 2
    assert "no.such_fault" in result.stderr and "routing.unknown_route_200" in result.stderr


def test_cli_bad_stage_is_one_line_exit_2() -> None:
    result = _cli("--stage", "no-such-stage-anywhere")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1


def test_runner_failure_is_the_emulators_one_line_configuration_error(tmp_path) -> None:
    """An emulator that refuses its configuration (exit 2) is a ConfigError with its one line."""
    with pytest.raises(ConfigError, match=r"unknown fault\(s\) no.such_fault") as info:
        start_emulator(own_stage(tmp_path), faults=["no.such_fault"], log_path=str(tmp_path / "l"))
    assert "\n" not in str(info.value) and "Traceback" not in str(info.value)
