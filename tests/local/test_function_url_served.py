"""``serve`` with ingest.front: function_url: /api/event* goes to the collector's function URL with a
payload 2.0 event and the origin secret, as CloudFront's event behavior sends it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from liveinsight_infra.aws.provider import AwsProvider
from liveinsight_infra.local.function_url import handle
from liveinsight_infra.local.gateway import Request
from tests.local.conftest import ECHO, Site, start

UA = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
      "Version/17.5 Safari/605.1.15")
PLAUSIBLE = {"n": "pageview", "u": "https://example.com/docs?utm_source=newsletter", "d": "example.com",
             "r": "https://news.example.org/"}


def function_url_spec(project: Path) -> Path:
    path = project / "specs" / "dev.yaml"
    data = yaml.safe_load(path.read_text())
    data["ingest"] = {"front": "function_url"}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture
def url_site(provider: AwsProvider, project_copy: Path) -> Iterator[Site]:
    yield from start(provider, function_url_spec(project_copy))


@pytest.fixture
def echo_url_site(provider: AwsProvider, project_copy: Path) -> Iterator[Site]:
    (project_copy / "handlers" / "event_collector.py").write_text(ECHO)
    yield from start(provider, function_url_spec(project_copy))


def test_a_plausible_event_is_counted_through_the_function_url(url_site: Site) -> None:
    r = url_site.request("POST", "/api/event", {"Content-Type": "text/plain", "User-Agent": UA,
                                                "CloudFront-Viewer-Country": "JP", "Origin": "https://example.com"},
                         json.dumps(PLAUSIBLE).encode())
    assert r.status == 202, r.body
    assert r.json()["accepted"] == 1
    assert r.headers["access-control-allow-origin"] == "*"
    # The dashboard's read API stays on the REST API.
    stats = url_site.request("GET", "/api/stats?site=example.com", {"Origin": "https://example.com"})
    assert stats.status == 200, stats.body
    answer = stats.json()
    assert answer["pageviews"] == 1
    assert answer["countries"] == [{"country": "JP", "visitors": 1}]  # believed: the secret came with it


def test_the_collector_gets_a_payload_2_event_with_the_secret(echo_url_site: Site) -> None:
    r = echo_url_site.request("POST", "/api/events", {"Content-Type": "text/plain", "X-Origin-Verify": "forged"},
                              b'{"n":"pageview"}')
    assert r.status == 200, r.body
    event = r.json()["event"]
    assert event["version"] == "2.0" and event["rawPath"] == "/api/events"
    assert event["requestContext"]["http"]["method"] == "POST"
    assert event["body"] == '{"n":"pageview"}' and event["isBase64Encoded"] is False
    assert all(k == k.lower() for k in event["headers"])
    assert event["headers"]["x-origin-verify"] != "forged"  # CloudFront's value replaces the client's
    assert "cloudfront-viewer-address" in event["headers"]
    # The other API paths still go through the REST API (payload 1.0).
    staged = echo_url_site.request("POST", "/dev/api/event", {"Content-Type": "text/plain"}, b"{}")
    assert staged.json()["event"]["httpMethod"] == "POST"


def test_a_preflight_is_answered_by_the_urls_cors_setting(echo_url_site: Site) -> None:
    r = echo_url_site.request("OPTIONS", "/api/event", {"Origin": "https://example.com",
                                                        "Access-Control-Request-Method": "POST",
                                                        "Access-Control-Request-Headers": "content-type"})
    assert r.status == 200 and r.body == b""  # the function was not called
    assert r.headers["access-control-allow-origin"] == "*"
    assert "POST" in r.headers["access-control-allow-methods"]
    assert r.headers["access-control-max-age"] == "86400"


def test_a_request_straight_to_the_function_url_without_the_secret_is_403(url_site: Site) -> None:
    url = url_site.server.gateway.d.function_url
    assert url is not None
    direct = Request("POST", "/api/event", [("Content-Type", "text/plain"), ("User-Agent", UA)],
                     body=json.dumps(PLAUSIBLE).encode(), source_ip="192.0.2.50")
    answer = handle(url_site.server.gateway, url, direct, lambda _m: None)
    assert answer.status == 403, answer.body
    stats = url_site.request("GET", "/api/stats?site=example.com")
    assert stats.json()["pageviews"] == 0
