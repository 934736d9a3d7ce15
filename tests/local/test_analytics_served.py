"""The analytics fields of ``GET /api/stats``, end to end through ``serve``: events posted over HTTP on
``/api/event`` (Plausible's names), ``/api/events`` and the stage path ``/dev/api/events``, with real
User-Agents and ``CloudFront-Viewer-Country`` headers, read back as JSON, with
``compare=previous_period`` and as CSV. Every expected number is worked out by hand below from the
events sent (docs/http-api.md and docs/analytics.md give the rules), not taken from the code.
"""

from __future__ import annotations

import csv
import io
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tests.local.conftest import Site

SITE = "shop.example.com"
S, MIN, DAY = 1000, 60_000, 86_400_000
CHROME_WINDOWS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/124.0.0.0 Safari/537.36")
SAFARI_IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                 "Version/17.4 Mobile/15E148 Safari/604.1")
FIREFOX_MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.4; rv:125.0) Gecko/20100101 Firefox/125.0"
CHROME_ANDROID = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/124.0.6367.82 Mobile Safari/537.36")
EDGE_WINDOWS = CHROME_WINDOWS + " Edg/124.0.2478.51"
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"


@dataclass(frozen=True)
class Days:
    """Two adjacent UTC days the collector accepts events in now (``ts``: 24 h back, 5 min ahead).

    ``main`` gets the full scenario (about 45 minutes of events), ``other`` two page views; the
    later of the two days is ``late``, so ``compare=previous_period`` on it reads the earlier one.
    """

    main_start: int  # ms: the main scenario's first event
    other_start: int
    main_day: str
    other_day: str
    main_is_late: bool

    @property
    def late(self) -> str:
        return self.main_day if self.main_is_late else self.other_day


def days_around(now_ms: int) -> Days:
    # The accepted window, less margins for the time the test takes: 24 h + 1 min long, so it holds a
    # midnight with at least 30 s on each side; the larger side holds at least 12 h.
    lo, hi = now_ms - DAY + 3 * MIN, now_ms + 4 * MIN
    today = now_ms // DAY * DAY
    midnight = max((m for m in (today, today + DAY) if lo < m <= hi), key=lambda m: min(m - lo, hi - m))
    late_is_bigger = hi - midnight >= midnight - lo
    if late_is_bigger:
        main_start, other_start = midnight + MIN, (lo + midnight) // 2 - 5 * S
    else:
        main_start, other_start = midnight - 50 * MIN, (midnight + hi) // 2 - 5 * S

    def day(ms: int) -> str:
        return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")

    return Days(main_start, other_start, day(main_start), day(other_start), late_is_bigger)


def post(site: Site, path: str, ua: str, body: Any, country: str | None = None,
         content_type: str = "application/json") -> dict[str, Any]:
    headers = {"Content-Type": content_type, "User-Agent": ua}
    if country is not None:
        headers["CloudFront-Viewer-Country"] = country
    r = site.request("POST", path, headers, json.dumps(body).encode())
    assert r.status == 202, r.body
    answer: dict[str, Any] = r.json()
    assert answer["rejected"] == [] and answer["dropped"] == 0, answer
    return answer


def url(path: str) -> str:
    return f"https://{SITE}{path}"


