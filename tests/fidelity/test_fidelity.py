"""Emulator fidelity: every response recorded from real AWS (tests/fidelity/cases.json) is replayed
against the emulator, configured like the recording, and must match (method: tests/fidelity/replay.py).

A case marked `deviation` is a known difference this server stack cannot close (README "Assumptions
and limits"): it runs as a strict xfail, so closing it shows up.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest

from fixtures.emulator.serve.runner import RunningEmulator, start_emulator
from tests.fidelity import replay

CASES, CLIENT_DEFAULTS = replay.load_cases()
MIN_CASES = 50  # issue 15: at least 50 recorded cases


def _param(case: replay.Case) -> object:
    if case.deviation:
        return pytest.param(case, id=case.id, marks=pytest.mark.xfail(strict=True, reason=case.deviation))
    return pytest.param(case, id=case.id)


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    with start_emulator(str(replay.STAGE), port=0, fresh_keys=False, access_log=False) as running:
        yield running


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_recorded_response_is_reproduced(emulator: RunningEmulator, case: replay.Case) -> None:
    observed = replay.send(case, emulator.base_url_for(case.api), CLIENT_DEFAULTS)
    found = replay.differences(case, observed)
    source = f"{case.source['file']} {case.source['test']} [{case.source['key']}]"
    assert not found, f"{case.id} ({source}):\n  " + "\n  ".join(found)


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES if c.deviation])
def test_known_deviation_is_only_header_name_case(emulator: RunningEmulator, case: replay.Case) -> None:
    """A known deviation differs in nothing but header-name case (compared case-insensitively, the
    answer matches the recording)."""
    observed = replay.send(case, emulator.base_url_for(case.api), CLIENT_DEFAULTS)
    assert replay.differences(case, observed, strict=False) == []


def test_the_recorded_cases_cover_the_issue() -> None:
    """At least 50 cases, each with its source, over the families the recordings cover."""
    assert len(CASES) >= MIN_CASES
    assert len({c.id for c in CASES}) == len(CASES)
    groups = Counter(c.group for c in CASES)
    families = ("routing", "validation", "api-keys", "lambda-response", "lambda-event", "gateway-responses")
    for group in families:
        assert groups[group] >= 3, group
    for case in CASES:
        assert case.source["file"].startswith("tests/aws/services/apigateway/"), case.id
        assert case.source["key"], case.id
