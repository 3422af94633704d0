"""Redaction: known secrets, JWTs, bearer tokens and credential headers never pass through."""

from __future__ import annotations

from typing import Any, NoReturn

import pytest

from conformance.harness import credentials as credentials_module
from conformance.harness.credentials import ApiCredentials, TokenFetchError
from conformance.harness.redaction import RedactedError, SuiteRedactor, redact_exception
from fixtures.redact import REDACTED, Redactor
from fixtures.stage import (
    ApiConfig,
    ApiKey,
    Credentials,
    OAuth2ClientCredentials,
    Samples,
    Secret,
    StageConfig,
    Throttle,
    Tolerance,
    UsagePlan,
)

API_KEY = "local-partner-key-0001-abcdefghijklmnop"
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"


def test_known_secret_is_replaced_in_text() -> None:
    r = Redactor([API_KEY])
    assert r.text(f"403 for key {API_KEY}!") == f"403 for key {REDACTED}!"
    assert r.text("403 for key other-value") == "403 for key other-value"  # control


def test_secret_records_are_accepted() -> None:
    r = Redactor([Secret(API_KEY, "env:X")])
    assert API_KEY not in r.text(f"x={API_KEY}")


def test_longer_secret_wins_over_its_prefix() -> None:
    r = Redactor(["abcdef", "abcdef-ghijkl"])
    assert r.text("abcdef-ghijkl") == REDACTED
    assert r.text("[abcdef-ghijkl]") == f"[{REDACTED}]"


def test_jwt_pattern_is_scrubbed_without_being_known() -> None:
    r = Redactor()
    assert r.text(f"token={JWT} end") == f"token={REDACTED} end"
    assert r.text("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.") == REDACTED  # alg none, empty signature
    assert r.text("version 1.2.3 and eyJ alone") == "version 1.2.3 and eyJ alone"  # control


def test_bearer_value_is_scrubbed_but_auth_params_are_kept() -> None:
    r = Redactor()
    assert r.text("sent Bearer opaque-token_123 to /x") == f"sent Bearer {REDACTED} to /x"
    assert r.text("bearer abc/def+ghi==") == f"bearer {REDACTED}"
    challenge = (
        'Bearer scope="" error="invalid_token" error_description="the token does not have a valid audience"'
    )
    assert r.text(challenge) == challenge  # the www-authenticate challenge is evidence, not a secret


def test_short_secret_is_not_replaced_inside_text_but_whole_values_are() -> None:
    r = Redactor(["abc"])
    assert r.text("abcdef tabcd") == "abcdef tabcd"
    assert r.text("abc") == REDACTED
    assert r.headers({"X-Other": "abc"}) == {"X-Other": REDACTED}
    assert r.headers({"X-Api-Key": "abc"}) == {"X-Api-Key": REDACTED}


def test_credential_headers_always_redacted_mapping() -> None:
    r = Redactor()
    out = r.headers(
        {
            "Authorization": "Basic dXNlcjpwYXNz",
            "x-api-key": "unknown-key-value",
            "X-Clinic-Token": "kiosk-allow-clinic-42",
            "Cookie": "session=1",
            "Content-Type": "application/json",
        }
    )
    assert out == {
        "Authorization": REDACTED,
        "x-api-key": REDACTED,
        "X-Clinic-Token": REDACTED,
        "Cookie": REDACTED,
        "Content-Type": "application/json",
    }


def test_headers_pairs_keep_order_and_duplicates() -> None:
    r = Redactor([API_KEY])
    pairs = [("X-API-KEY", "v"), ("X-Trace", f"k={API_KEY}"), ("X-Trace", "plain")]
    assert r.headers(pairs) == [("X-API-KEY", REDACTED), ("X-Trace", f"k={REDACTED}"), ("X-Trace", "plain")]


