"""Synthetic visits for ``serve --demo-traffic``: a newcomer sees every panel of the dashboard move.

Posts through the real ``/api/events`` endpoint over HTTP, as a tracker would: a pool of visitors,
each with a real desktop, mobile or tablet User-Agent (a version number of its own, so each is a
distinct visitor) and a country sent as CloudFront's ``CloudFront-Viewer-Country`` header (which
``serve`` passes on, docs/analytics.md). Each post is one visit: it arrives from a search engine,
a social site, a UTM-tagged campaign link or directly, moves between pages, sometimes converts on
a goal with props, and reports the time spent on each page with ``engagement`` events, so the
dashboard shows sources, campaigns, countries, devices, goals, durations and bounces. The visit's
events carry ``ts`` in the last minutes, so it has a duration. Bounded: it stops with the server,
or after ``max_seconds``.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import random
import threading
import time
from typing import Any

DEMO_SITE = "demo.liveinsight.dev"
PAGES = ["/", "/pricing", "/docs", "/docs/getting-started", "/blog/launch", "/about", "/signup"]
LANDINGS = ["/", "/", "/", "/blog/launch", "/blog/launch", "/pricing", "/docs/getting-started"]
# Where a visit comes from: (referrer, query of the landing page), weighted by repetition.
ARRIVALS: list[tuple[str, str]] = [
    ("", ""), ("", ""),
    ("https://www.google.com/", ""), ("https://www.google.com/", ""), ("https://duckduckgo.com/", ""),
    ("https://news.ycombinator.com/", ""), ("https://www.reddit.com/r/selfhosted/", ""),
    ("https://github.com/", ""), ("https://t.co/", ""),
    ("", "utm_source=newsletter&utm_medium=email&utm_campaign=autumn_launch"),
    ("https://www.linkedin.com/", "utm_source=linkedin&utm_medium=social&utm_campaign=autumn_launch"),
    ("", "utm_source=google&utm_medium=cpc&utm_campaign=brand"),
]
# Real User-Agents; "{v}" takes a version number of the visitor's own.
USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.{v}.0 "
    "Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.{v} "
    "Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.{v}",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 "
    "Safari/537.36 Edg/124.0.{v}.51",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_{v} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.{v}.82 "
    "Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/24.{v} Chrome/117.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (iPad; CPU OS 17_{v} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 "
    "Mobile/15E148 Safari/604.1",
]
COUNTRIES = ["US", "US", "US", "DE", "DE", "GB", "FR", "IN", "BR", "JP", "CA", "NL"]
GOAL = "Signup"
PLANS = ["free", "free", "pro", "team"]


class DemoTraffic(threading.Thread):
    def __init__(self, host: str, port: int, interval_s: float = 0.7, max_seconds: float = 3600,
                 seed: int | None = None):
        super().__init__(name="liveinsight-demo-traffic", daemon=True)
        self.host, self.port, self.interval_s, self.max_seconds = host, port, interval_s, max_seconds
        self.rng = random.Random(seed)
        self.stop_event = threading.Event()
        self.sent = 0
        self.visits = 0

    def stop(self) -> None:
        self.stop_event.set()

    def visit(self, now_ms: int | None = None) -> tuple[str, str, list[dict[str, Any]]]:
        """A new visitor's User-Agent, country and the events of a visit that ends about now.

        Each visit is a visitor of its own (a visitor's visits would join into one: they overlap in time).
        """
        n, self.visits = self.visits, self.visits + 1
        ua = USER_AGENTS[n % len(USER_AGENTS)].format(v=n // len(USER_AGENTS))
        country = self.rng.choice(COUNTRIES)
        referrer, query = self.rng.choice(ARRIVALS)
        first = self.rng.choice(LANDINGS)
        pages = [first, *self.rng.sample([p for p in PAGES if p != first], k=self.rng.choice([0, 0, 0, 1, 1, 2, 3]))]
        ts = 0
        events: list[dict[str, Any]] = []

        def add(name: str, page: str, **extra: Any) -> None:
            events.append({"name": name, "url": f"https://{DEMO_SITE}{page}", "domain": DEMO_SITE, "ts": ts,
                           **extra})

        for i, page in enumerate(pages):
            landing = f"{page}?{query}" if i == 0 and query else page
            add("pageview", landing, referrer=referrer if i == 0 else f"https://{DEMO_SITE}{pages[i - 1]}")
            if page in ("/pricing", "/signup") and self.rng.random() < 0.5:
                ts += self.rng.randint(5_000, 20_000)
                add(GOAL, page, props={"plan": self.rng.choice(PLANS), "billing": self.rng.choice(["monthly",
                                                                                                 "yearly"])})
            # A tracker reports the time on the page when it is left; a short look is a bounce.
            spent = self.rng.choice([2_000, 3_000, 4_000, 6_000, 15_000, 30_000, 45_000, 90_000])
            ts += spent
            add("engagement", landing, e=spent, sd=self.rng.randint(10, 100))
            ts += 1_000
        end = now_ms if now_ms is not None else int(time.time() * 1000)
        for event in events:  # the visit ends now: the collector takes ts up to 24 h back
            event["ts"] += end - ts
        return ua, country, events

    def post_once(self) -> int:
        ua, country, events = self.visit()
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            conn.request("POST", "/api/events", body=json.dumps(events),
                         headers={"Content-Type": "application/json", "User-Agent": ua,
                                  "CloudFront-Viewer-Country": country})
            status = conn.getresponse().status
        finally:
            conn.close()
        if status == 202:
            self.sent += len(events)
        return status

    def run(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        while not self.stop_event.is_set() and time.monotonic() < deadline:
            with contextlib.suppress(OSError):  # the server is stopping
                self.post_once()
            self.stop_event.wait(self.interval_s * self.rng.uniform(0.5, 1.5))
