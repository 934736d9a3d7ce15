"""Posted events, through `serve`, to the dashboard's panels in Chromium: UTM parameters, referrers,
desktop and mobile User-Agents, CloudFront-Viewer-Country headers, a goal with props and an
engagement event each show up with the right numbers, and a panel's CSV link answers CSV.

Four visitors (under `serve` a visitor is its User-Agent, as every request comes from 127.0.0.1),
each event with its own `ts`, a few minutes ago, today (UTC):

- Chrome on Windows, DE: `/?utm_source=newsletter&utm_medium=email&utm_campaign=launch`, `/pricing`
  60 s later, a Signup {plan: pro} 90 s after the first: 2 views, 90 s;
- Safari on an iPhone, US, from Hacker News: `/blog`, an engagement 40 s later (38 s engaged): 40 s,
  a bounce by Plausible's rule (engagement never ends one);
- Chrome on Android, DE, from Google: `/`: a bounce of 0 s;
- Firefox on Linux, GB, direct: `/pricing`, a Signup {plan: free} 30 s later: 30 s.

So: 4 visitors, 4 visits, 5 page views, 1.25 views per visit, a 50% bounce rate, a 40 s visit
duration ((90 + 40 + 0 + 30) / 4); Signup: 2 visitors, 2 events, 50% conversion. Nothing was
posted the day before, so every figure is new against the previous period.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Locator, Page, expect

from tests.browser.conftest import post

SITE = "e2e.example"
CHROME_WINDOWS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/120.0.0.0 Safari/537.36")
SAFARI_IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                 "Version/17.1 Mobile/15E148 Safari/604.1")
CHROME_ANDROID = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/120.0.0.0 Mobile Safari/537.36")
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"
S = 1000  # ms


def start() -> int:
    """Three minutes ago, or just after midnight UTC when that was yesterday (the collector takes a
    `ts` up to five minutes ahead, so the visits still fit in today)."""
    now = int(time.time() * S)
    midnight = int(datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0).timestamp() * S)
    return max(now - 180 * S, midnight + S)


def pageview(path: str, ts: int, referrer: str | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {"name": "pageview", "url": f"https://{SITE}{path}", "domain": SITE, "ts": ts}
    if referrer:
        event["referrer"] = referrer
    return event


def signup(ts: int, plan: str) -> dict[str, Any]:
    return {"name": "Signup", "url": f"https://{SITE}/pricing", "domain": SITE, "ts": ts, "props": {"plan": plan}}


def send(port: int, ua: str, country: str, *events: dict[str, Any]) -> None:
    """Each event in its own request, as a tracker sends them."""
    for event in events:
        post(port, [event], ua=ua, headers={"CloudFront-Viewer-Country": country})


def post_the_visits(port: int) -> None:
    t = start()
    send(port, CHROME_WINDOWS, "DE",
         pageview("/?utm_source=newsletter&utm_medium=email&utm_campaign=launch", t),
         pageview("/pricing", t + 60 * S, referrer=f"https://{SITE}/"),  # a link inside the site: no source
         signup(t + 90 * S, "pro"))
    send(port, SAFARI_IPHONE, "US",
         pageview("/blog", t, referrer="https://news.ycombinator.com/item?id=1"),
         {"n": "engagement", "u": f"https://{SITE}/blog", "d": SITE, "e": 38 * S, "sd": 80, "ts": t + 40 * S})
    send(port, CHROME_ANDROID, "DE", pageview("/", t, referrer="https://www.google.com/"))
    send(port, FIREFOX_LINUX, "GB",
         pageview("/pricing", t),
         signup(t + 30 * S, "free"))


def rows(panel: Locator) -> Locator:
    return panel.locator("ol li:not(.head)")


def row(panel: Locator, label: str) -> Locator:
    """The panel's row whose label is exactly `label`."""
    return rows(panel).filter(has=panel.page.locator(".label", has_text=re.compile(f"^{re.escape(label)}$")))


