"""The Lambda functions the recorded APIs were configured with, as the emulator's handlers.

Each returns what the recording's function returned (the recordings name the function files in
LocalStack's tests/aws/services/lambda_/functions/; the behaviour is restated here, not copied):
- `echo-event`: 200 with the event it received, JSON-encoded, as the body (lambda_aws_proxy.py);
- `response-from-body`: the request body parsed as JSON, returned as the function's whole answer
  (LAMBDA_RESPONSE_FROM_BODY in test_apigateway_lambda.py), so a request decides the proxy response
  shape the gateway must map. A request without a body makes it raise, as the recorded one did.
"""

from __future__ import annotations

import base64
import json
from typing import Any


def echo_event(event: dict, context: Any) -> dict[str, Any]:
    return {"statusCode": 200, "body": json.dumps(event), "isBase64Encoded": False}


def response_from_body(event: dict, context: Any) -> Any:
    body = event["body"]
    if event.get("isBase64Encoded"):
        body = base64.b64decode(body)
    return json.loads(body)  # None (no body) raises TypeError: an invocation error, as recorded


def make_handlers() -> dict[str, Any]:
    return {"echo-event": echo_event, "response-from-body": response_from_body}
