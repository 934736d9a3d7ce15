"""Requests through the collector's Lambda function URL (``ingest.front: function_url``).

A function URL calls the function with payload format 2.0 for any method and path
(https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html#urls-payloads):
``requestContext.http`` holds the method and the caller's address, ``rawPath`` the path, header
names are lower case, and a body that is not text arrives base64-encoded. Its auth type is NONE,
so anyone who learns the URL's host can call it: a request without an origin secret the collector
accepts (``X-Origin-Verify``, added by CloudFront) is refused with 403 before anything else is
read. The digests of the accepted secrets come from the function's environment
(``LIVEINSIGHT_ORIGIN_DIGESTS``), there being no stage to hand them over.

API Gateway's events (payload 1.0) pass through untouched: its routes decide method and path.
"""

from __future__ import annotations

from typing import Any

from .http import respond
from .visitors import from_cloudfront

EVENT_PATHS = ("/api/event", "/api/events")


def is_function_url(event: dict[str, Any]) -> bool:
    return event.get("version") == "2.0" and isinstance((event.get("requestContext") or {}).get("http"), dict)


def method(event: dict[str, Any]) -> str | None:
    """The request's method in either payload format."""
    http = (event.get("requestContext") or {}).get("http") or {}
    return str(http.get("method") or event.get("httpMethod") or "").upper() or None


def path(event: dict[str, Any]) -> str | None:
    return event.get("rawPath") if is_function_url(event) else event.get("path")


def refusal(event: dict[str, Any]) -> dict[str, Any] | None:
    """The answer to a function URL request the collector must not serve, or None to serve it."""
    if not is_function_url(event):
        return None
    if not from_cloudfront(event):
        return respond(event, 403, {"error": "forbidden"})
    if path(event) not in EVENT_PATHS:
        return respond(event, 404, {"error": "not found"})
    if method(event) == "OPTIONS":  # the URL's CORS setting answers preflights; one that gets here is answered alike
        return {**respond(event, 204, {}), "body": ""}
    if method(event) != "POST":
        return respond(event, 405, {"error": "POST only"})
    return None
