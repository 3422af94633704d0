"""Deviations and waivers: beside a stage file given by path, else conformance/expectations/."""

from __future__ import annotations

import dataclasses
import pathlib

import pytest

from fixtures.errors import ConfigError
from fixtures.stage import StageConfig, load_stage
from fixtures.stage.deviations import Deviations, deviations_path, load_deviations

REPO = pathlib.Path(__file__).resolve().parent.parent


@pytest.fixture
def stage(tmp_path: pathlib.Path) -> StageConfig:
    local = load_stage("local", root=str(REPO))
    return dataclasses.replace(local, name="elsewhere", path=str(tmp_path / "elsewhere.toml"))


def test_the_file_beside_the_stage_file_is_read(tmp_path: pathlib.Path, stage: StageConfig) -> None:
    assert load_deviations(stage, str(tmp_path)) == Deviations(None)
    beside = tmp_path / "elsewhere.deviations.toml"
    beside.write_text(
        '[deviations]\n"test_x[portal GET /a]" = "AWS differs"\n'
        '[waivers]\n"test_y[portal]" = "no test issuer"\n"partner.quota" = "real keys only"\n'
    )
    found = load_deviations(stage, str(tmp_path))
    assert found.path == str(beside)
    assert found.deviations == {"test_x[portal GET /a]": "AWS differs"}
    assert found.waivers == {"test_y[portal]": "no test issuer", "partner.quota": "real keys only"}


def test_the_embedded_stage_keeps_its_file_under_conformance_expectations() -> None:
    local = load_stage("local", root=str(REPO))
    assert deviations_path(local, str(REPO)) == str(REPO / "conformance" / "expectations" / "local.toml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[deviations]\n"test_x[a]" = ""\n', 'deviations."test_x[a]": the reason must be a non-empty string'),
        ('[waivers]\n"test_x" = 3\n', 'waivers."test_x": the reason must be a non-empty string'),
        ("[deviation]\n", "deviation: unknown key (expected [deviations] and [waivers])"),
        ("waivers = 1\n", "waivers: expected a table"),
        ("[waivers\n", "not valid TOML"),
    ],
)
def test_a_malformed_file_is_one_line_naming_file_and_key(
    tmp_path: pathlib.Path, stage: StageConfig, text: str, message: str
) -> None:
    (tmp_path / "elsewhere.deviations.toml").write_text(text)
    with pytest.raises(ConfigError) as raised:
        load_deviations(stage, str(tmp_path))
    assert message in str(raised.value) and "elsewhere.deviations.toml" in str(raised.value)
