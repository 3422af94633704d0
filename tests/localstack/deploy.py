"""Deploy the self-test's REST API into LocalStack with boto3, as a team would on AWS.

Runs with LocalStack's own venv (Python 3.13, boto3), never with the project's:

    <localstack-venv>/bin/python tests/localstack/deploy.py < spec.json > deployed.json

The spec (JSON on stdin) names the endpoint, the contract, the stage, its throttle and the usage
plans with their keys; key values come from the environment variables the spec names (never from
the spec or the command line). It imports the contract (OAS 3.0 with x-amazon-apigateway-*
extensions) with import_rest_api, checks that the import kept what the gate will test (API-key
requirement, validators, required parameters), deploys the stage with its method throttling, then
creates the API keys, usage plans (throttle, quota) bound to the stage and the plan keys. It prints
the ids (no key values) as JSON on stdout. Exit 1 with one line on stderr on any failure.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
GATEWAY_RESPONSES = "x-amazon-apigateway-gateway-responses"


def client(endpoint: str, region: str) -> Any:
    return boto3.client(
        "apigateway",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 2}, connect_timeout=5, read_timeout=30),
    )


def _escape(path: str) -> str:
    """A resource path inside a patch path: '/' -> '~1' (JSON pointer)."""
    return path.replace("~", "~0").replace("/", "~1")


def check_import(apigw: Any, api_id: str, contract: dict[str, Any]) -> list[str]:
    """What the import lost, compared with the contract: [] when every route is as declared."""
    problems: list[str] = []
    resources = {
        r["path"]: r for r in apigw.get_resources(restApiId=api_id, limit=500, embed=["methods"])["items"]
    }
    validators = {
        v["id"]: v for v in apigw.get_request_validators(restApiId=api_id, limit=500).get("items", [])
    }
    declared_validators = contract.get("x-amazon-apigateway-request-validators", {})
    for path, item in contract["paths"].items():
        resource = resources.get(path)
        if resource is None:
            problems.append(f"{path}: resource not imported")
            continue
        for method, op in item.items():
            if method not in HTTP_METHODS:
                continue
            where = f"{method.upper()} {path}"
            try:
                got = apigw.get_method(restApiId=api_id, resourceId=resource["id"], httpMethod=method.upper())
            except apigw.exceptions.NotFoundException:
                problems.append(f"{where}: method not imported")
                continue
            wants_key = any("api_key" in req for req in op.get("security", []))
            if bool(got.get("apiKeyRequired")) != wants_key:
                problems.append(
                    f"{where}: apiKeyRequired is {got.get('apiKeyRequired')}, contract {wants_key}"
                )
            name = op.get("x-amazon-apigateway-request-validator")
            if name is not None:
                validator = validators.get(got.get("requestValidatorId", ""))
                spec = declared_validators[name]
                if validator is None or validator.get("name") != name:
                    problems.append(f"{where}: request validator {name!r} not attached")
                elif bool(validator.get("validateRequestBody")) != spec.get(
                    "validateRequestBody", False
                ) or bool(validator.get("validateRequestParameters")) != spec.get(
                    "validateRequestParameters", False
                ):
                    problems.append(f"{where}: request validator {name!r} imported with other settings")
            params = got.get("requestParameters") or {}
            for param in op.get("parameters", []):
                location = {"query": "querystring", "header": "header", "path": "path"}[param["in"]]
                key = f"method.request.{location}.{param['name']}"
                if param.get("required") and location != "path" and params.get(key) is not True:
                    problems.append(f"{where}: required parameter {key} not imported as required")
            if "requestBody" in op and not got.get("requestModels"):
                problems.append(f"{where}: request model not imported")
    return problems


def _gateway_response(spec: dict[str, Any]) -> dict[str, Any]:
    """put_gateway_response arguments from one x-amazon-apigateway-gateway-responses entry."""
    args: dict[str, Any] = {}
    if "statusCode" in spec:
        args["statusCode"] = str(spec["statusCode"])
    if spec.get("responseParameters"):
        args["responseParameters"] = dict(spec["responseParameters"])
    if spec.get("responseTemplates"):
        args["responseTemplates"] = dict(spec["responseTemplates"])
    return args


def _stage_patches(spec: dict[str, Any]) -> list[dict[str, str]]:
    patches: list[dict[str, str]] = []
    throttle = spec.get("stage_throttle")
    if throttle:
        patches += [
            {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": str(throttle["rate"])},
            {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": str(throttle["burst"])},
        ]
    for route_key, limit in spec.get("route_throttle", {}).items():
        method, path = route_key.split(" ", 1)
        prefix = f"/{_escape(path)}/{method}/throttling"
        patches += [
            {"op": "replace", "path": f"{prefix}/rateLimit", "value": str(limit["rate"])},
            {"op": "replace", "path": f"{prefix}/burstLimit", "value": str(limit["burst"])},
        ]
    return patches


def deploy(spec: dict[str, Any]) -> dict[str, Any]:
    apigw = client(spec["endpoint"], spec.get("region", "us-east-1"))
    contract_text = Path(spec["contract"]).read_text()
    contract = json.loads(contract_text)
    api = apigw.import_rest_api(
        body=contract_text.encode(),
        failOnWarnings=True,
        parameters={"endpointConfigurationTypes": "REGIONAL"},
    )
    api_id = api["id"]
    problems = check_import(apigw, api_id, contract)
    if problems:
        raise RuntimeError("import_rest_api lost part of the contract: " + "; ".join(problems))
    # LocalStack's import_rest_api drops x-amazon-apigateway-gateway-responses (AWS keeps them):
    # put them as a team scripting the API would, so the gateway's own answers are what is tested.
    for response_type, response in contract.get(GATEWAY_RESPONSES, {}).items():
        apigw.put_gateway_response(
            restApiId=api_id, responseType=response_type, **_gateway_response(response)
        )
    stage = spec["stage"]
    deployment = apigw.create_deployment(restApiId=api_id, stageName=stage, description="stagegate self-test")
    patches = _stage_patches(spec)
    if patches:
        settings = apigw.update_stage(restApiId=api_id, stageName=stage, patchOperations=patches).get(
            "methodSettings", {}
        )
        throttle = spec.get("stage_throttle")
        got = settings.get("*/*", {})
        if throttle and (got.get("throttlingRateLimit"), got.get("throttlingBurstLimit")) != (
            float(throttle["rate"]),
            int(throttle["burst"]),
        ):
            raise RuntimeError(f"stage {stage}: method throttling not kept ({got})")
    keys: dict[str, str] = {}
    plans: dict[str, str] = {}
    for plan in spec.get("plans", []):
        args: dict[str, Any] = {
            "name": f"{plan['name']}-{api_id}",
            "apiStages": [{"apiId": api_id, "stage": stage}],
        }
        if "rate" in plan:
            args["throttle"] = {"rateLimit": float(plan["rate"]), "burstLimit": int(plan["burst"])}
        if "quota" in plan:
            args["quota"] = {
                "limit": int(plan["quota"]),
                "period": plan["period"],
                "offset": int(plan["offset"]),
            }
        plan_id = apigw.create_usage_plan(**args)["id"]
        plans[plan["name"]] = plan_id
        for key in plan["keys"]:
            value = os.environ.get(key["value_env"], "")
            if len(value) < 20:
                raise RuntimeError(f"key {key['name']}: ${key['value_env']} must hold at least 20 characters")
            key_id = apigw.create_api_key(
                name=f"{key['name']}-{api_id}", value=value, enabled=bool(key.get("enabled", True))
            )["id"]
            keys[key["name"]] = key_id
            apigw.create_usage_plan_key(usagePlanId=plan_id, keyId=key_id, keyType="API_KEY")
    return {
        "api_id": api_id,
        "stage": stage,
        "deployment_id": deployment["id"],
        "invoke_url": f"{spec['endpoint']}/restapis/{api_id}/{stage}/_user_request_",
        "plans": plans,
        "keys": keys,
    }


def main() -> int:
    try:
        result = deploy(json.load(sys.stdin))
    except Exception as exc:  # one line for the test's failure message, whatever boto3 raised
        print(f"deploy: {type(exc).__name__}: {exc}".splitlines()[0][:500], file=sys.stderr)
        return 1
    json.dump(result, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
