"""The embedded stage and its contracts, shared by the load planner's tests."""

from __future__ import annotations

import pytest

from fixtures.contract import Contract
from fixtures.stage import StageConfig, contract_of, load_stage


@pytest.fixture(scope="module")
def stage() -> StageConfig:
    return load_stage("local").with_port(8999)


@pytest.fixture(scope="module")
def contracts(stage: StageConfig) -> dict[str, Contract]:
    return {api.name: contract_of(api) for api in stage.apis}
