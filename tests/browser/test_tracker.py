"""LiveInsight's own tracker (site/tracker.js) in Chromium: a page view on load, an ``engagement``
event with the visible time and scroll depth when the page is left (and before a single-page
app's next page view), and the visit figures they make.

The shop's page is served under a host name the browser maps to 127.0.0.1 (the tracker ignores
``localhost`` and ``127.*``) and loads the tracker from the local server ``serve`` runs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import pytest

from liveinsight_infra.aws.provider import AwsProvider
from tests.browser.test_plausible import raw_events
from tests.conftest import DEV, free_port
from tests.local.conftest import Site, start

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

SHOP = "shop.example"
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
PAGE = """<!doctype html>
<html><head><title>Shop</title>
<script defer src="{tracker}" data-domain="{domain}"></script>
</head><body><h1>Pricing</h1><div style="height: 4000px"></div><p>end</p></body></html>
"""


@pytest.fixture
def stack(provider: AwsProvider) -> Iterator[Site]:
    yield from start(provider, DEV)


@pytest.fixture
def shop(stack: Site) -> Iterator[str]:
    """A customer's site with LiveInsight's tracker, loaded from the local server."""
    page = PAGE.format(tracker=f"{stack.server.url}/tracker.js", domain=SHOP).encode()

    class Shop(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

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


def events_named(provider: AwsProvider, name: str, n: int, within_s: float = 60) -> list[dict[str, Any]]:
    """The raw events called ``name``, once ``n`` of them are stored (beacons arrive on their own time),
    or those stored after ``within_s`` (only a bound against a hang, unless fewer than ``n`` are expected)."""
    deadline = time.monotonic() + within_s
    while True:
        found = [e for e in raw_events(provider) if e.get("name") == name and not e.get("guard")]
        if len(found) >= n or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


# Every request body the page posts, kept as it is handed to the browser (sendBeacon when it takes
# the beacon, else fetch): what the tracker sent is known at once, without waiting on the server.
RECORD_POSTS = """
window.__posted = [];
const beacon = navigator.sendBeacon.bind(navigator);
navigator.sendBeacon = (url, data) => {
  const ok = beacon(url, data);
  if (ok) window.__posted.push(data);
  return ok;
};
const fetched = window.fetch.bind(window);
window.fetch = (url, init) => {
  window.__posted.push(new Blob([(init && init.body) || ""]));
  return fetched(url, init);
};
"""


def posted(page: Page) -> list[str]:
    """The names of the events the page has posted so far, in order."""
    import json

    bodies = page.evaluate("() => Promise.all(window.__posted.map(b => b.text()))")
    return [json.loads(b)["name"] for b in bodies]


def visit_page(browser: Browser, shop: str, path: str) -> Page:
    page = browser.new_page(user_agent=UA)  # headless Chromium's own User-Agent is a bot's
    page.add_init_script(RECORD_POSTS)
    page.clock.install()  # the test moves the page's clock: 15 s on the page without waiting them
    page.goto(f"{shop}{path}")
    return page


def test_leaving_a_page_sends_its_engagement_and_the_visit_counts_as_engaged(
        browser: Browser, stack: Site, shop: str, provider: AwsProvider) -> None:
    page = visit_page(browser, shop, "/pricing")
    assert len(events_named(provider, "pageview", 1)) == 1, stack.logs
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.clock.fast_forward(15_000)
    # The visitor leaves: ``pagehide`` in the live page, because a beacon sent while Chromium really
    # unloads the page carries its default User-Agent (HeadlessChrome, a bot's), not the test's.
    page.evaluate("window.dispatchEvent(new Event('pagehide'))")
    (eng,) = events_named(provider, "engagement", 1)
    assert eng["path"] == "/pricing"
    assert 15_000 <= eng["engagement_ms"] < 60_000
    assert eng["scroll_depth"] == 100
    stats = stack.request("GET", f"/api/stats?site={SHOP}").json()
    # Plausible's bounce rule: one page view and no custom event is a bounce, engaged or not; the
    # 15 s of engagement count in GA4's share, engagement_rate.
    assert (stats["pageviews"], stats["visits"], stats["views_per_visit"]) == (1, 1, 1)
    assert (stats["bounce_rate"], stats["engagement_rate"]) == (100, 100)
    assert stats["entry_pages"] == stats["exit_pages"] == [{"path": "/pricing", "visits": 1}]
    page.close()


def test_a_single_page_app_sends_the_engagement_of_the_page_it_leaves(
        browser: Browser, stack: Site, shop: str, provider: AwsProvider) -> None:
    page = visit_page(browser, shop, "/")
    assert len(events_named(provider, "pageview", 1)) == 1, stack.logs
    page.clock.fast_forward(3_000)
    page.evaluate("history.pushState({}, '', '/docs')")
    views = events_named(provider, "pageview", 2)
    (eng,) = events_named(provider, "engagement", 1)
    assert sorted(v["path"] for v in views) == ["/", "/docs"]
    assert eng["path"] == "/" and 3_000 <= eng["engagement_ms"] < 60_000
    page.close()
    stats = stack.request("GET", f"/api/stats?site={SHOP}").json()
    assert (stats["visits"], stats["bounce_rate"], stats["views_per_visit"]) == (1, 0, 2)
    assert stats["entry_pages"] == [{"path": "/", "visits": 1}]
    assert stats["exit_pages"] == [{"path": "/docs", "visits": 1}]


def test_a_hidden_page_reports_once_and_not_again_when_it_is_left(
        browser: Browser, stack: Site, shop: str, provider: AwsProvider) -> None:
    page = visit_page(browser, shop, "/")
    assert len(events_named(provider, "pageview", 1)) == 1, stack.logs
    page.clock.fast_forward(5_000)
    page.evaluate("""() => {
        Object.defineProperty(document, "visibilityState", {get: () => "hidden", configurable: true});
        document.dispatchEvent(new Event("visibilitychange"));
    }""")  # the visitor switches tabs: the tracker reports
    (eng,) = events_named(provider, "engagement", 1)
    assert 5_000 <= eng["engagement_ms"] < 60_000
    assert posted(page) == ["pageview", "engagement"]
    page.clock.fast_forward(60_000)  # hidden time is not engaged time
    page.evaluate("window.dispatchEvent(new Event('pagehide'))")  # nothing new: nothing sent
    assert posted(page) == ["pageview", "engagement"]  # the handlers ran during dispatchEvent
    page.close()