def test_json_is_redacted_recursively_without_mutating_the_input() -> None:
    r = Redactor([API_KEY])
    event: dict[str, Any] = {
        "headers": {"authorization": f"Bearer {JWT}", "accept": "*/*"},
        "multiValueHeaders": {"x-api-key": [API_KEY, "second"]},
        "body": f'{{"key": "{API_KEY}"}}',
        "requestContext": {"authorizer": {"jwt": {"claims": {"sub": "x"}}}, "count": 3, "ok": True},
        "list": [JWT, None, 1.5],
        "client_secret": "s3cr3t-value",
    }
    out = r.json(event)
    assert out["headers"] == {"authorization": REDACTED, "accept": "*/*"}
    assert out["multiValueHeaders"] == {"x-api-key": [REDACTED, REDACTED]}
    assert out["body"] == f'{{"key": "{REDACTED}"}}'
    assert out["requestContext"] == event["requestContext"]  # control: nothing secret there
    assert out["list"] == [REDACTED, None, 1.5]
    assert out["client_secret"] == REDACTED
    assert event["multiValueHeaders"]["x-api-key"][0] == API_KEY  # input untouched


def _api(name: str, creds: Credentials, plans: tuple[UsagePlan, ...] = ()) -> ApiConfig:
    return ApiConfig(
        name=name,
        flavor="rest",
        contract_path="/x.json",
        base_url="https://example.test",
        credentials=creds,
        throttle=Throttle(None, {}),
        usage_plans=plans,
        samples=Samples(),
        load_allowed=False,
        read_only=True,
        tolerance=Tolerance(),
        emulated=None,
    )


def test_for_stage_collects_every_secret_of_the_stage() -> None:
    secrets = {
        "bearer": "bearer-token-value-1",
        "lambda": "lambda-token-value-2",
        "deny": "deny-token-value-3",
        "api": "api-key-value-4",
        "cid": "client-id-value-5",
        "csecret": "client-secret-value-6",
        "plan": "plan-key-value-7",
    }
    s = {k: Secret(v, "env:X") for k, v in secrets.items()}
    creds_a = Credentials(bearer_token=s["bearer"], lambda_token=s["lambda"], lambda_deny_token=s["deny"])
    oauth = OAuth2ClientCredentials("https://auth.example.test/oauth2/token", s["cid"], s["csecret"])
    creds_b = Credentials(api_key=s["api"], oauth2=oauth)
    plan = UsagePlan("p", None, None, None, 0, (ApiKey("k", s["plan"]),))
    stage = StageConfig("t", "/t.toml", "", (_api("a", creds_a), _api("b", creds_b, (plan,))), None)
    r = Redactor.for_stage(stage)
    text = " ".join(secrets.values())
    assert r.text(text) == " ".join([REDACTED] * len(secrets))
    assert r.text("nothing-secret-here") == "nothing-secret-here"  # control


def test_credential_headers_written_as_text_are_scrubbed() -> None:
    r = Redactor()
    assert r.text("x-api-key: unknown-key-1") == f"x-api-key: {REDACTED}"
    assert r.text('{"X-Api-Key": "k1", "a": 1}') == f'{{"X-Api-Key": "{REDACTED}", "a": 1}}'
    assert r.text('-H "Authorization: Basic dXNlcjpwYXNz" -v') == f'-H "Authorization: {REDACTED}" -v'
    assert r.text("Authorization: Bearer xyz.abc") == f"Authorization: Bearer {REDACTED}"
    assert r.text("cookie=s1; path=/") == f"cookie={REDACTED}; path=/"
    assert r.text("the authorization header is missing") == "the authorization header is missing"  # control


def test_redaction_is_idempotent() -> None:
    r = Redactor([API_KEY])
    once = r.text(f"x-api-key: {API_KEY} Bearer {JWT}")
    assert r.text(once) == once
    assert API_KEY not in once and JWT not in once


class _FieldError(Exception):
    """An exception whose str() comes from a field, not from its args."""

    def __init__(self, value: str) -> None:
        super().__init__("field error")
        self.value = value

    def __str__(self) -> str:
        return f"bad value {self.value}"


