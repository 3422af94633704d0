"""The fault table seen from the cores: each pure core's faults are listed, and `--fault` is checked.

The table's own checks (every fault names a rule that exists, every name the code tests is listed)
are in tests/test_detection.py.
"""

from __future__ import annotations

import inspect
from types import ModuleType

import pytest

from fixtures.emulator.gateway.faults import check_faults, known_faults
from fixtures.emulator.policy import cors, jwt_auth, keys, throttle, validation

# The faults each core commits (its unit tests exercise each one).
CORE_FAULTS: dict[ModuleType, set[str]] = {
    cors: {
        "cors.reflect_any_origin",
        "cors.trust_null_origin",
        "cors.suffix_match_origin",
        "cors.prefix_match_origin",
        "cors.accept_http_origin",
        "cors.wildcard_with_credentials",
    },
    jwt_auth: {
        "auth.accept_alg_none",
        "auth.skip_signature",
        "auth.accept_expired",
        "auth.ignore_nbf",
        "auth.ignore_issuer",
        "auth.ignore_audience",
        "auth.ignore_scopes",
        "auth.accept_hs256_confusion",
    },
    keys: {"keys.accept_any_key", "keys.not_required", "keys.accept_disabled_key"},
    throttle: {
        "throttle.off",
        "throttle.burst_doubled",
        "throttle.rate_halved",
        "throttle.route_override_ignored",
        "throttle.route_limit_whole_stage",
        "throttle.shared_plan_buckets",
        "throttle.quota_off",
        "throttle.quota_off_by_one",
        "throttle.quota_as_throttled",
        "throttle.bucket_starts_empty",
    },
    validation: {
        "validation.validator_off",
        "validation.ignore_required",
        "validation.ignore_types",
        "validation.ignore_required_params",
        "validation.no_content_type_bypass",
    },
}


@pytest.mark.parametrize(("core", "faults"), CORE_FAULTS.items(), ids=[core.__name__ for core in CORE_FAULTS])
def test_the_table_describes_exactly_the_faults_the_core_tests(core: ModuleType, faults: set[str]) -> None:
    source = inspect.getsource(core)
    table = known_faults()
    assert {name for name in table if f'"{name}"' in source} == faults
    assert all(table[name].does for name in faults)


def test_known_faults_pass_and_an_unknown_one_is_refused_with_the_known_names() -> None:
    assert check_faults(["cors.reflect_any_origin", "throttle.off"]) == {
        "cors.reflect_any_origin",
        "throttle.off",
    }
    assert check_faults([]) == frozenset()
    with pytest.raises(ValueError, match=r"^unknown fault\(s\) no.such, zz.z; known faults: auth\.") as info:
        check_faults(["cors.reflect_any_origin", "zz.z", "no.such"])
    assert "handler.notify_not_enforced" in str(info.value) and "throttle.quota_off" in str(info.value)
