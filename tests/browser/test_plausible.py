"""Plausible's own tracker (npm ``@plausible-analytics/tracker``) in Chromium, pointed at the local
stack: its page view and its custom event with props are counted.

The shop's page is served under a host name the browser maps to 127.0.0.1 (Plausible ignores
``localhost`` and ``127.*``). The tracker posts to ``/api/event``, Plausible's path, on the
local server that ``serve`` runs (in this process, so the test can read the table too).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser

from liveinsight_infra.aws.provider import AwsProvider
from tests.browser.plausible_bundle import plausible_bundle
from tests.conftest import DEV, free_port
from tests.local.conftest import Site, start

SHOP = "shop.example"
TABLE = "liveinsight-events-dev"
PAGE = """<!doctype html>
<html><head><title>Shop</title>
<script src="/plausible.js"></script>
<script>plausibleInit({{domain: "{domain}", endpoint: "{endpoint}", logging: true}});</script>
</head><body><h1>Pricing</h1></body></html>
"""


@pytest.fixture
def stack(provider: AwsProvider) -> Iterator[Site]:
    yield from start(provider, DEV)


@pytest.fixture
def shop(stack: Site) -> Iterator[str]:
    """A customer's site using Plausible's tracker, pointed at the local API."""
    bundle = plausible_bundle().read_bytes()
    endpoint = f"{stack.server.url}/api/event"
    page = PAGE.format(domain=SHOP, endpoint=endpoint).encode()

    class Shop(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body, kind = (bundle, "text/javascript") if self.path == "/plausible.js" else (page, "text/html")
            self.send_response(200)
            self.send_header("Content-Type", f"{kind}; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Shop)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://{SHOP}:{port}"
    finally:
        server.shutdown()
        server.server_close()


def raw_events(provider: AwsProvider) -> list[dict[str, Any]]:
    from boto3.dynamodb.types import TypeDeserializer

    ddb, des = provider.client("dynamodb"), TypeDeserializer()
    items = [i for page in ddb.get_paginator("scan").paginate(TableName=TABLE) for i in page["Items"]]
    rows = [{k: des.deserialize(v) for k, v in i.items()} for i in items]
    return [r for r in rows if str(r.get("pk", "")).startswith(f"EV#{SHOP}#")]


def test_plausibles_tracker_counts_a_page_view_and_a_custom_event_with_props(
        browser: Browser, stack: Site, shop: str, provider: AwsProvider, tmp_path: Path) -> None:
    # A visitor's browser: headless Chromium's own User-Agent says "HeadlessChrome", which is a bot.
    page = browser.new_page(user_agent="Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                                       "Chrome/120.0.0.0 Safari/537.36")
    logs: list[str] = []
    page.on("console", lambda m: logs.append(m.text))
    assert page.evaluate("navigator.webdriver") is not True  # else Plausible sends nothing

    def posted(r: Any) -> bool:
        return r.url.startswith(f"{stack.server.url}/api/event") and r.request.method == "POST"

    with page.expect_response(posted, timeout=60_000) as pageview:
        page.goto(f"{shop}/pricing")
    assert pageview.value.status == 202, (stack.logs, logs)  # (a keepalive answer has no readable body)
    sent = json.loads(pageview.value.request.post_data or "{}")
    assert sent["n"] == "pageview" and sent["u"] == f"{shop}/pricing"  # Plausible's short names, unchanged

    with page.expect_response(posted, timeout=60_000) as signup:
        page.evaluate("plausibleTrack('Signup', {props: {plan: 'pro', seats: '3'}})")
    assert signup.value.status == 202, (stack.logs, logs)
    page.close()

    stats = stack.request("GET", f"/api/stats?site={SHOP}")
    assert stats.status == 200, stats.body
    assert stats.json()["pageviews"] == 1 and stats.json()["visitors"] == 1
    assert [p["path"] for p in stats.json()["top_pages"]] == ["/pricing"]
    events = raw_events(provider)
    signups = [e for e in events if e.get("name") == "Signup"]
    assert len(signups) == 1, events
    assert signups[0]["props"] == {"plan": "pro", "seats": "3"}