def _call(exc: BaseException) -> pytest.CallInfo[None]:
    def boom() -> NoReturn:
        raise exc

    return pytest.CallInfo.from_call(boom, when="call", reraise=None)


@pytest.mark.parametrize(
    "exc",
    [
        pytest.fail.Exception(f"token {JWT}", pytrace=False),
        AssertionError(f"headers {{'x-api-key': '{API_KEY}'}}"),
        KeyError(f"key {API_KEY}"),
        _FieldError(API_KEY),
    ],
    ids=["pytest-fail", "assertion", "key-error", "custom-str"],
)
def test_exception_text_is_redacted_for_allure(exc: BaseException) -> None:
    """Allure's status message is `call.excinfo.exconly()`: it must not show a secret."""
    call = _call(exc)
    assert call.excinfo is not None  # the call raised
    redact_exception(call, Redactor([API_KEY]))
    shown = call.excinfo.exconly()
    assert API_KEY not in shown and JWT not in shown
    assert REDACTED in shown
    assert isinstance(call.excinfo.value, AssertionError) == isinstance(exc, AssertionError)


def test_custom_str_exception_is_replaced_by_a_redacted_stand_in() -> None:
    call = _call(_FieldError(API_KEY))
    redact_exception(call, Redactor([API_KEY]))
    assert call.excinfo is not None and isinstance(call.excinfo.value, RedactedError)
    assert call.excinfo.exconly().endswith(f"bad value {REDACTED}")


def test_exception_without_secret_is_left_alone() -> None:
    exc = KeyError("clinic_id")
    call = _call(exc)
    redact_exception(call, Redactor([API_KEY]))
    assert call.excinfo is not None and call.excinfo.value is exc  # control: nothing to redact


class _TokenResponse:
    ok = True
    status_code = 200

    def __init__(self, token: str) -> None:
        self._token = token

    def json(self) -> dict[str, str]:
        return {"access_token": self._token, "token_type": "Bearer"}


def _oauth_stage() -> tuple[StageConfig, ApiCredentials]:
    oauth = OAuth2ClientCredentials(
        "http://127.0.0.1:9/oauth2/token", Secret("client-id-value-5", "env:X"), Secret(API_KEY, "env:Y")
    )
    api = _api("b", Credentials(oauth2=oauth))
    stage = StageConfig("t", "/t.toml", "", (api,), None)
    return stage, ApiCredentials(api, None, 1.0)  # type: ignore[arg-type]  # no contract needed here


def test_suite_redactor_learns_an_oauth_token_fetched_during_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """An opaque access token matches no pattern: it is redacted once the suite has fetched it."""
    opaque = "opaque-access-token-value-8"
    stage, creds = _oauth_stage()
    redactor = SuiteRedactor(stage, [creds])
    assert redactor.text(f"token {opaque}") == f"token {opaque}"  # control: not known before the fetch
    monkeypatch.setattr(credentials_module.requests, "post", lambda *a, **k: _TokenResponse(opaque))
    assert creds._ready_token() == opaque
    assert redactor.text(f"token {opaque}") == f"token {REDACTED}"
    assert redactor.text(API_KEY) == REDACTED  # the stage's own secrets stay known


def test_a_failed_oauth_token_request_fails_instead_of_skipping(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unavailable is a skip; a token endpoint that gives no token must fail the auth rules."""
    stage, creds = _oauth_stage()

    def refuse(*args: Any, **kwargs: Any) -> NoReturn:
        raise credentials_module.requests.ConnectionError("refused")

    monkeypatch.setattr(credentials_module.requests, "post", refuse)
    with pytest.raises(TokenFetchError) as failure:
        creds._ready_token()
    assert not isinstance(failure.value, credentials_module.Unavailable)
    assert "no answer" in str(failure.value) and API_KEY not in str(failure.value)
