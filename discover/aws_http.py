"""An HTTP API stage read from AWS (apigatewayv2, read-only): limits, CORS, authorizers, the export.

https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-export.html
"""

from __future__ import annotations

import json
from typing import Any

from discover.aws import Clients, account_limit, call, explain, pages_v2
from discover.errors import DiscoverError
from discover.model import Deployed, execute_api_endpoint, limit_or_none, stage_url
from fixtures.contract import Authorizer, CorsConfig, JwtAuthorizer, LambdaAuthorizer
from fixtures.stage import Limit


def _function(uri: str) -> str:
    """The Lambda function name inside an authorizer URI (`...:function:NAME/invocations`)."""
    tail = uri.split(":function:", 1)[-1]
    return tail.split("/", 1)[0].split(":", 1)[0]


def read_http(clients: Clients, api_id: str, stage: str) -> Deployed:
    """The HTTP API's stage: default route settings, route settings, CORS and the routes' authorizers."""
    v2 = clients.http
    where = f"HTTP API {api_id} in {clients.region}"
    api = call(
        f"get-api {api_id}",
        v2.get_api,
        f"no {where}; check the id (`aws apigatewayv2 get-apis`) and the region (--region)",
        ApiId=api_id,
    )
    if api.get("ProtocolType") != "HTTP":
        raise DiscoverError(
            f"get-api {api_id}: a {api.get('ProtocolType')} API, not an HTTP API; "
            "stagegate covers HTTP and REST APIs (use --rest-api for a REST API)"
        )
    deployed = call(
        f"get-stage {stage} of HTTP API {api_id}",
        v2.get_stage,
        f"{where} has no stage '{stage}'; check the name (`aws apigatewayv2 get-stages --api-id {api_id}`)",
        ApiId=api_id,
        StageName=stage,
    )
    defaults = deployed.get("DefaultRouteSettings") or {}
    throttle = limit_or_none(defaults.get("ThrottlingRateLimit"), defaults.get("ThrottlingBurstLimit"))
    routes: dict[str, Limit] = {}
    for route_key, settings in sorted((deployed.get("RouteSettings") or {}).items()):
        found = limit_or_none(settings.get("ThrottlingRateLimit"), settings.get("ThrottlingBurstLimit"))
        if found is not None:
            routes[route_key] = found
    listed = pages_v2(f"get-routes of HTTP API {api_id}", v2.get_routes, ApiId=api_id)
    authorizer_ids = sorted({r["AuthorizerId"] for r in listed if r.get("AuthorizerId")})
    authorizers: dict[str, Authorizer] = {}
    authorizer_names: dict[str, str] = {}
    for authorizer_id in authorizer_ids:
        raw = call(
            f"get-authorizer {authorizer_id} of HTTP API {api_id}",
            v2.get_authorizer,
            ApiId=api_id,
            AuthorizerId=authorizer_id,
        )
        found_authorizer = http_authorizer(raw)
        authorizers[found_authorizer.name] = found_authorizer
        authorizer_names[authorizer_id] = found_authorizer.name
    route_auth = {
        str(r["RouteKey"]): {
            "authorization": str(r.get("AuthorizationType") or "NONE"),
            "authorizer": authorizer_names.get(str(r.get("AuthorizerId") or "")),
        }
        for r in listed
        if r.get("RouteKey")
    }
    endpoint = str(api.get("ApiEndpoint") or execute_api_endpoint(api_id, clients.region))
    account, account_warning = account_limit(clients)
    warnings = [account_warning] if account_warning else []
    if api.get("DisableExecuteApiEndpoint"):
        warnings.append(
            f"HTTP API {api_id} disables its execute-api endpoint: set base_url to its custom domain"
        )
    updated = _when(deployed.get("LastUpdatedDate"))
    return Deployed(
        flavor="http",
        api_id=api_id,
        stage=stage,
        region=clients.region,
        title=str(api.get("Name", api_id)),
        base_url=stage_url(endpoint, stage),
        throttle=throttle,
        routes=routes,
        cors=http_cors(api.get("CorsConfiguration")),
        authorizers=authorizers,
        sources={
            "api": f"HTTP API {api_id} ({api.get('Name', '')}), {clients.region}: get-api",
            "throttle": f"get-stage {stage}{updated}: DefaultRouteSettings, RouteSettings",
            "credentials": "the contract's authorizers; names suggested, values never read",
        },
        warnings=tuple(warnings),
        account=account,
        route_auth=route_auth,
    )


