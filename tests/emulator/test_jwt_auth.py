"""JWT authorizer rules (docs/aws-behaviour.md s2; DOCS http-api-jwt-authorizer), each with a control."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from fixtures.behaviour import Kind
from fixtures.contract import CognitoAuthorizer, JwtAuthorizer
from fixtures.emulator.policy.jwt_auth import (
    JwtVerifier,
    stringify_claims,
    token_scopes,
    verify_bearer,
)
from fixtures.emulator.wire import Rejection

ISS = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_ClinicPool"
AUD = "clinic-portal-web"
KID = "test-kid"
NOW = 1_800_000_000.0


@pytest.fixture(scope="module")
def keys() -> dict[str, Any]:
    return {
        "good": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "foreign": rsa.generate_private_key(public_exponent=65537, key_size=2048),
    }


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(**overrides: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": ISS,
        "aud": AUD,
        "sub": "user-1",
        "iat": NOW - 60,
        "nbf": NOW - 60,
        "exp": NOW + 3600,
        "scope": "appointments/read appointments/write",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _token(key: Any, alg: str = "RS256", kid: str | None = KID, **overrides: Any) -> str:
    headers = {"kid": kid} if kid else {}
    return jwt.encode(_claims(**overrides), key, algorithm=alg, headers=headers)


def _forged(alg: str, secret: bytes | None, **overrides: Any) -> str:
    header = _b64(json.dumps({"alg": alg, "typ": "JWT", "kid": KID}).encode())
    payload = _b64(json.dumps(_claims(**overrides)).encode())
    if secret is None:
        return f"{header}.{payload}."
    signature = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def _verifier(keys: dict[str, Any], faults: frozenset[str] = frozenset()) -> JwtVerifier:
    return JwtVerifier((ISS,), (AUD,), {KID: keys["good"].public_key()}, faults=faults)


def _reject(verifier: JwtVerifier, header: str | None, scopes: tuple[str, ...] = ()) -> Rejection:
    with pytest.raises(Rejection) as caught:
        verifier.verify(header, NOW, scopes)
    return caught.value


def _description(rejection: Rejection) -> str:
    assert rejection.kind is Kind.UNAUTHORIZED
    ((name, value),) = rejection.headers
    assert name == "www-authenticate" and value.startswith('Bearer scope="" error="invalid_token"')
    return value.split('error_description="')[1].rstrip('"')


def test_valid_token_with_and_without_bearer_prefix(keys: dict[str, Any]) -> None:
    verifier, token = _verifier(keys), _token(keys["good"])
    assert verifier.verify(f"Bearer {token}", NOW)["sub"] == "user-1"
    assert verifier.verify(token, NOW)["sub"] == "user-1"
    assert verifier.verify(f"bearer {token}", NOW, ("appointments/read",))["iss"] == ISS


def test_missing_header_is_401(keys: dict[str, Any]) -> None:
    for header in (None, "", "Bearer ", "   "):
        rejection = _reject(_verifier(keys), header)
        assert rejection.kind is Kind.UNAUTHORIZED and rejection.headers == (("www-authenticate", "Bearer"),)


def test_wrong_audience_has_the_documented_description(keys: dict[str, Any]) -> None:
    rejection = _reject(_verifier(keys), _token(keys["good"], aud="someone-else"))
    expected = (
        'Bearer scope="" error="invalid_token" error_description="the token does not have a valid audience"'
    )
    assert rejection.headers == (("www-authenticate", expected),)


def test_audience_list_and_client_id_rules(keys: dict[str, Any]) -> None:
    verifier = _verifier(keys)
    assert verifier.verify(_token(keys["good"], aud=["other", AUD]), NOW)
    assert verifier.verify(_token(keys["good"], aud=None, client_id=AUD), NOW)  # access token
    # aud wins when both are present: a matching client_id does not rescue a wrong aud.
    assert "audience" in _description(_reject(verifier, _token(keys["good"], aud="x", client_id=AUD)))
    assert "audience" in _description(_reject(verifier, _token(keys["good"], aud=None, client_id="x")))
    assert "audience" in _description(_reject(verifier, _token(keys["good"], aud=None)))


@pytest.mark.parametrize(
    ("overrides", "word"),
    [
        ({"iss": "https://evil.example"}, "issuer"),
        ({"exp": NOW - 1}, "expired"),
        ({"exp": NOW}, "expired"),  # exp must be after now
        ({"exp": None}, "expired"),  # exp required (ASSUMPTION)
        ({"nbf": NOW + 60}, "not valid yet"),
        ({"iat": NOW + 60}, "issued in the future"),
    ],
)
def test_claim_failures_are_401(keys: dict[str, Any], overrides: dict[str, Any], word: str) -> None:
    verifier = _verifier(keys)
    assert verifier.verify(_token(keys["good"]), NOW)  # control
    assert word in _description(_reject(verifier, _token(keys["good"], **overrides)))


def test_signature_kid_and_algorithm_failures_are_401(keys: dict[str, Any]) -> None:
    verifier, good = _verifier(keys), _token(keys["good"])
    assert verifier.verify(good, NOW)
    assert "signature" in _description(_reject(verifier, _token(keys["foreign"])))  # same kid
    assert "key id" in _description(_reject(verifier, _token(keys["good"], kid="other")))
    assert "key id" in _description(_reject(verifier, _token(keys["good"], kid=None)))
    header, payload, signature = good.split(".")
    tampered = _b64(json.dumps(_claims(sub="admin")).encode())
    assert "signature" in _description(_reject(verifier, f"{header}.{tampered}.{signature}"))
    assert "malformed" in _description(_reject(verifier, "not-a-jwt"))
    assert "algorithm" in _description(_reject(verifier, _forged("none", None)))
    assert "algorithm" in _description(_reject(verifier, _forged("HS256", b"secret")))


def test_rs384_and_rs512_are_accepted_es256_is_not(keys: dict[str, Any]) -> None:
    verifier = _verifier(keys)
    assert verifier.verify(_token(keys["good"], alg="RS384"), NOW)
    assert verifier.verify(_token(keys["good"], alg="RS512"), NOW)
    assert "algorithm" in _description(_reject(verifier, _forged("ES256", b"x")))


def test_scopes_need_at_least_one_route_scope(keys: dict[str, Any]) -> None:
    verifier = _verifier(keys)
    assert verifier.verify(_token(keys["good"], scope="appointments/read"), NOW, ("appointments/read", "x"))
    assert verifier.verify(_token(keys["good"], scope=None, scp=["x"]), NOW, ("x",))
    rejection = _reject(verifier, _token(keys["good"], scope="appointments/read"), ("appointments/write",))
    assert rejection.kind is Kind.INSUFFICIENT_SCOPE
    assert rejection.headers[0][1].startswith('Bearer scope="appointments/write" error="insufficient_scope"')
    assert _reject(verifier, _token(keys["good"], scope=None), ("x",)).kind is Kind.INSUFFICIENT_SCOPE
    assert verifier.verify(_token(keys["good"], scope=None), NOW, ())  # no route scopes: none needed


def test_cache_rechecks_time_and_scopes(keys: dict[str, Any]) -> None:
    verifier, token = _verifier(keys), _token(keys["good"], exp=NOW + 10)
    assert verifier.verify(token, NOW)
    assert verifier.verify(token, NOW + 5)
    with pytest.raises(Rejection):
        verifier.verify(token, NOW + 10)  # expired since: the cache does not skip exp
    with pytest.raises(Rejection):
        verifier.verify(token, NOW, ("missing",))


def test_cache_is_bounded(keys: dict[str, Any]) -> None:
    verifier = JwtVerifier((ISS,), (AUD,), {KID: keys["good"].public_key()}, cache_size=2)
    tokens = [_token(keys["good"], sub=f"u{i}") for i in range(3)]
    for token in tokens:
        verifier.verify(token, NOW)
    assert len(verifier._cache) == 2 and tokens[0] not in verifier._cache


def test_keys_as_pem_and_jwk(keys: dict[str, Any]) -> None:
    public = keys["good"].public_key()
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(public))
    for key in (pem, pem.decode(), jwk):
        assert JwtVerifier((ISS,), (AUD,), {KID: key}).verify(_token(keys["good"]), NOW)


def test_verify_bearer_with_contract_authorizers(keys: dict[str, Any]) -> None:
    public = {KID: keys["good"].public_key()}
    http = JwtAuthorizer("clinic-cognito", "$request.header.Authorization", ISS, (AUD,))
    assert verify_bearer(_token(keys["good"]), http, public, NOW, ("appointments/read",))["sub"] == "user-1"
    cognito = CognitoAuthorizer("partner-cognito", "method.request.header.Authorization", ("arn",), (ISS,))
    # Cognito: any client of the pool (ID token aud or access token client_id) is accepted.
    assert verify_bearer(_token(keys["good"], aud="any-client"), cognito, public, NOW)
    with pytest.raises(Rejection) as caught:
        verify_bearer(_token(keys["good"], iss="https://other"), cognito, public, NOW)
    assert caught.value.kind is Kind.UNAUTHORIZED and caught.value.headers == ()


def test_token_scopes_and_stringify_claims() -> None:
    assert token_scopes({"scope": "a b"}) == ["a", "b"] and token_scopes({"scp": ["c"]}) == ["c"]
    assert token_scopes({}) == []
    claims = {"exp": 1700000000, "aud": ["a", "b"], "cognito:groups": ["admin", "user"], "sub": "x", "f": 1.5}
    assert stringify_claims(claims) == {
        "exp": "1700000000",
        "aud": "[a b]",
        "cognito:groups": "[admin user]",
        "sub": "x",
        "f": "1.5",
    }
    assert stringify_claims({"ok": True, "n": 2.0}) == {"ok": "true", "n": "2"}


# --- faults: each makes one rejected token pass (the control is the same verifier without it) ---


def _pem(keys: dict[str, Any]) -> bytes:
    return (
        keys["good"]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


CASES = [
    ("auth.accept_alg_none", lambda k: _forged("none", None), ()),
    ("auth.skip_signature", lambda k: _token(k["foreign"]), ()),
    ("auth.accept_expired", lambda k: _token(k["good"], exp=NOW - 5), ()),
    ("auth.ignore_nbf", lambda k: _token(k["good"], nbf=NOW + 60), ()),
    ("auth.ignore_issuer", lambda k: _token(k["good"], iss="https://evil.example"), ()),
    ("auth.ignore_audience", lambda k: _token(k["good"], aud="evil"), ()),
    ("auth.ignore_scopes", lambda k: _token(k["good"], scope="other"), ("appointments/read",)),
    ("auth.accept_hs256_confusion", lambda k: _forged("HS256", _pem(k)), ()),
]


@pytest.mark.parametrize(("fault", "make", "scopes"), CASES, ids=[c[0] for c in CASES])
def test_fault_accepts_what_the_gateway_rejects(
    keys: dict[str, Any], fault: str, make: Any, scopes: Any
) -> None:
    token = make(keys)
    _reject(_verifier(keys), token, scopes)
    assert _verifier(keys, frozenset({fault})).verify(token, NOW, scopes)["iss"]


def test_faults_change_only_their_own_rule(keys: dict[str, Any]) -> None:
    assert _reject(_verifier(keys, frozenset({"auth.skip_signature"})), _forged("none", None))
    assert _reject(_verifier(keys, frozenset({"auth.accept_alg_none"})), _token(keys["foreign"]))
    assert _reject(_verifier(keys, frozenset({"auth.accept_hs256_confusion"})), _forged("HS256", b"guess"))
