"""The gate's verdict on a stage we did not configure for it: a remote copy of the embedded stage.

Its portal API has only a bearer token (no test signing key), as a Cognito stage has: the token
rules that need a signing key are not exercised, so the gate may not pass until each is exercised
(by the opt-in sources: a kept expired token, a wrong-audience client, a wrong-issuer client) or
waived by a person in the stage's deviations file.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.harness import token_store
from fixtures.tokens import TokenFactory
from tests.conformance_runs import ROOT, local_stage_copy, remote_stage_text

pytestmark = pytest.mark.slow

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_ClinicPool"
SCOPES = ("appointments/read", "appointments/write")
GATE_TIMEOUT_S = 300
# Portal token rules a bearer token alone cannot exercise (each needs a validly signed defective token).
NEEDS_ISSUER_KEY = {
    "test_protected_route_rejects_expired_token",
    "test_protected_route_rejects_not_yet_valid_token",
    "test_protected_route_rejects_wrong_issuer_token",
    "test_protected_route_rejects_wrong_audience_token",
    "test_protected_route_rejects_hs256_confusion_token",
    "test_protected_route_rejects_token_without_scope",
    "test_protected_route_accepts_cognito_access_token",
}
# HTTP API CORS headers on the gateway's own answers: no AWS source says what they are, so a real
# stage's portal cannot be held to them (not exercised, waivable), only the embedded one.
CORS_ASSUMED = {
    "test_gateway_error_carries_cors_headers",
    "test_denied_identity_answer_carries_cors_headers",
    "test_missing_credentials_answer_carries_cors_headers",
    "test_integration_failure_answer_carries_cors_headers",
}
SOURCED = {
    "test_protected_route_rejects_expired_token",
    "test_protected_route_rejects_wrong_issuer_token",
    "test_protected_route_rejects_wrong_audience_token",
}


def _start(embedded: Path, faults: tuple[str, ...] = ()) -> object:
    from fixtures.emulator.serve.runner import start_emulator

    return start_emulator(str(embedded), port=0, fresh_keys=True, faults=faults)


def _bearer_only(
    tmp: Path, port: int, env: dict[str, str], embedded: Path, extra: str = ""
) -> tuple[Path, TokenFactory]:
    """The remote copy with the portal's signing key replaced by a bearer token (and no load)."""
    text = remote_stage_text(embedded, port, env)
    key_file = re.search(r'signing_key_file = "([^"]+portal[^"]+)"', text)
    assert key_file is not None
    factory = TokenFactory(key_file.group(1), "stagegate-local-portal", ISSUER, "clinic-portal-web")
    env["SG_PORTAL_BEARER"] = factory.valid(SCOPES)
    text = re.sub(
        r'signing_key_file = "[^"]+portal[^"]+"[^\n]*\nkid = "[^"]+"',
        'bearer_token_env = "SG_PORTAL_BEARER"' + extra,
        text,
    ).replace("load_allowed = true", "load_allowed = false")
    text = 'gate_scope = "conformance"  # no load here: its limits are not part of this promotion\n' + text
    path = tmp / "bearer-only.toml"
    path.write_text(text)
    return path, factory


def _gate(stage: Path, env: dict[str, str], out: Path) -> tuple[int, dict, str]:
    run = subprocess.run(
        [sys.executable, "-m", "reports.cli", "gate", "--stage", str(stage), "--no-html", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=GATE_TIMEOUT_S, env={**os.environ, **env},
    )  # fmt: skip
    gate = json.loads((out / "remote-test" / "gate.json").read_text())
    return run.returncode, gate, run.stdout + run.stderr


def _not_exercised(gate: dict) -> set[str]:
    return {
        c["rule"] for c in gate["coverage"]["cells"] if c["state"] == "not_exercised" and c["api"] == "portal"
    }


@pytest.fixture(scope="module")
def tmp() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="stagegate-soundness-") as name:
        yield Path(name)


@pytest.fixture(scope="module")
def clean_stage(tmp: Path) -> Iterator[tuple[Path, int]]:
    embedded = local_stage_copy(tmp)
    with _start(embedded) as running:  # type: ignore[attr-defined]
        yield embedded, running.port


