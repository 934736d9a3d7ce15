"""Regenerate docs/dashboard.png (1280 px) and docs/dashboard-mobile.png (360 px): `serve --demo-traffic`,
post varied visits of today and yesterday (sources and UTM campaigns, countries, devices, goals with
props, a revenue goal in two currencies, engagement), wait for data, screenshot in Chromium.

    python scripts/dashboard_screenshot.py [--seconds 45]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
SITE = "demo.liveinsight.dev"  # the site serve --demo-traffic posts to
# User-Agents by device, with a version slot so each visitor is distinct (a visitor is its address
# and User-Agent, and every request here comes from 127.0.0.1).
AGENTS = [
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.{v}.0 "
     "Safari/537.36", 6),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.{v} "
     "Safari/605.1.15", 3),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.{v}", 2),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.{v} Mobile/15E148 Safari/604.1", 4),
    ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.{v}.0 "
     "Mobile Safari/537.36", 4),
    ("Mozilla/5.0 (iPad; CPU OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.{v} "
     "Mobile/15E148 Safari/604.1", 1),
]
COUNTRIES = [("US", 6), ("DE", 4), ("GB", 3), ("FR", 2), ("IN", 2), ("BR", 1), ("JP", 1), ("CA", 1)]
ARRIVALS = [  # (query, referrer, weight)
    ("", "", 5), ("", "https://www.google.com/", 6), ("", "https://news.ycombinator.com/", 3),
    ("", "https://github.com/", 2), ("", "https://duckduckgo.com/", 1), ("", "https://t.co/abc", 1),
    ("?utm_source=newsletter&utm_medium=email&utm_campaign=november", "", 3),
    ("?utm_source=mastodon&utm_medium=social&utm_campaign=launch", "", 2),
]
PAGES = ["/", "/pricing", "/docs", "/docs/getting-started", "/blog/launch", "/about", "/signup"]


def pick(rng: random.Random, weighted: list[Any]) -> Any:
    return rng.choices(weighted, weights=[w[-1] for w in weighted])[0]


def windows() -> list[tuple[int, int]]:
    """Today's last few hours and, as far as the collector's 24 hours of `ts` reach, yesterday's
    evening (so the headline has a previous period to compare with), in epoch ms."""
    now = int(time.time() * 1000)
    midnight = int(datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0).timestamp() * 1000)
    today = (max(midnight + 1000, now - 6 * 3600 * 1000), now - 600_000)
    yesterday = (max(midnight - 6 * 3600 * 1000, now - 23 * 3600 * 1000), midnight - 3600 * 1000)
    return [w for w in (today, yesterday) if w[0] < w[1]]


def visits(rng: random.Random, count: int, window: tuple[int, int],
           first: int = 0) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """`count` visits starting within `window`, each (User-Agent, country, events)."""
    out = []
    for i in range(first, first + count):
        agent, _ = pick(rng, AGENTS)
        country, _ = pick(rng, COUNTRIES)
        query, referrer, _ = pick(rng, ARRIVALS)
        t = rng.randint(*window)
        pages = rng.sample(PAGES, k=rng.choice([1, 1, 2, 3, 4]))
        events: list[dict[str, Any]] = []
        for n, path in enumerate(pages):
            event: dict[str, Any] = {"name": "pageview", "url": f"https://{SITE}{path}{query if n == 0 else ''}",
                                     "domain": SITE, "ts": t}
            if n == 0 and referrer:
                event["referrer"] = referrer
            events.append(event)
            stay = rng.randint(5, 180) * 1000
            if rng.random() < 0.6:
                events.append({"n": "engagement", "u": f"https://{SITE}{path}", "d": SITE, "e": stay,
                               "sd": rng.randint(10, 100), "ts": t + stay})
            if path == "/signup" and rng.random() < 0.7:
                events.append({"name": "Signup", "url": f"https://{SITE}{path}", "domain": SITE, "ts": t + stay // 2,
                               "props": {"plan": rng.choice(["free", "free", "pro", "team"])}})
            if path == "/pricing" and rng.random() < 0.3:  # a revenue goal, in two currencies
                currency, amount = rng.choice([("USD", 49), ("USD", 99), ("EUR", 45)])
                events.append({"name": "Purchase", "url": f"https://{SITE}{path}", "domain": SITE,
                               "ts": t + stay // 2, "revenue": {"currency": currency, "amount": amount}})
            if path.startswith("/docs") and rng.random() < 0.4:
                events.append({"name": "Download", "url": f"https://{SITE}{path}", "domain": SITE, "ts": t + stay // 3,
                               "props": {"format": rng.choice(["pdf", "epub"])}})
            t += stay + rng.randint(1, 20) * 1000
        out.append((agent.format(v=i), country, events))
    return out


def post(port: int, ua: str, country: str, events: list[dict[str, Any]]) -> None:
    for event in events:  # one event a request, as a tracker sends them
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("POST", "/api/events", body=json.dumps(event), headers={
            "Content-Type": "application/json", "User-Agent": ua, "CloudFront-Viewer-Country": country})
        conn.getresponse().read()
        conn.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=45, help="how long demo traffic runs before the screenshot")
    ap.add_argument("--visits", type=int, default=120, help="visits of the day posted before the screenshot")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "dashboard.png")
    ap.add_argument("--mobile-out", type=Path, default=ROOT / "docs" / "dashboard-mobile.png")
    args = ap.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    proc = subprocess.Popen([sys.executable, "-m", "liveinsight_infra", "serve", "specs/dev.yaml", "--port",
                             str(port), "--demo-traffic"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    try:
        started = time.monotonic()
        while True:
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=2).request("HEAD", "/")
                break
            except OSError:
                time.sleep(0.3)
        rng = random.Random(16)
        for n, window in enumerate(windows()):
            count = args.visits if n == 0 else args.visits * 4 // 5
            for ua, country, events in visits(rng, count, window, first=n * 1000):
                post(port, ua, country, events)
        time.sleep(max(0.0, args.seconds - (time.monotonic() - started)))
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"])
            # The phone's shot is one tall screen from the headline on, not the whole (long) page.
            for width, height, out in ((1280, 900, args.out), (360, 1400, args.mobile_out)):
                page = browser.new_page(viewport={"width": width, "height": height}, locale="en-US")
                page.goto(f"http://127.0.0.1:{port}/?site={SITE}")
                # Locator waits, not wait_for_function: the page's Content-Security-Policy forbids eval.
                for figure in ("#active", "#visits"):
                    expect(page.locator(figure)).not_to_have_text("\u2013", timeout=60000)
                page.locator("#goals-panel summary").first.click()
                page.wait_for_timeout(1500)
                if width < 600:
                    page.locator("#period-title").evaluate("h => window.scrollTo(0, h.closest('section').offsetTop)")
                page.screenshot(path=str(out), full_page=width >= 600)
                print(f"wrote {out}")
            browser.close()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)


if __name__ == "__main__":
    main()
