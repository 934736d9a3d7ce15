"""``check``: the original plan's integration test as a command. HTTP only (stdlib), no AWS calls.

Against a base URL: the dashboard at ``/`` and its ``config.json``, a browser-style CORS preflight
on each endpoint (status and the four headers), a test event posted for a reserved domain (so it
never counts in a real site's statistics), then realtime and stats for that domain. Each check
retries within a deadline while the answer is a connection error or a 5xx (a distribution that is
still deploying); a wrong answer fails at once.
"""

from __future__ import annotations

import functools
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .constants import CHECK_SITE as CHECK_SITE  # a reserved .invalid domain every stack accepts

ENDPOINTS = {"/api/events": "POST", "/api/realtime": "GET", "/api/stats": "GET"}


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    elapsed_ms: float
    detail: str = ""


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


class CheckFailed(Exception):
    pass


def _request(method: str, url: str, headers: dict[str, str], body: bytes | None, timeout: float) -> Answer:
    req = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return Answer(resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read())
    except urllib.error.HTTPError as err:
        return Answer(err.code, {k.lower(): v for k, v in err.headers.items()}, err.read())


class Checker:
    def __init__(self, base: str, origin: str = "https://example.com", timeout_s: float = 10.0,
                 deadline_s: float = 60.0, sleep: Callable[[float], None] = time.sleep, api_key: str | None = None):
        self.base = base.rstrip("/")
        self.key_headers = {"X-API-Key": api_key} if api_key else {}
        self.origin, self.timeout_s, self.deadline_s, self.sleep = origin, timeout_s, deadline_s, sleep

    def fetch(self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes | None = None) -> Answer:
        start, delay = time.monotonic(), 1.0
        while True:
            try:
                answer = _request(method, self.base + path, headers or {}, body, self.timeout_s)
                if answer.status < 500 or time.monotonic() - start > self.deadline_s:
                    return answer
            except (urllib.error.URLError, OSError) as exc:
                if time.monotonic() - start > self.deadline_s:
                    raise CheckFailed(f"no answer: {getattr(exc, 'reason', exc)}") from None
            self.sleep(delay)
            delay = min(delay * 2, 10.0)

    def run(self) -> list[CheckResult]:
        checks: list[tuple[str, Callable[[], str]]] = [
            ("dashboard /", self.dashboard), ("config.json", self.config)]
        for path, method in ENDPOINTS.items():
            checks.append((f"CORS preflight {path}", functools.partial(self.preflight, path, method)))
        checks += [("POST /api/events (test event)", self.post_event), ("GET /api/realtime", self.realtime),
                   ("GET /api/stats", self.stats)]
        results = []
        for name, fn in checks:
            t0 = time.monotonic()
            try:
                detail = fn()
                results.append(CheckResult(name, True, (time.monotonic() - t0) * 1000, detail))
            except (CheckFailed, ValueError) as exc:
                results.append(CheckResult(name, False, (time.monotonic() - t0) * 1000, str(exc)))
        return results

    # -- the checks: each returns a short detail, or raises CheckFailed -----------------------------
    def dashboard(self) -> str:
        a = self.fetch("GET", "/")
        _expect(a.status == 200, f"status {a.status}")
        kind = a.headers.get("content-type", "")
        _expect(kind.startswith("text/html"), f"content type {kind}")
        _expect(b"LiveInsight" in a.body, "the page is not the LiveInsight dashboard")
        return f"{len(a.body)} bytes"

    def config(self) -> str:
        a = self.fetch("GET", "/config.json")
        _expect(a.status == 200, f"status {a.status}")
        api = a.json().get("apiBase")
        _expect(bool(api), "no apiBase in config.json")
        return f"apiBase {api}"

    def preflight(self, path: str, method: str) -> str:
        a = self.fetch("OPTIONS", path, {"Origin": self.origin, "Access-Control-Request-Method": method,
                                         "Access-Control-Request-Headers": "content-type,x-api-key"})
        _expect(a.status == 200, f"status {a.status} (the original plan's OPTIONS answered 500)")
        allow_origin = a.headers.get("access-control-allow-origin")
        _expect(allow_origin in ("*", self.origin), f"Access-Control-Allow-Origin is {allow_origin!r}")
        methods = a.headers.get("access-control-allow-methods", "")
        _expect(method in methods.split(","), f"Access-Control-Allow-Methods {methods!r} lacks {method}")
        allowed = [h.strip().lower() for h in a.headers.get("access-control-allow-headers", "").split(",")]
        _expect("content-type" in allowed and "x-api-key" in allowed,
                f"Access-Control-Allow-Headers {a.headers.get('access-control-allow-headers')!r}")
        _expect(bool(a.headers.get("access-control-max-age")), "no Access-Control-Max-Age")
        return f"origin {allow_origin}, max-age {a.headers.get('access-control-max-age')}"

    def post_event(self) -> str:
        event = {"name": "pageview", "url": f"https://{CHECK_SITE}/liveinsight-check", "domain": CHECK_SITE}
        a = self.fetch("POST", "/api/events", {"Content-Type": "application/json", "Origin": self.origin,
                                               "User-Agent": "Mozilla/5.0 (liveinsight-infra check)"},
                       json.dumps(event).encode())
        _expect(a.status == 202, f"status {a.status}: {a.body[:200]!r}")
        _expect(a.json().get("accepted") == 1, f"answer {a.body[:200]!r}")
        _expect(bool(a.headers.get("access-control-allow-origin")), "no CORS header on the answer")
        return "accepted"

    def realtime(self) -> str:
        a = self.fetch("GET", f"/api/realtime?site={CHECK_SITE}", {"Origin": self.origin, **self.key_headers})
        _expect(a.status == 200, f"status {a.status}: {a.body[:200]!r}")
        data = a.json()
        _expect("active_visitors" in data and "pageviews_per_minute" in data, "not a realtime answer")
        return f"{data['active_visitors']} active"

    def stats(self) -> str:
        a = self.fetch("GET", f"/api/stats?site={CHECK_SITE}&period=day", {"Origin": self.origin, **self.key_headers})
        _expect(a.status == 200, f"status {a.status}: {a.body[:200]!r}")
        data = a.json()
        _expect("visitors" in data and "timeseries" in data, "not a stats answer")
        return f"{data['pageviews']} page views today"


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)
