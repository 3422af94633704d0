"""A REST API stage read from AWS (apigateway, read-only): method throttling, usage plans and their keys,
authorizers, and the contract (get-export completed from get-method).

Key values are never requested: keys are listed with get-api-keys (includeValues off) and matched
to plans with get-usage-plans --key-id; get-usage-plan-keys is not called, as it returns values.
"""

from __future__ import annotations

from typing import Any, Literal

from discover.aws import Clients, account_limit, call, pages_v1
from discover.aws_http import parse_export
from discover.errors import DiscoverError
from discover.model import (
    Deployed,
    DeployedKey,
    DeployedPlan,
    execute_api_endpoint,
    limit_or_none,
    route_key_of_method_path,
    stage_url,
)
from discover.rest_contract import RestApiParts, complete_contract
from fixtures.behaviour import REST_AUTHORIZER_TTL_DEFAULT_S
from fixtures.contract import Authorizer, CognitoAuthorizer, LambdaAuthorizer
from fixtures.stage import Limit


def _function(uri: str) -> str:
    tail = uri.split(":function:", 1)[-1]
    return tail.split("/", 1)[0].split(":", 1)[0]


def _api(clients: Clients, api_id: str) -> dict[str, Any]:
    return call(  # type: ignore[no-any-return]
        f"get-rest-api {api_id}",
        clients.rest.get_rest_api,
        f"no REST API {api_id} in {clients.region}; check the id (`aws apigateway get-rest-apis`) "
        "and the region (--region)",
        restApiId=api_id,
    )


def _stage(clients: Clients, api_id: str, stage: str) -> dict[str, Any]:
    return call(  # type: ignore[no-any-return]
        f"get-stage {stage} of REST API {api_id}",
        clients.rest.get_stage,
        f"REST API {api_id} in {clients.region} has no stage '{stage}'; check the name "
        f"(`aws apigateway get-stages --rest-api-id {api_id}`)",
        restApiId=api_id,
        stageName=stage,
    )


def read_rest(clients: Clients, api_id: str, stage: str) -> Deployed:
    """The REST API's stage: method throttling, the usage plans bound to it with their keys, authorizers."""
    api = _api(clients, api_id)
    deployed = _stage(clients, api_id, stage)
    settings = deployed.get("methodSettings") or {}
    everything = settings.get("*/*") or {}
    throttle = limit_or_none(everything.get("throttlingRateLimit"), everything.get("throttlingBurstLimit"))
    routes: dict[str, Limit] = {}
    for method_path, values in sorted(settings.items()):
        if method_path == "*/*":
            continue
        found = limit_or_none(values.get("throttlingRateLimit"), values.get("throttlingBurstLimit"))
        if found is not None and found != throttle:  # a copy of the stage default overrides nothing
            routes[route_key_of_method_path(method_path)] = found
    plans = usage_plans(clients, api_id, stage)
    raw_authorizers = _authorizers(clients, api_id)
    authorizers = {a.name: a for a in map(rest_authorizer, raw_authorizers)}
    names = {str(a.get("id")): str(a.get("name", a.get("id", ""))) for a in raw_authorizers}
    route_auth = rest_route_auth(clients, api_id, names)
    updated = deployed.get("lastUpdatedDate")
    when = f" (last updated {updated.isoformat().replace('+00:00', 'Z')})" if updated else ""
    account, account_warning = account_limit(clients)
    warnings = [account_warning] if account_warning else []
    if not throttle:
        warnings.append(
            f"REST API {api_id} stage {stage} sets no default method throttling (*/*): the account "
            "default limits apply, and the stage file declares none"
        )
    return Deployed(
        flavor="rest",
        api_id=api_id,
        stage=stage,
        region=clients.region,
        title=str(api.get("name", api_id)),
        base_url=stage_url(execute_api_endpoint(api_id, clients.region), stage),
        throttle=throttle,
        routes=routes,
        plans=plans,
        authorizers=authorizers,
        sources={
            "api": f"REST API {api_id} ({api.get('name', '')}), {clients.region}: get-rest-api",
            "throttle": f"get-stage {stage}{when}: methodSettings",
            "credentials": "the contract's authorizers and API keys; names suggested, values never read",
        },
        warnings=tuple(warnings),
        account=account,
        route_auth=route_auth,
    )


