"""The load part's --emulator-fault: checked against the fault table before the emulator starts."""

from __future__ import annotations

from argparse import Namespace
from pathlib import Path

import pytest

import fixtures.emulator.serve.runner as runner
from fixtures.errors import ConfigError
from load.session import Session


class Started(Exception):
    """The emulator would have started: every requested fault passed the check."""


def options(tmp_path: Path, *faults: str) -> Namespace:
    return Namespace(
        bench_rps=0.0,
        stage="local",
        out_dir=str(tmp_path),
        csv_prefix=None,
        html_file=None,
        emulator_fault=list(faults),
    )


@pytest.fixture(autouse=True)
def no_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    def start(*args: object, **kwargs: object) -> None:
        raise Started(kwargs.get("faults"))

    monkeypatch.setattr(runner, "start_emulator", start)


def test_an_unknown_emulator_fault_is_a_configuration_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown emulator fault") as info:
        Session.open(options(tmp_path, "throttle.off", "no.such_fault"), None)
    assert "no.such_fault" in str(info.value) and "throttle.off" not in str(info.value)


def test_control_known_emulator_faults_reach_the_emulator(tmp_path: Path) -> None:
    with pytest.raises(Started) as info:
        Session.open(options(tmp_path, "throttle.off"), None)
    assert info.value.args == (("throttle.off",),)
