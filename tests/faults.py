"""Fault injection for tests: AWS answers that botocore's retries must absorb, in each wire protocol."""

from __future__ import annotations

import json
import random
from collections import Counter
from typing import Any

from botocore.awsrequest import AWSResponse


class _Raw:
    def __init__(self, body: bytes):
        self.body = body

    def stream(self, **_: Any) -> Any:
        yield self.body


def error_response(protocol: str, service: str, url: str, code: str, message: str) -> AWSResponse:
    if protocol == "json":
        return AWSResponse(url, 400, {"Content-Type": "application/x-amz-json-1.1"},
                           _Raw(json.dumps({"__type": code, "message": message}).encode()))
    if protocol == "rest-json":
        return AWSResponse(url, 429 if "Many" in code else 400, {"x-amzn-ErrorType": code},
                           _Raw(json.dumps({"message": message}).encode()))
    if protocol == "query" or (protocol == "rest-xml" and service != "s3"):
        body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
                "<RequestId>injected</RequestId></ErrorResponse>")
        return AWSResponse(url, 400, {}, _Raw(body.encode()))
    if protocol == "rest-xml":  # s3
        return AWSResponse(url, 503 if code == "SlowDown" else 403, {},
                           _Raw(f"<Error><Code>{code}</Code><Message>{message}</Message></Error>".encode()))
    return AWSResponse(url, 503, {}, _Raw(b""))  # smithy-rpc-v2-cbor: a transient 503, retried the same way


PROTOCOLS = {"api-gateway": "rest-json", "cloudfront": "rest-xml", "s3": "rest-xml", "iam": "query",
             "lambda": "rest-json", "cloudwatch-logs": "json", "dynamodb": "json", "cloudwatch": "smithy-rpc-v2-cbor",
             "sns": "query", "sts": "query", "ssm": "json", "sqs": "json", "kinesis": "json", "wafv2": "json"}


def _divert(request: Any) -> None:
    """botocore offers a request to every before-send handler (then takes the first answer), so moto
    would still execute it: send moto's handler elsewhere, so only the injected answer exists."""
    request.url = "https://injected-fault.invalid/"


def _operation(event_name: str) -> tuple[str, str]:
    """``before-send.{service}.{Operation}`` → (service, operation)."""
    _, service, operation = event_name.split(".", 2)
    return service, operation


THROTTLE = {"json": "ThrottlingException", "rest-json": "TooManyRequestsException", "query": "Throttling",
            "rest-xml": "Throttling"}


class ThrottleStorm:
    """Answer a share of all calls (seeded) with the service's throttling error."""

    def __init__(self, rate: float, seed: int):
        self.rate = rate
        self.rng = random.Random(seed)
        self.injected: Counter[str] = Counter()

    def __call__(self, request: Any, event_name: str, **kwargs: Any) -> AWSResponse | None:
        if self.rng.random() >= self.rate:
            return None
        service, operation = _operation(event_name)
        protocol = PROTOCOLS[service]
        code = "SlowDown" if service == "s3" else THROTTLE.get(protocol, "ServiceUnavailable")
        self.injected[f"{service}:{operation}"] += 1
        url = request.url
        _divert(request)
        return error_response(protocol, service, url, code, "Rate exceeded (injected)")


class Deny:
    """Answer one operation with AccessDenied, every time."""

    def __init__(self, operation: str):
        self.operation = operation
        self.calls = 0

    def __call__(self, request: Any, event_name: str, **kwargs: Any) -> AWSResponse | None:
        service, operation = _operation(event_name)
        if operation != self.operation:
            return None
        self.calls += 1
        _divert(request)
        protocol = PROTOCOLS[service]
        code = "AccessDeniedException" if protocol in ("json", "rest-json") else "AccessDenied"
        return error_response(protocol, service, request.url, code, f"User is not authorized to perform: {operation}")