def rest_route_auth(
    clients: Clients, api_id: str, authorizer_names: dict[str, str]
) -> dict[str, dict[str, Any]]:
    """Each method's authorization type, authorizer and apiKeyRequired: get-resources with the methods
    embedded (get-method for a method the answer does not embed)."""
    gw = clients.rest
    out: dict[str, dict[str, Any]] = {}
    listed = pages_v1(
        f"get-resources of REST API {api_id}", gw.get_resources, restApiId=api_id, embed=["methods"]
    )
    for resource in listed:
        for method, raw in sorted((resource.get("resourceMethods") or {}).items()):
            if not isinstance(raw, dict) or "authorizationType" not in raw:
                raw = call(
                    f"get-method {method} {resource['path']} of REST API {api_id}",
                    gw.get_method,
                    restApiId=api_id,
                    resourceId=resource["id"],
                    httpMethod=method,
                )
            kind = str(raw.get("authorizationType") or "NONE")
            out[f"{str(method).upper()} {resource['path']}"] = {
                "authorization": kind,
                "authorizer": authorizer_names.get(str(raw.get("authorizerId") or ""))
                if kind in ("CUSTOM", "COGNITO_USER_POOLS")
                else None,
                "api_key_required": bool(raw.get("apiKeyRequired")),
            }
    return out


def usage_plans(clients: Clients, api_id: str, stage: str) -> tuple[DeployedPlan, ...]:
    """Every usage plan bound to the stage, with its throttle, quota, per-method throttle and keys."""
    gw = clients.rest
    bound: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    for plan in pages_v1("get-usage-plans", gw.get_usage_plans):
        for api_stage in plan.get("apiStages") or ():
            if api_stage.get("apiId") == api_id and api_stage.get("stage") == stage:
                bound[str(plan["id"])] = (plan, api_stage)
    keys: dict[str, list[DeployedKey]] = {plan_id: [] for plan_id in bound}
    if bound:
        # includeValues stays off: the values never leave AWS. Plan membership per key comes from
        # get-usage-plans --key-id (get-usage-plan-keys would return the values).
        named: set[str] = set()
        listed = pages_v1("get-api-keys", gw.get_api_keys, includeValues=False)
        for key in sorted(listed, key=lambda k: (str(k.get("name")), str(k["id"]))):
            member_of = pages_v1(f"get-usage-plans --key-id {key['id']}", gw.get_usage_plans, keyId=key["id"])
            name = str(key.get("name") or key["id"])
            if name in named:  # API Gateway allows two keys with one name; a stage file does not
                name = f"{name}-{key['id']}"
            for plan in member_of:
                if str(plan["id"]) in keys:
                    named.add(name)
                    keys[str(plan["id"])].append(DeployedKey(name, bool(key.get("enabled", False))))
    out = []
    for plan_id, (plan, api_stage) in bound.items():
        throttle = plan.get("throttle") or {}
        quota = plan.get("quota") or {}
        method_throttle = {
            route_key_of_method_path(path): found
            for path, values in sorted((api_stage.get("throttle") or {}).items())
            if (found := limit_or_none(values.get("rateLimit"), values.get("burstLimit"))) is not None
        }
        out.append(
            DeployedPlan(
                name=str(plan.get("name") or plan_id),
                throttle=limit_or_none(throttle.get("rateLimit"), throttle.get("burstLimit")),
                quota=int(quota["limit"]) if quota.get("limit") is not None else None,
                period=str(quota["period"]) if quota.get("period") else None,
                offset=int(quota.get("offset") or 0),
                method_throttle=method_throttle,
                keys=tuple(sorted(keys[plan_id], key=lambda k: k.name)),
                source=f"get-usage-plan {plan_id}, get-api-keys (names and enabled flags only)",
            )
        )
    return tuple(sorted(out, key=lambda p: p.name))


def _authorizers(clients: Clients, api_id: str) -> list[dict[str, Any]]:
    return pages_v1(f"get-authorizers of REST API {api_id}", clients.rest.get_authorizers, restApiId=api_id)