def _when(stamp: Any) -> str:
    """' (last updated 2026-11-20T09:12:44Z)' from a boto3 datetime, '' when AWS gave none."""
    if stamp is None or not hasattr(stamp, "isoformat"):
        return ""
    return f" (last updated {stamp.isoformat().replace('+00:00', 'Z')})"


def http_cors(raw: Any) -> CorsConfig | None:
    """CorsConfiguration of get-api -> the contract's CorsConfig (None: no CORS configured)."""
    if not raw:
        return None
    max_age = raw.get("MaxAge")
    return CorsConfig(
        allow_origins=tuple(raw.get("AllowOrigins") or ()),
        allow_methods=tuple(m.upper() for m in raw.get("AllowMethods") or ()),
        allow_headers=tuple(raw.get("AllowHeaders") or ()),
        expose_headers=tuple(raw.get("ExposeHeaders") or ()),
        max_age=None if max_age is None or max_age < 0 else int(max_age),
        allow_credentials=bool(raw.get("AllowCredentials", False)),
    )


def http_authorizer(raw: dict[str, Any]) -> Authorizer:
    """get-authorizer (apigatewayv2) -> the contract's authorizer record."""
    name = str(raw.get("Name", raw.get("AuthorizerId", "")))
    sources = tuple(raw.get("IdentitySource") or ())
    if raw.get("AuthorizerType") == "JWT":
        jwt = raw.get("JwtConfiguration") or {}
        source = sources[0] if sources else "$request.header.Authorization"
        return JwtAuthorizer(name, source, str(jwt.get("Issuer", "")), tuple(jwt.get("Audience") or ()))
    return LambdaAuthorizer(
        name=name,
        kind="request",
        function=_function(str(raw.get("AuthorizerUri", ""))),
        payload_version=str(raw.get("AuthorizerPayloadFormatVersion", "1.0")),
        simple_responses=bool(raw.get("EnableSimpleResponses", False)),
        identity_sources=sources,
        ttl_seconds=int(raw.get("AuthorizerResultTtlInSeconds", 0) or 0),
    )


def export_http(clients: Clients, api_id: str, stage: str) -> dict[str, Any]:
    """export-api (OAS30, JSON, with extensions) of the stage: the contract as AWS describes it."""
    from botocore.exceptions import BotoCoreError, ClientError

    what = f"export-api {api_id} (stage {stage})"
    try:
        answer = clients.http.export_api(
            ApiId=api_id, OutputType="JSON", Specification="OAS30", IncludeExtensions=True, StageName=stage
        )
    except ClientError as exc:
        if "not yet implemented" in str(exc.response.get("Error", {}).get("Message", "")).lower():
            raise DiscoverError(
                f"{what}: this endpoint does not implement export-api (an AWS emulator such as moto?); "
                "export the API where it is deployed (`aws apigatewayv2 export-api "
                f"--api-id {api_id} --output-type JSON --specification OAS30 --include-extensions "
                f"--stage-name '{stage}' FILE`) and pass the file with --contract FILE"
            ) from None
        raise explain(what, exc, f"HTTP API {api_id} or its stage '{stage}' does not exist") from None
    except BotoCoreError as exc:
        raise explain(what, exc) from None
    body = answer.get("body", b"")
    return parse_export(what, body.read() if hasattr(body, "read") else body)


def parse_export(what: str, body: bytes | str) -> dict[str, Any]:
    """An export document (JSON) as a dict; anything else is a DiscoverError naming the call."""
    try:
        doc = json.loads(body)
    except ValueError as exc:
        raise DiscoverError(
            f"{what}: the export is not JSON ({exc}); pass the document with --contract FILE"
        ) from None
    if not isinstance(doc, dict):
        raise DiscoverError(
            f"{what}: the export is not a JSON object; pass the document with --contract FILE"
        )
    return doc


def route_keys(clients: Clients, api_id: str) -> set[str]:
    return {
        str(r["RouteKey"])
        for r in pages_v2(f"get-routes of HTTP API {api_id}", clients.http.get_routes, ApiId=api_id)
    }
