"""Lambda proxy payloads 1.0 and 2.0: event shapes and response rules (docs/aws-behaviour.md s8)."""

from __future__ import annotations

import base64

import pytest

from fixtures.behaviour import Kind
from fixtures.emulator.integration import proxy_v1, proxy_v2
from fixtures.emulator.wire import Rejection, Request

from .asgi_client import header, headers_named

NOW = 1584039838.0  # 12/Mar/2020:19:03:58 +0000


def _req(
    path: str = "/items/1", query: str = "", headers=(), body: bytes = b"", method: str = "GET"
) -> Request:
    return Request(method, path, query, tuple(headers), body, "10.1.2.3")


def _v2(request: Request, **kw):
    args = dict(
        route_key="GET /items/{id}",
        path_params={"id": "1"},
        api_id="abc123",
        stage="$default",
        request_id="rid=",
        now=NOW,
    )
    args.update(kw)
    return proxy_v2.build_event(request, **args)


# ---- payload 2.0 event -------------------------------------------------------------------------


def test_v2_event_core_fields() -> None:
    """DOCS http-api-develop-integrations-lambda: version, routeKey, rawPath, requestContext.http."""
    ev = _v2(_req(headers=[("Host", "api.example.com"), ("User-Agent", "ua/1")]))
    assert ev["version"] == "2.0" and ev["routeKey"] == "GET /items/{id}" and ev["rawPath"] == "/items/1"
    ctx = ev["requestContext"]
    assert ctx["http"] == {
        "method": "GET",
        "path": "/items/1",
        "protocol": "HTTP/1.1",
        "sourceIp": "10.1.2.3",
        "userAgent": "ua/1",
    }
    assert ctx["time"] == "12/Mar/2020:19:03:58 +0000" and ctx["timeEpoch"] == 1584039838000
    assert ctx["domainName"] == "api.example.com" and ctx["domainPrefix"] == "api"
    assert ctx["stage"] == "$default" and ctx["requestId"] == "rid=" and ctx["apiId"] == "abc123"
    assert ev["pathParameters"] == {"id": "1"}


def test_v2_headers_lower_cased_and_duplicates_comma_joined() -> None:
    ev = _v2(_req(headers=[("X-Multi", "a"), ("x-multi", "b"), ("Accept", "*/*")]))
    assert ev["headers"] == {"x-multi": "a,b", "accept": "*/*"}


def test_v2_cookies_not_in_headers() -> None:
    ev = _v2(_req(headers=[("Cookie", "a=1; b=2"), ("Cookie", "c=3")]))
    assert ev["cookies"] == ["a=1", "b=2", "c=3"] and "cookie" not in ev["headers"]


def test_v2_query_comma_joined_and_raw_kept() -> None:
    ev = _v2(_req(query="p=1&p=2&q=a%2Bb"))
    assert ev["rawQueryString"] == "p=1&p=2&q=a%2Bb"
    assert ev["queryStringParameters"] == {"p": "1,2", "q": "a+b"}


def test_v2_empty_fields_omitted() -> None:
    ev = _v2(_req(), path_params={})
    for absent in ("cookies", "queryStringParameters", "pathParameters", "stageVariables", "body"):
        assert absent not in ev
    assert "authorizer" not in ev["requestContext"]


def test_v2_binary_body_is_base64() -> None:
    ev = _v2(_req(body=b"\xff\x00", method="POST"))
    assert ev["isBase64Encoded"] is True and base64.b64decode(ev["body"]) == b"\xff\x00"
    text = _v2(_req(body=b'{"a":1}', method="POST"))
    assert text["body"] == '{"a":1}' and text["isBase64Encoded"] is False


# ---- payload 2.0 response --------------------------------------------------------------------------


def test_v2_status_code_given() -> None:
    resp = proxy_v2.to_response({"statusCode": 201, "headers": {"X-A": "1"}, "body": "made"})
    assert (resp.status, resp.body, header(resp, "x-a")) == (201, b"made", "1")


def test_v2_dict_without_status_is_inferred_json() -> None:
    resp = proxy_v2.to_response({"a": 1})
    assert (resp.status, resp.body, header(resp, "content-type")) == (200, b'{"a": 1}', "application/json")


def test_v2_bare_string_is_200_body() -> None:
    resp = proxy_v2.to_response("hello")
    assert (resp.status, resp.body) == (200, b"hello")


def test_v2_cookies_become_set_cookie() -> None:
    resp = proxy_v2.to_response({"statusCode": 200, "cookies": ["a=1", "b=2; Secure"]})
    assert headers_named(resp, "set-cookie") == ["a=1", "b=2; Secure"]


def test_v2_base64_body_is_decoded() -> None:
    resp = proxy_v2.to_response(
        {"statusCode": 200, "body": base64.b64encode(b"\x01\x02").decode(), "isBase64Encoded": True}
    )
    assert resp.body == b"\x01\x02"


