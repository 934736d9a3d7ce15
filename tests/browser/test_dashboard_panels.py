"""The dashboard's panels as they render an answer of the stats API (docs/http-api.md), stubbed in the
browser: the headline and its deltas, tabs, country names, goals with props, CSV links, escaping,
an API without the newer fields, and a 360 px wide screen.

The page and its files come from `serve`; the API answers are Playwright route fulfilments, so each
case pins exactly what the page is given.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from tests.conftest import ROOT

SITE = "panels.example"
NONE = "\u2013"  # the en dash a figure shows when the API does not send it
HOSTILE = '<img src=x onerror="window.pwned=1">'
LONG_PATH = "/blog/" + "a-very-long-article-title-that-goes-on-" * 6
STATS: dict[str, Any] = {
    "site": SITE, "from": "2026-11-27", "to": "2026-11-27",
    "visitors": 1234, "pageviews": 4321, "visits": 1500, "bounce_rate": 40, "views_per_visit": 2.88,
    "visit_duration_s": 125,
    "comparison": {"visitors": 1000, "visits": 2000, "bounce_rate": 50, "views_per_visit": 2.88,
                   "visit_duration_s": 0},  # no pageviews: that delta is left out
    "top_pages": [{"path": "/", "pageviews": 300}, {"path": LONG_PATH, "pageviews": 20}],
    "top_referrers": [{"referrer": "news.ycombinator.com", "pageviews": 40}],
    "timeseries": [{"time": "2026-11-27T00:00:00Z", "visitors": 3, "pageviews": 7}],
    "sources": [{"source": "Hacker News", "visitors": 30, "pageviews": 40},
                {"source": HOSTILE, "visitors": 2, "pageviews": 2}],
    "utm_mediums": [{"value": "email", "visitors": 12}],
    "utm_campaigns": [{"value": "black-friday", "visitors": 9}],
    "entry_pages": [{"path": "/landing", "visits": 77}],
    "exit_pages": [{"path": "/checkout/done", "visits": 55}],
    "countries": [{"country": "DE", "visitors": 50}, {"country": "XK", "visitors": 4},
                  {"country": "AA", "visitors": 1}],
    "devices": [{"name": "mobile", "visitors": 60}, {"name": "desktop", "visitors": 40}],
    "browsers": [{"name": "Firefox", "visitors": 33}],
    "os": [{"name": "Android", "visitors": 21}],
    "goals": [{"goal": "Signup", "visitors": 41, "events": 52, "conversion_rate": 3.3,
               "props": {"plan": [{"value": "premium", "events": 30}, {"value": HOSTILE, "events": 1}]}},
              {"goal": "Download", "visitors": 5, "events": 6, "conversion_rate": 0.4, "props": {}}],
}
CSV = "source,visitors,pageviews\r\nHacker News,30,40\r\n"


def stub(page: Page, stats: dict[str, Any], seen: list[tuple[str, dict[str, str]]] | None = None) -> None:
    """Answers /api/stats with `stats` (or CSV when asked for it) and /api/realtime with a quiet minute."""
    def stats_route(route: Route) -> None:
        if seen is not None:
            seen.append((route.request.url, route.request.headers))
        if "format=csv" in route.request.url:
            route.fulfill(status=200, body=CSV, headers={"Content-Type": "text/csv; charset=utf-8"})
        else:
            route.fulfill(status=200, body=json.dumps(stats), headers={"Content-Type": "application/json"})

    page.route(re.compile(r"/api/stats\?"), stats_route)
    page.route(re.compile(r"/api/realtime\?"), lambda route: route.fulfill(
        status=200, headers={"Content-Type": "application/json"},
        body=json.dumps({"active_visitors": 2, "pageviews_per_minute": [], "top_pages": []})))


@pytest.fixture
def open_page(server: int, browser: Browser) -> Iterator[Callable[..., Page]]:
    pages: list[Page] = []

    def opener(stats: dict[str, Any] = STATS, width: int = 1280) -> Page:
        context = browser.new_context(viewport={"width": width, "height": 900}, locale="en-US")
        page = context.new_page()
        pages.append(page)
        stub(page, stats)
        page.goto(f"http://127.0.0.1:{server}/?site={SITE}")
        expect(page.locator("#visitors")).not_to_have_text(NONE, timeout=60_000)
        return page

    yield opener
    for p in pages:
        p.context.close()


def metric(page: Page, key: str) -> tuple[str, str]:
    item = page.locator(f"[data-metric={key}]")
    return item.locator(".num").inner_text(), item.locator(".delta").inner_text()


def test_the_headline_shows_each_figure_and_its_change(open_page: Callable[..., Page]) -> None:
    page = open_page()
    assert metric(page, "visitors") == ("1,234", "▲ 23%")  # 1000 -> 1234: 23.4%
    assert metric(page, "visits") == ("1,500", "▼ 25%")  # 2000 -> 1500
    assert metric(page, "pageviews") == ("4,321", "")  # no previous figure: no delta
    assert metric(page, "views_per_visit") == ("2.88", "0%")
    assert metric(page, "bounce_rate") == ("40%", "▼ 10 pp")  # a rate changes in points
    assert metric(page, "visit_duration_s") == ("2m 5s", "▲ new")  # from nothing
    good = page.locator("[data-metric=visitors] .delta")
    expect(good).to_have_class(re.compile(r"\bgood\b"))
    expect(page.locator("[data-metric=visits] .delta")).to_have_class(re.compile(r"\bbad\b"))
    expect(page.locator("[data-metric=bounce_rate] .delta")).to_have_class(re.compile(r"\bgood\b"))  # down is good
    assert good.get_attribute("title") == "Previous period: 1,000"


def test_against_a_period_without_visits_every_figure_is_new(open_page: Callable[..., Page]) -> None:
    quiet = {"visitors": 0, "visits": 0, "pageviews": 0, "bounce_rate": 0, "views_per_visit": 0, "visit_duration_s": 0}
    page = open_page({**STATS, "comparison": quiet})
    assert metric(page, "visitors") == ("1,234", "▲ new")
    assert metric(page, "pageviews") == ("4,321", "▲ new")
    # Averages over no visits: no direction to show.
    assert metric(page, "views_per_visit") == ("2.88", "new")
    assert metric(page, "bounce_rate") == ("40%", "new")
    assert metric(page, "visit_duration_s") == ("2m 5s", "new")
    expect(page.locator("[data-metric=bounce_rate] .delta")).not_to_have_class(re.compile(r"\b(good|bad)\b"))


def test_the_stats_request_asks_for_the_comparison(server: int, browser: Browser) -> None:
    seen: list[tuple[str, dict[str, str]]] = []
    page = browser.new_page()
    stub(page, STATS, seen)
    page.goto(f"http://127.0.0.1:{server}/?site={SITE}")
    expect(page.locator("#visitors")).to_have_text("1,234", timeout=60_000)
    assert "compare=previous_period" in seen[0][0] and "period=day" in seen[0][0], seen
    page.get_by_role("button", name="7 days").click()
    expect(page.locator(".csv").first).to_have_attribute("href", re.compile(r"period=7d"))
    assert any("period=7d" in url for url, _ in seen), seen
    page.close()


YEAR = {**STATS, "from": "2026-01-01", "to": "2026-12-31",
        "timeseries": [{"time": f"2026-{m:02d}-01", "visitors": m, "pageviews": 10 * m} for m in range(1, 13)]}


def test_long_periods_ask_for_them_and_chart_months(server: int, browser: Browser) -> None:
    """12 months, the year to date and all time: each asks the API for its period (with the comparison)
    and the chart shows the API's monthly points."""
    seen: list[tuple[str, dict[str, str]]] = []
    page = browser.new_page()
    stub(page, YEAR, seen)
    page.goto(f"http://127.0.0.1:{server}/?site={SITE}")
    expect(page.locator("#visitors")).to_have_text("1,234", timeout=60_000)
    for name, period in (("12 months", "12mo"), ("Year to date", "year"), ("All time", "all")):
        button = page.get_by_role("button", name=name)
        button.click()
        expect(button).to_have_attribute("aria-pressed", "true")
        expect(page.locator(".csv").first).to_have_attribute("href", re.compile(rf"period={period}&"))
        assert any(f"period={period}&compare=previous_period" in url for url, _ in seen), seen
        expect(page.locator("#series-caption")).to_have_text("Page views per month")
    expect(page.locator("#series title")).to_have_count(12)
    expect(page.locator("#series title").last).to_have_text("2026-12: 120")
    page.get_by_role("button", name="7 days").click()
    expect(page.get_by_role("button", name="All time")).to_have_attribute("aria-pressed", "false")
    page.close()


