"""The dashboard in a real browser (Debian's Chromium, driven by Playwright) against `serve`."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import post

SITE = "browser.example"


def test_posted_events_appear_on_the_dashboard(server: int, browser: Browser, tmp_path: Path) -> None:
    page: Page = browser.new_page(viewport={"width": 1280, "height": 900})
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    problems: list[str] = []  # a Content-Security-Policy violation is reported on the console
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(f"http://127.0.0.1:{server}/?site={SITE}")
    expect(page.get_by_test_id("active-visitors")).to_have_text("0", timeout=60_000)
    for i in range(3):
        post(server, [{"name": "pageview", "url": f"https://{SITE}/pricing", "domain": SITE,
                       "referrer": "https://news.example.org/"},
                      {"name": "pageview", "url": f"https://{SITE}/", "domain": SITE}], ua=f"Mozilla/5.0 visitor-{i}")
    expect(page.get_by_test_id("active-visitors")).to_have_text("3", timeout=60_000)
    expect(page.get_by_test_id("now-pages")).to_contain_text("/pricing")
    page.get_by_role("button", name="Today").click()
    expect(page.get_by_test_id("top-pages")).to_contain_text("/pricing", timeout=60_000)
    expect(page.get_by_test_id("sources")).to_contain_text("news.example.org")
    expect(page.locator("#visitors")).to_have_text("3")
    assert all(u.startswith(f"http://127.0.0.1:{server}/") for u in requests), "no request leaves the site"
    widths = page.locator("[data-testid=top-pages] .fill").evaluate_all(
        "els => els.map(e => e.style.width)")
    assert widths and all(w.endswith("%") for w in widths), widths  # set despite the CSP
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems
    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
    assert (tmp_path / "dashboard.png").stat().st_size > 10_000


def test_an_unreachable_api_is_shown(server: int, browser: Browser) -> None:
    page = browser.new_page()
    page.route("**/api/**", lambda route: route.abort())
    page.goto(f"http://127.0.0.1:{server}/?site={SITE}")
    expect(page.locator("#status")).to_contain_text("API unreachable", timeout=60_000)


def test_usable_on_a_phone(server: int, browser: Browser) -> None:
    page = browser.new_page(viewport={"width": 375, "height": 740}, is_mobile=True)
    page.goto(f"http://127.0.0.1:{server}/?site={SITE}")
    expect(page.get_by_test_id("active-visitors")).to_be_visible(timeout=60_000)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page scrolls sideways on a phone ({width}px)"
