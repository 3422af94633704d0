"""`stagegate discover` against the REST API deployed into LocalStack, then the gate on what it wrote.

The same deployment as test_localstack_gate (deploy.py), discovered with read-only boto3 calls sent
to LocalStack (AWS_ENDPOINT_URL). The only hand edits are the ones discover cannot know: the key
values (exported under the variable names the stage file suggests) and the base URL, given with
--base-url because LocalStack's invoke URL is not the execute-api URL. The conformance part must pass
as it does with the hand-written template (same deviations file beside the stage file); load is
skipped (--no-load) to keep the run bounded.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.localstack.server import LocalStack
from tests.localstack.test_localstack_gate import (
    DEPLOYMENT,
    DEVIATIONS,
    KEY_ENV,
    MUST_PASS,
    ROOT,
    deploy,
    gate_command,
    junit_outcomes,
    known_deviations,
)

pytestmark = pytest.mark.slow

API = "orders"
TIMEOUT_S = 300.0
SAMPLE_BODY = f"""
[apis.{API}.samples.bodies]
"POST /orders" = {{ sku = "SKU-2001", quantity = 2, channel = "web" }}
"""


def stagegate(*args: str) -> list[str]:
    exe = Path(sys.executable).parent / "stagegate"
    return [str(exe), *args] if exe.exists() else [sys.executable, "-m", "reports.cli", *args]


def localstack_env(stack: LocalStack) -> dict[str, str]:
    """boto3 pointed at LocalStack: no profile, test credentials, its endpoint for every service."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTEST_", "GATE_"))}
    env.update(
        AWS_ENDPOINT_URL=stack.endpoint,
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_REGION="us-east-1",
        AWS_DEFAULT_REGION="us-east-1",  # botocore reads this one
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    return env


def test_discovered_stage_file_passes_conformance_as_the_template_does(
    localstack: LocalStack, localstack_python: Path, say: Callable[[str], None]
) -> None:
    key_values = {key: f"sg-{key}-{secrets.token_hex(12)}" for key in KEY_ENV}
    deployed = deploy(localstack_python, localstack, {KEY_ENV[k]: v for k, v in key_values.items()})
    api_id = str(deployed["api_id"])
    stage = str(DEPLOYMENT["stage"])
    base_url = f"{localstack.endpoint}/restapis/{api_id}/{stage}/_user_request_"
    with tempfile.TemporaryDirectory(prefix="stagegate-localstack-discover-") as tmp:
        folder = Path(tmp)
        name = "localstack-discovered"
        stage_file = folder / f"{name}.toml"
        env = localstack_env(localstack)
        found = subprocess.run(
            stagegate(
                "discover",
                "--rest-api",
                api_id,
                "--stage",
                stage,
                "--name",
                API,
                "--base-url",
                base_url,
                "--out",
                str(stage_file),
            ),  # fmt: skip
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
        )
        output = found.stdout + found.stderr
        say(f"tests/localstack: discover exit {found.returncode}: {output.strip()[-600:]}")
        assert found.returncode == 0, f"discover failed:\n{output[-3000:]}"
        text = stage_file.read_text()
        assert not any(value in text for value in key_values.values()), "a key value reached the stage file"
        written = tomllib.loads(text)
        api = written["apis"][API]
        assert api["base_url"] == base_url and "drift_check" not in written
        assert {k: api["throttle"][k] for k in ("rate", "burst")} == DEPLOYMENT["stage_throttle"]
        plans = api.get("usage_plans", {})
        suffix = f"-{api_id}"  # deploy.py names plans and keys NAME-<api id> (names are per account)
        assert sorted(plans) == sorted(p["name"] + suffix for p in DEPLOYMENT["plans"]), output
        # The one hand edit besides the base URL: the secrets, under the names the file suggests.
        secrets_env: dict[str, str] = {}
        for plan in plans.values():
            for key in plan.get("keys", []):
                secrets_env[key["value_env"]] = key_values[key["name"].removesuffix(suffix)]
        credentials = api.get("credentials", {})
        if "api_key_env" in credentials:
            secrets_env[credentials["api_key_env"]] = key_values["quota-a"]
        # And the sample body: API Gateway keeps the request model, not the contract's example, so
        # no export carries one (README "Discover and drift": samples cannot be discovered).
        stage_file.write_text(text + SAMPLE_BODY)
        shutil.copyfile(DEVIATIONS, folder / f"{name}.deviations.toml")
        out = folder / "out"
        done = subprocess.run(
            [*gate_command(stage_file, out), "--no-load"],
            cwd=ROOT,
            env={**env, **secrets_env},
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
        )
        gate_output = done.stdout + done.stderr
        junit = out / name / "junit.xml"
        assert junit.is_file(), (
            f"the gate wrote no junit.xml (exit {done.returncode}):\n{gate_output[-3000:]}"
        )
        # Test ids name the keys as AWS does (deploy.py's NAME-<api id>); the template's say NAME.
        outcomes = {t.replace(suffix + "]", "]"): o for t, o in junit_outcomes(junit).items()}
    deviations = known_deviations()
    wrong = [
        f"{test_id}: {outcome}, expected {'xfailed' if test_id in deviations else 'passed'} {message!r}"
        for test_id, (outcome, message) in sorted(outcomes.items())
        if outcome != ("xfailed" if test_id in deviations else "passed")
    ]
    missing = [t for t in (*MUST_PASS, *deviations) if t not in outcomes]
    assert not wrong and not missing, (
        "conformance on the discovered stage file differs from the hand-written template's\n"
        + "\n".join(wrong + [f"{t}: did not run" for t in missing])
    )