@pytest.mark.parametrize(
    "result",
    [
        {"statusCode": "abc"},
        {"statusCode": 200, "headers": "x"},
        {"statusCode": 200, "body": {"a": 1}},
        {"statusCode": 200, "body": "!!", "isBase64Encoded": True},
        {1, 2},
    ],
)
def test_v2_malformed_is_integration_error(result: object) -> None:
    with pytest.raises(Rejection) as info:
        proxy_v2.to_response(result)
    assert info.value.kind is Kind.INTEGRATION_ERROR


# ---- payload 1.0 event ---------------------------------------------------------------------------


def _v1(request: Request, resource: str = "/items/{id}", params=None, **kw):
    args = dict(
        resource=resource,
        path_params={"id": "1"} if params is None else params,
        api_id="abc123",
        stage="v1",
        request_id="0000-1111",
        now=NOW,
    )
    args.update(kw)
    return proxy_v1.build_event(request, **args)


def test_v1_event_has_snap_shape_with_nulls() -> None:
    """SNAP test_lambda_aws_proxy_integration: absent values are null, not omitted."""
    ev = _v1(_req(headers=[("tEsT-HEADeR", "x")]), params={})
    assert list(ev) == [
        "resource",
        "path",
        "httpMethod",
        "headers",
        "multiValueHeaders",
        "queryStringParameters",
        "multiValueQueryStringParameters",
        "pathParameters",
        "stageVariables",
        "requestContext",
        "body",
        "isBase64Encoded",
    ]
    assert ev["queryStringParameters"] is None and ev["multiValueQueryStringParameters"] is None
    assert ev["pathParameters"] is None and ev["stageVariables"] is None and ev["body"] is None
    assert ev["headers"] == {"tEsT-HEADeR": "x"} and ev["multiValueHeaders"] == {"tEsT-HEADeR": ["x"]}


def test_v1_request_context_fields() -> None:
    ctx = _v1(_req())["requestContext"]
    for key in (
        "accountId",
        "apiId",
        "deploymentId",
        "domainName",
        "domainPrefix",
        "extendedRequestId",
        "httpMethod",
        "identity",
        "path",
        "protocol",
        "requestId",
        "requestTime",
        "requestTimeEpoch",
        "resourceId",
        "resourcePath",
        "stage",
    ):
        assert key in ctx, key
    assert ctx["path"] == "/v1/items/1" and ctx["resourcePath"] == "/items/{id}" and ctx["stage"] == "v1"
    assert ctx["identity"]["sourceIp"] == "10.1.2.3" and ctx["protocol"] == "HTTP/1.1"


def test_v1_query_last_value_wins_and_multi_keeps_all() -> None:
    ev = _v1(_req(query="price=10&price=20&price=30&q=a%2Bb+c"))
    assert ev["queryStringParameters"] == {"price": "30", "q": "a+b c"}
    assert ev["multiValueQueryStringParameters"]["price"] == ["10", "20", "30"]


def test_v1_trailing_slash_kept_in_path_dropped_in_proxy() -> None:
    ev = _v1(_req(path="/proxy-value/"), resource="/{proxy+}", params={"proxy": "proxy-value/"})
    assert ev["path"] == "/proxy-value/" and ev["pathParameters"] == {"proxy": "proxy-value"}


# ---- payload 1.0 response ---------------------------------------------------------------------------


def test_v1_extra_key_is_502() -> None:
    with pytest.raises(Rejection) as info:
        proxy_v1.to_response({"statusCode": 200, "wrongValue": 1})
    assert info.value.kind is Kind.INTEGRATION_ERROR
    assert proxy_v1.to_response({"statusCode": 200}).status == 200  # control


@pytest.mark.parametrize(
    "result",
    ["just a string", {"statusCode": "test"}, {"multiValueHeaders": {"a": "x"}}, None, {"body": {"a": 1}}],
)
def test_v1_malformed_is_integration_error(result: object) -> None:
    with pytest.raises(Rejection):
        proxy_v1.to_response(result)


def test_v1_numeric_string_status_accepted() -> None:
    assert proxy_v1.to_response({"statusCode": "201"}).status == 201


def test_v1_headers_only_is_200_empty_with_default_content_type() -> None:
    resp = proxy_v1.to_response({"headers": {"X-A": True}})
    assert (resp.status, resp.body) == (200, b"")
    assert header(resp, "X-A") == "true" and header(resp, "Content-Type") == "application/json"


def test_v1_multi_value_headers_merge_first_with_multi_casing() -> None:
    resp = proxy_v1.to_response(
        {
            "statusCode": 200,
            "headers": {"test-multi": "value-solo"},
            "multiValueHeaders": {"tesT-Multi": ["value-multi"], "X-L": ["a", "b"]},
        }
    )
    assert ("tesT-Multi", "value-multi, value-solo") in resp.headers
    assert header(resp, "X-L") == "a, b"


def test_v1_base64_without_binary_types_passes_text() -> None:
    resp = proxy_v1.to_response({"statusCode": 200, "body": "dGVzdC1kYXRh", "isBase64Encoded": True})
    assert resp.body == b"dGVzdC1kYXRh"
    decoded = proxy_v1.to_response(
        {"statusCode": 200, "body": "dGVzdC1kYXRh", "isBase64Encoded": True},
        binary_media_types=("image/png",),
        accept="image/png",
    )
    assert decoded.body == b"test-data"
