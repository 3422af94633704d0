"""The token factory: each variant fails exactly the one authorizer check it is named after."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import pathlib
import stat
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from fixtures.tokens import (
    VALID_VARIANTS,
    VARIANTS,
    TokenFactory,
    bearer,
    ensure_signing_key,
    jwks,
    load_private_key,
    public_jwk,
)

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_ClinicPool"
AUDIENCE = ("clinic-portal-web", "clinic-portal-mobile")
ROUTE_SCOPES = ("appointments/read",)
KID = "test-kid"
CHECKS = ("format", "signature", "iss", "aud", "exp", "nbf", "iat", "scope")
EXPECTED = {
    "valid": set(),
    "cognito_access_token": set(),
    "expired": {"exp"},
    "not_yet_valid": {"nbf"},
    "wrong_issuer": {"iss"},
    "wrong_audience": {"aud"},
    "missing_scope": {"scope"},
    "foreign_key_same_kid": {"signature"},
    "alg_none": {"signature"},
    "hs256_key_confusion": {"signature"},
    "tampered_payload": {"signature"},
    "malformed": {"format"},
}


@pytest.fixture(scope="module")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("issuer") / "sub" / "key.pem")
    ensure_signing_key(path)
    return path


@pytest.fixture(scope="module")
def factory(key_file: str) -> TokenFactory:
    return TokenFactory(key_file, KID, ISSUER, AUDIENCE)


def _options(**flags: bool) -> Any:
    """PyJWT's options TypedDict, built from keyword flags."""
    return flags


def _unverified(token: str, **flags: bool) -> dict[str, Any]:
    return jwt.decode(token, options=_options(verify_signature=False, **flags), algorithms=["RS256"])


def _failed_checks(token: str, key: rsa.RSAPrivateKey, route_scopes: tuple[str, ...]) -> set[str]:
    """Each JWT authorizer check run on its own with PyJWT; the names of those that fail."""
    try:
        jwt.get_unverified_header(token)
        claims = _unverified(token)
    except jwt.DecodeError:
        return {"format"}
    checks: dict[str, Callable[[], object]] = {
        "signature": lambda: jwt.decode(
            token,
            key.public_key(),
            algorithms=["RS256"],
            options=_options(verify_exp=False, verify_nbf=False, verify_iat=False, verify_aud=False),
        ),
        "iss": lambda: jwt.decode(
            token, options=_options(verify_signature=False, verify_iss=True), issuer=ISSUER
        ),
        "exp": lambda: _unverified(token, verify_exp=True),
        "nbf": lambda: _unverified(token, verify_nbf=True),
        "iat": lambda: _unverified(token, verify_iat=True),
    }
    failed = set()
    for name, check in checks.items():
        try:
            check()
        except jwt.InvalidTokenError:
            failed.add(name)
    # API Gateway: aud must match an audience; client_id is checked only when aud is absent.
    if "aud" in claims:
        try:
            jwt.decode(
                token, options={"verify_signature": False, "verify_aud": True}, audience=list(AUDIENCE)
            )
        except jwt.InvalidAudienceError:
            failed.add("aud")
    elif claims.get("client_id") not in AUDIENCE:
        failed.add("aud")
    if not set(str(claims.get("scope", "")).split()) & set(route_scopes):
        failed.add("scope")
    return failed


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_variant_fails_exactly_its_one_check(name: str, factory: TokenFactory, key_file: str) -> None:
    token = factory.make(name, ROUTE_SCOPES)
    assert _failed_checks(token, load_private_key(key_file), ROUTE_SCOPES) == EXPECTED[name]


def test_variant_tables_cover_every_method_and_nothing_else() -> None:
    assert set(VARIANTS) | set(VALID_VARIANTS) == set(EXPECTED)
    assert not set(VARIANTS) & set(VALID_VARIANTS)
    assert all(isinstance(d, str) and d for d in {**VARIANTS, **VALID_VARIANTS}.values())


def test_valid_token_passes_full_pyjwt_verification(factory: TokenFactory, key_file: str) -> None:
    claims = jwt.decode(
        factory.valid(ROUTE_SCOPES),
        load_private_key(key_file).public_key(),
        algorithms=["RS256"],
        audience=list(AUDIENCE),
        issuer=ISSUER,
        options={"require": ["exp", "nbf", "iat", "iss", "aud", "sub"]},
    )
    assert claims["scope"] == "appointments/read"
    assert claims["token_use"] == "id"
    assert claims["cognito:groups"] == ["stagegate-testers"]
    assert jwt.get_unverified_header(factory.valid())["kid"] == KID


def test_valid_token_scope_is_space_separated(factory: TokenFactory) -> None:
    claims = _unverified(factory.valid(["a/read", "b/write"]))
    assert claims["scope"] == "a/read b/write"
    assert "scope" not in _unverified(factory.valid())


def test_cognito_access_token_has_client_id_and_no_aud(factory: TokenFactory, key_file: str) -> None:
    token = factory.cognito_access_token(ROUTE_SCOPES)
    claims = jwt.decode(token, load_private_key(key_file).public_key(), algorithms=["RS256"], issuer=ISSUER)
    assert "aud" not in claims
    assert claims["client_id"] == AUDIENCE[0]
    assert claims["token_use"] == "access"