def test_tabs_switch_rows_and_csv_links(open_page: Callable[..., Page]) -> None:
    page = open_page()
    sources = page.get_by_test_id("sources")
    expect(sources.locator("ol")).to_contain_text("Hacker News")
    expect(sources.locator("ol")).to_contain_text("30")
    expect(sources.locator(".csv")).to_have_attribute(
        "href", re.compile(r"/api/stats\?site=panels\.example&period=day&format=csv&panel=sources$"))
    sources.get_by_role("tab", name="UTM mediums").click()
    expect(sources.locator("ol")).to_contain_text("email")
    expect(sources.locator("ol")).not_to_contain_text("Hacker News")
    expect(sources.locator(".csv")).to_have_attribute("href", re.compile(r"panel=utm_mediums$"))
    sources.get_by_role("tab", name="UTM campaigns").click()
    expect(sources.locator("ol")).to_contain_text("black-friday")
    expect(sources.locator(".csv")).to_have_attribute("href", re.compile(r"panel=utm_campaigns$"))

    pages = page.get_by_test_id("pages")
    expect(pages.locator("ol")).to_contain_text("300")
    pages.get_by_role("tab", name="Entry").click()
    expect(pages.locator("ol")).to_contain_text("/landing")
    expect(pages.locator("ol")).to_contain_text("77")
    expect(pages.locator(".csv")).to_have_attribute("href", re.compile(r"panel=entry_pages$"))
    pages.get_by_role("tab", name="Exit").click()
    expect(pages.locator("ol")).to_contain_text("/checkout/done")
    expect(pages.locator(".csv")).to_have_attribute("href", re.compile(r"panel=exit_pages$"))
    pages.get_by_role("tab", name="Entry").press("ArrowRight")  # the keyboard moves along the tabs too
    expect(pages.get_by_role("tab", name="Exit")).to_have_attribute("aria-selected", "true")

    devices = page.get_by_test_id("devices")
    expect(devices.locator("li:not(.head) .label")).to_have_text(["Mobile", "Desktop"])  # named as a heading
    devices.get_by_role("tab", name="Browser").click()
    expect(devices.locator("ol")).to_contain_text("Firefox")
    devices.get_by_role("tab", name="OS").click()
    expect(devices.locator("ol")).to_contain_text("Android")
    expect(devices.locator(".csv")).to_have_attribute("href", re.compile(r"panel=os$"))
    expect(page.get_by_test_id("countries").locator(".csv")).to_have_attribute("href", re.compile(r"panel=countries$"))
    expect(page.get_by_test_id("goals").locator(".csv")).to_have_attribute("href", re.compile(r"panel=goals$"))


