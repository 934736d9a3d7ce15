"""API Gateway proxy responses with the CORS headers of the spec on every answer, errors included.

The spec reaches the handlers through environment variables set by the tool
(``LIVEINSIGHT_CORS_*``). With a list of origins, the request's ``Origin`` is echoed when it is
allowed, with ``Vary: Origin``; with ``*`` the wildcard is sent.
"""

from __future__ import annotations

import json
import os
from typing import Any

JSON = "application/json; charset=utf-8"


def _setting(name: str, default: str) -> str:
    return os.environ.get(f"LIVEINSIGHT_CORS_{name}", default)


def request_origin(event: dict[str, Any]) -> str | None:
    headers = event.get("headers") or {}
    for key, value in headers.items():
        if key.lower() == "origin":
            return str(value)
    return None


def cors_headers(origin: str | None) -> dict[str, str]:
    allowed = [o.strip() for o in _setting("ALLOW_ORIGINS", "*").split(",") if o.strip()]
    headers = {
        "Access-Control-Allow-Headers": _setting("ALLOW_HEADERS", "Content-Type,X-API-Key,Authorization"),
        "Access-Control-Allow-Methods": _setting("ALLOW_METHODS", "GET,POST,OPTIONS"),
        "Access-Control-Max-Age": _setting("MAX_AGE", "86400"),
    }
    if "*" in allowed:
        headers["Access-Control-Allow-Origin"] = "*"
    else:
        headers["Vary"] = "Origin"
        if origin in allowed:
            headers["Access-Control-Allow-Origin"] = origin
    return headers


def respond(event: dict[str, Any], status: int, body: Any) -> dict[str, Any]:
    """A version 1.0 proxy response: status, string body, CORS headers.

    ``nosniff`` is sent by the functions themselves: CloudFront's response headers policy is on the
    dashboard's files only, not on ``/api/*`` (docs/resources.md, "Security headers"), so the answer
    carries it the same way through CloudFront, on execute-api and under ``serve``.
    """
    headers = {"Content-Type": JSON, "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
               **cors_headers(request_origin(event))}
    return {"statusCode": status, "headers": headers, "body": json.dumps(body, separators=(",", ":")),
            "isBase64Encoded": False}
