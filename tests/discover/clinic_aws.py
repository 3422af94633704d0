"""The example clinic APIs built in moto with boto3, from stages/staging.example.toml and the clinic
contracts: the portal HTTP API (CORS, JWT + Lambda authorizers, routes, stage limits) and the partner
REST API (resources, methods, validators, models, authorizers, stage method throttling, usage plans
and keys), plus decoys discover must leave out (a plan of another API, a key in no plan of the stage).
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "stages" / "staging.example.toml"
PORTAL = ROOT / "fixtures" / "clinic" / "portal.openapi.json"
PARTNER = ROOT / "fixtures" / "clinic" / "partner.openapi.json"
RECORDED_EXPORT = Path(__file__).resolve().parent / "data" / "portal.export.json"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch")
KEY_VALUE = "moto-key-value-0123456789abcdefghij"  # what the keys hold in moto: never in any output


def example() -> dict[str, Any]:
    return tomllib.loads(EXAMPLE.read_text())


def build_portal(v2: Any) -> str:
    """The portal HTTP API with stage $default; returns its id."""
    contract = json.loads(PORTAL.read_text())
    values = example()["apis"]["portal"]
    cors = contract["x-amazon-apigateway-cors"]
    api = v2.create_api(
        Name=contract["info"]["title"],
        ProtocolType="HTTP",
        CorsConfiguration={
            "AllowOrigins": cors["allowOrigins"],
            "AllowMethods": cors["allowMethods"],
            "AllowHeaders": cors["allowHeaders"],
            "MaxAge": cors["maxAge"],
            "AllowCredentials": cors["allowCredentials"],
        },
    )
    api_id = api["ApiId"]
    authorizers = {}
    for name, scheme in contract["components"]["securitySchemes"].items():
        ext = scheme["x-amazon-apigateway-authorizer"]
        if ext["type"] == "jwt":
            jwt = ext["jwtConfiguration"]
            made = v2.create_authorizer(
                ApiId=api_id,
                AuthorizerType="JWT",
                Name=name,
                IdentitySource=[ext["identitySource"]],
                JwtConfiguration={"Audience": jwt["audience"], "Issuer": jwt["issuer"]},
            )
        else:
            made = v2.create_authorizer(
                ApiId=api_id,
                AuthorizerType="REQUEST",
                Name=name,
                IdentitySource=[ext["identitySource"]],
                AuthorizerUri=ext["authorizerUri"],
                AuthorizerPayloadFormatVersion=ext["authorizerPayloadFormatVersion"],
                AuthorizerResultTtlInSeconds=ext["authorizerResultTtlInSeconds"],
                EnableSimpleResponses=ext["enableSimpleResponses"],
            )
        authorizers[name] = (made["AuthorizerId"], "JWT" if ext["type"] == "jwt" else "CUSTOM")
    for path, item in contract["paths"].items():
        for method, op in item.items():
            if method not in METHODS:
                continue
            integration = op["x-amazon-apigateway-integration"]
            made_integration = v2.create_integration(
                ApiId=api_id,
                IntegrationType="AWS_PROXY",
                IntegrationUri=integration["uri"],
                IntegrationMethod="POST",
                PayloadFormatVersion=integration["payloadFormatVersion"],
                TimeoutInMillis=integration["timeoutInMillis"],
            )
            route: dict[str, Any] = {"AuthorizationType": "NONE"}
            for requirement in op.get("security", []):
                for name, scopes in requirement.items():
                    authorizer_id, kind = authorizers[name]
                    route = {"AuthorizationType": kind, "AuthorizerId": authorizer_id}
                    if scopes:
                        route["AuthorizationScopes"] = scopes
            v2.create_route(
                ApiId=api_id,
                RouteKey=f"{method.upper()} {path}",
                Target=f"integrations/{made_integration['IntegrationId']}",
                **route,
            )
    throttle = values["throttle"]
    v2.create_stage(
        ApiId=api_id,
        StageName="$default",
        AutoDeploy=True,
        DefaultRouteSettings={
            "ThrottlingRateLimit": float(throttle["rate"]),
            "ThrottlingBurstLimit": throttle["burst"],
        },
        RouteSettings={
            route_key: {"ThrottlingRateLimit": float(limit["rate"]), "ThrottlingBurstLimit": limit["burst"]}
            for route_key, limit in throttle["routes"].items()
        },
    )
    return str(api_id)


def _model_refs(node: Any, api_id: str) -> Any:
    """#/components/schemas/X -> the model URL API Gateway models use to reference each other."""
    if isinstance(node, dict):
        return {
            k: (
                f"https://apigateway.amazonaws.com/restapis/{api_id}/models/{v.rsplit('/', 1)[1]}"
                if k == "$ref"
                else _model_refs(v, api_id)
            )
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_model_refs(v, api_id) for v in node]
    return node


