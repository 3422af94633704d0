"""Bad contracts, table-driven: each row is one contract, its one-line message and exit code 2.

Each row is the clinic portal contract with one defect (or a hostile document), loaded by the
contract loader (the message names the file and the JSON path) and given to the gate in process as
the embedded stage's portal contract (`reports.run.main`: exit 2 before anything starts). A few
rows also run the `stagegate` command end to end. The bounds are documented in
fixtures/contract/refs.py: 6 MB (DOCS ImportRestApi), nesting 128, 50,000 nodes per resolved
schema, `$ref`s 32 deep (ASSUMPTION), and YAML without anchors or aliases.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from fixtures.contract import load_contract
from fixtures.errors import ConfigError
from reports.run import main as gate_main

ROOT = Path(__file__).resolve().parent.parent
PORTAL = json.loads((ROOT / "fixtures" / "clinic" / "portal.openapi.json").read_text(encoding="utf-8"))
LOCAL = (ROOT / "stages" / "local.toml").read_text(encoding="utf-8")
PORTAL_REF = 'contract = "fixtures/clinic/portal.openapi.json"'
STAGEGATE = str(Path(sys.executable).parent / "stagegate")
EXIT_CONFIG = 2

Doc = dict[str, Any]
Build = Callable[[], tuple[str, str | bytes]]  # -> (file suffix, content)


def portal(change: Callable[[Doc], None]) -> Build:
    """The portal contract as JSON with `change` applied to a copy."""

    def build() -> tuple[str, str | bytes]:
        doc = copy.deepcopy(PORTAL)
        change(doc)
        return ".json", json.dumps(doc)

    return build


def portal_yaml(extra: str = "", change: Callable[[str], str] = lambda text: text) -> Build:
    """The portal contract as YAML (no anchors of its own), with text appended or changed."""
    return lambda: (".yaml", change(yaml.safe_dump(PORTAL, sort_keys=False)) + extra)


def raw(suffix: str, content: str | bytes) -> Build:
    return lambda: (suffix, content)


def schemas(doc: Doc) -> Doc:
    result: Doc = doc["components"]["schemas"]
    return result


def appointment(doc: Doc) -> Doc:
    """The request body schema of POST /appointments."""
    result: Doc = schemas(doc)["Appointment"]["properties"]
    return result


def _set(target: Callable[[Doc], Doc], key: str, value: Any) -> Callable[[Doc], None]:
    def change(doc: Doc) -> None:
        target(doc)[key] = value

    return change


def _fan_out(levels: int, fan: int = 10) -> Callable[[Doc], None]:
    """The issue's 4.7 KB document: each level has `fan` properties that all $ref the next level."""

    def change(doc: Doc) -> None:
        for level in range(levels):
            child: Doc = (
                {"$ref": f"#/components/schemas/L{level + 1}"} if level < levels - 1 else {"type": "string"}
            )
            schemas(doc)[f"L{level}"] = {"type": "object", "properties": {f"p{i}": child for i in range(fan)}}
        appointment(doc)["fan"] = {"$ref": "#/components/schemas/L0"}

    return change


def _chain(length: int) -> Callable[[Doc], None]:
    def change(doc: Doc) -> None:
        for i in range(length):
            schemas(doc)[f"C{i}"] = {
                "type": "object",
                "properties": {"next": {"$ref": f"#/components/schemas/C{i + 1}"}},
            }
        schemas(doc)[f"C{length}"] = {"type": "string"}
        appointment(doc)["chain"] = {"$ref": "#/components/schemas/C0"}

    return change


def _cycle(doc: Doc) -> None:
    schemas(doc)["A"] = {"type": "object", "properties": {"b": {"$ref": "#/components/schemas/B"}}}
    schemas(doc)["B"] = {"type": "object", "properties": {"a": {"$ref": "#/components/schemas/A"}}}
    appointment(doc)["loop"] = {"$ref": "#/components/schemas/A"}