def send_scenario(site: Site, t0: int) -> None:
    """Five visitors, six visits, one goal. Offsets are seconds after ``t0``."""
    # A: desktop Chrome / Windows, DE, Plausible's script on /api/event. The UTM tag outranks the
    # Hacker News referrer. Two page views, a goal with props, then 20 s of engagement at +300 s.
    for body in (
        {"n": "pageview", "u": url("/?utm_source=newsletter&utm_medium=Email&utm_campaign=Spring_Sale"),
         "d": SITE, "r": "https://news.ycombinator.com/", "ts": t0},
        {"n": "pageview", "u": url("/pricing"), "d": SITE, "r": url("/?utm_source=newsletter"), "ts": t0 + 60 * S},
        {"n": "Signup", "u": url("/pricing"), "d": SITE, "p": {"plan": "pro", "seats": 3}, "ts": t0 + 120 * S},
        {"n": "engagement", "u": url("/pricing"), "d": SITE, "e": 20000, "sd": 80, "ts": t0 + 300 * S},
    ):
        post(site, "/api/event", CHROME_WINDOWS, body, country="DE", content_type="text/plain")
    # B: iPhone Safari, US, one page view from a Hacker News thread: a bounce of 0 s.
    post(site, "/api/events", SAFARI_IPHONE, {"name": "pageview", "url": url("/blog/post"), "domain": SITE,
                                             "referrer": "https://news.ycombinator.com/item?id=1", "ts": t0 + 10 * S},
         country="US")
    # C: Firefox / macOS, on the stage path, in one batch: from Google to /docs and the goal (60 s,
    # engaged); 40 minutes later, from Hacker News to /pricing: a second visit, a bounce. It sends DE,
    # but the execute-api URL is not CloudFront: its country header is not believed (no country).
    post(site, "/dev/api/events", FIREFOX_MAC, [
        {"name": "pageview", "url": url("/"), "domain": SITE, "referrer": "https://www.google.com/search",
         "ts": t0 + 20 * S},
        {"name": "pageview", "url": url("/docs/"), "domain": SITE, "referrer": url("/"), "ts": t0 + 50 * S},
        {"name": "Signup", "url": url("/docs"), "domain": SITE, "props": {"plan": "free"}, "ts": t0 + 80 * S},
        {"name": "pageview", "url": url("/pricing"), "domain": SITE, "referrer": "https://news.ycombinator.com/",
         "ts": t0 + 80 * S + 40 * MIN},
    ], country="DE")
    # D: Android Chrome, FR, tagged with a known alias; 3 s of engagement is not engaged: a bounce of 3 s.
    post(site, "/api/event", CHROME_ANDROID,
         {"n": "pageview", "u": url("/?utm_source=twitter&utm_medium=social&utm_campaign=launch"), "d": SITE,
          "ts": t0 + 30 * S}, country="FR")
    post(site, "/api/event", CHROME_ANDROID,
         {"n": "engagement", "u": url("/"), "d": SITE, "e": "3000", "ts": t0 + 33 * S}, country="FR")
    # E: Edge / Windows, no country header, direct; 15 s of engagement: a bounce by Plausible's rule
    # (engaged by GA4's, which engagement_rate counts), 15 s.
    post(site, "/api/events", EDGE_WINDOWS, {"name": "pageview", "url": url("/"), "domain": SITE, "ts": t0 + 40 * S})
    post(site, "/api/event", EDGE_WINDOWS, {"n": "engagement", "u": url("/"), "d": SITE, "e": 15000,
                                            "ts": t0 + 55 * S})


def send_other_day(site: Site, t0: int) -> None:
    """One visitor, two page views 10 s apart: 1 visit, no bounce, 10 s."""
    post(site, "/api/events", FIREFOX_LINUX, [
        {"name": "pageview", "url": url("/"), "domain": SITE, "ts": t0},
        {"name": "pageview", "url": url("/about"), "domain": SITE, "referrer": url("/"), "ts": t0 + 10 * S}])


def stats(site: Site, query: str) -> dict[str, Any]:
    r = site.request("GET", f"/api/stats?site={SITE}&{query}")
    assert r.status == 200, r.body
    answer: dict[str, Any] = r.json()
    return answer


def csv_rows(site: Site, query: str) -> list[list[str]]:
    r = site.request("GET", f"/api/stats?site={SITE}&{query}")
    assert r.status == 200, r.body
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.body.count(b"\r\n") == r.body.count(b"\n")  # RFC 4180 line ends
    return list(csv.reader(io.StringIO(r.body.decode("utf-8"))))


# Worked out from send_scenario. Visitors A..E = 5; page views A2 B1 C3 D1 E1 = 8.
MAIN_HEADLINE = {
    "visitors": 5, "pageviews": 8,
    # visits: A, B, C1, C2, D, E = 6; bounces B, C2, D, E = 4 of 6 (Plausible's rule: one page view
    # and no custom event; engagement never ends a bounce, so E's 15 s does not); page views 8 / 6;
    # durations to the last page view or custom event (engagement does not lengthen a visit):
    # A 120 + B 0 + C1 60 + C2 0 + D 0 + E 0 = 180 s / 6 = 30 s.
    "visits": 6, "bounce_rate": 67, "views_per_visit": 1.33, "visit_duration_s": 30,
    # GA4's engaged visits (two page views, a goal, or 10 s of engagement): A, C1, E = 3 of 6.
    "engagement_rate": 50,
}
OTHER_HEADLINE = {"visitors": 1, "pageviews": 2, "visits": 1, "bounce_rate": 0, "views_per_visit": 2.0,
                  "visit_duration_s": 10, "engagement_rate": 100}  # two page views: engaged


