"""A stage file from a Terraform module (one environment): the API Gateway resources, read with
discover/hcl.py, as the same records AWS discovery gives (discover/model.py).

HTTP APIs: aws_apigatewayv2_api (CORS), _stage (default route settings, route settings), _route,
_authorizer (JWT, REQUEST), _integration. REST APIs: aws_api_gateway_rest_api, _resource, _method,
_integration (+ _integration_response), _request_validator, _model, _authorizer, _stage,
_method_settings, _usage_plan, _api_key, _usage_plan_key. A value discover cannot evaluate is a
marked placeholder plus a warning; a key value in the source is never copied.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from discover.errors import HclError
from discover.hcl import Module, Resource, Unresolved, load_module, parse_var, refs
from discover.model import (
    Deployed,
    DeployedKey,
    DeployedPlan,
    DiscoveredApi,
    execute_api_endpoint,
    route_key_of_method_path,
    stage_url,
)
from fixtures.behaviour import HTTP_INTEGRATION_TIMEOUT_MS
from fixtures.contract import (
    Authorizer,
    CognitoAuthorizer,
    CorsConfig,
    JwtAuthorizer,
    LambdaAuthorizer,
    identity_header,
)
from fixtures.contract.routes import ANY_METHOD
from fixtures.stage import Limit

PLACEHOLDER_ID = "replace-with-api-id"
_VARIABLE = re.compile(r"\{([^}+]+)\+?\}")


@dataclass(frozen=True)
class TerraformFound:
    apis: tuple[DiscoveredApi, ...]
    notes: Mapping[str, tuple[str, ...]]
    warnings: tuple[str, ...]
    variables: str  # "env=staging, region=us-east-1": the variables the module was read with


class _Reader:
    """Evaluates resources, collecting a warning for every value it cannot evaluate."""

    def __init__(self, module: Module) -> None:
        self.module = module
        self.warnings: list[str] = list(module.warnings)

    def value(self, resource: Resource, name: str, default: Any = None) -> Any:
        value = resource.get(name, default)
        return self.checked(value, f"{resource.where}: {name}")

    def block_value(
        self, resource: Resource, block: Mapping[str, Any], name: str, default: Any = None
    ) -> Any:
        if name not in block:
            return default
        return self.checked(resource.module.evaluate(block[name]), f"{resource.where}: {name}")

    def checked(self, value: Any, where: str) -> Any:
        if isinstance(value, Unresolved):
            self.warnings.append(f"{where} = {value.expression}: {value.why}; written as a placeholder")
            return value
        if isinstance(value, list | dict):
            for item in value if isinstance(value, list) else value.values():
                self.checked(item, where)
        return value

    def of(self, type_: str) -> list[Resource]:
        return sorted((r for r in self.module.resources if r.type == type_), key=lambda r: r.where)

    def linked(self, resource: Resource, argument: str, type_: str) -> Resource | None:
        """The resource of `type_` an argument refers to (aws_x.y.id), in the same module."""
        for address in resource.refs(argument):
            if address.startswith(f"{type_}."):
                return next(
                    (
                        r
                        for r in resource.module.resources
                        if r.address == address and r.module is resource.module
                    ),
                    None,
                )
        return None

    def belongs(self, resource: Resource, argument: str, owner: Resource) -> bool:
        return self.linked(resource, argument, owner.type) is owner


def _text(value: Any) -> str:
    return str(value) if not isinstance(value, Unresolved) else f"<{value}>"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None or isinstance(value, Unresolved):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _limit(
    reader: _Reader,
    resource: Resource,
    block: Mapping[str, Any],
    rate_key: str,
    burst_key: str,
    unresolved: dict[str, str],
    where: str,
) -> Limit | None:
    rate = reader.block_value(resource, block, rate_key)
    burst = reader.block_value(resource, block, burst_key)
    for value in (rate, burst):
        if isinstance(value, Unresolved):
            unresolved[where] = f"{value.expression} ({value.why}, {resource.where})"
            return None
    if rate is None and burst is None:
        return None
    problem = ""
    for key_, value in ((rate_key, rate), (burst_key, burst)):
        if value is not None and _number(value) is None:
            problem = f"{key_} = {json.dumps(value)} is not a number"
        elif key_ == burst_key and value is not None and not float(_number(value) or 0).is_integer():
            problem = f"{key_} = {_number(value)} is not a whole number (a burst counts requests)"
    if problem:
        reader.warnings.append(f"{resource.where}: {problem}; the limit is written as a placeholder")
        unresolved[where] = f"{problem} ({resource.where})"
        return None
    if _number(rate) is None or _number(burst) is None:
        return None
    return Limit(float(_number(rate) or 0), int(_number(burst) or 0))


def _for_stage(raw: Any, evaluated: Any, stage: Resource | None, stage_name: str) -> bool:
    """Whether a stage argument (usage plan api_stages.stage, method settings stage_name) names the
    stage being written: by reference to its aws_api_gateway_stage, else by its literal name."""
    if stage is None:
        return True
    named = [address for address in refs(raw) if address.startswith("aws_api_gateway_stage.")]
    if named:
        return stage.address in named
    if isinstance(evaluated, str):
        return evaluated == stage_name
    return True  # not decidable here (a warning says the value is unresolved): kept


def discover_terraform(directory: str, var_args: list[str], var_files: list[str]) -> TerraformFound:
    cli_vars = dict(parse_var(v) for v in var_args)
    module = load_module(directory, cli_vars, tuple(var_files))
    reader = _Reader(module)
    apis: list[DiscoveredApi] = []
    taken: set[str] = set()
    for api in reader.of("aws_apigatewayv2_api"):
        if reader.value(api, "protocol_type") == "HTTP":
            apis.append(_http_api(reader, api, _name(api, taken)))
    for api in reader.of("aws_api_gateway_rest_api"):
        apis.append(_rest_api(reader, api, _name(api, taken)))
    if not apis:
        raise HclError(
            f"--terraform {directory}: no aws_apigatewayv2_api (HTTP) or aws_api_gateway_rest_api resource "
            "in the module or its local child modules"
        )
    shown = ", ".join(
        f"{k}={_text(v)}" for k, v in sorted(module.variables.items()) if not isinstance(v, dict | list)
    )
    return TerraformFound(
        tuple(apis),
        {a.name: () for a in apis},
        tuple(dict.fromkeys(reader.warnings)),
        shown or "no variables",
    )


def _name(api: Resource, taken: set[str]) -> str:
    """The API's name in the stage file: the resource name (portal, partner)."""
    base = re.sub(r"[^A-Za-z0-9_-]+", "-", api.name).strip("-") or "api"
    name, index = base, 2
    while name in taken:
        name, index = f"{base}-{index}", index + 1
    taken.add(name)
    return name


