"""GET /api/stats breakdowns: sources, UTM, countries, devices, browsers, OS, pages, goals with props,
the previous period and CSV panels, from events posted through the collector (numbers by hand)."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import stats_api

from tests.handlers.conftest import Api

SITE = "shop.example"
CHROME_WIN = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/126.0.0.0 Safari/537.36")
SAFARI_IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                 "Version/17.5 Mobile/15E148 Safari/604.1")
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
CHROME_ANDROID = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/126.0.0.0 Mobile Safari/537.36")


def pv(path: str, ts: int, referrer: str = "", query: str = "") -> dict[str, Any]:
    return {"name": "pageview", "url": f"https://{SITE}{path}{query}", "domain": SITE, "referrer": referrer, "ts": ts}


def goal(name: str, ts: int, props: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "url": f"https://{SITE}/pricing", "domain": SITE, "props": props, "ts": ts}


def requests(now: int) -> list[tuple[str, str, str | None, list[dict[str, Any]]]]:
    """(ip, User-Agent, CloudFront-Viewer-Country, events) of four visitors."""
    spring = "?utm_source=newsletter&utm_medium=Email&utm_campaign=spring"
    summer = "?utm_source=newsletter&utm_medium=email&utm_campaign=summer"
    return [
        # A: desktop Chrome on Windows in Germany, from the newsletter, then inside the site; signs up.
        ("198.51.100.1", CHROME_WIN, "DE", [
            pv("/", now - 9000, query=spring),
            pv("/pricing", now - 8000, referrer=f"https://{SITE}/"),
            goal("signup", now - 7000, {"plan": "pro", "seats": 3})]),
        # B: an iPhone in the US, from Google, then from Hacker News; signs up for free.
        ("198.51.100.2", SAFARI_IPHONE, "us", [
            pv("/", now - 9000, referrer="https://www.google.com/search?q=shop"),
            pv("/docs", now - 8000, referrer="https://news.ycombinator.com/item?id=1"),
            goal("signup", now - 7000, {"plan": "free"})]),
        # C: desktop Firefox on Linux, no country, direct twice; signs up twice, downloads.
        ("198.51.100.3", FIREFOX_LINUX, None, [
            pv("/", now - 9000), pv("/", now - 8000),
            goal("signup", now - 7000, {"plan": "pro"}), goal("signup", now - 6000, {"plan": "pro"}),
            goal("Download", now - 5000, {"file": "a.pdf"})]),
        # D: Chrome on Android in Germany, from the newsletter (the tag wins over Gmail's referrer).
        ("198.51.100.4", CHROME_ANDROID, "DE", [pv("/pricing", now - 9000, referrer="https://mail.google.com/",
                                                   query=summer)]),
    ]


def post_all(api: Api, now: int) -> None:
    for ip, ua, country, events in requests(now):
        headers = {"CloudFront-Viewer-Country": country} if country else {}
        status, body, _ = api.post(events, ua=ua, ip=ip, headers=headers)
        assert status == 202 and body["accepted"] == len(events), body


EXPECTED = {
    "visitors": 4,
    "pageviews": 7,
    # per visit, from its entry (docs/metrics.md): B's later page view from Hacker News is Google's
    "sources": [{"source": "newsletter", "visitors": 2, "pageviews": 3},
                {"source": "Direct / None", "visitors": 1, "pageviews": 2},
                {"source": "Google", "visitors": 1, "pageviews": 2}],
    "utm_mediums": [{"value": "Email", "visitors": 1}, {"value": "email", "visitors": 1}],  # as written
    "utm_campaigns": [{"value": "spring", "visitors": 1}, {"value": "summer", "visitors": 1}],
    "countries": [{"country": "DE", "visitors": 2}, {"country": "US", "visitors": 1}],
    "devices": [{"name": "desktop", "visitors": 2}, {"name": "mobile", "visitors": 2}],
    "browsers": [{"name": "Chrome", "visitors": 2}, {"name": "Firefox", "visitors": 1},
                 {"name": "Safari", "visitors": 1}],
    "os": [{"name": "Android", "visitors": 1}, {"name": "Linux", "visitors": 1}, {"name": "Windows", "visitors": 1},
           {"name": "iOS", "visitors": 1}],
    "pages": [{"path": "/", "visitors": 3, "pageviews": 4}, {"path": "/pricing", "visitors": 2, "pageviews": 2},
              {"path": "/docs", "visitors": 1, "pageviews": 1}],
    "goals": [{"goal": "signup", "visitors": 3, "events": 4, "conversion_rate": 75.0,
               "props": {"plan": [{"value": "pro", "events": 3}, {"value": "free", "events": 1}],
                         "seats": [{"value": "3", "events": 1}]}, "revenue": []},
              {"goal": "Download", "visitors": 1, "events": 1, "conversion_rate": 25.0,
               "props": {"file": [{"value": "a.pdf", "events": 1}]}, "revenue": []}],
}


def test_dimensions_goals_and_props_are_counted_exactly_and_a_retry_changes_nothing(api: Api) -> None:
    now = int(time.time() * 1000)
    post_all(api, now)
    got = api.stats(SITE, period="day")
    assert {k: got[k] for k in EXPECTED} == EXPECTED
    # the fields that were there before are unchanged
    assert got["top_pages"] == [{"path": "/", "pageviews": 4}, {"path": "/pricing", "pageviews": 2},
                                {"path": "/docs", "pageviews": 1}]
    assert {r["referrer"]: r["pageviews"] for r in got["top_referrers"]} == {
        "google.com": 2, "mail.google.com": 1}
    post_all(api, now)  # the same requests again (a client's retry): nothing counts twice
    assert api.stats(SITE, period="day") == got
    week = api.stats(SITE, period="7d")
    assert {k: week[k] for k in EXPECTED} == EXPECTED


def test_the_dimensions_travel_on_the_stored_event(api: Api) -> None:
    now = int(time.time() * 1000)
    post_all(api, now)
    raw = [i for i in api.items(f"EV#{SITE}#") if "guard" not in i and i["name"]["S"] == "pageview"
           and i["path"]["S"] == "/pricing"]
    dims = sorted(json.dumps({k: v["S"] for k, v in i["dims"]["M"].items()}, sort_keys=True) for i in raw)
    assert dims == sorted([
        json.dumps({"device": "desktop", "browser": "Chrome", "os": "Windows", "country": "DE",
                    "channel": "Direct"}, sort_keys=True),
        json.dumps({"source": "newsletter", "utm_medium": "email", "utm_campaign": "summer", "device": "mobile",
                    "browser": "Chrome", "os": "Android", "country": "DE", "channel": "Email"}, sort_keys=True)])


def test_goal_props_are_bounded(api: Api) -> None:
    from shared import breakdowns

    now = int(time.time() * 1000)
    props = {f"k{i:02d}": "v" * 300 for i in range(30)}
    assert api.post([goal("big", now, props)], ip="192.0.2.9")[0] == 202
    g = api.stats(SITE)["goals"][0]
    assert g["goal"] == "big" and g["events"] == 1
    assert sorted(g["props"]) == [f"k{i:02d}" for i in range(breakdowns.MAX_GOAL_PROPS)]
    assert g["props"]["k00"] == [{"value": "v" * breakdowns.MAX_PROP_VALUE, "events": 1}]
    assert breakdowns.MAX_GOAL_PROPS == 10 and breakdowns.MAX_PROP_VALUE == 100


def test_top_values_per_prop_key_are_bounded(api: Api) -> None:
    from shared import breakdowns

    now = int(time.time() * 1000)
    events = [goal("pick", now - i, {"n": str(i), "same": "x"}) for i in range(breakdowns.MAX_PROP_VALUES + 5)]
    assert api.post(events, ip="192.0.2.10")[0] == 202
    g = api.stats(SITE)["goals"][0]
    assert g["events"] == breakdowns.MAX_PROP_VALUES + 5 and g["visitors"] == 1
    assert len(g["props"]["n"]) == breakdowns.MAX_PROP_VALUES
    assert g["props"]["same"] == [{"value": "x", "events": breakdowns.MAX_PROP_VALUES + 5}]


def get(**params: str) -> dict[str, Any]:
    return stats_api.handler({"httpMethod": "GET", "path": "/api/stats", "headers": {},
                              "queryStringParameters": params, "requestContext": {}}, None)


def rows(answer: dict[str, Any]) -> list[list[str]]:
    assert answer["statusCode"] == 200, answer
    assert answer["headers"]["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(answer["body"], newline="")))


def test_csv_panels_parse_back_to_the_json_figures(api: Api) -> None:
    now = int(time.time() * 1000)
    post_all(api, now)
    assert rows(get(site=SITE, format="csv", panel="sources")) == [
        ["source", "visitors", "pageviews"], ["newsletter", "2", "3"], ["Direct / None", "1", "2"],
        ["Google", "1", "2"]]
    assert rows(get(site=SITE, format="csv", panel="countries")) == [["country", "visitors"], ["DE", "2"], ["US", "1"]]
    assert rows(get(site=SITE, format="csv", panel="os"))[0] == ["name", "visitors"]
    assert rows(get(site=SITE, format="csv", panel="pages"))[1] == ["/", "3", "4"]
    assert rows(get(site=SITE, format="csv", panel="utm_campaigns")) == [["value", "visitors"], ["spring", "1"],
                                                                        ["summer", "1"]]
    assert rows(get(site=SITE, format="csv", panel="goals")) == [
        ["goal", "visitors", "events", "conversion_rate"], ["signup", "3", "4", "75.0"], ["Download", "1", "1", "25.0"]]
    assert rows(get(site=SITE, format="csv", panel="goal_props")) == [
        ["goal", "key", "value", "events"], ["signup", "plan", "pro", "3"], ["signup", "plan", "free", "1"],
        ["signup", "seats", "3", "1"], ["Download", "file", "a.pdf", "1"]]
    for panel in ("utm_mediums", "devices", "browsers"):
        assert len(rows(get(site=SITE, format="csv", panel=panel))) > 1


def test_csv_quotes_commas_quotes_and_newlines_and_defuses_formulas(api: Api) -> None:
    now = int(time.time() * 1000)
    tricky = 'spring, "big" sale'
    from urllib.parse import quote
    assert api.post([pv("/", now, query=f"?utm_source=%3DHYPERLINK(1)&utm_campaign={quote(tricky)}"),
                     goal("signup", now, {"note": "a\nb", "f": "@SUM(A1)"})])[0] == 202
    body = get(site=SITE, format="csv", panel="utm_campaigns")["body"]
    assert '"spring, ""big"" sale"' in body and body.endswith("\r\n")
    assert rows(get(site=SITE, format="csv", panel="utm_campaigns"))[1] == [tricky, "1"]
    # A spreadsheet must not run what a visitor sent (https://owasp.org/www-community/attacks/CSV_Injection)
    assert rows(get(site=SITE, format="csv", panel="sources"))[1] == ["'=HYPERLINK(1)", "1", "1"]
    props = rows(get(site=SITE, format="csv", panel="goal_props"))
    assert ["signup", "f", "'@SUM(A1)", "1"] in props
    assert ["signup", "note", "a b", "1"] in props  # control characters are cleaned at ingest


def test_csv_answer_names_the_file_and_keeps_cors(api: Api) -> None:
    answer = get(site=SITE, format="csv", panel="devices", **{"from": "2026-11-01", "to": "2026-11-02"})
    assert answer["headers"]["Content-Disposition"] == (
        'attachment; filename="shop.example-devices-2026-11-01-2026-11-02.csv"')
    assert answer["headers"]["Access-Control-Allow-Origin"] == "*"
    assert rows(answer) == [["name", "visitors"]]


@pytest.mark.parametrize(("params", "message"), [
    ({"format": "csv", "panel": "nope"}, "panel: one of sources, utm_mediums"),
    ({"format": "csv"}, "panel: required with format=csv"),
    ({"format": "xml"}, "format: json or csv"),
    ({"compare": "last_year"}, "compare: previous_period"),
])
def test_unknown_panel_format_or_comparison_is_a_400_naming_the_parameter(
        api: Api, params: dict[str, str], message: str) -> None:
    answer = get(site=SITE, **params)
    assert answer["statusCode"] == 400 and answer["headers"]["Content-Type"].startswith("application/json")
    assert json.loads(answer["body"])["error"].startswith(message)


def test_compare_previous_period_gives_the_headline_of_the_period_just_before(api: Api) -> None:
    now = int(time.time() * 1000)
    earlier = now - 23 * 3600 * 1000  # yesterday, unless it is after 23:00 UTC now
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    yesterday = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%d")
    assert api.post([pv("/", earlier), pv("/a", earlier + 1)], ip="192.0.2.1")[0] == 202
    assert api.post([pv("/", earlier)], ip="192.0.2.2")[0] == 202
    post_all(api, now)
    got = api.stats(SITE, period="day", compare="previous_period")
    old_is_today = datetime.fromtimestamp(earlier / 1000, UTC).strftime("%Y-%m-%d") == today
    previous = {"visitors": 0, "pageviews": 0} if old_is_today else {"visitors": 2, "pageviews": 3}
    assert got["comparison"]["from"] == got["comparison"]["to"] == yesterday
    assert {k: got["comparison"][k] for k in ("visitors", "pageviews")} == previous
    assert got["visitors"] == 4 + (2 if old_is_today else 0)
    assert "sources" not in got["comparison"] and "timeseries" not in got["comparison"]
    assert "comparison" not in api.stats(SITE, period="day")


def test_the_previous_period_has_the_same_length(api: Api) -> None:
    got = api.stats(SITE, compare="previous_period", **{"from": "2026-01-10", "to": "2026-01-12"})
    assert (got["comparison"]["from"], got["comparison"]["to"]) == ("2026-01-07", "2026-01-09")
    week = api.stats(SITE, period="7d", compare="previous_period")
    first = datetime.strptime(week["from"], "%Y-%m-%d")
    assert week["comparison"]["to"] == (first - timedelta(days=1)).strftime("%Y-%m-%d")
    assert week["comparison"]["from"] == (first - timedelta(days=7)).strftime("%Y-%m-%d")


def test_the_comparison_is_the_headline_of_the_period_before_asked_on_its_own(api: Api) -> None:
    """Every single figure of an answer (visits, bounce rate, durations, whatever stats returns) is
    compared: the comparison equals the figures of the previous period asked for directly."""
    now = int(time.time() * 1000)
    post_all(api, now - 23 * 3600 * 1000)  # yesterday, unless it is after 23:00 UTC now
    post_all(api, now)
    assert api.post([pv("/new", now)], ip="192.0.2.9")[0] == 202  # today has one visitor more
    got = api.stats(SITE, period="day", compare="previous_period")
    before = api.stats(SITE, **{"from": got["comparison"]["from"], "to": got["comparison"]["to"]})
    figures = {k for k, v in before.items() if isinstance(v, int | float) and not isinstance(v, bool)}
    assert {"visitors", "pageviews", "visits", "bounce_rate"} <= figures
    assert set(got["comparison"]) == figures | {"from", "to"}
    assert {k: got["comparison"][k] for k in figures} == {k: before[k] for k in figures}
    assert {k: got[k] for k in figures} != {k: before[k] for k in figures}  # two periods, not one twice


def test_goal_names_keys_and_values_with_separators_split_back(api: Api) -> None:
    now = int(time.time() * 1000)
    assert api.post([goal("a#b", now, {"k#1": "v#%23", "%": "100%"})], ip="192.0.2.11")[0] == 202
    g = api.stats(SITE)["goals"][0]
    assert g["goal"] == "a#b"
    assert g["props"] == {"k#1": [{"value": "v#%23", "events": 1}], "%": [{"value": "100%", "events": 1}]}


def test_a_visitor_counts_once_under_the_country_of_its_first_page_view(api: Api) -> None:
    now = int(time.time() * 1000)
    for i, country in enumerate(["DE", "FR", "DE"]):  # the same address and User-Agent: one visitor
        assert api.post([pv(f"/{i}", now - 1000 * i)], headers={"CloudFront-Viewer-Country": country})[0] == 202
    got = api.stats(SITE)
    assert got["visitors"] == 1 and got["countries"] == [{"country": "DE", "visitors": 1}]
    assert got["devices"] == [{"name": "desktop", "visitors": 1}]


def test_plausible_field_names_and_internal_links_give_the_same_sources(api: Api) -> None:
    now = int(time.time() * 1000)
    events = [{"n": "pageview", "u": f"https://{SITE}/a", "d": SITE, "r": "https://duckduckgo.com/", "ts": now},
              {"n": "pageview", "u": f"https://{SITE}/b", "d": SITE, "r": f"https://www.{SITE}/a", "ts": now + 1},
              {"n": "pageview", "u": f"https://{SITE}/c?ref=lobste.rs", "d": SITE, "r": f"https://{SITE}/b",
               "ts": now + 2}]
    assert api.post(events)[0] == 202
    # one visit, from its entry's source: a later tag or internal link changes nothing (docs/metrics.md)
    assert api.stats(SITE)["sources"] == [{"source": "DuckDuckGo", "visitors": 1, "pageviews": 3}]
    assert api.post([{**events[2], "r": "https://news.ycombinator.com/"}], ip="192.0.2.77")[0] == 202
    assert api.stats(SITE)["sources"] == [{"source": "DuckDuckGo", "visitors": 1, "pageviews": 3},
                                          {"source": "lobste.rs", "visitors": 1, "pageviews": 1}]  # a tag as written


@pytest.mark.parametrize("ua", ["Scrapy/2.11.0 (+https://scrapy.org)", "ia_archiver",
                                "Mozilla/5.0 (compatible; Qwantify/2.4w; +https://www.qwant.com/)/2.4w"])
def test_crawlers_the_user_agent_parser_knows_are_dropped_as_bots(api: Api, ua: str) -> None:
    status, body, _ = api.post([pv("/", int(time.time() * 1000))], ua=ua)
    assert status == 202 and (body["accepted"], body["dropped"]) == (0, 1)
    got = api.stats(SITE)
    assert got["pageviews"] == 0 and got["devices"] == []


def test_a_visitor_who_only_sends_a_goal_is_a_visitor(api: Api) -> None:
    """Plausible counts a custom event's sender as a visitor: a conversion rate never exceeds 100."""
    now = int(time.time() * 1000)
    events = [goal("signup", now - 3000, {"plan": "pro"}), goal("signup", now - 2000, {"plan": "pro"})]
    assert api.post(events, ua=SAFARI_IPHONE, headers={"CloudFront-Viewer-Country": "FR"})[0] == 202
    only_goals = api.stats(SITE)
    assert (only_goals["visitors"], only_goals["pageviews"], only_goals["goals"][0]["conversion_rate"]) == (1, 0, 100.0)
    assert api.post([pv("/", now - 1000)], ua=SAFARI_IPHONE)[0] == 202  # the same visitor views a page later
    got = api.stats(SITE)
    assert got["visitors"] == 1 and got["pageviews"] == 1
    assert [(g["goal"], g["visitors"], g["events"], g["conversion_rate"]) for g in got["goals"]] == [
        ("signup", 1, 2, 100.0)]
    # the visitor's country and device come from its first event of the day, the goal
    assert got["countries"] == [{"country": "FR", "visitors": 1}]
    assert got["devices"] == [{"name": "mobile", "visitors": 1}]
    assert sum(h["visitors"] for h in got["timeseries"]) == 1
