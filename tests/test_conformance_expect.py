"""The rule assertions of conformance/harness/expect.py, on hand-built exchanges (no stage, no request
sent)."""

from __future__ import annotations

import pytest

from conformance.harness.client import Exchange
from conformance.harness.expect import Check
from fixtures.behaviour import Kind
from tests.fakes import ApiFlavour, NoRedaction


def _exchange(status: int, body: bytes, *headers: tuple[str, str]) -> Exchange:
    return Exchange("GET", "http://127.0.0.1/x", (), b"", status, headers, body, 1.0)


def _check() -> Check:
    return Check("test_rule[api]", "api_keys", NoRedaction())


@pytest.mark.parametrize("embedded", [True, False])
def test_a_rest_rejection_rendered_compactly_satisfies_the_spaced_expected_body(embedded: bool) -> None:
    """AWS renders gateway responses from templates: `{"message":"Forbidden"}` is the expected
    `{"message": "Forbidden"}` (issue 10, observation 6)."""
    exchange = _exchange(403, b'{"message":"Forbidden"}', ("x-amzn-ErrorType", "ForbiddenException"))
    _check().rejected(ApiFlavour("rest", embedded), exchange, Kind.INVALID_API_KEY)  # type: ignore[arg-type]


def test_an_http_rejection_rendered_with_spaces_satisfies_the_compact_expected_body() -> None:
    exchange = _exchange(401, b'{"message": "Unauthorized"}')
    _check().rejected(ApiFlavour("http", False), exchange, Kind.UNAUTHORIZED)  # type: ignore[arg-type]


def test_a_different_message_fails_showing_both_raw_texts() -> None:
    exchange = _exchange(403, b'{"message":"Access denied"}', ("x-amzn-ErrorType", "ForbiddenException"))
    with pytest.raises(pytest.fail.Exception) as failed:
        _check().rejected(ApiFlavour("rest", False), exchange, Kind.INVALID_API_KEY)  # type: ignore[arg-type]
    message = str(failed.value)
    assert '\'{"message": "Forbidden"}\' (compared as JSON)' in message
    assert 'received \'{"message":"Access denied"}\'' in message