def _region(module: Module) -> str:
    region = module.variables.get("region") or module.variables.get("aws_region")
    return region if isinstance(region, str) and re.match(r"^[a-z0-9-]+$", region) else "us-east-1"


# -- HTTP APIs ------------------------------------------------------------------------------------
def _http_api(reader: _Reader, api: Resource, name: str) -> DiscoveredApi:
    title = _text(reader.value(api, "name", api.name))
    unresolved: dict[str, str] = {}
    cors_blocks = api.blocks("cors_configuration")
    cors = _http_cors(reader, api, cors_blocks[0]) if cors_blocks else None
    stages = [s for s in reader.of("aws_apigatewayv2_stage") if reader.belongs(s, "api_id", api)]
    stage = next((s for s in stages if reader.value(s, "name") == "$default"), stages[0] if stages else None)
    if len(stages) > 1:
        reader.warnings.append(
            f"{api.where}: {len(stages)} stages; the stage file describes {stage and stage.where}"
        )
    stage_name = _text(reader.value(stage, "name")) if stage else "$default"
    throttle, routes = None, {}
    if stage is not None:
        for block in stage.blocks("default_route_settings")[:1]:
            throttle = _limit(
                reader,
                stage,
                block,
                "throttling_rate_limit",
                "throttling_burst_limit",
                unresolved,
                "throttle",
            )
        for block in stage.blocks("route_settings"):
            route_key = reader.block_value(stage, block, "route_key")
            found = _limit(
                reader,
                stage,
                block,
                "throttling_rate_limit",
                "throttling_burst_limit",
                unresolved,
                f"throttle.routes.{route_key}",
            )
            if found is not None and isinstance(route_key, str):
                routes[route_key] = found
    authorizers = {
        a: _http_authorizer(reader, a)
        for a in reader.of("aws_apigatewayv2_authorizer")
        if reader.belongs(a, "api_id", api)
    }
    paths: dict[str, Any] = {}
    for route in reader.of("aws_apigatewayv2_route"):
        if reader.belongs(route, "api_id", api):
            _http_route(reader, route, authorizers, paths)
    schemes = {auth.name: _http_scheme(auth) for auth in authorizers.values()}
    contract: dict[str, Any] = {
        "openapi": "3.0.1",
        "info": {"title": title, "version": f"terraform {api.where}"},
        "paths": dict(sorted(paths.items())),
    }
    if schemes:
        contract["components"] = {"securitySchemes": dict(sorted(schemes.items()))}
    if cors is not None:
        contract["x-amazon-apigateway-cors"] = _cors_ext(cors)
    deployed = Deployed(
        flavor="http",
        api_id=PLACEHOLDER_ID,
        stage=stage_name,
        region=_region(api.module),
        title=title,
        base_url=_placeholder_url(reader, name, api, stage_name, unresolved),
        throttle=throttle,
        routes=routes,
        cors=cors,
        authorizers={a.name: a for a in authorizers.values()},
        sources={
            "api": f"Terraform {api.where}",
            "throttle": f"{stage.where}: default_route_settings, route_settings" if stage else "no stage",
            "credentials": "the authorizers in Terraform; names suggested",
        },
        unresolved=unresolved,
    )
    return DiscoveredApi(name, deployed, contract, f"built from Terraform {api.where} and its routes")


