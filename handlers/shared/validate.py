"""Validation of posted events (the rules in docs/http-api.md, ``POST /api/events``). Plain code: a
Lambda package stays small and fast to import, with no compiled dependency to vendor per architecture.

Every rule gives a message that names the field, so a client knows what to fix.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

MAX_BODY = 64 * 1024
MAX_EVENTS = 100
MAX_NAME = 120
MAX_URL = 2000
MAX_PROPS = 30
MAX_PROP_KEY = 300
MAX_PROP_VALUE = 2000
PAST_MS = 24 * 3600 * 1000
FUTURE_MS = 5 * 60 * 1000
FIELDS = ("name", "url", "domain", "referrer", "props", "ts")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$")


class BodyError(Exception):
    """The request as a whole is unusable: status and message for the client."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Event:
    name: str
    url: str
    path: str
    domain: str
    referrer: str  # the referring host, "" for direct visits
    props: dict[str, Any] = field(default_factory=dict)
    ts_ms: int = 0


def valid_site(value: Any) -> bool:
    return isinstance(value, str) and bool(_DOMAIN.match(value))


def parse_body(body: bytes, content_type: str | None) -> list[Any]:
    """The submitted events as a list, or BodyError (413, 415 or 400)."""
    if len(body) > MAX_BODY:
        raise BodyError(413, f"body is {len(body)} bytes; at most {MAX_BODY} are accepted")
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind not in ("application/json", "text/plain"):
        raise BodyError(415, "Content-Type must be application/json (or text/plain, as navigator.sendBeacon "
                             f"sends it), not {kind or 'missing'}")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BodyError(400, "body is not UTF-8") from None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise BodyError(400, "body is not JSON") from None
    events = data if isinstance(data, list) else [data]
    if not events:
        raise BodyError(400, "no events: send one event object or an array of 1 to 100")
    if len(events) > MAX_EVENTS:
        raise BodyError(400, f"{len(events)} events; at most {MAX_EVENTS} per request")
    return events


def validate_event(raw: Any, now_ms: int | None = None) -> Event:
    """One event, or ValueError with a message naming the field."""
    now = now_ms if now_ms is not None else int(time.time() * 1000)
    if not isinstance(raw, dict):
        raise ValueError("event: must be an object")
    unknown = sorted(k for k in raw if k not in FIELDS)
    if unknown:
        raise ValueError(f"{unknown[0]}: unknown field (allowed: {', '.join(FIELDS)})")
    name = raw.get("name")
    if name is None:
        raise ValueError("name: required")
    if not isinstance(name, str) or not name.strip():
        raise ValueError("name: must be a non-empty string")
    if len(name) > MAX_NAME:
        raise ValueError(f"name: at most {MAX_NAME} characters")
    url = raw.get("url")
    if url is None:
        raise ValueError("url: required")
    if not isinstance(url, str):
        raise ValueError("url: must be a string")
    if len(url) > MAX_URL:
        raise ValueError(f"url: at most {MAX_URL} characters")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("url: must be an absolute http(s) URL")
    domain = raw.get("domain")
    if domain is None:
        raise ValueError("domain: required")
    if not valid_site(domain):
        raise ValueError("domain: must be a lower-case host name such as example.com")
    referrer = raw.get("referrer", "") or ""
    if not isinstance(referrer, str):
        raise ValueError("referrer: must be a string")
    if len(referrer) > MAX_URL:
        raise ValueError(f"referrer: at most {MAX_URL} characters")
    ref_host = (urlsplit(referrer).hostname or "") if referrer else ""
    if referrer and not ref_host:
        raise ValueError("referrer: must be an absolute URL")
    props = raw.get("props", {})
    if props is None:
        props = {}
    if not isinstance(props, dict):
        raise ValueError("props: must be an object")
    if len(props) > MAX_PROPS:
        raise ValueError(f"props: at most {MAX_PROPS} keys")
    for k, v in props.items():
        if len(k) > MAX_PROP_KEY:
            raise ValueError(f"props.{k[:20]}…: key longer than {MAX_PROP_KEY} characters")
        if not isinstance(v, str | int | float | bool) or v is None:
            raise ValueError(f"props.{k}: values must be strings, numbers or booleans")
        if isinstance(v, str) and len(v) > MAX_PROP_VALUE:
            raise ValueError(f"props.{k}: at most {MAX_PROP_VALUE} characters")
        if isinstance(v, float) and v != v:  # NaN
            raise ValueError(f"props.{k}: must be a finite number")
    ts = raw.get("ts", now)
    if not isinstance(ts, int) or isinstance(ts, bool):
        raise ValueError("ts: must be an integer (epoch milliseconds)")
    if ts < now - PAST_MS:
        raise ValueError("ts: more than 24 hours in the past")
    if ts > now + FUTURE_MS:
        raise ValueError("ts: more than 5 minutes in the future")
    path = parts.path or "/"
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/")
    if ref_host == parts.hostname:
        ref_host = ""  # internal navigation is not a referral
    return Event(name.strip(), url, path, domain, ref_host, dict(props), ts)