def rest_authorizer(raw: dict[str, Any]) -> Authorizer:
    """get-authorizers item -> the contract's authorizer record (issuers derived from the pool ARNs)."""
    name = str(raw.get("name", raw.get("id", "")))
    source = str(raw.get("identitySource") or "method.request.header.Authorization")
    if raw.get("type") == "COGNITO_USER_POOLS":
        arns = tuple(raw.get("providerARNs") or ())
        issuers = []
        for arn in arns:
            parts = arn.split(":")
            if len(parts) >= 6 and "/" in parts[5]:
                issuers.append(f"https://cognito-idp.{parts[3]}.amazonaws.com/{parts[5].split('/', 1)[1]}")
        return CognitoAuthorizer(name, source, arns, tuple(issuers))
    ttl = raw.get("authorizerResultTtlInSeconds")
    ttl_seconds = REST_AUTHORIZER_TTL_DEFAULT_S if ttl is None else int(ttl)
    kind: Literal["token", "request"] = "token" if raw.get("type") == "TOKEN" else "request"
    sources = (source,) if kind == "token" else tuple(s.strip() for s in source.split(",") if s.strip())
    return LambdaAuthorizer(
        name=name,
        kind=kind,
        function=_function(str(raw.get("authorizerUri", ""))),
        payload_version="1.0",
        simple_responses=False,
        identity_sources=sources,
        ttl_seconds=ttl_seconds,
        identity_validation_regex=raw.get("identityValidationExpression") if kind == "token" else None,
    )


def rest_contract(
    clients: Clients, api_id: str, stage: str, export: dict[str, Any] | None
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The stage's contract: get-export (oas30, extensions=apigateway) completed from get-method.

    `export` given (--contract): that document is completed instead of calling get-export.
    Returns the document and one note per thing the completion added or replaced.
    """
    gw = clients.rest
    api = _api(clients, api_id)
    if export is None:
        export = _export(clients, api_id, stage)
    resources = pages_v1(f"get-resources of REST API {api_id}", gw.get_resources, restApiId=api_id)
    methods: dict[str, dict[str, dict[str, Any]]] = {}
    for resource in sorted(resources, key=lambda r: str(r.get("path", ""))):
        for method in sorted(resource.get("resourceMethods") or {}):
            methods.setdefault(str(resource["path"]), {})[method] = call(
                f"get-method {method} {resource['path']} of REST API {api_id}",
                gw.get_method,
                restApiId=api_id,
                resourceId=resource["id"],
                httpMethod=method,
            )
    parts = RestApiParts(
        api_id=api_id,
        region=clients.region,
        stage=stage,
        name=str(api.get("name", api_id)),
        api_key_source=str(api.get("apiKeySource") or "HEADER"),
        binary_media_types=tuple(api.get("binaryMediaTypes") or ()),
        methods=methods,
        validators={
            str(v["id"]): v
            for v in pages_v1(
                f"get-request-validators of REST API {api_id}", gw.get_request_validators, restApiId=api_id
            )
        },
        models={
            str(m["name"]): m
            for m in pages_v1(f"get-models of REST API {api_id}", gw.get_models, restApiId=api_id)
        },
        authorizers={str(a["id"]): a for a in _authorizers(clients, api_id)},
        gateway_responses=[
            r
            for r in pages_v1(
                f"get-gateway-responses of REST API {api_id}", gw.get_gateway_responses, restApiId=api_id
            )
            if not r.get("defaultResponse", False)
        ],
    )
    return complete_contract(export, parts)


def _export(clients: Clients, api_id: str, stage: str) -> dict[str, Any]:
    what = f"get-export {api_id} stage {stage} (oas30, extensions=apigateway)"
    answer = call(
        what,
        clients.rest.get_export,
        f"REST API {api_id} has no deployed stage '{stage}'",
        restApiId=api_id,
        stageName=stage,
        exportType="oas30",
        parameters={"extensions": "apigateway"},
        accepts="application/json",
    )
    body = answer.get("body", b"")
    try:
        return parse_export(what, body.read() if hasattr(body, "read") else body)
    except DiscoverError:
        return {}  # completed from get-method alone (complete_contract notes it)