def expect_rows(panel: Locator, expected: dict[str, str]) -> None:
    for label, value in expected.items():
        expect(row(panel, label).locator(".value")).to_have_text(value)


def test_posted_events_fill_every_panel(server: int, browser: Browser, tmp_path: Path) -> None:
    post_the_visits(server)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page: Page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(f"http://127.0.0.1:{server}/?site={SITE}")

    figures = {"visitors": "4", "visits": "4", "pageviews": "5", "views_per_visit": "1.25", "bounce_rate": "50%",
               "visit_duration_s": "30s"}  # A 90 s, B 0 (its engagement does not lengthen it), C 0, D 30
    for key, value in figures.items():
        expect(page.locator(f"[data-metric={key}] .num")).to_have_text(value, timeout=60_000)
        # Counts rise from nothing; averages over no visits have no direction.
        delta = "▲ new" if key in ("visitors", "visits", "pageviews") else "new"
        expect(page.locator(f"[data-metric={key}] .delta")).to_have_text(delta)

    sources = page.get_by_test_id("sources")
    expect_rows(sources, {"newsletter": "1", "Hacker News": "1", "Google": "1", "Direct / None": "1"})
    sources.get_by_role("tab", name="UTM mediums").click()
    expect_rows(sources, {"email": "1"})
    sources.get_by_role("tab", name="UTM campaigns").click()
    expect_rows(sources, {"launch": "1"})

    pages = page.get_by_test_id("pages")
    expect_rows(pages, {"/pricing": "2", "/": "2", "/blog": "1"})
    pages.get_by_role("tab", name="Entry").click()
    expect_rows(pages, {"/": "2", "/blog": "1", "/pricing": "1"})
    pages.get_by_role("tab", name="Exit").click()
    expect_rows(pages, {"/pricing": "2", "/blog": "1", "/": "1"})

    expect_rows(page.get_by_test_id("countries"), {"Germany": "2", "United States": "1", "United Kingdom": "1"})

    devices = page.get_by_test_id("devices")
    expect_rows(devices, {"Desktop": "2", "Mobile": "2"})
    devices.get_by_role("tab", name="Browser").click()
    expect_rows(devices, {"Firefox": "1"})
    devices.get_by_role("tab", name="OS").click()
    expect_rows(devices, {"Windows": "1", "iOS": "1", "Android": "1"})

    signup = page.get_by_test_id("goals").locator("details.goal", has_text="Signup")
    expect(signup.locator("summary span")).to_have_text(["Signup", "2", "2", "50%"])
    signup.locator("summary").click()
    expect_rows(signup, {"pro": "1", "free": "1"})

    csv_link = page.get_by_test_id("sources").locator(".csv")
    expect(csv_link).to_have_attribute("href", re.compile(r"panel=utm_campaigns$"))
    answer = page.request.get(csv_link.evaluate("a => a.href"))
    assert answer.status == 200 and answer.headers["content-type"].startswith("text/csv"), answer.headers
    assert "launch" in answer.text()
    sources.get_by_role("tab", name="Sources").click()
    with page.expect_download() as info:
        csv_link.click()
    text = Path(info.value.path()).read_text(encoding="utf-8")
    assert text.splitlines()[0].split(",")[0].strip('"') == "source" and "Hacker News" in text, text

    assert all(u.startswith(f"http://127.0.0.1:{server}/") for u in requests), "no request leaves the site"
    page.screenshot(path=str(tmp_path / "desktop.png"), full_page=True)
    context.close()

    phone = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, locale="en-US")
    page = phone.new_page()
    page.goto(f"http://127.0.0.1:{server}/?site={SITE}")
    expect(page.locator("[data-metric=visits] .num")).to_have_text("4", timeout=60_000)
    page.get_by_test_id("goals").locator("summary", has_text="Signup").click()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page scrolls sideways on a 360 px phone ({width}px)"
    phone.close()
