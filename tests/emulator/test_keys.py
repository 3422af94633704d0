"""REST API key resolution (docs/aws-behaviour.md s4; DOCS api-gateway-api-usage-plans)."""

from __future__ import annotations

import pytest

from fixtures.behaviour import Kind
from fixtures.emulator.policy.keys import KeyRegistry, PlanKey, resolve_key
from fixtures.emulator.wire import Rejection
from fixtures.stage import ApiKey, Limit, Secret, UsagePlan

GOOD, OTHER, DISABLED, LOOSE = "key-good-0001", "key-other-0002", "key-disabled-0003", "key-loose-0004"


def _key(name: str, value: str, enabled: bool = True) -> ApiKey:
    return ApiKey(name, Secret(value, "literal"), enabled=enabled)


PLAN = UsagePlan("plan", Limit(10, 5), 100, "DAY", 0, (_key("good", GOOD), _key("disabled", DISABLED, False)))
PLAN_B = UsagePlan("plan-b", None, None, None, 0, (_key("other", OTHER),))


def _registry(faults: frozenset[str] = frozenset()) -> KeyRegistry:
    return KeyRegistry([PLAN, PLAN_B], other_keys=[_key("loose", LOOSE)], faults=faults)


def _kind(registry: KeyRegistry, value: str | None) -> Kind:
    with pytest.raises(Rejection) as caught:
        registry.resolve(value, required=True)
    assert not value or value not in caught.value.detail  # the secret never reaches the detail
    return caught.value.kind


def test_valid_key_resolves_to_its_plan() -> None:
    assert _registry().resolve(GOOD, required=True) == PlanKey("good", PLAN)
    assert _registry().resolve(OTHER, required=True) == PlanKey("other", PLAN_B)
    assert PlanKey("good", PLAN).throttle_key == "good"


@pytest.mark.parametrize("value", [None, "", "key-good-000", "key-good-00011", "KEY-GOOD-0001"])
def test_missing_or_unknown_key_is_invalid_api_key(value: str | None) -> None:
    assert _registry().resolve(GOOD, required=True) is not None  # control
    assert _kind(_registry(), value) is Kind.INVALID_API_KEY


def test_disabled_key_is_invalid() -> None:
    assert _kind(_registry(), DISABLED) is Kind.INVALID_API_KEY


def test_key_in_no_plan_of_this_stage_is_invalid() -> None:
    assert _kind(_registry(), LOOSE) is Kind.INVALID_API_KEY


def test_method_without_key_requirement_ignores_keys() -> None:
    assert _registry().resolve(None, required=False) is None
    assert _registry().resolve("whatever", required=False) is None


def test_fault_accept_any_key() -> None:
    faulty = _registry(frozenset({"keys.accept_any_key"}))
    assert faulty.resolve("made-up", required=True) == PlanKey("<unknown key>", None)
    assert faulty.resolve(GOOD, required=True) == PlanKey("good", PLAN)
    assert _kind(faulty, None) is Kind.INVALID_API_KEY  # an absent key is still refused


def test_fault_not_required() -> None:
    faulty = _registry(frozenset({"keys.not_required"}))
    assert faulty.resolve(None, required=True) is None
    assert faulty.resolve("made-up", required=True) is None


def test_fault_accept_disabled_key() -> None:
    faulty = _registry(frozenset({"keys.accept_disabled_key"}))
    assert faulty.resolve(DISABLED, required=True) == PlanKey("disabled", PLAN)
    assert _kind(faulty, "made-up") is Kind.INVALID_API_KEY


def test_resolve_key_adapter_applies_the_same_rules() -> None:
    by_value = {
        GOOD: ("good", True, PLAN),
        DISABLED: ("disabled", False, PLAN),
        OTHER: ("other", True, PLAN_B),
    }
    assert resolve_key(by_value, GOOD) == ("good", PLAN)
    assert resolve_key(by_value, OTHER) == ("other", PLAN_B)
    for value in (None, "", "made-up", DISABLED):
        with pytest.raises(Rejection) as caught:
            resolve_key(by_value, value)
        assert caught.value.kind is Kind.INVALID_API_KEY
    assert resolve_key(by_value, DISABLED, frozenset({"keys.accept_disabled_key"})) == ("disabled", PLAN)
    assert resolve_key(by_value, None, frozenset({"keys.not_required"})) == (None, None)
    assert resolve_key(by_value, "made-up", frozenset({"keys.accept_any_key"})) == ("<unknown key>", None)
