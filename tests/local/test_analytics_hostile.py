"""``GET /api/stats`` against odd and hostile input, through ``serve``: headers and tags nobody should
send, formula-like names, midnight, comparisons of custom ranges, odd CSV parameters and many
distinct values. What is expected comes from docs/http-api.md and docs/analytics.md.
"""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from tests.local.conftest import Site
from tests.local.test_analytics_served import (
    CHROME_ANDROID,
    CHROME_WINDOWS,
    DAY,
    FIREFOX_MAC,
    SITE,
    days_around,
    post,
    stats,
    url,
)


def day_of(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")


def get(site: Site, query: str) -> tuple[int, Any, dict[str, str]]:
    r = site.request("GET", f"/api/stats?site={SITE}&{query}")
    body = r.body.decode("utf-8")
    return r.status, (r.json() if r.headers.get("content-type", "").startswith("application/json") else body), \
        r.headers


def test_odd_country_headers_and_tags_are_cleaned_or_left_out(live: Site) -> None:
    now = int(time.time() * 1000)
    today = day_of(now)
    # One visitor per header value (each its own User-Agent version).
    for i, header in enumerate(["de", " fr ", "XX", "ZZ", "D E", "DE, US", "", "us"]):
        ua = CHROME_WINDOWS.replace("124.0.0.0", f"124.0.0.{i}")
        post(live, "/api/events", ua, {"name": "pageview", "url": url(f"/c{i}"), "domain": SITE}, country=header)
    got = stats(live, f"from={today}&to={today}")
    # Lower case and spaces around are read as the code; XX and ZZ are not assigned; lists are not codes.
    assert got["countries"] == [{"country": "DE", "visitors": 1}, {"country": "FR", "visitors": 1},
                                {"country": "US", "visitors": 1}]
    assert got["visitors"] == 8

    control = quote("\x00\x1b[31mred\x07  alert\r\n")
    long_tag = "m" * 1800
    post(live, "/api/events", FIREFOX_MAC, {
        "name": "pageview", "domain": SITE,
        "url": url(f"/?utm_source={control}&utm_medium={long_tag}&utm_campaign={quote('=1+1')}")})
    too_long = live.request("POST", "/api/events", {"Content-Type": "application/json", "User-Agent": FIREFOX_MAC},
                            json.dumps({"name": "pageview", "domain": SITE,
                                        "url": url("/?utm_source=" + "x" * 10_240)}).encode())
    assert too_long.status == 400 and "url: at most 2000 characters" in too_long.json()["rejected"][0]["error"]
    got = stats(live, f"from={today}&to={today}")
    # Control characters become spaces, runs of spaces one, ends trimmed; values are cut to 100.
    assert {"source": "[31mred alert", "visitors": 1, "pageviews": 1} in got["sources"]
    assert got["utm_mediums"] == [{"value": "m" * 100, "visitors": 1}]
    assert got["utm_campaigns"] == [{"value": "=1+1", "visitors": 1}]
    status, body, _ = get(live, f"from={today}&to={today}&format=csv&panel=utm_campaigns")
    assert status == 200 and body == '"value","visitors"\r\n"\'=1+1","1"\r\n'  # a formula is not run by a spreadsheet


def test_goals_with_formula_names_and_too_many_props(live: Site) -> None:
    today = day_of(int(time.time() * 1000))
    fifty = {f"k{i:02d}": "v" for i in range(50)}
    r = live.request("POST", "/api/event", {"Content-Type": "text/plain", "User-Agent": CHROME_ANDROID},
                     json.dumps({"n": "Buy", "u": url("/"), "d": SITE, "p": fifty}).encode())
    assert r.status == 400 and r.json()["rejected"][0]["error"] == "props: at most 30 keys"
    thirty = {f"k{i:02d}": f"v{i}" for i in range(30)}
    post(live, "/api/event", CHROME_ANDROID, {"n": "Buy", "u": url("/"), "d": SITE, "p": thirty})
    post(live, "/api/event", CHROME_ANDROID, {"n": "=HYPERLINK(\"http://evil.example\",\"x\")", "u": url("/"),
                                              "d": SITE, "p": {"@cmd": "-2+3", "note": "a,b\n\"c\""}})
    post(live, "/api/events", CHROME_ANDROID, {"name": "pageview", "url": url("/"), "domain": SITE})
    got = stats(live, f"from={today}&to={today}")
    buy = next(g for g in got["goals"] if g["goal"] == "Buy")
    assert sorted(buy["props"]) == [f"k{i:02d}" for i in range(10)]  # the first 10 keys in key order
    assert buy["props"]["k00"] == [{"value": "v0", "events": 1}]
    status, body, _ = get(live, f"from={today}&to={today}&format=csv&panel=goal_props")
    rows = list(csv.reader(io.StringIO(body)))
    assert status == 200
    assert ["'=HYPERLINK(\"http://evil.example\",\"x\")", "'@cmd", "'-2+3", "1"] in rows
    assert ["'=HYPERLINK(\"http://evil.example\",\"x\")", "note", "a,b \"c\"", "1"] in rows  # cleaned, quoted
    status, body, _ = get(live, f"from={today}&to={today}&format=csv&panel=goals")
    assert ["'=HYPERLINK(\"http://evil.example\",\"x\")", "1", "1", "100.0"] in list(csv.reader(io.StringIO(body)))


def test_a_visit_at_midnight_counts_on_each_day_once_over_both_and_compare_reads_the_day_before(
        live: Site) -> None:
    days = days_around(int(time.time() * 1000))
    midnight = (max(days.main_start, days.other_start) // DAY) * DAY
    before, after = day_of(midnight - 1), day_of(midnight)
    for ts in (midnight - 1, midnight):
        post(live, "/api/events", FIREFOX_MAC, {"name": "pageview", "url": url("/"), "domain": SITE, "ts": ts})
    # One visit across midnight (Plausible's): each day counts the visitor, its page view and the
    # whole visit (two page views, not a bounce); both days count the visit once.
    one = {"visitors": 1, "pageviews": 1, "visits": 1, "bounce_rate": 0, "views_per_visit": 2.0,
           "visit_duration_s": 0, "engagement_rate": 100}
    late = stats(live, f"from={after}&to={after}&compare=previous_period")
    assert {k: late[k] for k in one} == one
    assert late["comparison"] == {"from": before, "to": before, **one}
    both = stats(live, f"from={before}&to={after}")
    assert (both["visitors"], both["pageviews"], both["visits"]) == (2, 2, 1)  # daily visitor ids, one visit
    assert (both["bounce_rate"], both["views_per_visit"]) == (0, 2.0)
    assert [row["time"] for row in both["timeseries"]] == [before, after]


def test_compare_with_a_custom_range_reads_the_same_number_of_days_before(live: Site) -> None:
    status, got, _ = get(live, "from=2026-01-10&to=2026-01-12&compare=previous_period")
    assert status == 200
    assert (got["comparison"]["from"], got["comparison"]["to"]) == ("2026-01-07", "2026-01-09")
    # The earliest dates there are: the period before does not exist; a client error, not a 503.
    status, got, _ = get(live, "from=0001-01-01&to=0001-01-02&compare=previous_period")
    assert status == 400 and "from" in got["error"], got


def test_odd_csv_parameters_are_client_errors_that_name_the_parameter(live: Site) -> None:
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    for query, name in [("format=csv&panel=Sources", "panel"), ("format=csv&panel=", "panel"),
                        ("format=CSV&panel=sources", "format"), ("format=csv&panel=sources%00", "panel"),
                        ("compare=PREVIOUS_PERIOD", "compare")]:
        status, got, _ = get(live, f"from={today}&to={today}&{query}")
        assert status == 400 and got["error"].startswith(f"{name}:"), (query, got)


def test_many_distinct_values_give_bounded_answers(live: Site) -> None:
    today = day_of(int(time.time() * 1000))
    for batch in range(15):  # each page view a visitor of its own: sources and campaigns count per visit
        for i in range(10):
            post(live, "/api/events", FIREFOX_MAC.replace("Firefox/", f"Firefox/{batch}.{i}."),
                 {"name": "pageview", "domain": SITE, "url": url(f"/p{batch}-{i}?utm_source=s{batch}-{i}"
                                                                 f"&utm_campaign=c{batch}-{i}")})
    got = stats(live, f"from={today}&to={today}")
    assert got["pageviews"] == 150
    assert len(got["sources"]) == len(got["utm_campaigns"]) == len(got["pages"]) == 100
    assert len(got["top_pages"]) == 10


def test_props_keys_that_clean_to_the_same_key_and_names_with_key_separators(live: Site) -> None:
    today = day_of(int(time.time() * 1000))
    # "plan", "plan " and "plan\n" are one key once cleaned; "k" * 100 + "a" and + "b" one key once cut:
    # an event has one value per key, so each counts once.
    long_key = "k" * 100
    post(live, "/api/event", CHROME_ANDROID, {"n": "Buy", "u": url("/"), "d": SITE, "p": {
        "plan": "pro", "plan ": "pro", "plan\n": "pro", long_key + "a": "x", long_key + "b": "x"}})
    post(live, "/api/event", CHROME_ANDROID, {"n": "a#b%25c", "u": url("/"), "d": SITE,
                                              "p": {"k#1%": "v#%41"}})
    got = stats(live, f"from={today}&to={today}")
    goals = {g["goal"]: g for g in got["goals"]}
    assert goals["Buy"]["events"] == 1
    assert goals["Buy"]["props"] == {"plan": [{"value": "pro", "events": 1}], long_key: [{"value": "x", "events": 1}]}
    assert goals["a#b%25c"]["props"] == {"k#1%": [{"value": "v#%41", "events": 1}]}
