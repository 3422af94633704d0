"""Wire values of one parameter (PURE): valid ones generated within its schema, invalid ones that
each break exactly one constraint it states (enum, type, pattern, format, lengths, bounds).

Values are the text on the wire. A path value needs no percent-encoding (the characters are chosen so),
and a bare-string path parameter gets no generated value: a random id would only meet a 404. The
schema is read as draft 4 (OAS 3.0 parameter schemas) to check that a value breaks only its keyword.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from datetime import UTC
from typing import Any

from hypothesis import strategies as st
from jsonschema import Draft4Validator, FormatChecker

from fixtures.contract import Parameter
from fixtures.stage.samples import enum_values, wire_text

_SAFE = string.ascii_letters + string.digits + "-_."
# Parameter keywords an input can break (OAS 3.0 parameter schemas read as draft 4).
CONSTRAINTS = ("enum", "type", "pattern", "format", "minLength", "maxLength", "minimum", "maximum")
_TYPED = ("integer", "number", "boolean")
_WRONG_TYPE = {"integer": "not-an-integer", "number": "not-a-number", "boolean": "not-a-boolean"}
# Formats whose valid values are generated here, all path-safe (others keep the sample).
_FORMATS: dict[str, st.SearchStrategy[str]] = {
    "date": st.dates().map(lambda d: d.isoformat()),
    "date-time": st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat()),
    "uuid": st.uuids().map(str),
    "ipv4": st.ip_addresses(v=4).map(str),
}
# Path-safe values that break a format, and candidates for breaking a pattern (first that works).
_BAD_FORMAT = {
    "date": "2024-13-45",
    "date-time": "not-a-date-time",
    "time": "25-61-61",
    "uuid": "not-a-uuid",
    "ipv4": "999.1.1",
    "email": "not-an-email",
    "uri": "not-a-uri",
}
_BAD_PATTERN = ("stagegate-not-matching", "~", "-", "0", "a", "A", "~~~~~~~~")
_NOT_IN_ENUM = ("stagegate-not-in-enum", "x", "0")
_CHECKER = FormatChecker()


def _schema(param: Parameter) -> Mapping[str, Any]:
    return param.schema or {}


def constrained(param: Parameter) -> bool:
    """Whether the parameter's schema states a constraint an input can break (a bare string does not)."""
    schema = _schema(param)
    return schema.get("type") in _TYPED or any(k in schema for k in CONSTRAINTS if k != "type")


def _typed(text: str, schema: Mapping[str, Any]) -> Any:
    """The wire text as the value a validator reads for the parameter's type."""
    try:
        if schema.get("type") == "integer":
            return int(text)
        if schema.get("type") == "number":
            return float(text)
    except ValueError:
        return text
    if schema.get("type") == "boolean" and text in ("true", "false"):
        return text == "true"
    return text


def _validator(schema: Mapping[str, Any]) -> Callable[[str], bool]:
    """Whether a wire text is valid for the schema, compiled once (a generation filter calls it often)."""
    compiled = Draft4Validator(dict(schema), format_checker=_CHECKER)
    return lambda text: compiled.is_valid(_typed(text, schema))


def path_safe(text: str) -> bool:
    return bool(text) and all(c in _SAFE or c in ":+~" for c in text)


def value_strategy(param: Parameter) -> st.SearchStrategy[str] | None:
    """Valid values of one parameter as the text on the wire (non-empty: an empty value reads as a
    missing one on the gateway); None where no sound value can be generated (the sample is kept)."""
    schema = _schema(param)
    if param.location == "path" and not constrained(param):
        return None  # a bare string id: a random one would only meet a 404
    kind = schema.get("type")
    values: st.SearchStrategy[str]
    if "enum" in schema:
        usable = [v for v in enum_values(param) if path_safe(v) or param.location != "path"]
        if not usable:
            return None
        values = st.sampled_from(usable)
    elif kind == "integer":
        values = st.integers(int(schema.get("minimum", -(10**6))), int(schema.get("maximum", 10**6))).map(str)
    elif kind == "number":
        low, high = schema.get("minimum", -(10**6)), schema.get("maximum", 10**6)
        values = st.floats(low, high, allow_nan=False, allow_infinity=False).map(repr)
    elif kind == "boolean":
        values = st.sampled_from(["true", "false"])
    elif "format" in schema:
        if schema["format"] not in _FORMATS:
            return None
        values = _FORMATS[schema["format"]]
    elif "pattern" in schema:
        values = st.from_regex(schema["pattern"], alphabet=st.sampled_from(_SAFE))
    else:
        low = max(int(schema.get("minLength", 0)), 1)
        high = min(int(schema.get("maxLength", 40)), 40)
        values = st.text(_SAFE, min_size=min(low, high), max_size=max(low, high))
    safe = path_safe if param.location == "path" else bool
    valid = _validator(schema)
    return values.filter(lambda text: safe(text) and valid(text))


def _candidates(schema: Mapping[str, Any], keyword: str) -> list[str]:
    """Wire texts that may break `keyword` of the schema (the first that breaks only it is used)."""
    fill = ("a", "0", "A", "-")
    if keyword == "enum":
        return list(_NOT_IN_ENUM)
    if keyword == "type" and schema.get("type") in _WRONG_TYPE:
        return [_WRONG_TYPE[schema["type"]], "x"]
    if keyword == "pattern":
        low, high = int(schema.get("minLength", 1)), int(schema.get("maxLength", 8))
        return [*_BAD_PATTERN, *(c * n for n in {max(low, 1), max(high, 1)} for c in "~-0aA")]
    if keyword == "format" and schema.get("format") in _BAD_FORMAT:
        return [_BAD_FORMAT[schema["format"]], "x"]
    if keyword == "maxLength" and isinstance(schema.get("maxLength"), int):
        return [c * (schema["maxLength"] + 1) for c in fill]
    if keyword == "minLength" and isinstance(schema.get("minLength"), int) and schema["minLength"] > 1:
        return [c * (schema["minLength"] - 1) for c in fill]
    exclusive = schema.get(f"exclusive{keyword[0].upper()}{keyword[1:]}") is True
    if keyword in ("minimum", "maximum") and isinstance(schema.get(keyword), int | float):
        step = 0 if exclusive else (-1 if keyword == "minimum" else 1)
        return [wire_text(schema[keyword] + step)]
    return []


def _breaks_only(schema: Mapping[str, Any], keyword: str, text: str) -> bool:
    """The text satisfies every other constraint of the schema and (where checkable) breaks this one;
    a format the checker does not know is trusted to the table above."""
    rest = {k: v for k, v in schema.items() if k != keyword}
    if not _validator(rest)(text):
        return False
    return keyword == "format" or not _validator(schema)(text)


def bad_values(param: Parameter) -> list[tuple[str, str, str]]:
    """(label, keyword, wire text) per stated constraint of the parameter, each breaking only it."""
    schema = _schema(param)
    out = []
    for keyword in CONSTRAINTS:
        if keyword not in schema:
            continue
        found = next((t for t in _candidates(schema, keyword) if _breaks_only(schema, keyword, t)), None)
        if found is not None and (param.location != "path" or path_safe(found)):
            out.append((f"{param.name} {_LABELS[keyword]}", keyword, found))
    return out


_LABELS = {
    "enum": "not in enum",
    "type": "wrong type",
    "pattern": "not matching pattern",
    "format": "bad format",
    "minLength": "below minLength",
    "maxLength": "above maxLength",
    "minimum": "below minimum",
    "maximum": "above maximum",
}
