"""Invalid bodies from a schema: each has exactly one defect and the schema rejects it."""

from __future__ import annotations

import json
from datetime import datetime

import jsonschema
import pytest

from conformance.catalog.payloads import KEYWORDS, encode, invalid_bodies, valid_body, wrong_type_value

APPOINTMENT = {
    "type": "object",
    "required": ["clinic_id", "patient_id", "datetime"],
    "additionalProperties": False,
    "properties": {
        "clinic_id": {"type": "string", "minLength": 1},
        "patient_id": {"type": "string", "minLength": 1, "pattern": "^p-[0-9]+$"},
        "datetime": {"type": "string", "format": "date-time"},
        "reason": {"type": "string", "maxLength": 200},
        "channel": {"type": "string", "enum": ["web", "phone", "kiosk"]},
        "count": {"type": ["integer", "null"]},
    },
}
VALID = {"clinic_id": "42", "patient_id": "p-7", "datetime": "2030-01-02T10:00:00Z"}


def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _validator() -> jsonschema.Draft7Validator:
    # date-time is checked here without optional jsonschema extras.
    checker = jsonschema.FormatChecker(formats=())
    checker.checks("date-time")(_is_date_time)
    return jsonschema.Draft7Validator(APPOINTMENT, format_checker=checker)


def test_the_valid_body_passes_the_schema() -> None:
    assert list(_validator().iter_errors(VALID)) == []


def test_every_invalid_body_is_rejected_by_the_schema() -> None:
    cases = invalid_bodies(APPOINTMENT, VALID)
    assert cases
    for case in cases:
        try:
            parsed = json.loads(case.body)
        except json.JSONDecodeError:
            assert case.keyword in ("json", "empty")
            continue
        errors = list(_validator().iter_errors(parsed))
        assert errors, case.name
        assert case.keyword in {e.validator for e in errors}, case.name


def test_every_defect_family_is_generated_once_per_property() -> None:
    names = {case.name for case in invalid_bodies(APPOINTMENT, VALID)}
    expected = {
        "missing clinic_id",
        "missing patient_id",
        "missing datetime",
        "wrong type clinic_id",
        "wrong type count",
        "channel not in enum",
        "patient_id breaks pattern",
        "clinic_id below minLength",
        "reason above maxLength",
        "datetime bad date-time",
        "additional property",
        "not json",
        "empty body",
    }
    assert expected <= names
    assert {case.keyword for case in invalid_bodies(APPOINTMENT, VALID)} == set(KEYWORDS)


def test_names_are_unique() -> None:
    names = [case.name for case in invalid_bodies(APPOINTMENT, VALID)]
    assert len(names) == len(set(names))


def test_not_json_and_empty_are_as_named() -> None:
    by_name = {case.name: case for case in invalid_bodies(APPOINTMENT, VALID)}
    assert by_name["empty body"].body == b""
    with pytest.raises(json.JSONDecodeError):
        json.loads(by_name["not json"].body)


def test_no_additional_property_case_when_the_schema_allows_them() -> None:
    schema = {**APPOINTMENT, "additionalProperties": True}
    assert "additional property" not in {c.name for c in invalid_bodies(schema, VALID)}


def test_wrong_type_value_avoids_every_declared_type() -> None:
    assert isinstance(wrong_type_value({"type": "string"}), int)
    value = wrong_type_value({"type": ["string", "integer"]})
    assert not isinstance(value, str | int)
    assert wrong_type_value({}) is None


def test_non_object_schema_gets_a_wrong_type_body() -> None:
    cases = invalid_bodies({"type": "array"}, ["a"])
    assert any(c.keyword == "type" and not isinstance(json.loads(c.body), list) for c in cases)


def test_the_stage_sample_wins_over_the_contract_example() -> None:
    assert valid_body({"a": 1}, {"b": 2}) == {"b": 2}
    assert valid_body({"a": 1}) == {"a": 1}
    assert encode({"a": 1}) == b'{"a":1}'
