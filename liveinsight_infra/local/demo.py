"""Synthetic page views for ``serve --demo-traffic``: a newcomer sees the dashboard move.

Posts through the real ``/api/events`` endpoint over HTTP, as a tracker would: a pool of visitors
(each its own User-Agent, so each is a distinct visitor) who arrive from a few referrers and move
between pages. Bounded: it stops with the server, or after ``max_seconds``.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import random
import threading
import time

DEMO_SITE = "demo.liveinsight.dev"
PAGES = ["/", "/pricing", "/docs", "/docs/getting-started", "/blog/launch", "/about", "/signup"]
REFERRERS = ["", "", "https://news.ycombinator.com/", "https://www.google.com/", "https://twitter.com/",
             "https://github.com/"]


class DemoTraffic(threading.Thread):
    def __init__(self, host: str, port: int, visitors: int = 14, interval_s: float = 0.7, max_seconds: float = 3600,
                 seed: int | None = None):
        super().__init__(name="liveinsight-demo-traffic", daemon=True)
        self.host, self.port, self.interval_s, self.max_seconds = host, port, interval_s, max_seconds
        self.rng = random.Random(seed)
        self.visitors = [f"Mozilla/5.0 (X11; Linux x86_64) Demo/{i}" for i in range(visitors)]
        self.stop_event = threading.Event()
        self.sent = 0

    def stop(self) -> None:
        self.stop_event.set()

    def event(self) -> tuple[str, list[dict[str, str]]]:
        ua = self.rng.choice(self.visitors)
        pages = self.rng.sample(PAGES, k=self.rng.randint(1, 3))
        referrer = self.rng.choice(REFERRERS)
        events = []
        for i, page in enumerate(pages):
            events.append({"name": "pageview", "url": f"https://{DEMO_SITE}{page}", "domain": DEMO_SITE,
                           "referrer": referrer if i == 0 else f"https://{DEMO_SITE}{pages[i - 1]}"})
        return ua, events

    def post_once(self) -> int:
        ua, events = self.event()
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            conn.request("POST", "/api/events", body=json.dumps(events),
                         headers={"Content-Type": "application/json", "User-Agent": ua})
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