def _placeholder_url(
    reader: _Reader, name: str, api: Resource, stage_name: str, unresolved: dict[str, str]
) -> str:
    """The stage's base URL with PLACEHOLDER_ID for the API id (known only after apply), marked as
    unresolved (unless something else already is) and warned about."""
    unresolved.setdefault("base_url", f"the API id is known only after apply: replace {PLACEHOLDER_ID}")
    reader.warnings.append(
        f"{name}: base_url holds a placeholder API id ({PLACEHOLDER_ID}): put the real id in"
    )
    return stage_url(execute_api_endpoint(PLACEHOLDER_ID, _region(api.module)), stage_name)


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(_text(v) for v in value) if isinstance(value, list) else ()


def _http_cors(reader: _Reader, api: Resource, block: Mapping[str, Any]) -> CorsConfig:
    max_age = reader.block_value(api, block, "max_age")
    return CorsConfig(
        allow_origins=_strings(reader.block_value(api, block, "allow_origins", [])),
        allow_methods=tuple(m.upper() for m in _strings(reader.block_value(api, block, "allow_methods", []))),
        allow_headers=_strings(reader.block_value(api, block, "allow_headers", [])),
        expose_headers=_strings(reader.block_value(api, block, "expose_headers", [])),
        max_age=int(max_age) if _number(max_age) is not None else None,
        allow_credentials=reader.block_value(api, block, "allow_credentials", False) is True,
    )


def _cors_ext(cors: CorsConfig) -> dict[str, Any]:
    out: dict[str, Any] = {
        "allowOrigins": list(cors.allow_origins),
        "allowMethods": list(cors.allow_methods),
        "allowHeaders": list(cors.allow_headers),
        "allowCredentials": cors.allow_credentials,
    }
    if cors.expose_headers:
        out["exposeHeaders"] = list(cors.expose_headers)
    if cors.max_age is not None:
        out["maxAge"] = cors.max_age
    return out


def _function(uri: str) -> str:
    return uri.split(":function:", 1)[-1].split("/", 1)[0].split(":", 1)[0]


