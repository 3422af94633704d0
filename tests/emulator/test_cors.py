"""HTTP API CORS rules (docs/aws-behaviour.md s7; DOCS http-api-cors), each with a control."""

from __future__ import annotations

import pytest

from fixtures.contract import CorsConfig
from fixtures.emulator.policy.cors import (
    PREFLIGHT_STATUS,
    is_preflight,
    origin_allowed,
    preflight_headers,
    response_headers,
    strip_backend_cors,
)

PORTAL = "https://portal.clinic.com"
CLINIC = CorsConfig(
    allow_origins=(PORTAL,),
    allow_methods=("GET", "POST", "PUT", "DELETE", "OPTIONS"),
    allow_headers=("Authorization", "Content-Type"),
    max_age=86400,
)


def _names(headers: tuple[tuple[str, str], ...]) -> dict[str, str]:
    return dict(headers)


def test_is_preflight_needs_options_origin_and_request_method() -> None:
    full = {"origin": PORTAL, "access-control-request-method": "POST"}
    assert is_preflight("OPTIONS", full)
    assert is_preflight("options", [("Origin", PORTAL), ("Access-Control-Request-Method", "GET")])
    assert not is_preflight("OPTIONS", {"origin": PORTAL})
    assert not is_preflight("OPTIONS", {"access-control-request-method": "POST"})
    assert not is_preflight("GET", full)


def test_preflight_for_allowed_origin_maps_the_configuration() -> None:
    headers = _names(preflight_headers(CLINIC, PORTAL, "POST", "authorization"))
    assert headers == {
        "access-control-allow-origin": PORTAL,
        "access-control-allow-methods": "GET,POST,PUT,DELETE,OPTIONS",
        "access-control-allow-headers": "Authorization,Content-Type",
        "access-control-max-age": "86400",
    }


def test_preflight_status_is_204() -> None:
    assert PREFLIGHT_STATUS == 204  # ASSUMPTION in one place; the pipeline answers with it


@pytest.mark.parametrize(
    "origin",
    [
        None,
        "",
        "https://evil.example",
        "http://portal.clinic.com",
        "https://evilportal.clinic.com",
        "https://portal.clinic.com.evil.example",
        "null",
    ],
)
def test_disallowed_origin_gets_no_cors_headers(origin: str | None) -> None:
    assert preflight_headers(CLINIC, PORTAL, "GET")  # control
    assert not origin_allowed(CLINIC, origin)
    assert preflight_headers(CLINIC, origin, "GET") == ()
    assert response_headers(CLINIC, origin) == ()


def test_star_allows_every_origin_with_literal_star() -> None:
    cors = CorsConfig(allow_origins=("*",), allow_methods=("*",), allow_headers=("*",))
    headers = _names(preflight_headers(cors, "https://anything.example", "PATCH"))
    assert headers["access-control-allow-origin"] == "*"
    assert headers["access-control-allow-methods"] == "*" and headers["access-control-allow-headers"] == "*"
    assert "access-control-max-age" not in headers


def test_exact_match_is_echoed_before_star() -> None:
    cors = CorsConfig(allow_origins=("*", PORTAL))
    assert _names(response_headers(cors, PORTAL))["access-control-allow-origin"] == PORTAL
    assert _names(response_headers(cors, "https://x.example"))["access-control-allow-origin"] == "*"


def test_scheme_wildcards_are_scheme_aware() -> None:
    https_any = CorsConfig(allow_origins=("https://*",))
    assert origin_allowed(https_any, "https://a.example")
    assert not origin_allowed(https_any, "http://a.example")
    assert not origin_allowed(https_any, "null")
    http_any = CorsConfig(allow_origins=("http://*",))
    assert origin_allowed(http_any, "http://localhost:3000")
    assert not origin_allowed(http_any, "https://localhost:3000")
    assert _names(response_headers(https_any, "https://a.example"))["access-control-allow-origin"] == (
        "https://a.example"
    )


def test_multiple_origins_echo_the_single_matching_one() -> None:
    cors = CorsConfig(allow_origins=(PORTAL, "https://admin.clinic.com"))
    assert response_headers(cors, "https://admin.clinic.com") == (
        ("access-control-allow-origin", "https://admin.clinic.com"),
    )


def test_response_headers_carry_origin_credentials_and_expose() -> None:
    cors = CorsConfig(
        allow_origins=(PORTAL,), expose_headers=("X-Request-Id", "X-Total"), allow_credentials=True
    )
    assert response_headers(cors, PORTAL) == (
        ("access-control-allow-origin", PORTAL),
        ("access-control-allow-credentials", "true"),
        ("access-control-expose-headers", "X-Request-Id,X-Total"),
    )
    assert _names(preflight_headers(cors, PORTAL, "GET"))["access-control-allow-credentials"] == "true"
    assert "access-control-allow-credentials" not in _names(response_headers(CLINIC, PORTAL))


def test_vary_only_when_flagged() -> None:
    assert "vary" not in _names(response_headers(CLINIC, PORTAL))
    assert _names(response_headers(CLINIC, PORTAL, vary=True))["vary"] == "Origin"


def test_backend_cors_headers_are_stripped() -> None:
    backend = (
        ("Content-Type", "application/json"),
        ("Access-Control-Allow-Origin", "*"),
        ("access-control-allow-credentials", "true"),
        ("X-Other", "1"),
    )
    assert strip_backend_cors(backend) == (("Content-Type", "application/json"), ("X-Other", "1"))


# --- faults --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "origin"),
    [
        ("cors.reflect_any_origin", "https://evil.example"),
        ("cors.trust_null_origin", "null"),
        ("cors.suffix_match_origin", "https://evilportal.clinic.com"),
        ("cors.prefix_match_origin", "https://portal.clinic.com.evil.example"),
        ("cors.accept_http_origin", "http://portal.clinic.com"),
    ],
)
def test_origin_fault_accepts_a_bad_origin_and_echoes_it(fault: str, origin: str) -> None:
    assert not origin_allowed(CLINIC, origin)
    faults = frozenset({fault})
    assert origin_allowed(CLINIC, origin, faults)
    assert (
        _names(preflight_headers(CLINIC, origin, "GET", None, faults))["access-control-allow-origin"]
        == origin
    )
    assert _names(response_headers(CLINIC, origin, faults))["access-control-allow-origin"] == origin


def test_origin_faults_are_narrow() -> None:
    # Each fault lets through its own kind of bad origin, not the others.
    assert not origin_allowed(CLINIC, "https://evil.example", frozenset({"cors.suffix_match_origin"}))
    assert not origin_allowed(CLINIC, "http://portal.clinic.com", frozenset({"cors.suffix_match_origin"}))
    assert not origin_allowed(
        CLINIC, "https://evilportal.clinic.com", frozenset({"cors.prefix_match_origin"})
    )
    assert not origin_allowed(CLINIC, "https://evil.example", frozenset({"cors.accept_http_origin"}))
    assert not origin_allowed(CLINIC, "https://evil.example", frozenset({"cors.trust_null_origin"}))


def test_fault_wildcard_with_credentials() -> None:
    assert _names(response_headers(CLINIC, PORTAL)) == {"access-control-allow-origin": PORTAL}
    faulty = _names(response_headers(CLINIC, PORTAL, frozenset({"cors.wildcard_with_credentials"})))
    assert faulty["access-control-allow-origin"] == "*"
    assert faulty["access-control-allow-credentials"] == "true"