def _ref_name(schema: dict[str, Any]) -> str:
    return str(schema["$ref"]).rsplit("/", 1)[1]


def build_partner(gw: Any, stage: str = "v1") -> str:
    """The partner REST API deployed to `stage`, with its usage plans and keys; returns its id."""
    contract = json.loads(PARTNER.read_text())
    values = example()["apis"]["partner"]
    api_id = gw.create_rest_api(name=contract["info"]["title"], apiKeySource="HEADER")["id"]
    for name, schema in contract["components"]["schemas"].items():
        gw.create_model(
            restApiId=api_id,
            name=name,
            contentType="application/json",
            schema=json.dumps(
                {"$schema": "http://json-schema.org/draft-04/schema#", **_model_refs(schema, api_id)}
            ),
        )
    validators = {
        name: gw.create_request_validator(
            restApiId=api_id,
            name=name,
            validateRequestBody=spec["validateRequestBody"],
            validateRequestParameters=spec["validateRequestParameters"],
        )["id"]
        for name, spec in contract["x-amazon-apigateway-request-validators"].items()
    }
    authorizers = {}
    for name, scheme in contract["components"]["securitySchemes"].items():
        ext = scheme.get("x-amazon-apigateway-authorizer")
        if ext is None:
            continue
        source = f"method.request.header.{scheme['name']}"
        if ext["type"] == "cognito_user_pools":
            made = gw.create_authorizer(
                restApiId=api_id,
                name=name,
                type="COGNITO_USER_POOLS",
                providerARNs=ext["providerARNs"],
                identitySource=source,
            )
            authorizers[name] = (made["id"], "COGNITO_USER_POOLS")
        else:
            made = gw.create_authorizer(
                restApiId=api_id,
                name=name,
                type="TOKEN",
                authorizerUri=ext["authorizerUri"],
                identitySource=source,
                identityValidationExpression=ext["identityValidationExpression"],
                authorizerResultTtlInSeconds=ext["authorizerResultTtlInSeconds"],
            )
            authorizers[name] = (made["id"], "CUSTOM")
    for name, response in contract["x-amazon-apigateway-gateway-responses"].items():
        gw.put_gateway_response(
            restApiId=api_id, responseType=name, responseParameters=response["responseParameters"]
        )
    resources = {r["path"]: r["id"] for r in gw.get_resources(restApiId=api_id)["items"]}
    for path, item in contract["paths"].items():
        for depth in range(1, len(path.strip("/").split("/")) + 1):
            sub = "/" + "/".join(path.strip("/").split("/")[:depth])
            if sub not in resources:
                parent = resources["/" + "/".join(path.strip("/").split("/")[: depth - 1])]
                part = sub.rsplit("/", 1)[1]
                resources[sub] = gw.create_resource(restApiId=api_id, parentId=parent, pathPart=part)["id"]
        for method, op in item.items():
            if method in METHODS:
                _put_method(gw, api_id, resources[path], method.upper(), op, validators, authorizers)
    gw.create_deployment(restApiId=api_id, stageName=stage)
    throttle = values["throttle"]
    gw.update_stage(
        restApiId=api_id,
        stageName=stage,
        patchOperations=[
            {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": str(throttle["rate"])},
            {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": str(throttle["burst"])},
        ],
    )
    for plan_name, plan in values["usage_plans"].items():
        extra: dict[str, Any] = {}
        if "quota" in plan:
            extra["quota"] = {"limit": plan["quota"], "period": plan["period"], "offset": plan["offset"]}
        made_plan = gw.create_usage_plan(
            name=plan_name,
            apiStages=[{"apiId": api_id, "stage": stage}],
            throttle={"rateLimit": float(plan["rate"]), "burstLimit": plan["burst"]},
            **extra,
        )
        for key in plan["keys"]:
            made_key = gw.create_api_key(
                name=key["name"], enabled=key.get("enabled", True), value=f"{KEY_VALUE}-{key['name']}"
            )
            gw.create_usage_plan_key(usagePlanId=made_plan["id"], keyId=made_key["id"], keyType="API_KEY")
    # Decoys: a plan of another API and a key outside the stage's plans.
    other = gw.create_usage_plan(name="other-api-plan", apiStages=[{"apiId": "otherapi01", "stage": stage}])
    stray = gw.create_api_key(name="stray-key", enabled=True, value=f"{KEY_VALUE}-stray")
    gw.create_usage_plan_key(usagePlanId=other["id"], keyId=stray["id"], keyType="API_KEY")
    return str(api_id)


def _put_method(
    gw: Any,
    api_id: str,
    resource_id: str,
    method: str,
    op: dict[str, Any],
    validators: dict[str, str],
    authorizers: dict[str, tuple[str, str]],
) -> None:
    auth: dict[str, Any] = {"authorizationType": "NONE"}
    key_required = False
    for requirement in op.get("security", []):
        for name in requirement:
            if name in authorizers:
                auth = {"authorizationType": authorizers[name][1], "authorizerId": authorizers[name][0]}
            else:
                key_required = True
    location = {"query": "querystring", "header": "header", "path": "path"}
    parameters = {
        f"method.request.{location[p['in']]}.{p['name']}": bool(p.get("required", False))
        for p in op.get("parameters", [])
    }
    models = {
        media_type: _ref_name(media["schema"])
        for media_type, media in op.get("requestBody", {}).get("content", {}).items()
    }
    extra: dict[str, Any] = {}
    if "x-amazon-apigateway-request-validator" in op:
        extra["requestValidatorId"] = validators[op["x-amazon-apigateway-request-validator"]]
    if models:
        extra["requestModels"] = models
    if parameters:
        extra["requestParameters"] = parameters
    gw.put_method(
        restApiId=api_id,
        resourceId=resource_id,
        httpMethod=method,
        apiKeyRequired=key_required,
        operationName=op["operationId"],
        **auth,
        **extra,
    )
    for status, response in op.get("responses", {}).items():
        content = response.get("content", {})
        gw.put_method_response(
            restApiId=api_id,
            resourceId=resource_id,
            httpMethod=method,
            statusCode=status,
            responseModels={m: _ref_name(c["schema"]) for m, c in content.items() if "schema" in c},
            responseParameters={f"method.response.header.{h}": False for h in response.get("headers", {})},
        )
    integration = op["x-amazon-apigateway-integration"]
    kind = integration["type"].upper()
    options: dict[str, Any] = {}
    for field in ("uri", "timeoutInMillis", "requestTemplates", "passthroughBehavior"):
        if field in integration:
            options[field] = (
                integration[field].upper() if field == "passthroughBehavior" else integration[field]
            )
    if kind != "MOCK":
        options["integrationHttpMethod"] = integration["httpMethod"]
    gw.put_integration(restApiId=api_id, resourceId=resource_id, httpMethod=method, type=kind, **options)
    for _pattern, response in integration.get("responses", {}).items():
        gw.put_integration_response(
            restApiId=api_id,
            resourceId=resource_id,
            httpMethod=method,
            statusCode=response["statusCode"],
            responseParameters=response.get("responseParameters", {}),
        )


def env_names(stage_text: str) -> dict[str, str]:
    """Every variable a stage file names (`*_env = "NAME"`), each set to a test value."""
    return {name: f"test-{name.lower()}" for name in re.findall(r'_env\s*=\s*"([A-Z0-9_]+)"', stage_text)}