def _http_authorizer(reader: _Reader, auth: Resource) -> Authorizer:
    name = _text(reader.value(auth, "name", auth.name))
    sources = _strings(reader.value(auth, "identity_sources", []))
    if reader.value(auth, "authorizer_type") == "JWT":
        jwt = (auth.blocks("jwt_configuration") or [{}])[0]
        return JwtAuthorizer(
            name,
            sources[0] if sources else "$request.header.Authorization",
            _text(reader.block_value(auth, jwt, "issuer", "")),
            _strings(reader.block_value(auth, jwt, "audience", [])),
        )
    ttl = reader.value(auth, "authorizer_result_ttl_in_seconds", 300)
    return LambdaAuthorizer(
        name=name,
        kind="request",
        function=_function(_text(reader.value(auth, "authorizer_uri", ""))),
        payload_version=_text(reader.value(auth, "authorizer_payload_format_version", "1.0")),
        simple_responses=reader.value(auth, "enable_simple_responses", False) is True,
        identity_sources=sources,
        ttl_seconds=int(_number(ttl) or 0),
    )


def _scheme_header(sources: tuple[str, ...]) -> str:
    """The apiKey scheme's header `name`: the header the first identity source names; "Authorization"
    when there is none or it is no header (a query string, a context variable: identitySource has it)."""
    return (identity_header(sources[0]) if sources else None) or "Authorization"


def _http_scheme(auth: Authorizer) -> dict[str, Any]:
    if isinstance(auth, JwtAuthorizer):
        return {
            "type": "oauth2",
            "flows": {},
            "x-amazon-apigateway-authorizer": {
                "identitySource": auth.identity_source,
                "jwtConfiguration": {"audience": list(auth.audience), "issuer": auth.issuer},
                "type": "jwt",
            },
        }
    assert isinstance(auth, LambdaAuthorizer)
    header = _scheme_header(auth.identity_sources)
    ext: dict[str, Any] = {
        "identitySource": ",".join(auth.identity_sources),
        "authorizerUri": f"arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/"
        f"arn:aws:lambda:REGION:ACCOUNT_ID:function:{auth.function}/invocations",
        "authorizerPayloadFormatVersion": auth.payload_version,
        "authorizerResultTtlInSeconds": auth.ttl_seconds,
        "type": "request",
        "enableSimpleResponses": auth.simple_responses,
    }
    return {"type": "apiKey", "name": header, "in": "header", "x-amazon-apigateway-authorizer": ext}


def _path_parameters(path: str) -> list[dict[str, Any]]:
    return [
        {"name": v, "in": "path", "required": True, "schema": {"type": "string"}}
        for v in _VARIABLE.findall(path)
    ]


def _http_route(
    reader: _Reader, route: Resource, authorizers: Mapping[Resource, Authorizer], paths: dict[str, Any]
) -> None:
    route_key = reader.value(route, "route_key")
    if not isinstance(route_key, str):
        return
    method, _, path = route_key.partition(" ")
    if route_key == "$default":
        method, path = "ANY", "$default"
    op: dict[str, Any] = {"responses": {"default": {"description": f"Default response for {route_key}"}}}
    if reader.value(route, "operation_name"):
        op["operationId"] = _text(reader.value(route, "operation_name"))
    if _VARIABLE.search(path):
        op["parameters"] = _path_parameters(path)
    kind = reader.value(route, "authorization_type", "NONE")
    if kind in ("JWT", "CUSTOM"):
        auth = reader.linked(route, "authorizer_id", "aws_apigatewayv2_authorizer")
        if auth is not None and auth in authorizers:
            scopes = _strings(reader.value(route, "authorization_scopes", []))
            op["security"] = [{authorizers[auth].name: list(scopes)}]
    integration = reader.linked(route, "target", "aws_apigatewayv2_integration")
    if integration is not None:
        uri = _text(reader.value(integration, "integration_uri", ""))
        ext: dict[str, Any] = {
            "type": _text(reader.value(integration, "integration_type", "AWS_PROXY")).lower(),
            "httpMethod": _text(reader.value(integration, "integration_method", "POST")),
            "uri": uri,
            "connectionType": "INTERNET",
            "timeoutInMillis": int(
                _number(reader.value(integration, "timeout_milliseconds", HTTP_INTEGRATION_TIMEOUT_MS))
                or HTTP_INTEGRATION_TIMEOUT_MS
            ),
        }
        if ext["type"] == "aws_proxy":  # Terraform's default payload format is 1.0
            ext["payloadFormatVersion"] = _text(reader.value(integration, "payload_format_version", "1.0"))
        op["x-amazon-apigateway-integration"] = ext
    else:
        reader.warnings.append(
            f"{route.where}: no aws_apigatewayv2_integration target; the contract lacks it"
        )
    key = ANY_METHOD if method == "ANY" else method.lower()
    paths.setdefault(path, {})[key] = op


