"""A static value an integration sends to its backend (a secret, often) never reaches a written file."""

from __future__ import annotations

import json

from discover.writer import WITHHELD, render_contract


def test_static_integration_values_and_templates_are_withheld() -> None:
    contract = {
        "paths": {
            "/x": {
                "get": {
                    "x-amazon-apigateway-integration": {
                        "type": "http_proxy",
                        "requestParameters": {
                            "integration.request.header.x-backend-key": "'SUPERSECRET-backend-key'",
                            "integration.request.path.id": "method.request.path.id",
                        },
                        "requestTemplates": {"application/json": '{"key": "SUPERSECRET-in-template"}'},
                    }
                }
            }
        }
    }
    text = render_contract(contract)
    assert "SUPERSECRET" not in text
    integration = json.loads(text)["paths"]["/x"]["get"]["x-amazon-apigateway-integration"]
    params = integration["requestParameters"]
    assert params["integration.request.header.x-backend-key"] == WITHHELD
    assert params["integration.request.path.id"] == "method.request.path.id"  # a mapping, not a value
    assert set(integration["requestTemplates"]) == {"application/json"}
