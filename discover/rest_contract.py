"""PURE: a REST API export completed with what exports are known to drop, from the control plane.

`aws apigateway get-export --export-type oas30 --parameters extensions=apigateway` can leave out
request validators and which methods use them, required request parameters and `apiKeyRequired`
(field notes: LocalStack drops all three; moto answers with a Swagger 2.0 skeleton). Each method is
checked against its get-method answer and whatever is missing is added, with one note per change.

Note: get-method reads the API's current definition; the export reads the stage's deployment. An
API with undeployed changes gets those changes in the completed parts.

https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-export-api.html
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from discover.model import execute_api_endpoint
from fixtures.contract.identity import identity_header
from fixtures.contract.routes import ANY_METHOD

VALIDATOR = "x-amazon-apigateway-request-validator"
VALIDATORS = "x-amazon-apigateway-request-validators"
INTEGRATION = "x-amazon-apigateway-integration"
AUTHORIZER = "x-amazon-apigateway-authorizer"
API_KEY_SCHEME = "api_key"  # the name AWS exports use for the x-api-key scheme
_PARAM = re.compile(
    r"^method\.request\.(querystring|multivaluequerystring|header|multivalueheader|path)\.(.+)$"
)
_LOCATION = {
    "querystring": "query",
    "multivaluequerystring": "query",
    "header": "header",
    "multivalueheader": "header",
    "path": "path",
}
_MODEL_URL = re.compile(r"^https?://apigateway\.[^/]+/restapis/[^/]+/models/([^/]+)$")
_VARIABLE = re.compile(r"\{([^}+]+)\+?\}")
_INTEGRATION_FIELDS = (
    "httpMethod",
    "uri",
    "connectionType",
    "connectionId",
    "credentials",
    "requestParameters",
    "requestTemplates",
    "passthroughBehavior",
    "contentHandling",
    "timeoutInMillis",
    "cacheNamespace",
    "cacheKeyParameters",
)


@dataclass(frozen=True)
class RestApiParts:
    """The control plane's view of a REST API, as get-rest-api, get-method & co. answered it."""

    api_id: str
    region: str
    stage: str
    name: str
    api_key_source: str
    binary_media_types: tuple[str, ...]
    methods: Mapping[str, Mapping[str, Mapping[str, Any]]]  # resource path -> METHOD -> get-method
    validators: Mapping[str, Mapping[str, Any]]  # id -> get-request-validators item
    models: Mapping[str, Mapping[str, Any]]  # name -> get-models item (schema as a JSON string)
    authorizers: Mapping[str, Mapping[str, Any]]  # id -> get-authorizers item
    gateway_responses: list[Mapping[str, Any]]  # customised ones (defaultResponse false)