# -- REST APIs -------------------------------------------------------------------------------------
def _rest_api(reader: _Reader, api: Resource, name: str) -> DiscoveredApi:
    title = _text(reader.value(api, "name", api.name))
    unresolved: dict[str, str] = {}
    if "body" in api.body:
        reader.value(api, "body")
        reader.warnings.append(
            f"{api.where}: an inline OpenAPI body is not read; the contract comes from resources"
        )
    stages = [s for s in reader.of("aws_api_gateway_stage") if reader.belongs(s, "rest_api_id", api)]
    stage = stages[0] if stages else None
    stage_name = _text(reader.value(stage, "stage_name")) if stage else "replace-with-stage"
    if stage is None:
        unresolved["base_url"] = "no aws_api_gateway_stage: replace replace-with-stage with the stage name"
    throttle: Limit | None = None
    routes: dict[str, Limit] = {}
    for settings in reader.of("aws_api_gateway_method_settings"):
        if not reader.belongs(settings, "rest_api_id", api):
            continue
        if not _for_stage(settings.body.get("stage_name"), settings.get("stage_name"), stage, stage_name):
            continue
        method_path = reader.value(settings, "method_path")
        for block in settings.blocks("settings")[:1]:
            where = "throttle" if method_path == "*/*" else f"throttle.routes.{method_path}"
            found = _limit(
                reader, settings, block, "throttling_rate_limit", "throttling_burst_limit", unresolved, where
            )
            if found is None or not isinstance(method_path, str):
                continue
            if method_path == "*/*":
                throttle = found
            else:
                routes[route_key_of_method_path(method_path)] = found
    paths_of = _rest_paths(reader, api)
    validators = {
        v: {
            "name": _text(reader.value(v, "name")),
            "validateRequestBody": reader.value(v, "validate_request_body", False) is True,
            "validateRequestParameters": reader.value(v, "validate_request_parameters", False) is True,
        }
        for v in reader.of("aws_api_gateway_request_validator")
        if reader.belongs(v, "rest_api_id", api)
    }
    models = {
        _text(reader.value(m, "name")): _schema(reader, m)
        for m in reader.of("aws_api_gateway_model")
        if reader.belongs(m, "rest_api_id", api)
    }
    authorizers = {
        a: _rest_authorizer(reader, a)
        for a in reader.of("aws_api_gateway_authorizer")
        if reader.belongs(a, "rest_api_id", api)
    }
    contract = _rest_contract(reader, api, title, paths_of, validators, models, authorizers, stage_name)
    plans = _plans(reader, api, stage, stage_name, unresolved)
    deployed = Deployed(
        flavor="rest",
        api_id=PLACEHOLDER_ID,
        stage=stage_name,
        region=_region(api.module),
        title=title,
        base_url=_placeholder_url(reader, name, api, stage_name, unresolved),
        throttle=throttle,
        routes=routes,
        plans=plans,
        authorizers={a.name: a for a in authorizers.values()},
        sources={
            "api": f"Terraform {api.where}",
            "throttle": "aws_api_gateway_method_settings" if throttle or routes else "no method settings",
            "credentials": "the authorizers and API keys in Terraform; names suggested, values never copied",
        },
        unresolved=unresolved,
    )
    return DiscoveredApi(name, deployed, contract, f"built from Terraform {api.where} and its methods")


