"""Tokens from the stage's opt-in sources exercise their rule only when only the intended claim differs."""

from __future__ import annotations

import time

import pytest

from conformance.harness.credentials import sourced_defect

NOW = time.time()
READY = {"iss": "https://issuer.example/pool", "aud": "web", "scope": "read", "exp": NOW + 900}


@pytest.mark.parametrize(
    ("variant", "claims", "why"),
    [
        ("wrong_audience", {**READY, "aud": "other-client", "exp": NOW - 10}, "expired"),
        ("wrong_audience", {**READY, "aud": "other-client", "iss": "https://elsewhere"}, "issuer differs"),
        ("wrong_audience", dict(READY), "audience / client_id is the valid token's"),
        ("wrong_issuer", dict(READY), "issuer is the stage's own"),
        ("wrong_issuer", {**READY, "iss": "https://elsewhere", "exp": NOW + 30}, "expired"),
        ("wrong_issuer", {}, "not a JWT"),
    ],
)
def test_an_unfit_sourced_token_is_refused_with_the_reason(variant: str, claims: dict, why: str) -> None:
    assert why in sourced_defect(variant, claims, READY, NOW)


@pytest.mark.parametrize(
    ("variant", "claims"),
    [
        ("wrong_audience", {**READY, "aud": "other-client"}),
        ("wrong_audience", {k: v for k, v in {**READY, "client_id": "other-client"}.items() if k != "aud"}),
        ("wrong_issuer", {**READY, "iss": "https://elsewhere"}),
    ],
)
def test_a_fit_sourced_token_is_used(variant: str, claims: dict) -> None:
    """Positive control: the intended claim differs, the token is fresh."""
    assert sourced_defect(variant, claims, READY, NOW) == ""