def complete_contract(
    export: Mapping[str, Any], parts: RestApiParts
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """(the completed OpenAPI 3 document, one note per addition or correction)."""
    notes: list[str] = []
    if str(export.get("openapi", "")).startswith("3."):
        doc = copy.deepcopy(dict(export))
    else:
        kind = "Swagger 2.0" if "swagger" in export else "no document"
        notes.append(
            f"get-export gave {kind}, not OpenAPI 3: the contract is built from get-resources and get-method"
        )
        doc = {
            "openapi": "3.0.1",
            "info": {"title": parts.name, "version": f"stage {parts.stage}"},
            "servers": [
                {
                    "url": execute_api_endpoint(parts.api_id, parts.region) + "/{basePath}",
                    "variables": {"basePath": {"default": f"/{parts.stage}"}},
                }
            ],
            "paths": {},
        }
    components = doc.setdefault("components", {})
    _models(components.setdefault("schemas", {}), parts, notes)
    schemes = components.setdefault("securitySchemes", {})
    key_scheme = _api_key_scheme(schemes, parts, notes)
    by_id = _authorizer_schemes(schemes, parts, notes)
    validators = {
        str(v["name"]): {
            "validateRequestBody": bool(v.get("validateRequestBody", False)),
            "validateRequestParameters": bool(v.get("validateRequestParameters", False)),
        }
        for v in parts.validators.values()
    }
    if validators and doc.get(VALIDATORS) != validators:
        notes.append(f"{VALIDATORS}: set from get-request-validators ({', '.join(sorted(validators))})")
        doc[VALIDATORS] = dict(sorted(validators.items()))
    if doc.get("x-amazon-apigateway-api-key-source") != parts.api_key_source:
        doc["x-amazon-apigateway-api-key-source"] = parts.api_key_source
    if parts.binary_media_types and not doc.get("x-amazon-apigateway-binary-media-types"):
        doc["x-amazon-apigateway-binary-media-types"] = list(parts.binary_media_types)
    _gateway_responses(doc, parts, notes)
    paths = doc.setdefault("paths", {})
    for path in sorted(parts.methods):
        for method, answer in sorted(parts.methods[path].items()):
            _complete_method(paths, path, method, answer, parts, by_id, key_scheme, notes)
    if not schemes:
        del components["securitySchemes"]
    if not components["schemas"]:
        del components["schemas"]
    if not components:
        del doc["components"]
    return doc, tuple(notes)


def _rewrite_refs(node: Any) -> Any:
    """Model references (https://apigateway.amazonaws.com/restapis/<id>/models/<name>) -> components."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$schema":
                continue  # draft-04 marker of API Gateway models: not part of an OpenAPI schema object
            if key == "$ref" and isinstance(value, str) and (match := _MODEL_URL.match(value)):
                out[key] = f"#/components/schemas/{match.group(1)}"
            else:
                out[key] = _rewrite_refs(value)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(item) for item in node]
    return node


def _models(schemas: dict[str, Any], parts: RestApiParts, notes: list[str]) -> None:
    for name, model in sorted(parts.models.items()):
        if name in schemas:
            continue
        try:
            schema = json.loads(str(model.get("schema") or "{}"))
        except ValueError:
            notes.append(f"model {name}: its schema is not JSON; left out of the contract")
            continue
        schemas[name] = _rewrite_refs(schema)
        notes.append(f"components.schemas.{name}: added from get-models")


def _api_key_scheme(schemes: dict[str, Any], parts: RestApiParts, notes: list[str]) -> str:
    """The name of the x-api-key scheme, added when a method requires a key and the export has none."""
    for name, scheme in schemes.items():
        is_key = isinstance(scheme, dict) and scheme.get("type") == "apiKey" and AUTHORIZER not in scheme
        if is_key and str(scheme.get("name", "")).lower() == "x-api-key":
            return str(name)
    needed = any(m.get("apiKeyRequired") for methods in parts.methods.values() for m in methods.values())
    if needed:
        schemes[API_KEY_SCHEME] = {"type": "apiKey", "name": "x-api-key", "in": "header"}
        notes.append(f"components.securitySchemes.{API_KEY_SCHEME}: added (methods require an API key)")
    return API_KEY_SCHEME


def _header_of(source: str) -> str:
    """The scheme's header: the one the first identity source names, else Authorization (as AWS exports)."""
    return identity_header(source.split(",")[0]) or "Authorization"


def _authorizer_schemes(schemes: dict[str, Any], parts: RestApiParts, notes: list[str]) -> dict[str, str]:
    """Authorizer id -> scheme name; schemes the export lacks are added as AWS exports them."""
    by_id = {}
    for authorizer_id, raw in sorted(parts.authorizers.items()):
        name = str(raw.get("name", authorizer_id))
        by_id[authorizer_id] = name
        if name in schemes:
            continue
        source = str(raw.get("identitySource") or "method.request.header.Authorization")
        kind = str(raw.get("type", "")).lower()
        ext: dict[str, Any] = {"type": kind}
        scheme: dict[str, Any] = {"type": "apiKey", "name": _header_of(source), "in": "header"}
        if kind == "cognito_user_pools":
            scheme["x-amazon-apigateway-authtype"] = "cognito_user_pools"
            ext["providerARNs"] = list(raw.get("providerARNs") or ())
        else:
            scheme["x-amazon-apigateway-authtype"] = "custom"
            ext["authorizerUri"] = raw.get("authorizerUri", "")
            if raw.get("authorizerCredentials"):
                ext["authorizerCredentials"] = raw["authorizerCredentials"]
            if raw.get("authorizerResultTtlInSeconds") is not None:
                ext["authorizerResultTtlInSeconds"] = int(raw["authorizerResultTtlInSeconds"])
            if kind == "token" and raw.get("identityValidationExpression"):
                ext["identityValidationExpression"] = raw["identityValidationExpression"]
            if kind == "request":
                scheme["name"] = "Unused"
                ext["identitySource"] = source
        scheme[AUTHORIZER] = ext
        schemes[name] = scheme
        notes.append(f"components.securitySchemes.{name}: added from get-authorizers ({kind})")
    return by_id


def _gateway_responses(doc: dict[str, Any], parts: RestApiParts, notes: list[str]) -> None:
    key = "x-amazon-apigateway-gateway-responses"
    present = doc.get(key) or {}
    for response in sorted(parts.gateway_responses, key=lambda r: str(r.get("responseType"))):
        kind = str(response.get("responseType"))
        if kind in present:
            continue
        entry: dict[str, Any] = {}
        if response.get("statusCode"):
            entry["statusCode"] = str(response["statusCode"])
        for field in ("responseParameters", "responseTemplates"):
            values = {k: v for k, v in (response.get(field) or {}).items() if v is not None}
            if values:
                entry[field] = dict(sorted(values.items()))
        present[kind] = entry
        notes.append(f"{key}.{kind}: added from get-gateway-responses")
    if present:
        doc[key] = present


def _complete_method(
    paths: dict[str, Any],
    path: str,
    method: str,
    answer: Mapping[str, Any],
    parts: RestApiParts,
    by_id: Mapping[str, str],
    key_scheme: str,
    notes: list[str],
) -> None:
    route = f"{method} {path}"
    item = paths.setdefault(path, {})
    key = ANY_METHOD if method == "ANY" else method.lower()
    if key not in item:
        item[key] = {}
        notes.append(f"{route}: added from get-method (not in the export)")
    op = item[key]
    if answer.get("operationName") and "operationId" not in op:
        op["operationId"] = answer["operationName"]
    _parameters(op, path, answer, route, notes)
    validator = parts.validators.get(str(answer.get("requestValidatorId") or ""))
    _body(op, answer, parts, validator, route, notes)
    if validator is not None and op.get(VALIDATOR) != validator["name"]:
        op[VALIDATOR] = str(validator["name"])
        notes.append(f"{route}: request validator '{validator['name']}' (from get-method)")
    elif validator is None and VALIDATOR in op:
        del op[VALIDATOR]
        notes.append(f"{route}: no request validator (get-method names none)")
    _security(op, answer, by_id, key_scheme, route, notes)
    if INTEGRATION not in op:
        integration = _integration(answer.get("methodIntegration"))
        if integration is None:
            notes.append(f"{route}: no integration in get-method; the contract loader will refuse it")
        else:
            op[INTEGRATION] = integration
    else:
        _complete_integration_responses(op[INTEGRATION], answer, route, notes)
    _responses(op, answer, parts)


def _complete_integration_responses(
    exported: Any, answer: Mapping[str, Any], route: str, notes: list[str]
) -> None:
    """An export whose integration responses are empty entries (LocalStack writes `"default": null`)
    gets them from get-method's integration responses."""
    responses = exported.get("responses") if isinstance(exported, dict) else None
    if not isinstance(responses, dict) or all(isinstance(v, dict) for v in responses.values()):
        return
    fresh = _integration(answer.get("methodIntegration")) or {}
    if fresh.get("responses"):
        exported["responses"] = fresh["responses"]
        notes.append(f"{route}: integration responses taken from get-method (the export had empty ones)")
    else:
        kept = {k: v for k, v in responses.items() if isinstance(v, dict)}
        if kept:
            exported["responses"] = kept
        else:
            del exported["responses"]
        notes.append(f"{route}: empty integration responses of the export dropped (get-method has none)")


def _parameters(
    op: dict[str, Any], path: str, answer: Mapping[str, Any], route: str, notes: list[str]
) -> None:
    params = [p for p in op.get("parameters") or [] if isinstance(p, dict)]

    def find(name: str, location: str) -> dict[str, Any] | None:
        for p in params:
            same = (
                p.get("name", "").lower() == name.lower() if location == "header" else p.get("name") == name
            )
            if same and p.get("in") == location:
                return p
        return None

    wanted: list[tuple[str, str, bool]] = [(v, "path", True) for v in _VARIABLE.findall(path)]
    for raw_key, required in sorted((answer.get("requestParameters") or {}).items()):
        match = _PARAM.match(raw_key)
        if match and match.group(1) != "path":
            wanted.append((match.group(2), _LOCATION[match.group(1)], bool(required)))
    for name, location, required in wanted:
        found = find(name, location)
        if found is None:
            params.append({"name": name, "in": location, "required": required, "schema": {"type": "string"}})
            notes.append(f"{route}: {location} parameter '{name}' (required: {str(required).lower()}) added")
        elif bool(found.get("required", False)) != required:
            found["required"] = required
            notes.append(f"{route}: {location} parameter '{name}' required: {str(required).lower()}")
    if params:
        op["parameters"] = params


def _body(
    op: dict[str, Any],
    answer: Mapping[str, Any],
    parts: RestApiParts,
    validator: Mapping[str, Any] | None,
    route: str,
    notes: list[str],
) -> None:
    models = answer.get("requestModels") or {}
    for media_type, model in sorted(models.items()):
        if model not in parts.models or model == "Empty":
            continue  # Empty: API Gateway's built-in "no body model"
        body = op.setdefault("requestBody", {})
        content = body.setdefault("content", {})
        if media_type not in content or "schema" not in content[media_type]:
            content.setdefault(media_type, {})["schema"] = {"$ref": f"#/components/schemas/{model}"}
            notes.append(f"{route}: request model {model} ({media_type}) added")
        if validator is not None and validator.get("validateRequestBody") and not body.get("required"):
            body["required"] = True


def _security(
    op: dict[str, Any],
    answer: Mapping[str, Any],
    by_id: Mapping[str, str],
    key_scheme: str,
    route: str,
    notes: list[str],
) -> None:
    requirement: dict[str, list[str]] = {}
    kind = str(answer.get("authorizationType") or "NONE")
    if kind in ("CUSTOM", "COGNITO_USER_POOLS"):
        name = by_id.get(str(answer.get("authorizerId")))
        if name is None:
            notes.append(f"{route}: authorizer {answer.get('authorizerId')} is not in get-authorizers")
        else:
            requirement[name] = list(answer.get("authorizationScopes") or ())
    elif kind == "AWS_IAM":
        requirement["sigv4"] = []
        notes.append(f"{route}: IAM authorization (sigv4), which stagegate does not exercise")
    if answer.get("apiKeyRequired"):
        requirement[key_scheme] = []
    current = op.get("security")
    current_names = {name for req in current or [] if isinstance(req, dict) for name in req}
    if set(requirement) != current_names:
        if requirement:
            op["security"] = [requirement]
        else:
            op.pop("security", None)
        shown = ", ".join(sorted(requirement)) or "none"
        notes.append(
            f"{route}: security set from get-method ({shown}; apiKeyRequired: "
            f"{str(bool(answer.get('apiKeyRequired'))).lower()})"
        )


def _integration(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, dict) or not raw.get("type"):
        return None
    out: dict[str, Any] = {"type": str(raw["type"]).lower()}
    for field in _INTEGRATION_FIELDS:
        value = raw.get(field)
        if value not in (None, "", [], {}):
            out[field] = value.lower() if field == "passthroughBehavior" else value
    responses = {}
    for status, response in sorted((raw.get("integrationResponses") or {}).items()):
        entry: dict[str, Any] = {"statusCode": str(response.get("statusCode", status))}
        for field in ("responseParameters", "responseTemplates"):
            values = {k: v for k, v in (response.get(field) or {}).items() if v is not None}
            if values:
                entry[field] = dict(sorted(values.items()))
        responses[str(response.get("selectionPattern") or "default")] = entry
    if responses:
        out["responses"] = responses
    return out


def _responses(op: dict[str, Any], answer: Mapping[str, Any], parts: RestApiParts) -> None:
    responses = op.setdefault("responses", {})
    for status, response in sorted((answer.get("methodResponses") or {}).items()):
        if str(status) in responses:
            continue
        entry: dict[str, Any] = {"description": f"{status} response"}
        headers = {
            name.removeprefix("method.response.header."): {"schema": {"type": "string"}}
            for name in sorted(response.get("responseParameters") or {})
            if name.startswith("method.response.header.")
        }
        if headers:
            entry["headers"] = headers
        content = {
            media_type: {"schema": {"$ref": f"#/components/schemas/{model}"}}
            for media_type, model in sorted((response.get("responseModels") or {}).items())
            if model in parts.models
        }
        entry["content"] = content
        responses[str(status)] = entry