def _rest_paths(reader: _Reader, api: Resource) -> dict[Resource | None, str]:
    """Each aws_api_gateway_resource of the API -> its path (None: the root resource "/")."""
    resources = [r for r in reader.of("aws_api_gateway_resource") if reader.belongs(r, "rest_api_id", api)]
    out: dict[Resource | None, str] = {None: "/"}

    def path_of(resource: Resource, seen: tuple[Resource, ...] = ()) -> str:
        if resource in out:
            return out[resource]
        part = _text(reader.value(resource, "path_part"))
        parent = reader.linked(resource, "parent_id", "aws_api_gateway_resource")
        base = "/" if parent is None or parent in seen else path_of(parent, (*seen, resource))
        out[resource] = base.rstrip("/") + "/" + part
        return out[resource]

    for resource in resources:
        path_of(resource)
    return out


def _schema(reader: _Reader, model: Resource) -> Any:
    raw = reader.value(model, "schema")
    if isinstance(raw, Unresolved):
        return {"description": str(raw)}
    try:
        schema = json.loads(str(raw))
    except ValueError:
        reader.warnings.append(f"{model.where}: schema is not JSON; written as a placeholder")
        return {"description": f"UNRESOLVED schema of {model.where} (not JSON)"}
    return {k: v for k, v in schema.items() if k != "$schema"} if isinstance(schema, dict) else schema


def _rest_authorizer(reader: _Reader, auth: Resource) -> Authorizer:
    name = _text(reader.value(auth, "name", auth.name))
    source = _text(reader.value(auth, "identity_source", "method.request.header.Authorization"))
    kind = _text(reader.value(auth, "type", "TOKEN"))
    if kind == "COGNITO_USER_POOLS":
        arns = _strings(reader.value(auth, "provider_arns", []))
        return CognitoAuthorizer(name, source, arns, ())
    ttl = reader.value(auth, "authorizer_result_ttl_in_seconds", 300)
    regex = reader.value(auth, "identity_validation_expression")
    return LambdaAuthorizer(
        name=name,
        kind="token" if kind == "TOKEN" else "request",
        function=_function(_text(reader.value(auth, "authorizer_uri", ""))),
        payload_version="1.0",
        simple_responses=False,
        identity_sources=(source,) if kind == "TOKEN" else tuple(s.strip() for s in source.split(",")),
        ttl_seconds=int(_number(ttl) or 0),
        identity_validation_regex=regex if isinstance(regex, str) else None,
    )


def _rest_scheme(auth: Authorizer) -> dict[str, Any]:
    if isinstance(auth, CognitoAuthorizer):
        header = _scheme_header((auth.identity_source,))
        ext: dict[str, Any] = {"type": "cognito_user_pools", "providerARNs": list(auth.provider_arns)}
        return {
            "type": "apiKey",
            "name": header,
            "in": "header",
            "x-amazon-apigateway-authtype": "cognito_user_pools",
            "x-amazon-apigateway-authorizer": ext,
        }
    assert isinstance(auth, LambdaAuthorizer)
    ext = {
        "type": auth.kind,
        "authorizerUri": f"arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/"
        f"arn:aws:lambda:REGION:ACCOUNT_ID:function:{auth.function}/invocations",
        "authorizerResultTtlInSeconds": auth.ttl_seconds,
    }
    if auth.identity_validation_regex:
        ext["identityValidationExpression"] = auth.identity_validation_regex
    header = _scheme_header(auth.identity_sources)
    if auth.kind == "request":
        ext["identitySource"] = ", ".join(auth.identity_sources)
        header = "Unused"
    return {
        "type": "apiKey",
        "name": header,
        "in": "header",
        "x-amazon-apigateway-authtype": "custom",
        "x-amazon-apigateway-authorizer": ext,
    }