def _clinic_param(key: str, value: Any) -> Callable[[Doc], None]:
    def change(doc: Doc) -> None:
        doc["paths"]["/clinics/{id}"]["get"]["parameters"][0]["schema"][key] = value

    return change


def _response(key: str, value: Any) -> Callable[[Doc], None]:
    def change(doc: Doc) -> None:
        schemas(doc)["AppointmentRecord"].setdefault("properties", {})["note"] = {
            "type": "string",
            key: value,
        }

    return change


def _json_with(text: str) -> Build:
    """The portal JSON with `"x-extra": <text>` spliced in as written (NaN, Infinity, duplicates)."""
    return raw(".json", json.dumps(PORTAL)[:-1] + f', "x-extra": {text}}}')


BOMB = 'x-lol: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"x-{n}: &{n} [{','.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi", strict=True)
)

# (row id, contract, expected fragment of the one-line message)
ROWS: list[tuple[str, Build, str]] = [
    ("yaml-alias-bomb", portal_yaml(BOMB), "YAML anchors and aliases are not allowed in a contract"),
    ("yaml-anchor", portal_yaml("x-one: &one {a: 1}\n"), "YAML anchors and aliases are not allowed"),
    ("yaml-merge-key", portal_yaml("x-base: &b {a: 1}\nx-more:\n  <<: *b\n"), "YAML anchors and aliases"),
    ("json-nested-200000", raw(".json", "[" * 200_000 + "]" * 200_000), "nested deeper than 128 levels"),
    ("yaml-nested-200000", raw(".yaml", "a: " + "[" * 200_000 + "]" * 200_000), "nested deeper than 128"),
    ("json-nested-300-inside", portal(_set(appointment, "deep", json.loads("[" * 300 + "]" * 300))),
     "nested deeper than 128 levels"),
    ("ref-fan-out-six-levels", portal(_fan_out(6)), "resolves to more than 50,000 schema nodes"),
    ("ref-cycle", portal(_cycle),
     "-> #/components/schemas/A -> #/components/schemas/B -> #/components/schemas/A"),
    ("ref-chain-40", portal(_chain(40)), "$refs nested more than 32 deep"),
    ("ref-unresolvable", portal(_set(appointment, "x", {"$ref": "#/components/schemas/Nope"})),
     "unresolvable $ref '#/components/schemas/Nope'"),
    ("ref-external", portal(_set(appointment, "x", {"$ref": "other.json#/x"})),
     "unsupported $ref 'other.json"),
    ("ref-not-a-string", portal(_set(appointment, "x", {"$ref": 7})), "$ref must be a string"),
    ("max-length-nan", _json_with('{"type": "string", "maxLength": NaN}'),
     "maxLength: nan is not a JSON number"),
    ("maximum-infinity", _json_with('{"maximum": Infinity}'), "x-extra.maximum: inf is not a JSON number"),
    ("yaml-nan", portal_yaml("x-extra: {maxLength: .nan}\n"), "x-extra.maxLength: nan is not a JSON number"),
    ("max-length-negative", portal(_set(lambda d: appointment(d)["reason"], "maxLength", -1)),
     "properties.reason.maxLength: must be a non-negative integer, not -1"),
    ("max-length-string", portal(_set(lambda d: appointment(d)["reason"], "maxLength", "200")),
     "properties.reason.maxLength: must be a non-negative integer, not '200'"),
    ("pattern-invalid-body", portal(_set(lambda d: appointment(d)["reason"], "pattern", "(unclosed")),
     "properties.reason.pattern: is not a regular expression the validators can run"),
    ("pattern-invalid-parameter", portal(_clinic_param("pattern", "[a-")),
     "parameters[0].schema.pattern: is not a regular expression"),
    ("pattern-invalid-response", portal(_response("pattern", "*x")),
     "properties.note.pattern: is not a regular expression"),
    ("pattern-properties-invalid",
     portal(_set(lambda d: schemas(d)["Appointment"], "patternProperties", {"(": 1})),
     "patternProperties.(: is not a regular expression"),
    ("multiple-of-zero", portal(_response("multipleOf", 0)), "note.multipleOf: must be greater than 0"),
    ("minimum-not-a-number", portal(_clinic_param("minimum", "one")),
     "schema.minimum: must be a finite number"),
    ("over-6-mb", raw(".json", " " * (6 * 1024 * 1024 + 1) + "{}"), "API Gateway imports at most 6,291,456"),
    ("not-utf8", raw(".json", b'{"openapi": "3.0.1", "info": {"title": "caf\xe9"}}'), "not UTF-8 text"),
    ("invalid-json", raw(".json", '{"openapi": "3.0.1",}'), "invalid JSON"),
    ("duplicate-key", _json_with('{"a": 1, "a": 2}'), "duplicate key 'a'"),
    ("swagger-2", raw(".json", '{"swagger": "2.0", "paths": {}}'), "a Swagger 2.0 document"),
]  # fmt: skip


