"""The collector behind its function URL (ingest.front: function_url): payload format 2.0, and 403
without the origin secret, whose digests come from the function's environment."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import event_collector
import pytest

from tests.handlers.conftest import ORIGIN_SECRET, Api

UA = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"
# As Plausible's tracker posts it: text/plain, short names (tracker/src/networking.js).
PLAUSIBLE = {"n": "pageview", "u": "https://example.com/pricing?utm_source=news", "d": "example.com",
             "r": "https://news.example.org/today"}


def url_event(body: Any = PLAUSIBLE, *, secret: str | None = ORIGIN_SECRET, method: str = "POST",
              path: str = "/api/event", b64: bool = False, headers: dict[str, str] | None = None,
              source: str = "130.176.0.9") -> dict[str, Any]:
    """A function URL's event, as Lambda builds it: lower-case header names, requestContext.http."""
    text = json.dumps(body)
    hdrs = {"content-type": "text/plain", "user-agent": UA, "cloudfront-viewer-address": "198.51.100.20:51234",
            "cloudfront-viewer-country": "FR", **(headers or {})}
    if secret is not None:
        hdrs["x-origin-verify"] = secret
    return {"version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "", "headers": hdrs,
            "requestContext": {"accountId": "anonymous", "apiId": "abcdefgh", "domainName": "x.lambda-url.on.aws",
                               "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                                        "sourceIp": source, "userAgent": UA},
                               "requestId": "id", "routeKey": "$default", "stage": "$default"},
            "body": base64.b64encode(text.encode()).decode() if b64 else text, "isBase64Encoded": b64}


@pytest.fixture
def digests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVEINSIGHT_ORIGIN_DIGESTS", hashlib.sha256(ORIGIN_SECRET.encode()).hexdigest())


def call(event: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
    result = event_collector.handler(event, None)
    return result["statusCode"], json.loads(result["body"] or "{}"), result["headers"]


def test_a_plausible_event_through_the_function_url_is_counted_with_the_viewer_headers(
        api: Api, digests: None) -> None:
    status, body, headers = call(url_event())
    assert (status, body["accepted"]) == (202, 1), body
    assert headers["Access-Control-Allow-Origin"] == "*"
    answer = api.stats("example.com")
    assert answer["pageviews"] == 1 and answer["visitors"] == 1
    # The country is CloudFront's: believed because the origin secret came with it.
    assert answer["countries"] == [{"country": "FR", "visitors": 1}]

def test_a_base64_body_is_read(api: Api, digests: None) -> None:
    status, body, _ = call(url_event(b64=True))
    assert (status, body["accepted"]) == (202, 1), body


def test_without_the_secret_the_function_url_answers_403_and_stores_nothing(api: Api, digests: None) -> None:
    for secret in (None, "a-guess", ""):
        status, body, headers = call(url_event(secret=secret))
        assert status == 403, body
        assert headers["Access-Control-Allow-Origin"] == "*"  # the browser can read the refusal
    assert api.calls == []  # refused before any read or write of the table
    assert api.items("C#") == []


def test_a_function_without_the_digests_refuses_every_function_url_request(api: Api) -> None:
    status, _, _ = call(url_event())
    assert status == 403
    assert api.calls == []


def test_the_previous_secret_is_accepted_during_a_rotation(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    new = "the-new-origin-secret"
    monkeypatch.setenv("LIVEINSIGHT_ORIGIN_DIGESTS", ",".join(
        hashlib.sha256(s.encode()).hexdigest() for s in (new, ORIGIN_SECRET)))
    assert call(url_event(secret=ORIGIN_SECRET))[0] == 202
    assert call(url_event(secret=new))[0] == 202


def test_the_stage_variable_does_not_open_the_function_url(api: Api) -> None:
    event = url_event()
    event["stageVariables"] = {"liveinsightOriginVerify": hashlib.sha256(ORIGIN_SECRET.encode()).hexdigest()}
    assert call(event)[0] == 403


def test_other_paths_and_methods_are_refused(api: Api, digests: None) -> None:
    assert call(url_event(path="/api/stats"))[0] == 404
    assert call(url_event(path="/"))[0] == 404
    assert call(url_event(method="GET"))[0] == 405
    assert call(url_event(path="/api/events", body=[PLAUSIBLE, PLAUSIBLE]))[0] == 202
    assert api.calls  # the last one was stored


def test_a_preflight_that_reaches_the_function_gets_the_cors_headers(api: Api, digests: None) -> None:
    result = event_collector.handler(url_event(method="OPTIONS", headers={"origin": "https://example.com"}), None)
    assert result["statusCode"] == 204 and result["body"] == ""
    assert "POST" in result["headers"]["Access-Control-Allow-Methods"]


def test_the_connection_address_counts_without_a_viewer_address(api: Api, digests: None) -> None:
    """Two visitors from two connections (no CloudFront-Viewer-Address): the http.sourceIp differs."""
    for source in ("192.0.2.1", "192.0.2.2"):
        event = url_event(source=source)
        del event["headers"]["cloudfront-viewer-address"]
        assert call(event)[0] == 202
    assert api.stats("example.com")["visitors"] == 2