def test_bearer_only_is_inconclusive_naming_the_rules_then_passes_once_waived(
    tmp: Path, clean_stage: tuple[Path, int]
) -> None:
    embedded, port = clean_stage
    env: dict[str, str] = {}
    stage, _ = _bearer_only(tmp, port, env, embedded)
    code, gate, output = _gate(stage, env, tmp / "out")
    assert code == 3, output[-3000:]
    assert _not_exercised(gate) == NEEDS_ISSUER_KEY | CORS_ASSUMED
    blocking = [r["message"] for r in gate["reasons"] if r["rule"] == "coverage.not_exercised"]
    assert any("test_protected_route_rejects_expired_token[portal] not exercised" in m for m in blocking)
    assert env["SG_PORTAL_BEARER"] not in output + json.dumps(gate)

    waivers = "".join(
        f'"{rule}[portal]" = "no test issuer, or checked by hand"\n'
        for rule in sorted(NEEDS_ISSUER_KEY | CORS_ASSUMED)
    )
    stage.with_name("bearer-only.deviations.toml").write_text("[waivers]\n" + waivers)
    code, gate, output = _gate(stage, env, tmp / "out")
    assert code == 0, output[-3000:]
    assert gate["verdict"] == "pass" and not _not_exercised(gate)
    waived = {c["rule"] for c in gate["coverage"]["cells"] if c["state"] == "waived" and c["api"] == "portal"}
    assert waived == NEEDS_ISSUER_KEY | CORS_ASSUMED
    stage.with_name("bearer-only.deviations.toml").unlink()


def _sourced_stage(tmp: Path, port: int, embedded: Path, env: dict[str, str]) -> Path:
    """Bearer token plus the three opt-in sources, each a real token of the stage's own issuer."""
    store = tmp / "token-store" / "portal.json"
    extra = (
        f'\nexpired_token_store = "{store}"'
        '\nwrong_audience = { token_env = "SG_WRONG_AUDIENCE" }'
        '\nwrong_issuer = { token_env = "SG_WRONG_ISSUER" }'
    )
    stage, factory = _bearer_only(tmp, port, env, embedded, extra)
    # A client of the same pool outside the audience, and one of another pool; both really signed.
    env["SG_WRONG_AUDIENCE"] = factory.wrong_audience(SCOPES)
    env["SG_WRONG_ISSUER"] = factory.wrong_issuer(SCOPES)
    old = TokenFactory(
        factory.key_file, factory.kid, ISSUER, "clinic-portal-web", clock=lambda: time.time() - 3600
    )
    token_store.remember(str(store), old.valid(SCOPES), time.time())  # kept by "an earlier run"
    return stage


def test_the_opt_in_token_sources_exercise_their_rules(tmp: Path, clean_stage: tuple[Path, int]) -> None:
    embedded, port = clean_stage
    env: dict[str, str] = {}
    stage = _sourced_stage(tmp, port, embedded, env)
    code, gate, output = _gate(stage, env, tmp / "out-sourced")
    assert _not_exercised(gate) == (NEEDS_ISSUER_KEY - SOURCED) | CORS_ASSUMED, output[-3000:]
    passed = {c["rule"] for c in gate["coverage"]["cells"] if c["state"] == "passed" and c["api"] == "portal"}
    assert passed >= SOURCED
    assert code == 3
    store = tmp / "token-store" / "portal.json"
    assert (
        oct(store.stat().st_mode & 0o777) == "0o600" and oct(store.parent.stat().st_mode & 0o777) == "0o700"
    )
    assert env["SG_PORTAL_BEARER"] in store.read_text()  # this run's token waits for a later run
    for value in env.values():
        assert value not in output + json.dumps(gate)


@pytest.mark.parametrize(
    ("fault", "rule"),
    [
        ("auth.accept_expired", "test_protected_route_rejects_expired_token"),
        ("auth.ignore_audience", "test_protected_route_rejects_wrong_audience_token"),
        ("auth.ignore_issuer", "test_protected_route_rejects_wrong_issuer_token"),
    ],
)
def test_a_stage_that_ignores_the_defect_fails_through_the_sourced_token(
    tmp: Path, fault: str, rule: str
) -> None:
    """The observed pass: a stage accepting expired tokens passed when no signing key was given."""
    folder = tmp / fault
    folder.mkdir()
    embedded = local_stage_copy(folder)
    with _start(embedded, (fault,)) as running:  # type: ignore[attr-defined]
        env: dict[str, str] = {}
        stage = _sourced_stage(folder, running.port, embedded, env)
        code, gate, output = _gate(stage, env, folder / "out")
    assert code == 1, output[-3000:]
    failed = {c["rule"] for c in gate["coverage"]["cells"] if c["state"] == "failed"}
    assert rule in failed