def test_countries_are_named_by_the_browser(open_page: Callable[..., Page]) -> None:
    page = open_page()
    labels = page.get_by_test_id("countries").locator("li:not(.head) .label")
    expect(labels).to_have_text(["Germany", "Kosovo", "AA"])  # an unknown code stays a code
    assert labels.first.get_attribute("title") == "DE"


def test_goals_show_their_figures_and_props_on_demand(open_page: Callable[..., Page]) -> None:
    page = open_page()
    goals = page.get_by_test_id("goals")
    signup = goals.locator("details.goal", has_text="Signup")
    expect(signup.locator("summary span")).to_have_text(["Signup", "41", "52", "3.3%"])
    expect(signup.locator("summary")).to_have_attribute("aria-label", "Signup: 41 visitors, 52 events, 3.3% conversion")
    expect(signup.locator(".props")).to_be_hidden()
    signup.locator("summary").click()
    expect(signup.locator(".props")).to_be_visible()
    expect(signup.locator(".props")).to_contain_text("plan")
    expect(signup.locator(".props li", has_text="premium")).to_contain_text("30")
    # The stats again, as every minute: the goal stays open. Waiting for their answer, then a moment for
    # the page to draw it, so that a slow (loaded) machine does not check before the redraw.
    with page.expect_response(re.compile(r"/api/stats\?")):
        page.get_by_role("button", name="Today").click()
    expect(signup.locator(".props")).to_be_visible()
    page.wait_for_timeout(500)
    expect(signup.locator(".props")).to_be_visible()
    download = goals.locator(".goal", has_text="Download")
    expect(download.locator(".goal-row span")).to_have_text(["Download", "5", "6", "0.4%"])
    assert download.locator("details").count() == 0  # no props: nothing to open


