"""Bodies are compared as parsed JSON when the expected body is JSON, byte for byte otherwise."""

from __future__ import annotations

import pytest

from conformance.harness.bodies import body_mismatch, json_equal, parse_json


@pytest.mark.parametrize(
    ("received", "expected"),
    [
        (b'{"message":"Forbidden"}', b'{"message": "Forbidden"}'),  # HTTP API style vs REST style
        (b'{ "message" : "Forbidden" }\n', b'{"message": "Forbidden"}'),
        (b'{"b":1,"a":[1,2]}', b'{"a": [1, 2], "b": 1}'),  # key order is not part of JSON
        (b'{"n":1.0}', b'{"n": 1}'),  # one JSON number
        ('{"message":"Forbidden"}', '{"message": "Forbidden"}'),
    ],
)
def test_json_bodies_that_differ_only_in_layout_are_the_same(received: bytes, expected: bytes) -> None:
    assert body_mismatch(received, expected) is None


@pytest.mark.parametrize(
    ("received", "expected"),
    [
        (b'{"message":"Forbiden"}', b'{"message": "Forbidden"}'),
        (b'{"message":"Forbidden","extra":1}', b'{"message": "Forbidden"}'),
        (b'{"a":[2,1]}', b'{"a": [1, 2]}'),  # array order is
        (b'{"ok":true}', b'{"ok": 1}'),  # a boolean is not a number (Python's True == 1)
        (b'{"n":"1"}', b'{"n": 1}'),
        (b"Forbidden", b'{"message": "Forbidden"}'),  # not JSON at all
        (b"", b'{"message": "Forbidden"}'),
    ],
)
def test_json_bodies_with_other_content_differ_and_both_raw_texts_are_shown(
    received: bytes, expected: bytes
) -> None:
    mismatch = body_mismatch(received, expected)
    assert mismatch is not None
    assert repr(expected.decode()) in mismatch and repr(received.decode()) in mismatch


def test_a_non_json_expected_body_is_compared_byte_for_byte() -> None:
    assert body_mismatch(b"pong", b"pong") is None
    assert body_mismatch(b"", b"") is None
    mismatch = body_mismatch(b"pong ", b"pong")
    assert mismatch is not None and "byte for byte" in mismatch and "'pong '" in mismatch


def test_nan_and_infinity_are_not_json() -> None:
    assert parse_json(b"NaN") == (False, None)
    assert parse_json(b'{"a": Infinity}') == (False, None)
    assert parse_json(b"  ") == (False, None)
    assert parse_json(b"null") == (True, None)


def test_json_equality_is_structural() -> None:
    assert json_equal({"a": [1, {"b": None}]}, {"a": [1.0, {"b": None}]})
    assert not json_equal({"a": None}, {})
    assert not json_equal([1], [1, 1])
    assert not json_equal(False, 0)
    assert not json_equal(None, False)