def _rest_contract(
    reader: _Reader,
    api: Resource,
    title: str,
    paths_of: Mapping[Resource | None, str],
    validators: Mapping[Resource, Mapping[str, Any]],
    models: Mapping[str, Any],
    authorizers: Mapping[Resource, Authorizer],
    stage_name: str,
) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    key_required = False
    integrations = [
        i for i in reader.of("aws_api_gateway_integration") if reader.belongs(i, "rest_api_id", api)
    ]
    responses = [
        r for r in reader.of("aws_api_gateway_integration_response") if reader.belongs(r, "rest_api_id", api)
    ]
    for method in reader.of("aws_api_gateway_method"):
        if not reader.belongs(method, "rest_api_id", api):
            continue
        resource = reader.linked(method, "resource_id", "aws_api_gateway_resource")
        path = paths_of.get(resource, "/")
        verb = _text(reader.value(method, "http_method")).upper()
        op: dict[str, Any] = {}
        if reader.value(method, "operation_name"):
            op["operationId"] = _text(reader.value(method, "operation_name"))
        params = _path_parameters(path)
        for raw_key, required in sorted((reader.value(method, "request_parameters", {}) or {}).items()):
            match = re.match(r"^method\.request\.(querystring|header)\.(.+)$", raw_key)
            if match:
                location = "query" if match.group(1) == "querystring" else "header"
                params.append(
                    {
                        "name": match.group(2),
                        "in": location,
                        "required": required is True,
                        "schema": {"type": "string"},
                    }
                )
        if params:
            op["parameters"] = params
        validator = reader.linked(method, "request_validator_id", "aws_api_gateway_request_validator")
        for media_type, model in sorted((reader.value(method, "request_models", {}) or {}).items()):
            if isinstance(model, str) and model in models:
                body = op.setdefault("requestBody", {"content": {}})
                body["content"][media_type] = {"schema": {"$ref": f"#/components/schemas/{model}"}}
                if validator is not None and validators[validator]["validateRequestBody"]:
                    body["required"] = True
        if validator is not None:
            op["x-amazon-apigateway-request-validator"] = validators[validator]["name"]
        requirement: dict[str, list[str]] = {}
        if reader.value(method, "authorization") in ("CUSTOM", "COGNITO_USER_POOLS"):
            auth = reader.linked(method, "authorizer_id", "aws_api_gateway_authorizer")
            if auth is not None:
                requirement[authorizers[auth].name] = list(
                    _strings(reader.value(method, "authorization_scopes", []))
                )
        if reader.value(method, "api_key_required", False) is True:
            requirement["api_key"] = []
            key_required = True
        if requirement:
            op["security"] = [requirement]
        integration = next(
            (
                i
                for i in integrations
                if reader.linked(i, "resource_id", "aws_api_gateway_resource") is resource
                and _text(reader.value(i, "http_method")).upper() == verb
            ),
            None,
        )
        if integration is None:
            reader.warnings.append(
                f"{method.where}: no aws_api_gateway_integration; the contract loader refuses it"
            )
        else:
            op["x-amazon-apigateway-integration"] = _rest_integration(
                reader, integration, responses, resource, verb
            )
        op["responses"] = {}
        key = ANY_METHOD if verb == "ANY" else verb.lower()
        paths.setdefault(path, {})[key] = op
    schemes = {a.name: _rest_scheme(a) for a in authorizers.values()}
    if key_required:
        schemes["api_key"] = {"type": "apiKey", "name": "x-api-key", "in": "header"}
    contract: dict[str, Any] = {
        "openapi": "3.0.1",
        "info": {"title": title, "version": f"terraform {api.where}"},
        "servers": [
            {
                "url": execute_api_endpoint(PLACEHOLDER_ID, _region(api.module)) + "/{basePath}",
                "variables": {"basePath": {"default": f"/{stage_name}"}},
            }
        ],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(models.items())),
            "securitySchemes": dict(sorted(schemes.items())),
        },
        "x-amazon-apigateway-api-key-source": _text(reader.value(api, "api_key_source", "HEADER")),
    }
    if validators:
        contract["x-amazon-apigateway-request-validators"] = {
            v["name"]: {
                "validateRequestBody": v["validateRequestBody"],
                "validateRequestParameters": v["validateRequestParameters"],
            }
            for v in sorted(validators.values(), key=lambda v: str(v["name"]))
        }
    return contract


