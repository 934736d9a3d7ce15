"""``serve --demo-traffic``: the synthetic visits fill every panel of the dashboard through ``serve``."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from liveinsight_infra.local.demo import DEMO_SITE, DemoTraffic
from tests.local.conftest import Site

VISITS = 30


def test_demo_visits_fill_the_panels_with_sources_countries_devices_goals_and_durations(live: Site) -> None:
    host, port = live.server.server_address[:2]
    demo = DemoTraffic(str(host), int(port), seed=7)
    statuses = [demo.post_once() for _ in range(VISITS)]
    assert statuses == [202] * VISITS
    now = datetime.now(UTC)
    first, last = (now - timedelta(minutes=15)).strftime("%Y-%m-%d"), now.strftime("%Y-%m-%d")
    r = live.request("GET", f"/api/stats?site={DEMO_SITE}&from={first}&to={last}")
    assert r.status == 200, r.body
    got = r.json()
    assert got["visitors"] == got["visits"] == VISITS  # each visit is a visitor of its own
    assert 0 < got["bounce_rate"] < 100
    assert got["visit_duration_s"] > 0 and got["views_per_visit"] > 1
    sources = {row["source"] for row in got["sources"]}
    assert "Direct / None" in sources and len(sources) >= 4
    assert sources & {"Google", "Hacker News", "Reddit", "GitHub", "DuckDuckGo", "X (Twitter)"}
    assert got["utm_mediums"] and got["utm_campaigns"]
    assert len(got["countries"]) >= 3
    assert {row["name"] for row in got["devices"]} >= {"desktop", "mobile"}
    assert len(got["browsers"]) >= 3 and len(got["os"]) >= 3
    (goal,) = got["goals"]
    assert goal["goal"] == "Signup" and set(goal["props"]) == {"plan", "billing"} and goal["conversion_rate"] > 0
    assert got["entry_pages"] and got["exit_pages"]


def test_the_demo_thread_posts_until_stopped(live: Site) -> None:
    host, port = live.server.server_address[:2]
    demo = DemoTraffic(str(host), int(port), interval_s=0.05, seed=1)
    demo.start()
    deadline = time.monotonic() + 30
    while demo.sent == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    demo.stop()
    demo.join(timeout=15)
    assert demo.sent > 0 and not demo.is_alive()
