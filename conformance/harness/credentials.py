"""Credentials for one API of a stage: valid and defective tokens, Lambda tokens, API keys.

Sources, from the stage file only: a signing key for a test issuer the stage trusts (every token
variant), a ready bearer token or OAuth2 client credentials (valid token and the variants derivable
from it). A variant that needs what the stage does not have raises Unavailable with the reason; the
test is then skipped with that reason, never passed.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterable, Mapping
from typing import Any

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from conformance.harness import token_store
from fixtures.contract import (
    CognitoAuthorizer,
    Contract,
    JwtAuthorizer,
    LambdaAuthorizer,
    Route,
    identity_header,
)
from fixtures.stage import ApiConfig, OAuth2ClientCredentials, TokenSource
from fixtures.tokens import factory_for

# Audience for Cognito user pool tokens: the REST authorizer checks the pool (issuer), not aud.
# Variants that can be derived from a ready token without the issuer's key.
DERIVABLE = ("malformed", "tampered_payload", "alg_none", "foreign_key_same_kid")
# Variants a real issuer can supply without a test signing key, and the stage-file key that enables each.
SOURCED = {
    "expired": "credentials.expired_token_store (a real token kept until it expires)",
    "wrong_audience": "[credentials.wrong_audience] (a client of the same issuer outside the audience)",
    "wrong_issuer": "[credentials.wrong_issuer] (a client of another issuer)",
}


class Unavailable(Exception):
    """A credential the stage file does not provide; str() is the skip reason."""


class TokenFetchError(Exception):
    """The stage gives an OAuth2 client but its token endpoint gave no token: a failure, not a skip
    (skipping would turn every auth rule, controls included, into a pass-by-absence)."""


def _sent_header(identity_source: str) -> str:
    """The header to send an identity in; Unavailable for a source that names none (a query string,
    the context, a stage variable): the suite sends credentials in headers only."""
    name = identity_header(identity_source)
    if name is None:
        raise Unavailable(
            f"the identity source {identity_source} is not a request header (only headers are sent)"
        )
    return name


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def derive(token: str, variant: str) -> str:
    """A defective token derived from a ready one (no key needed)."""
    if variant == "malformed":
        return "stagegate-not-a-jwt.bWFsZm9ybWVk"
    header, payload, signature = token.split(".")
    claims: dict[str, Any] = json.loads(_unb64(payload))
    if variant == "tampered_payload":
        claims["sub"] = "stagegate-admin"
        return f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"
    if variant == "alg_none":
        head = json.loads(_unb64(header))
        head["alg"] = "none"
        return f"{_b64(json.dumps(head).encode())}.{_b64(json.dumps(claims).encode())}."
    if variant == "foreign_key_same_kid":
        # Same claims and kid, signed by a key the issuer never had: a JWKS lookup by kid must fail.
        head = json.loads(_unb64(header))
        foreign = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return jwt.encode(claims, foreign, algorithm="RS256", headers={"kid": str(head.get("kid", ""))})
    raise Unavailable(f"token variant {variant} needs a signing key")


GRANT_CLAIMS = ("iss", "aud", "client_id", "scope", "scp", "token_use")  # what an authorizer checks
FRESH_S = 60.0  # a sourced token must stay valid this long: past its exp it tests expiry instead


def _same_grant(claims: Mapping[str, object], ready: Mapping[str, object]) -> bool:
    return bool(ready) and all(claims.get(c) == ready.get(c) for c in GRANT_CLAIMS)


def sourced_defect(
    variant: str, claims: Mapping[str, object], ready: Mapping[str, object], now: float
) -> str:
    """Why a token from the stage's wrong_audience / wrong_issuer source cannot exercise its rule
    ("" when it can): it must differ from the valid token in the intended claim, and be unexpired."""
    if not claims:
        return "it is not a JWT"
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or exp < now + FRESH_S:
        return "it has expired (or expires within a minute): refresh it"
    if variant == "wrong_issuer" and claims.get("iss") == ready.get("iss"):
        return "its issuer is the stage's own issuer"
    if variant == "wrong_audience":
        if claims.get("iss") != ready.get("iss"):
            return "its issuer differs from the valid token's (that would test the issuer, not the audience)"
        audiences = {str(claims.get("aud")), str(claims.get("client_id"))} - {"None"}
        if audiences & {str(ready.get("aud")), str(ready.get("client_id"))}:
            return "its audience / client_id is the valid token's"
    return ""


class ApiCredentials:
    """Token and key source for one API (session-scoped; OAuth2 tokens fetched once)."""

    def __init__(self, api: ApiConfig, contract: Contract, timeout_s: float) -> None:
        self.api = api
        self.contract = contract
        self.timeout_s = timeout_s
        self._fetched: str | None = None
        self._ready: str | None = None  # the valid real token (bearer or OAuth2), obtained once
        self._sourced: dict[str, str] = {}  # wrong_audience / wrong_issuer / expired tokens obtained
        self._factories: dict[str, Any] = {}

    # -- what the stage gives -------------------------------------------------------------------
    def secrets(self) -> list[str]:
        """The secrets obtained during the run (fetched and sourced tokens), for the redactor; the
        stage's own come from StageConfig.secrets()."""
        return ([self._fetched] if self._fetched else []) + list(self._sourced.values())

    def _factory(self, authorizer: JwtAuthorizer | CognitoAuthorizer) -> Any:
        signing = self.api.credentials.signing_key
        if signing is None:
            return None
        if authorizer.name not in self._factories:
            self._factories[authorizer.name] = factory_for(signing.key_file, signing.kid, authorizer)
        return self._factories[authorizer.name]

    def _ready_token(self) -> str | None:
        creds = self.api.credentials
        if self._ready is None:
            if creds.bearer_token is not None:
                self._ready = creds.bearer_token.value
            elif creds.oauth2 is not None:
                self._fetched = self._ready = self._client_credentials(creds.oauth2)
            if self._ready is not None:
                self._keep(self._ready)
        return self._ready

    def _keep(self, token: str) -> None:
        """A valid real token goes into the expired-token store, for a later run's expired rule."""
        store = self.api.credentials.expired_token_store
        if store is not None:
            token_store.remember(store, token, time.time())

    def _sourced_token(self, variant: str) -> str:
        """A defective token a real issuer supplies (no signing key needed), or Unavailable."""
        if variant in self._sourced:
            return self._sourced[variant]
        creds = self.api.credentials
        ready_claims = token_store.claims_of(self._ready_token() or "")
        if variant == "expired":
            issuer = str(ready_claims.get("iss", ""))
            store = creds.expired_token_store
            # Only a token like today's valid one (same issuer, audience, client, scopes) proves that
            # expiry alone is refused: another client's token could be refused for its audience.
            kept_tokens = token_store.read(store) if store else []
            same = [k for k in kept_tokens if _same_grant(token_store.claims_of(k.token), ready_claims)]
            kept = token_store.expired(same, issuer, time.time())
            if kept is None:
                raise Unavailable(
                    "token variant expired needs a signing key for a test issuer, or "
                    + SOURCED["expired"]
                    + (
                        "; the store holds no expired token of this issuer yet (this run kept one)"
                        if store
                        else ""
                    )
                )
            token = kept.token
        else:
            source: TokenSource | None = getattr(creds, variant)
            if source is None:
                raise Unavailable(
                    f"token variant {variant} needs a signing key for a test issuer, or {SOURCED[variant]}"
                )
            if source.token is not None:
                token = source.token.value
            else:
                assert source.oauth2 is not None
                token = self._client_credentials(source.oauth2)
            unfit = sourced_defect(variant, token_store.claims_of(token), ready_claims, time.time())
            if unfit:
                raise Unavailable(f"the token of credentials.{variant} cannot exercise the rule: {unfit}")
        self._sourced[variant] = token
        return token

    def _client_credentials(self, oauth: OAuth2ClientCredentials) -> str:
        data = {"grant_type": "client_credentials"}
        if oauth.scopes:
            data["scope"] = " ".join(oauth.scopes)
        outcome = "no answer"
        try:
            response = requests.post(
                oauth.token_url,
                data=data,
                auth=(oauth.client_id.value, oauth.client_secret.value),
                timeout=self.timeout_s,
                allow_redirects=False,  # the client secret goes to the configured URL only
            )
            outcome = f"HTTP {response.status_code}"
            token = response.json().get("access_token") if response.ok else None
        except (requests.RequestException, ValueError, AttributeError):
            token = None
        if not token or not isinstance(token, str):
            raise TokenFetchError(
                f"OAuth2 client-credentials token request to {oauth.token_url} failed ({outcome})"
            )
        return token

    # -- tokens per route -----------------------------------------------------------------------
    def authorizer(self, route: Route) -> Any:
        return self.contract.authorizers.get(route.authorizer) if route.authorizer else None

    def token(self, route: Route, variant: str = "valid") -> str:
        """A token for the route's JWT/Cognito authorizer; Unavailable if the stage cannot make it."""
        authorizer = self.authorizer(route)
        if not isinstance(authorizer, JwtAuthorizer | CognitoAuthorizer):
            raise Unavailable(f"{route.route_key} has no JWT or Cognito authorizer")
        factory = self._factory(authorizer)
        if factory is not None:
            return str(factory.make(variant, route.scopes))
        ready = self._ready_token()
        if ready is None:
            raise Unavailable("the stage file gives no bearer token, OAuth2 client or signing key")
        if variant == "valid":
            return ready
        if variant in DERIVABLE:
            return derive(ready, variant)
        if variant in SOURCED:
            return self._sourced_token(variant)
        raise Unavailable(
            f"token variant {variant} needs a signing key for a test issuer the stage trusts "
            "(credentials.signing_key_file + kid)"
        )

    def lambda_token(self, deny: bool = False) -> str:
        secret = self.api.credentials.lambda_deny_token if deny else self.api.credentials.lambda_token
        if secret is None:
            field = "lambda_deny_token" if deny else "lambda_token"
            raise Unavailable(f"the stage file gives no {field} for {self.api.name}")
        return secret.value

    def api_key(self) -> str:
        if self.api.credentials.api_key is None:
            raise Unavailable(f"the stage file gives no api_key for {self.api.name}")
        return self.api.credentials.api_key.value

    def token_header(self, route: Route) -> str:
        """The header the route's JWT / Cognito authorizer reads the bearer token from."""
        authorizer = self.authorizer(route)
        if not isinstance(authorizer, JwtAuthorizer | CognitoAuthorizer):
            raise Unavailable(f"{route.route_key} has no JWT or Cognito authorizer")
        return _sent_header(authorizer.identity_source)

    def auth_headers(self, route: Route) -> dict[str, str]:
        """Valid credentials for the route (token or Lambda identity, plus API key if required)."""
        headers: dict[str, str] = {}
        authorizer = self.authorizer(route)
        if isinstance(authorizer, JwtAuthorizer | CognitoAuthorizer):
            headers[self.token_header(route)] = f"Bearer {self.token(route)}"
        elif isinstance(authorizer, LambdaAuthorizer):
            for source in authorizer.identity_sources[:1]:
                headers[_sent_header(source)] = self.lambda_token()
        if route.api_key_required and self.contract.flavor == "rest":
            headers["x-api-key"] = self.api_key()
        return headers

    def identity_headers(self, route: Route) -> Iterable[str]:
        """Header names that carry the route's identity (to strip for unauthenticated requests)."""
        authorizer = self.authorizer(route)
        if isinstance(authorizer, JwtAuthorizer | CognitoAuthorizer):
            sources: tuple[str, ...] = (authorizer.identity_source,)
        elif isinstance(authorizer, LambdaAuthorizer):
            sources = authorizer.identity_sources
        else:
            return ()
        return tuple(name for name in map(identity_header, sources) if name)