def _rest_integration(
    reader: _Reader, integration: Resource, responses: list[Resource], resource: Resource | None, verb: str
) -> dict[str, Any]:
    ext: dict[str, Any] = {"type": _text(reader.value(integration, "type", "AWS_PROXY")).lower()}
    for argument, field in (
        ("integration_http_method", "httpMethod"),
        ("uri", "uri"),
        ("passthrough_behavior", "passthroughBehavior"),
        ("timeout_milliseconds", "timeoutInMillis"),
        ("request_templates", "requestTemplates"),
    ):
        value = reader.value(integration, argument)
        if value is not None:
            ext[field] = value.lower() if field == "passthroughBehavior" and isinstance(value, str) else value
    out = {}
    for response in responses:
        same = reader.linked(response, "resource_id", "aws_api_gateway_resource") is resource
        if same and _text(reader.value(response, "http_method")).upper() == verb:
            entry: dict[str, Any] = {"statusCode": _text(reader.value(response, "status_code", "200"))}
            for argument, field in (
                ("response_parameters", "responseParameters"),
                ("response_templates", "responseTemplates"),
            ):
                value = reader.value(response, argument)
                if value:
                    entry[field] = value
            out[_text(reader.value(response, "selection_pattern") or "default")] = entry
    if out:
        ext["responses"] = out
    return ext


def _plans(
    reader: _Reader,
    api: Resource,
    stage: Resource | None,
    stage_name: str,
    api_unresolved: dict[str, str],
) -> tuple[DeployedPlan, ...]:
    for key in reader.of("aws_api_gateway_api_key"):
        if "value" in key.body:
            reader.warnings.append(f"{key.where}: a key value is in the Terraform source; it is not copied")
    plan_keys = reader.of("aws_api_gateway_usage_plan_key")
    out = []
    for plan in reader.of("aws_api_gateway_usage_plan"):
        bound = None
        for block in plan.blocks("api_stages"):
            if api.address not in refs(block.get("api_id")):  # the address itself, not a prefix of another
                continue
            given = plan.module.evaluate(block["stage"]) if "stage" in block else None
            if _for_stage(block.get("stage"), given, stage, stage_name):
                bound = block
        if bound is None:
            continue
        unresolved: dict[str, str] = {}
        throttle = None
        for block in plan.blocks("throttle_settings")[:1]:
            throttle = _limit(reader, plan, block, "rate_limit", "burst_limit", unresolved, "throttle")
        method_throttle = {}
        for block in bound.get("throttle") or []:
            path = reader.block_value(plan, block, "path")
            found = _limit(
                reader, plan, block, "rate_limit", "burst_limit", unresolved, f"method_throttle.{path}"
            )
            if isinstance(path, str) and found is not None:
                method_throttle[route_key_of_method_path(path)] = found
        quotas = plan.blocks("quota_settings")
        quota = quotas[0] if quotas else None
        limit = reader.block_value(plan, quota, "limit") if quota else None
        if isinstance(limit, Unresolved):
            unresolved["quota"] = f"{limit.expression} ({limit.why}, {plan.where})"
        members = []
        for link in plan_keys:
            if reader.linked(link, "usage_plan_id", plan.type) is plan:
                member = reader.linked(link, "key_id", "aws_api_gateway_api_key")
                if member is not None:
                    members.append(
                        DeployedKey(
                            _text(reader.value(member, "name", member.name)),
                            reader.value(member, "enabled", True) is not False,
                        )
                    )
        plan_name = _text(reader.value(plan, "name", plan.name))
        for where, expression in unresolved.items():
            reader.warnings.append(f"{plan.where}: {where} = {expression}")
            api_unresolved[f"usage_plans.{plan_name}.{where}"] = expression
        out.append(
            DeployedPlan(
                name=plan_name,
                throttle=throttle,
                quota=int(_number(limit) or 0) if _number(limit) is not None else None,
                period=_text(reader.block_value(plan, quota, "period")) if quota else None,
                offset=int(_number(reader.block_value(plan, quota, "offset", 0)) or 0) if quota else 0,
                method_throttle=method_throttle,
                keys=tuple(sorted(members, key=lambda k: k.name)),
                source=f"Terraform {plan.where}",
            )
        )
    return tuple(sorted(out, key=lambda p: p.name))
