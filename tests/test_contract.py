"""The contract loader: the clinic exports as records, and one-line errors for malformed documents."""

from __future__ import annotations

import hashlib
import json
import pathlib

import pytest

from fixtures.contract import (
    CognitoAuthorizer,
    Contract,
    CorsConfig,
    JwtAuthorizer,
    LambdaAuthorizer,
    MockResponse,
    load_contract,
)
from fixtures.errors import ConfigError

DATA = "tests/data/contracts"
PORTAL = "fixtures/clinic/portal.openapi.json"
PARTNER = "fixtures/clinic/partner.openapi.json"
APPOINTMENT_PROPS = {"clinic_id", "patient_id", "datetime", "reason", "channel"}

ITEMS = "$.paths./items/{id}.get"
JWT_EXT = "$.components.securitySchemes.jwt.x-amazon-apigateway-authorizer"
REQAUTH_EXT = "$.components.securitySchemes.reqauth.x-amazon-apigateway-authorizer"

# (file, flavor, JSON path, problem): every file is minimal_<flavor>.json with one defect.
MALFORMED = [
    (
        "not_json.json",
        "http",
        "line 3 column 13",
        "invalid JSON: Expecting property name enclosed in double quotes",
    ),
    ("array.json", "http", "$", "the document must be an object (an OpenAPI 3 export)"),
    ("swagger.json", "http", "$.swagger", "a Swagger 2.0 document; export OpenAPI 3 (OAS30 / oas30) instead"),
    ("no_openapi.json", "http", "$", "missing 'openapi'"),
    ("openapi_version.json", "http", "$.openapi", "OpenAPI version '2.0' is not supported (3.x expected)"),
    ("no_paths.json", "http", "$", "missing 'paths'"),
    ("duplicate_key.json", "http", "$.paths./items/{id}", "duplicate key 'get'"),
    ("unknown_scheme.json", "http", f"{ITEMS}.security[0]", "unknown security scheme 'jwt2'"),
    (
        "authorizer_rest_type.json",
        "http",
        f"{JWT_EXT}.type",
        "authorizer type 'token' is a REST API feature (supported here: jwt, request)",
    ),
    (
        "authorizer_unknown_type.json",
        "http",
        f"{JWT_EXT}.type",
        "authorizer type 'saml' is not supported (supported here: jwt, request)",
    ),
    (
        "jwt_no_audience.json",
        "http",
        f"{JWT_EXT}.jwtConfiguration",
        "jwt authorizer needs at least one audience",
    ),
    ("jwt_no_issuer.json", "http", f"{JWT_EXT}.jwtConfiguration", "jwt authorizer needs an issuer"),
    (
        "bad_ref.json",
        "http",
        f"{ITEMS}.responses.200.content.application/json.schema.$ref",
        "unresolvable $ref '#/components/schemas/Nope'",
    ),
    (
        "cyclic_ref.json",
        "http",
        "$.components.schemas.Tag.$ref",
        "cyclic $ref: #/components/schemas/Item -> #/components/schemas/Tag -> #/components/schemas/Item",
    ),
    ("no_integration.json", "http", ITEMS, "integration missing (x-amazon-apigateway-integration)"),
    (
        "integration_type.json",
        "http",
        f"{ITEMS}.x-amazon-apigateway-integration.type",
        "integration type 'aws' is not supported (aws_proxy, mock, http_proxy)",
    ),
    (
        "timeout_text.json",
        "http",
        f"{ITEMS}.x-amazon-apigateway-integration.timeoutInMillis",
        "must be an integer, not a string 'soon'",
    ),
    (
        "timeout_range.json",
        "http",
        f"{ITEMS}.x-amazon-apigateway-integration.timeoutInMillis",
        "must be between 50 and 30000 ms, not 45000",
    ),
    (
        "payload_missing.json",
        "http",
        f"{ITEMS}.x-amazon-apigateway-integration",
        "payloadFormatVersion is required for HTTP API Lambda integrations",
    ),
    (
        "undeclared_path_param.json",
        "http",
        ITEMS,
        "path parameter 'id' is in the path but not declared in parameters",
    ),
    (
        "extra_path_param.json",
        "http",
        "$.paths./things.get.parameters[0]",
        "path parameter 'id' is declared but not in the path",
    ),
    (
        "greedy_not_last.json",
        "http",
        "$.paths./files/{proxy+}/meta",
        "greedy path variable '{proxy+}' must be the last segment",
    ),
    (
        "duplicate_route.json",
        "http",
        "$.paths./items/{item}.get",
        f"duplicate route key 'GET /items/{{item}}' (also at {ITEMS})",
    ),
    (
        "api_key_on_http.json",
        "http",
        f"{ITEMS}.security[0]",
        "API keys (security scheme 'api_key') are a REST API feature",
    ),
    (
        "validators_on_http.json",
        "http",
        "$.x-amazon-apigateway-request-validators",
        "x-amazon-apigateway-request-validators is a REST API feature (this contract is loaded as http)",
    ),
    (
        "mock_on_http.json",
        "http",
        f"{ITEMS}.x-amazon-apigateway-integration.type",
        "mock integrations are a REST API feature",
    ),
    (
        "cors_credentials_any_origin.json",
        "http",
        "$.x-amazon-apigateway-cors.allowCredentials",
        "allow-credentials is not supported if 'allow-origin' is *",
    ),
    (
        "lambda_scopes.json",
        "http",
        "$.paths./files/{proxy+}.x-amazon-apigateway-any-method.security[0].gate",
        "authorization scopes need a jwt or cognito_user_pools authorizer",
    ),
    (
        "unknown_validator.json",
        "rest",
        "$.paths./items.get.x-amazon-apigateway-request-validator",
        "validator 'strict' is not declared in x-amazon-apigateway-request-validators",
    ),
    (
        "cors_on_rest.json",
        "rest",
        "$.x-amazon-apigateway-cors",
        "x-amazon-apigateway-cors is an HTTP API feature (this contract is loaded as rest)",
    ),
    (
        "jwt_on_rest.json",
        "rest",
        f"{REQAUTH_EXT}.type",
        "authorizer type 'jwt' is an HTTP API feature (supported here: token, request, cognito_user_pools)",
    ),
    ("default_route_on_rest.json", "rest", "$.paths.$default", "the $default route is an HTTP API feature"),
    (
        "cognito_bad_arn.json",
        "rest",
        "$.components.securitySchemes.pool.x-amazon-apigateway-authorizer.providerARNs[0]",
        "'arn:aws:cognito-idp:us-east-1:123:pool/x' is not a Cognito user pool ARN",
    ),
    (
        "mock_dynamic_header.json",
        "rest",
        "$.paths./items.options.x-amazon-apigateway-integration.responses.default.responseParameters"
        ".method.response.header.Access-Control-Allow-Origin",
        "only static values in single quotes are supported, not 'method.request.header.Origin'",
    ),
    (
        "gateway_response_type.json",
        "rest",
        "$.x-amazon-apigateway-gateway-responses.DEFAULT_4xx",
        "unknown gateway response type 'DEFAULT_4xx'",
    ),
    (
        "iam_auth.json",
        "rest",
        "$.paths./items.get.security[0]",
        "security scheme 'sigv4' has authorizer type 'awsSigv4', which is not supported",
    ),
    (
        "token_bad_regex.json",
        "rest",
        f"{REQAUTH_EXT}.identityValidationExpression",
        "invalid regular expression: missing ), unterminated subpattern at position 1",
    ),
    (
        "rest_payload_v2.json",
        "rest",
        "$.paths./items.get.x-amazon-apigateway-integration.payloadFormatVersion",
        "REST API Lambda proxy integrations use payload 1.0",
    ),
]