def test_posted_events_show_up_with_the_right_numbers_in_every_field(live: Site) -> None:
    days = days_around(int(time.time() * 1000))
    send_other_day(live, days.other_start)
    send_scenario(live, days.main_start)

    got = stats(live, f"from={days.main_day}&to={days.main_day}")
    assert {k: got[k] for k in MAIN_HEADLINE} == MAIN_HEADLINE
    assert got["sources"] == [
        {"source": "Hacker News", "visitors": 2, "pageviews": 2},  # B, and C's second visit
        {"source": "Google", "visitors": 1, "pageviews": 2},  # C's first visit (www.google.com), with /docs
        {"source": "newsletter", "visitors": 1, "pageviews": 2},  # A: the tag beats the referrer; and /pricing
        {"source": "Direct / None", "visitors": 1, "pageviews": 1},  # E
        {"source": "X (Twitter)", "visitors": 1, "pageviews": 1},  # D: utm_source=twitter
    ]  # a visit's page views count under its entry's source (docs/metrics.md)
    assert got["utm_mediums"] == [{"value": "Email", "visitors": 1}, {"value": "social", "visitors": 1}]  # as written
    assert got["utm_campaigns"] == [{"value": "Spring_Sale", "visitors": 1}, {"value": "launch", "visitors": 1}]
    assert got["countries"] == [{"country": "DE", "visitors": 1}, {"country": "FR", "visitors": 1},
                                {"country": "US", "visitors": 1}]  # E sent none; C's is not CloudFront's
    assert got["devices"] == [{"name": "desktop", "visitors": 3}, {"name": "mobile", "visitors": 2}]
    assert got["browsers"] == [{"name": "Chrome", "visitors": 2}, {"name": "Edge", "visitors": 1},
                               {"name": "Firefox", "visitors": 1}, {"name": "Safari", "visitors": 1}]
    assert got["os"] == [{"name": "Windows", "visitors": 2}, {"name": "Android", "visitors": 1},
                         {"name": "iOS", "visitors": 1}, {"name": "macOS", "visitors": 1}]
    assert got["goals"] == [{"goal": "Signup", "visitors": 2, "events": 2, "conversion_rate": 40.0,
                             "props": {"plan": [{"value": "free", "events": 1}, {"value": "pro", "events": 1}],
                                       "seats": [{"value": "3", "events": 1}]},
                             "revenue": []}]  # no revenue sent with Signup
    assert got["pages"] == [{"path": "/", "visitors": 4, "pageviews": 4}, {"path": "/pricing", "visitors": 2,
                                                                             "pageviews": 2},
                            {"path": "/blog/post", "visitors": 1, "pageviews": 1},
                            {"path": "/docs", "visitors": 1, "pageviews": 1}]
    # entries: / (A, C1, D, E), /blog/post (B), /pricing (C2); exits: /pricing (A, C2), / (D, E), B, C1
    assert got["entry_pages"] == [{"path": "/", "visits": 4}, {"path": "/blog/post", "visits": 1},
                                  {"path": "/pricing", "visits": 1}]
    assert got["exit_pages"] == [{"path": "/", "visits": 2}, {"path": "/pricing", "visits": 2},
                                 {"path": "/blog/post", "visits": 1}, {"path": "/docs", "visits": 1}]
    # Referrer hosts without www., tags or not, each with its visits' page views: A (2), B, C2; C1 (2).
    assert got["top_referrers"] == [{"referrer": "news.ycombinator.com", "pageviews": 4},
                                    {"referrer": "google.com", "pageviews": 2}]
    assert got["top_pages"][0] == {"path": "/", "pageviews": 4}

    # The later day compared with the one before: the headline figures of each, by hand.
    late = stats(live, f"from={days.late}&to={days.late}&compare=previous_period")
    late_figures, early_figures = ((MAIN_HEADLINE, OTHER_HEADLINE) if days.main_is_late
                                   else (OTHER_HEADLINE, MAIN_HEADLINE))
    assert {k: late[k] for k in late_figures} == late_figures
    early = days.other_day if days.main_is_late else days.main_day
    assert late["comparison"] == {"from": early, "to": early, **early_figures}

    period = f"from={days.main_day}&to={days.main_day}&format=csv"
    assert csv_rows(live, f"{period}&panel=sources") == [
        ["source", "visitors", "pageviews"], ["Hacker News", "2", "2"], ["Google", "1", "2"],
        ["newsletter", "1", "2"], ["Direct / None", "1", "1"], ["X (Twitter)", "1", "1"]]
    assert csv_rows(live, f"{period}&panel=countries") == [["country", "visitors"], ["DE", "1"], ["FR", "1"],
                                                           ["US", "1"]]
    assert csv_rows(live, f"{period}&panel=goals") == [["goal", "visitors", "events", "conversion_rate"],
                                                       ["Signup", "2", "2", "40.0"]]
    assert csv_rows(live, f"{period}&panel=goal_props") == [
        ["goal", "key", "value", "events"], ["Signup", "plan", "free", "1"], ["Signup", "plan", "pro", "1"],
        ["Signup", "seats", "3", "1"]]
    assert csv_rows(live, f"{period}&panel=exit_pages") == [["path", "visits"], ["/", "2"], ["/pricing", "2"],
                                                            ["/blog/post", "1"], ["/docs", "1"]]
    assert csv_rows(live, f"{period}&panel=utm_campaigns") == [["value", "visitors"], ["Spring_Sale", "1"],
                                                               ["launch", "1"]]
    assert csv_rows(live, f"{period}&panel=devices") == [["name", "visitors"], ["desktop", "3"], ["mobile", "2"]]