def _write(tmp_path: Path, build: Build) -> Path:
    suffix, content = build()
    path = tmp_path / f"portal{suffix}"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _stage_with(tmp_path: Path, contract: Path) -> Path:
    stage = tmp_path / "local.toml"
    stage.write_text(LOCAL.replace(PORTAL_REF, f"contract = {json.dumps(str(contract))}"), encoding="utf-8")
    return stage


def test_the_yaml_and_json_forms_of_the_portal_contract_load(tmp_path: Path) -> None:
    """Control: the rows' base documents are good, so each row's defect is what is refused."""
    for build in (portal(lambda doc: None), portal_yaml()):
        assert load_contract(str(_write(tmp_path, build)), "http").routes


@pytest.mark.parametrize(("build", "expected"), [(b, m) for _, b, m in ROWS], ids=[r[0] for r in ROWS])
def test_bad_contract_is_one_line_naming_the_file_and_exit_2(
    build: Build, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    contract = _write(tmp_path, build)
    started = time.monotonic()
    with pytest.raises(ConfigError) as info:
        load_contract(str(contract), "http")
    assert time.monotonic() - started < 5  # refused at once: no alias expansion, no deep recursion
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{contract}: ") and expected in message, message
    code = gate_main(["--stage", str(_stage_with(tmp_path, contract)), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert code == EXIT_CONFIG, err
    assert err == f"stagegate: configuration error: {message}"
    assert not (tmp_path / "out" / "local" / "gate.json").exists()  # refused before anything started


def test_the_table_has_at_least_25_contract_rows() -> None:
    assert len(ROWS) >= 25 and len({r[0] for r in ROWS}) == len(ROWS)


def test_a_large_fan_out_within_the_bound_loads_and_validates_quickly(tmp_path: Path) -> None:
    """Four levels of ten-fold fan-out (about 24,000 nodes once inlined) stay usable: one response
    validation of a full body takes milliseconds, not seconds (six levels took 8.8 s before)."""
    from conformance.harness.response_schema import compile_schema

    contract = load_contract(str(_write(tmp_path, portal(_fan_out(4)))), "http")
    schema = contract.route("POST /appointments").request_bodies["application/json"]["properties"]["fan"]

    def body(level: int) -> Any:
        return "s" if level == 4 else {f"p{i}": body(level + 1) for i in range(10)}

    compiled = compile_schema(schema, contract.openapi, contract.component_schemas)
    started = time.monotonic()
    assert compiled.errors(body(0)) == []
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize(
    ("row", "expected"),
    [("json-nested-200000", "nested deeper than 128 levels"), ("yaml-alias-bomb", "YAML anchors")],
)
def test_bad_contract_end_to_end_through_the_stagegate_command(
    row: str, expected: str, tmp_path: Path
) -> None:
    """Before: the deep contract became "stage could not be started or reached" (exit 3)."""
    contract = _write(tmp_path, next(b for name, b, _ in ROWS if name == row))
    done = subprocess.run(
        [STAGEGATE, "gate", "--stage", str(_stage_with(tmp_path, contract)), "--out", str(tmp_path / "out")],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == EXIT_CONFIG, done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0] and "Traceback" not in done.stderr, done.stderr[-2000:]