@pytest.mark.parametrize(("name", "flavor", "where", "problem"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_contract_is_one_line_naming_file_path_and_problem(
    name: str, flavor: str, where: str, problem: str
) -> None:
    path = f"{DATA}/{name}"
    with pytest.raises(ConfigError) as raised:
        load_contract(path, flavor)  # type: ignore[arg-type]
    assert str(raised.value) == f"{path}: {where}: {problem}"
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(("name", "flavor"), [("minimal_http.json", "http"), ("minimal_rest.json", "rest")])
def test_positive_control_the_unbroken_minimal_documents_load(name: str, flavor: str) -> None:
    assert load_contract(f"{DATA}/{name}", flavor).routes  # type: ignore[arg-type]


def test_malformed_inputs_are_distinct_files_each_with_one_expected_message() -> None:
    names = [m[0] for m in MALFORMED]
    assert len(names) == len(set(names)) >= 15
    on_disk = {p.name for p in pathlib.Path(DATA).glob("*.json")} - {"minimal_http.json", "minimal_rest.json"}
    assert on_disk == set(names)


def test_unreadable_file_is_a_config_error(tmp_path: pathlib.Path) -> None:
    missing = str(tmp_path / "absent.json")
    with pytest.raises(
        ConfigError, match=r"absent\.json: cannot read the contract: No such file or directory$"
    ):
        load_contract(missing, "http")


def test_non_utf8_file_is_a_config_error(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes(b'{"openapi": "3.0.1", "info": {"title": "caf\xe9"}}')
    with pytest.raises(ConfigError, match="not UTF-8 text"):
        load_contract(str(path), "http")


def test_unknown_flavor_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown flavor 'websocket'"):
        load_contract(PORTAL, "websocket")  # type: ignore[arg-type]


def test_yaml_contract_loads_like_json_or_says_pyyaml_is_missing(tmp_path: pathlib.Path) -> None:
    source = json.loads(pathlib.Path(f"{DATA}/minimal_http.json").read_text())
    path = tmp_path / "mini.yaml"
    path.write_text(json.dumps(source))  # JSON is valid YAML
    try:
        import yaml  # noqa: F401
    except ImportError:
        with pytest.raises(ConfigError, match="YAML contracts need pyyaml"):
            load_contract(str(path), "http")
        return
    from_yaml = load_contract(str(path), "http")
    assert from_yaml.routes == load_contract(f"{DATA}/minimal_http.json", "http").routes


# --- the clinic portal (HTTP API) ---------------------------------------------------------------


@pytest.fixture(scope="module")
def portal() -> Contract:
    return load_contract(PORTAL, "http")


@pytest.fixture(scope="module")
def partner() -> Contract:
    return load_contract(PARTNER, "rest")


def test_portal_routes_functions_and_authorization(portal: Contract) -> None:
    table = {
        (r.route_key, r.authorizer, r.scopes, r.integration.function, r.integration.payload_version)
        for r in portal.routes
    }
    read, write = ("appointments/read",), ("appointments/write",)
    assert table == {
        ("GET /health", None, (), "clinic-health", "2.0"),
        ("GET /appointments", "clinic-cognito", read, "clinic-appointments", "2.0"),
        ("POST /appointments", "clinic-cognito", write, "clinic-appointments", "2.0"),
        ("PUT /appointments/{id}", "clinic-cognito", write, "clinic-appointments", "2.0"),
        ("DELETE /appointments/{id}", "clinic-cognito", write, "clinic-appointments", "2.0"),
        ("GET /clinics/{id}", "clinic-cognito", read, "clinic-clinics", "2.0"),
        ("POST /calls/transcribe", "clinic-cognito", write, "clinic-transcribe", "2.0"),
        ("GET /kiosk/queue", "kiosk-token", (), "clinic-kiosk-queue", "2.0"),
    }
    assert all(r.integration.timeout_ms == 30000 and not r.api_key_required for r in portal.routes)
    assert all(r.validator is None for r in portal.routes)
    assert {r.route_key for r in portal.routes if r.writes} == {
        "POST /appointments",
        "PUT /appointments/{id}",
        "DELETE /appointments/{id}",
        "POST /calls/transcribe",
    }


def test_portal_authorizers(portal: Contract) -> None:
    assert portal.authorizers == {
        "clinic-cognito": JwtAuthorizer(
            "clinic-cognito",
            "$request.header.Authorization",
            "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_ClinicPool",
            ("clinic-portal-web",),
        ),
        "kiosk-token": LambdaAuthorizer(
            "kiosk-token",
            "request",
            "clinic-kiosk-authorizer",
            "2.0",
            True,
            ("$request.header.X-Clinic-Token",),
            300,
        ),
    }


def test_portal_cors(portal: Contract) -> None:
    assert portal.cors == CorsConfig(
        allow_origins=("https://portal.clinic.com",),
        allow_methods=("GET", "POST", "PUT", "DELETE", "OPTIONS"),
        allow_headers=("Authorization", "Content-Type"),
        max_age=86400,
        allow_credentials=False,
    )
    assert portal.gateway_responses == {} and portal.binary_media_types == ()


def test_portal_bodies_resolved_with_examples_and_response_schemas(portal: Contract) -> None:
    post = portal.route("POST /appointments")
    schema = post.request_bodies["application/json"]
    assert set(schema["properties"]) == APPOINTMENT_PROPS and schema["additionalProperties"] is False
    assert post.body_required and set(post.request_example) <= APPOINTMENT_PROPS
    record = post.responses["201"].schemas["application/json"]
    assert set(record["required"]) == {"id", "clinic_id", "patient_id", "datetime", "status"}
    listing = portal.route("GET /appointments").responses["200"].schemas["application/json"]
    assert listing["properties"]["items"]["items"] == record  # nested $ref inlined
    assert post.responses["400"].schemas["application/json"]["properties"] == {"message": {"type": "string"}}
    clinic = portal.route("GET /clinics/{id}")
    assert {(p.name, p.location, p.required) for p in clinic.parameters} == {
        ("id", "path", True),
        ("include_staff", "query", False),
    }
    assert portal.route("DELETE /appointments/{id}").responses["204"].schemas == {}


def test_every_portal_success_response_and_body_is_documented(portal: Contract) -> None:
    for route in portal.routes:
        successes = [s for s in route.responses if s.startswith("2")]
        assert successes, route.route_key
        for status in successes:
            if status != "204":
                assert "application/json" in route.responses[status].schemas, (route.route_key, status)
        if route.request_bodies:
            assert route.request_example is not None, route.route_key


def test_digest_is_sha256_of_the_file_bytes(portal: Contract) -> None:
    assert portal.digest == hashlib.sha256(pathlib.Path(PORTAL).read_bytes()).hexdigest()
    assert portal.title == "clinic-portal" and portal.flavor == "http"


# --- the clinic partner (REST API) --------------------------------------------------------------


def test_partner_routes_keys_validators_and_functions(partner: Contract) -> None:
    table = {
        (
            r.route_key,
            r.authorizer,
            r.api_key_required,
            r.validator.name if r.validator else None,
            r.integration.type,
            r.integration.function,
        )
        for r in partner.routes
    }
    assert table == {
        ("GET /appointments", None, True, "params-only", "aws_proxy", "partner-appointments"),
        ("POST /appointments", None, True, "all", "aws_proxy", "partner-appointments"),
        ("GET /appointments/{id}", "partner-cognito", True, None, "aws_proxy", "partner-appointments"),
        ("GET /reports", "partner-token", False, None, "aws_proxy", "partner-reports"),
        ("OPTIONS /appointments", None, False, None, "mock", None),
    }
    lambdas = [r for r in partner.routes if r.integration.type == "aws_proxy"]
    assert {(r.integration.payload_version, r.integration.timeout_ms) for r in lambdas} == {("1.0", 29000)}
    validator = partner.route("GET /appointments").validator
    assert validator is not None and (validator.validate_parameters, validator.validate_body) == (True, False)
    post = partner.route("POST /appointments")
    assert post.validator is not None and post.validator.validate_body and post.validator.validate_parameters
    assert {(p.name, p.location, p.required) for p in post.parameters} == {
        ("X-Partner-Id", "header", True),
        ("notify", "query", True),
    }
    assert set(post.request_bodies["application/json"]["required"]) == {"clinic_id", "patient_id", "datetime"}
    assert partner.api_key_source == "HEADER"


def test_partner_authorizers(partner: Contract) -> None:
    assert partner.authorizers == {
        "partner-cognito": CognitoAuthorizer(
            "partner-cognito",
            "method.request.header.Authorization",
            ("arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_PartnerPool",),
            ("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_PartnerPool",),
        ),
        "partner-token": LambdaAuthorizer(
            "partner-token",
            "token",
            "partner-token-authorizer",
            "1.0",
            False,
            ("method.request.header.Authorization",),
            300,
            "^(allow|deny|error)-.+$",
        ),
    }


def test_partner_mock_options_and_gateway_responses(partner: Contract) -> None:
    options = partner.route("OPTIONS /appointments")
    assert options.integration.mock == MockResponse(
        200,
        {
            "Access-Control-Allow-Methods": "GET,POST,OPTIONS",
            "Access-Control-Allow-Headers": (
                "Content-Type,X-Amz-Date,Authorization,X-Api-Key,X-Amz-Security-Token,X-Partner-Id"
            ),
            "Access-Control-Allow-Origin": "https://partner.clinic.com",
        },
    )
    assert options.writes is False and options.authorizer is None
    assert partner.cors is None
    assert set(partner.gateway_responses) == {"DEFAULT_4XX", "DEFAULT_5XX"}
    for response in partner.gateway_responses.values():
        assert response.status is None and response.template is None
        assert response.headers == {"Access-Control-Allow-Origin": "https://partner.clinic.com"}


# --- features the clinic does not use, from the minimal documents -------------------------------


def test_http_minimal_any_default_greedy_and_lambda_authorizer() -> None:
    contract = load_contract(f"{DATA}/minimal_http.json", "http")
    default = contract.route("$default")
    assert (default.method, default.integration.function, default.integration.payload_version) == (
        "ANY",
        "fallback",
        "1.0",
    )
    files = contract.route("ANY /files/{proxy+}")
    assert files.writes is False  # x-stagegate-writes overrides ANY
    assert (
        files.integration.type == "http_proxy"
        and files.integration.uri == "https://files.example.com/{proxy}"
    )
    gate = contract.authorizers["gate"]
    assert isinstance(gate, LambdaAuthorizer)
    assert gate.identity_sources == ("$request.header.X-Gate", "$request.querystring.tenant")
    assert (gate.payload_version, gate.simple_responses, gate.ttl_seconds) == ("1.0", False, 0)
    assert contract.route("GET /items/{id}").integration.timeout_ms == 5000
    jwt = contract.authorizers["jwt"]
    assert isinstance(jwt, JwtAuthorizer) and jwt.audience == ("a1", "a2")
    assert contract.cors is not None and contract.cors.allow_methods == ("GET", "POST")
    assert contract.cors.expose_headers == ("x-trace",) and contract.cors.max_age is None


def test_rest_minimal_default_content_type_validators_and_gateway_template() -> None:
    contract = load_contract(f"{DATA}/minimal_rest.json", "rest")
    post = contract.route("POST /items")
    assert list(post.request_bodies) == ["$default"]
    assert post.request_bodies["$default"]["properties"]["tags"]["items"] == {
        "type": "string",
        "maxLength": 20,
    }
    assert post.request_example == {"name": "one"}  # from `examples`
    assert post.validator is not None and post.validator.name == "all"  # the top-level default
    assert post.responses["201"].headers == ("Location",)
    assert post.integration.timeout_ms == 29000
    get = contract.route("GET /items")
    assert get.validator is not None and get.validator.name == "params"  # per-operation override
    assert get.integration.timeout_ms == 10000
    request = contract.authorizers["reqauth"]
    assert isinstance(request, LambdaAuthorizer) and request.kind == "request"
    assert request.identity_sources == ("method.request.header.X-Tenant", "method.request.querystring.key")
    assert request.ttl_seconds == 60
    assert contract.api_key_source == "AUTHORIZER"
    assert contract.binary_media_types == ("image/png", "application/octet-stream")
    unauthorized = contract.gateway_responses["UNAUTHORIZED"]
    assert (unauthorized.status, unauthorized.headers) == (401, {"WWW-Authenticate": "Bearer"})
    assert unauthorized.template == '{"message":$context.error.messageString}'


def test_top_level_security_applies_unless_the_operation_overrides_it(tmp_path: pathlib.Path) -> None:
    doc = json.loads(pathlib.Path(f"{DATA}/minimal_rest.json").read_text())
    doc["security"] = [{"reqauth": []}]
    get = doc["paths"]["/items"]["get"]
    del get["security"]
    doc["paths"]["/items"]["post"]["security"] = []
    doc["components"]["parameters"] = {"Q": {"name": "q", "in": "query", "required": True}}
    get["parameters"] = [{"$ref": "#/components/parameters/Q"}]
    path = tmp_path / "top.json"
    path.write_text(json.dumps(doc))
    contract = load_contract(str(path), "rest")
    get_route, post_route = contract.route("GET /items"), contract.route("POST /items")
    assert (get_route.authorizer, post_route.authorizer, post_route.api_key_required) == (
        "reqauth",
        None,
        False,
    )
    assert [(p.name, p.location, p.required) for p in get_route.parameters] == [("q", "query", True)]