def test_pyjwt_rejects_the_forged_algorithms_when_algorithms_are_pinned(
    factory: TokenFactory, key_file: str
) -> None:
    public = load_private_key(key_file).public_key()
    for forged in (factory.alg_none(), factory.hs256_key_confusion()):
        with pytest.raises(jwt.InvalidAlgorithmError):
            jwt.decode(forged, public, algorithms=["RS256"], audience=list(AUDIENCE))


def test_alg_none_has_empty_signature(factory: TokenFactory) -> None:
    token = factory.alg_none(ROUTE_SCOPES)
    assert token.endswith(".") and token.count(".") == 2
    assert jwt.get_unverified_header(token)["alg"] == "none"


def test_hs256_forgery_verifies_with_the_public_pem_as_hmac_secret(factory: TokenFactory) -> None:
    """The forgery is real: a verifier that trusts the header alg and uses the PEM would accept it."""
    token = factory.hs256_key_confusion()
    signing_input, _, signature = token.rpartition(".")
    expected = hmac.new(factory.public_pem(), signing_input.encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)) == expected
    other = hmac.new(b"another key", signing_input.encode(), hashlib.sha256).digest()
    assert other != expected  # control: the signature depends on the PEM


def test_tampered_payload_keeps_original_signature_of_a_valid_token(factory: TokenFactory) -> None:
    token = factory.tampered_payload()
    assert _unverified(token)["sub"] == "stagegate-admin"
    header, _, signature = token.split(".")
    assert jwt.get_unverified_header(token)["alg"] == "RS256" and len(signature) > 300


def test_foreign_key_token_reuses_the_trusted_kid(factory: TokenFactory) -> None:
    assert jwt.get_unverified_header(factory.foreign_key_same_kid())["kid"] == KID


def test_clock_is_injected(key_file: str) -> None:
    fixed = TokenFactory(key_file, KID, ISSUER, AUDIENCE, clock=lambda: 1_000_000.0, lifetime_s=60)
    claims = _unverified(fixed.valid())
    assert (claims["iat"], claims["nbf"], claims["exp"]) == (1_000_000, 1_000_000, 1_000_060)
    assert _unverified(fixed.expired())["exp"] < 1_000_000
    assert _unverified(fixed.not_yet_valid())["nbf"] > 1_000_000


def test_missing_scope_needs_route_scopes(factory: TokenFactory) -> None:
    with pytest.raises(ValueError, match="scopes"):
        factory.missing_scope(())
    assert _unverified(factory.missing_scope(["stagegate/unrelated-scope"]))["scope"] != (
        "stagegate/unrelated-scope"
    )


def test_make_rejects_unknown_variant(factory: TokenFactory) -> None:
    with pytest.raises(KeyError):
        factory.make("nope")
    assert factory.make("valid").count(".") == 2  # control


def test_wrong_audience_never_collides_with_a_configured_audience(key_file: str) -> None:
    odd = TokenFactory(key_file, KID, ISSUER, ("stagegate-wrong-audience", "x"))
    assert _unverified(odd.wrong_audience())["aud"] not in ("stagegate-wrong-audience", "x")


def test_signing_key_file_is_private_and_kept_unless_regenerated(tmp_path: pathlib.Path) -> None:
    file = tmp_path / "a" / "b" / "key.pem"
    ensure_signing_key(str(file))
    assert stat.S_IMODE(os.stat(file).st_mode) == 0o600
    first = file.read_bytes()
    ensure_signing_key(str(file))
    assert file.read_bytes() == first
    ensure_signing_key(str(file), regenerate=True)
    assert file.read_bytes() != first
    assert stat.S_IMODE(os.stat(file).st_mode) == 0o600
    assert [p.name for p in file.parent.iterdir()] == ["key.pem"]  # no temp files left


def test_public_jwk_matches_the_key(key_file: str) -> None:
    jwk = public_jwk(key_file, KID)
    assert {k: jwk[k] for k in ("kty", "kid", "use", "alg")} == {
        "kty": "RSA",
        "kid": KID,
        "use": "sig",
        "alg": "RS256",
    }
    from_jwk = jwt.PyJWK(jwk).key
    assert from_jwk.public_numbers() == load_private_key(key_file).public_key().public_numbers()
    assert "=" not in jwk["n"] and jwk["e"] == "AQAB"
    assert jwks(key_file, KID) == {"keys": [jwk]}
    assert "d" not in jwk  # never the private exponent
    json.dumps(jwks(key_file, KID))  # serialisable for the issuer endpoint


def test_bearer_prefix() -> None:
    assert bearer("abc") == "Bearer abc"


def test_factory_for_takes_issuer_and_audience_from_the_authorizer(tmp_path: Any) -> None:
    from fixtures.contract import CognitoAuthorizer, JwtAuthorizer
    from fixtures.tokens import COGNITO_TEST_CLIENT, factory_for

    key = str(tmp_path / "k.pem")
    ensure_signing_key(key)
    jwt_auth = JwtAuthorizer("a", "$request.header.Authorization", "https://iss.example", ("aud-1",))
    cognito = CognitoAuthorizer("c", "method.request.header.Authorization", ("arn",), ("https://pool",))
    for authorizer, issuer, audience in (
        (jwt_auth, "https://iss.example", "aud-1"),
        (cognito, "https://pool", COGNITO_TEST_CLIENT),
    ):
        claims = jwt.decode(
            factory_for(key, "kid-1", authorizer).valid(),
            options={"verify_signature": False},
        )
        assert (claims["iss"], claims["aud"]) == (issuer, audience)
