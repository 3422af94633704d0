"""Bad input to discover and drift: one line naming what was asked and what to do, and exit 2."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from discover.aws import Clients
from discover.cli import add_discover_arguments, discover_main
from reports.cli import main
from tests.discover.clinic_aws import build_partner


def one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def test_unknown_rest_api_id(clients: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["discover", "--rest-api", "nope123", "--stage", "v1", "--out", str(tmp_path / "s.toml")]) == 2
    )
    assert one_line(capsys) == (
        "stagegate discover: get-rest-api nope123: no REST API nope123 in us-east-1; check the id "
        "(`aws apigateway get-rest-apis`) and the region (--region)"
    )


def test_unknown_http_api_id(clients: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["discover", "--http-api", "nope123", "--out", str(tmp_path / "s.toml")]) == 2
    err = one_line(capsys)
    assert err.startswith(
        "stagegate discover: get-api nope123: no HTTP API nope123 in us-east-1; check the id"
    )


def test_a_stage_that_does_not_exist(
    clients: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    partner = build_partner(clients.rest)
    assert main(["discover", "--rest-api", partner, "--stage", "v9", "--out", str(tmp_path / "s.toml")]) == 2
    assert one_line(capsys) == (
        f"stagegate discover: get-stage v9 of REST API {partner}: REST API {partner} in us-east-1 has no "
        f"stage 'v9'; check the name (`aws apigateway get-stages --rest-api-id {partner}`)"
    )
    assert not (tmp_path / "s.toml").exists()


def test_no_credentials(
    aws_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing in the credential chain (no moto here: botocore stops before sending anything)."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                 "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    assert main(["discover", "--rest-api", "abc123", "--stage", "v1", "--out", str(tmp_path / "s.toml")]) == 2
    assert one_line(capsys) == (
        "stagegate discover: get-rest-api abc123: no AWS credentials found; set AWS_PROFILE (or "
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or run `aws sso login`"
    )
    assert main(["drift", "--stage", "staging.example"]) == 2
    assert one_line(capsys).startswith("stagegate drift: get-api a1b2c3d4e5: no AWS credentials found; set")


def test_access_denied(aws_env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import boto3
    from botocore.stub import Stubber

    rest = boto3.client("apigateway", region_name="us-east-1")
    stub = Stubber(rest)
    denied = "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: apigateway:GET"
    stub.add_client_error(
        "get_rest_api",
        service_error_code="AccessDeniedException",
        service_message=denied,
        http_status_code=403,
    )
    stub.activate()
    parser = argparse.ArgumentParser()
    add_discover_arguments(parser)
    args = parser.parse_args(["--rest-api", "abc123", "--stage", "v1", "--out", str(tmp_path / "s.toml")])
    assert discover_main(args, clients_for=lambda region: Clients(rest, None, "us-east-1")) == 2
    assert one_line(capsys) == (
        "stagegate discover: get-rest-api abc123: access denied (AccessDeniedException); grant the read-only "
        "actions listed in README 'Discover and drift' (apigateway:GET)"
    )


def test_drift_on_an_api_that_is_not_deployed(clients: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """The example's placeholder ids do not exist in this account."""
    assert main(["drift", "--stage", "staging.example"]) == 2
    assert one_line(capsys).startswith(
        "stagegate drift: get-api a1b2c3d4e5: no HTTP API a1b2c3d4e5 in us-east-1; check the id"
    )


def test_drift_needs_an_execute_api_url(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["drift", "--stage", "local"]) == 2
    assert "the embedded stage has no AWS deployment" in one_line(capsys)
    assert main(["drift", "--stage", "nope"]) == 2
    assert "no stage named 'nope'" in one_line(capsys)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["--out", "x.toml"],
            "say where to discover from: --http-api ID / --rest-api ID (AWS) or --terraform DIR",
        ),
        (["--rest-api", "a", "--terraform", "d", "--out", "x.toml"], "say where to discover from"),
        (["--rest-api", "a", "--out", "x.txt"], "--out x.txt: a stage file is NAME.toml"),
        (
            ["--rest-api", "a", "--var", "env=dev", "--out", "x.toml"],
            "--var and --var-file belong to --terraform",
        ),
    ],
)
def test_bad_arguments(argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["discover", *argv]) == 2
    assert expected in one_line(capsys)


def test_a_rest_api_needs_its_stage(clients: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["discover", "--rest-api", "abc", "--out", str(tmp_path / "s.toml")]) == 2
    assert one_line(capsys) == "stagegate discover: --rest-api abc: give its stage with --stage NAME after it"


def test_an_unknown_test_key(clients: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    partner = build_partner(clients.rest)
    argv = ["discover", "--rest-api", partner, "--stage", "v1", "--test-key", "nobody"]
    assert main([*argv, "--out", str(tmp_path / "s.toml")]) == 2
    assert one_line(capsys).startswith(
        "stagegate discover: --test-key nobody: no such key in the discovered usage plans "
        "(keys: disabled-key,"
    )


def test_a_hand_written_stage_file_is_not_replaced(
    clients: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "staging.toml"
    out.write_text('name = "staging"\n')
    partner = build_partner(clients.rest)
    assert main(["discover", "--rest-api", partner, "--stage", "v1", "--out", str(out)]) == 2
    assert "was not written by stagegate discover; choose another --out, or pass --force" in one_line(capsys)
    assert out.read_text() == 'name = "staging"\n'
    assert main(["discover", "--rest-api", partner, "--stage", "v1", "--out", str(out), "--force"]) == 0
