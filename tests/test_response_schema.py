"""Response schemas are read with the contract's semantics: OpenAPI 3.0 for an OAS 3.0 contract."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

from conformance.harness.response_schema import compile_responses, compile_schema
from fixtures.contract import load_contract

NULLABLE = {"type": "object", "properties": {"reason": {"type": "string", "nullable": True}}}


def _errors(schema: dict[str, Any], body: Any, openapi: str = "3.0.1", components: Any = None) -> list[str]:
    return compile_schema(schema, openapi, components or {}).errors(body)


def test_nullable_admits_null_in_an_oas30_response_schema() -> None:
    assert _errors(NULLABLE, {"reason": None}) == []
    assert _errors(NULLABLE, {"reason": "checkup"}) == []
    # The control: draft 4, which the shape rule used before, refuses the same body.
    assert list(jsonschema.Draft4Validator(NULLABLE).iter_errors({"reason": None}))


def test_null_is_refused_where_the_schema_is_not_nullable() -> None:
    schema = {"type": "object", "properties": {"reason": {"type": "string"}}}
    assert "['reason']: None for not nullable" in _errors(schema, {"reason": None})
    assert _errors(NULLABLE, {"reason": 7}) == ["['reason']: 7 is not of type 'string'"]


def test_a_write_only_property_never_appears_in_a_response_and_need_not() -> None:
    schema = {
        "type": "object",
        "required": ["id", "password"],
        "properties": {
            "id": {"type": "string", "readOnly": True},
            "password": {"type": "string", "writeOnly": True},
        },
    }
    assert _errors(schema, {"id": "a"}) == []  # required, but write-only: absent from what is read
    assert _errors(schema, {"id": "a", "password": "x"}) != []


def test_an_invalid_schema_is_reported_not_raised() -> None:
    found = _errors({"type": "object", "required": "id"}, {})
    assert len(found) == 1 and found[0].startswith("the contract's response schema is invalid:")


def test_oas31_contracts_use_their_own_dialect() -> None:
    schema = {"type": "object", "properties": {"reason": {"type": ["string", "null"]}}}
    assert _errors(schema, {"reason": None}, openapi="3.1.0") == []
    assert _errors(schema, {"reason": 1}, openapi="3.1.0") != []


def _pet_contract(tmp_path: Path) -> Path:
    """A REST contract whose response schema refers to components: nullable, discriminator, $ref."""
    integration = {
        "type": "aws_proxy",
        "httpMethod": "POST",
        "uri": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
        "arn:aws:lambda:us-east-1:123456789012:function:pets/invocations",
    }
    doc = {
        "openapi": "3.0.1",
        "info": {"title": "pets", "version": "1"},
        "paths": {
            "/pets/{id}": {
                "get": {
                    "parameters": [
                        {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
                    ],
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}},
                        }
                    },
                    "x-amazon-apigateway-integration": integration,
                }
            }
        },
        "components": {
            "schemas": {
                "Pet": {
                    "oneOf": [{"$ref": "#/components/schemas/Dog"}, {"$ref": "#/components/schemas/Cat"}],
                    "discriminator": {"propertyName": "kind"},
                },
                "Dog": {
                    "type": "object",
                    "required": ["kind", "name"],
                    "properties": {
                        "kind": {"type": "string"},
                        "name": {"type": "string"},
                        "owner": {"type": "string", "nullable": True},
                    },
                },
                "Cat": {
                    "type": "object",
                    "required": ["kind", "lives"],
                    "properties": {"kind": {"type": "string"}, "lives": {"type": "integer"}},
                },
            }
        },
    }
    path = tmp_path / "pets.openapi.json"
    path.write_text(json.dumps(doc))
    return path


def test_a_contracts_response_schemas_are_compiled_once_each_with_oas30_semantics(tmp_path: Path) -> None:
    contract = load_contract(str(_pet_contract(tmp_path)), "rest")
    assert contract.openapi == "3.0.1" and set(contract.component_schemas) == {"Pet", "Dog", "Cat"}
    compiled = compile_responses(contract)
    assert set(compiled) == {("GET /pets/{id}", "200", "application/json")}
    pet = compiled[("GET /pets/{id}", "200", "application/json")]
    assert pet.errors({"kind": "Dog", "name": "Rex", "owner": None}) == []  # nullable, via $ref
    assert pet.errors({"kind": "Cat", "lives": 9}) == []
    # The discriminator picks the branch: a Cat that would also pass as a Dog is checked as a Cat.
    assert pet.errors({"kind": "Cat", "name": "Tom"}) == ["'lives' is a required property"]
    assert pet.errors({"kind": "Dog", "name": 3}) == ["['name']: 3 is not of type 'string'"]
