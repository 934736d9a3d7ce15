"""One JSON log line per request: what happened, how long it took, never an IP or a visitor id."""

from __future__ import annotations

import json
import sys
import time
from typing import Any


def log_request(function: str, event: dict[str, Any], status: int, started: float, **fields: Any) -> None:
    http = (event.get("requestContext") or {}).get("http") or {}  # a function URL's payload 2.0
    line = {"function": function, "method": event.get("httpMethod") or http.get("method"),
            "path": event.get("path") or event.get("rawPath"), "status": status,
            "ms": round((time.monotonic() - started) * 1000, 1), **fields}
    print(json.dumps(line, separators=(",", ":"), default=str), file=sys.stdout, flush=True)


def error_text(exc: BaseException, limit: int = 300) -> str:
    """``Type: message`` of an exception, for a 503's log line. AWS errors name the operation and
    the reason, never the request's data; the length is capped all the same."""
    message = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {message}"[:limit] if message else type(exc).__name__