def test_text_from_the_api_is_never_markup(open_page: Callable[..., Page]) -> None:
    page = open_page()
    page.get_by_test_id("goals").locator("summary", has_text="Signup").click()
    expect(page.get_by_test_id("sources")).to_contain_text(HOSTILE)
    expect(page.get_by_test_id("goals")).to_contain_text(HOSTILE)
    assert page.locator("main img").count() == 0
    assert page.evaluate("window.pwned") is None


def test_an_api_without_the_newer_fields_still_shows_what_it_has(open_page: Callable[..., Page]) -> None:
    fields = ("site", "from", "to", "visitors", "pageviews", "top_pages", "top_referrers", "timeseries")
    old = {k: STATS[k] for k in fields}
    page = open_page(old)
    assert metric(page, "visitors") == ("1,234", "")
    assert metric(page, "visits") == (NONE, "")
    assert metric(page, "visit_duration_s") == (NONE, "")
    expect(page.get_by_test_id("sources").locator("ol")).to_contain_text("news.ycombinator.com")  # referrers stand in
    expect(page.get_by_test_id("pages").locator("ol")).to_contain_text("300")
    expect(page.get_by_test_id("countries")).to_contain_text("Not available")
    expect(page.get_by_test_id("goals")).to_contain_text("Not available")
    page.get_by_test_id("devices").get_by_role("tab", name="OS").click()
    expect(page.get_by_test_id("devices")).to_contain_text("Not available")


def test_a_csv_download_carries_the_api_key(server: int, open_page: Callable[..., Page]) -> None:
    seen: list[tuple[str, dict[str, str]]] = []
    page = open_page()
    page.evaluate("localStorage.setItem('liveinsight.apiKey', 'k-123')")
    page.unroute(re.compile(r"/api/stats\?"))
    stub(page, STATS, seen)
    with page.expect_download() as info:
        page.get_by_test_id("sources").locator(".csv").click()
    download = info.value
    assert download.suggested_filename == f"{SITE}-sources-day.csv"
    assert Path(download.path()).read_bytes() == CSV.encode()
    csv_requests = [(u, h) for u, h in seen if "format=csv" in u]
    assert csv_requests and csv_requests[0][1].get("x-api-key") == "k-123", seen


@pytest.mark.parametrize("width", [360, 1280])
def test_no_sideways_scroll(open_page: Callable[..., Page], width: int) -> None:
    page = open_page(width=width)
    page.get_by_test_id("goals").locator("summary", has_text="Signup").click()
    expect(page.get_by_test_id("pages")).to_contain_text("/blog/")
    overflow = page.evaluate("document.documentElement.scrollWidth")
    assert overflow <= width, f"the page is {overflow}px wide on a {width}px screen"
    wide = page.evaluate("""() => [...document.querySelectorAll('main *')]
        .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
        .map(e => e.tagName + '.' + e.className)""")
    assert not wide, wide


def test_a_failed_csv_download_is_told_not_saved(open_page: Callable[..., Page]) -> None:
    page = open_page()
    page.route(re.compile(r"format=csv"), lambda route: route.fulfill(
        status=400, headers={"Content-Type": "application/json"}, body=json.dumps({"error": "panel: unknown"})))
    downloads: list[Any] = []
    page.on("download", lambda d: downloads.append(d))
    page.get_by_test_id("countries").locator(".csv").click()
    expect(page.locator("#status")).to_have_text("CSV download failed: panel: unknown")
    assert not downloads


def test_the_page_builds_no_markup_from_strings() -> None:
    """Text reaches the page through textContent and attributes only: a
    markup-parsing sink in the page's script would be a way in for a crafted path or prop."""
    source = (ROOT / "site" / "dashboard.js").read_text(encoding="utf-8")
    sinks = [s for s in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "Function(")
             if s in source]
    assert not sinks, sinks
