"""The collector's Lambda function URL, locally (``ingest.front: function_url``).

moto keeps a function URL's configuration but does not serve it (docs/moto-gaps.md), so this module
plays the URL as Lambda does
(https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html): a CORS preflight (``OPTIONS``
with ``Origin`` and ``Access-Control-Request-Method``) is answered from the URL's CORS setting
without calling the function; any other request calls it with a payload format 2.0 event
(lower-case header names, ``rawPath``, ``requestContext.http``, a body that is not text in
base64). A function that fails is a 502. The local server sends it what CloudFront's event behavior
sends (``/api/event*``, with the event origin's custom headers); the function decides the rest.
"""

from __future__ import annotations

import base64
import json
import time
import traceback
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .gateway import FunctionUrl, LocalGateway, Request, Response, _proxy_response

EVENT_PATH_PREFIX = "/api/event"  # CloudFront's /api/event* behavior (reconcilers/cloudfront.py)
_TEXT = ("text/", "application/json", "application/javascript", "application/xml", "application/x-www-form-urlencoded")


def on_event_path(path: str) -> bool:
    return path.startswith(EVENT_PATH_PREFIX)


def handle(gateway: LocalGateway, url: FunctionUrl, req: Request, log: Callable[[str], None]) -> Response:
    origin = req.header("Origin")
    if req.method.upper() == "OPTIONS" and origin and req.header("Access-Control-Request-Method") and url.cors:
        return Response(200, _preflight(url.cors, origin), b"")
    request_id = str(uuid.uuid4())
    if url.target.problem:
        log(f"{req.method} {req.path}: {url.target.problem}")
        return _failed()
    try:
        result = gateway.invoke(url.target, event(url, req, request_id), request_id)
    except Exception:
        log(f"{req.method} {req.path}: {url.target.name} failed:\n{traceback.format_exc()}")
        return _failed()
    try:
        answer = _proxy_response(result)
    except ValueError as exc:
        log(f"{req.method} {req.path}: malformed answer from {url.target.name}: {exc}")
        return _failed()
    allowed = _allowed_origin(url.cors, origin)
    if allowed:  # the URL's CORS setting is added to the function's answer
        answer.headers["Access-Control-Allow-Origin"] = allowed
    return answer


def event(url: FunctionUrl, req: Request, request_id: str) -> dict[str, Any]:
    """The payload format 2.0 event Lambda builds for a function URL request."""
    headers: dict[str, str] = {}
    for k, v in req.headers:
        name = k.lower()
        headers[name] = f"{headers[name]},{v}" if name in headers else v
    host = urlsplit(url.url).hostname or ""
    content_type = headers.get("content-type", "")
    try:
        text = req.body.decode("utf-8") if req.body else None
        b64 = bool(req.body) and not content_type.startswith(_TEXT)
    except UnicodeDecodeError:
        text, b64 = None, True
    body = base64.b64encode(req.body).decode() if b64 else text
    now_ms = int(time.time() * 1000)
    query = parse_qsl(req.query, keep_blank_values=True)
    return {
        "version": "2.0", "routeKey": "$default", "rawPath": req.path, "rawQueryString": req.query,
        "headers": headers, "queryStringParameters": {k: v for k, v in query} or None,
        "requestContext": {
            "accountId": "anonymous", "apiId": host.split(".", 1)[0], "domainName": host,
            "domainPrefix": host.split(".", 1)[0],
            "http": {"method": req.method.upper(), "path": req.path, "protocol": "HTTP/1.1",
                     "sourceIp": req.source_ip, "userAgent": headers.get("user-agent", "")},
            "requestId": request_id, "routeKey": "$default", "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now_ms / 1000)), "timeEpoch": now_ms},
        "body": body, "isBase64Encoded": b64,
    }


def _allowed_origin(cors: dict[str, Any], origin: str | None) -> str | None:
    origins = cors.get("AllowOrigins") or []
    if not origin:
        return None
    if "*" in origins:
        return "*"
    return origin if origin in origins else None


def _preflight(cors: dict[str, Any], origin: str) -> dict[str, str]:
    allowed = _allowed_origin(cors, origin)
    if allowed is None:
        return {}
    headers = {"Access-Control-Allow-Origin": allowed,
               "Access-Control-Allow-Methods": ",".join(cors.get("AllowMethods") or []),
               "Access-Control-Allow-Headers": ",".join(cors.get("AllowHeaders") or []),
               "Access-Control-Max-Age": str(cors.get("MaxAge") or 0)}
    if cors.get("AllowCredentials"):
        headers["Access-Control-Allow-Credentials"] = "true"
    return headers


def _failed() -> Response:
    body = json.dumps({"Message": "Internal Server Error"}).encode()
    return Response(502, {"Content-Type": "application/json"}, body)
