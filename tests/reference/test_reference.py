"""The reference itself, on small cases whose numbers are worked out by hand from Plausible's rules
(docs/metrics.md cites the Plausible file of each), and the generator's traffic.

Times are seconds after ``T0``, a midnight UTC, unless the case says otherwise.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from tests.reference import plausible as P
from tests.reference.agents import BOTS, CHROME_WINDOWS, FIREFOX_MAC, SAFARI_IPHONE
from tests.reference.generator import generate

T0 = 1_790_035_200  # 2026-09-22T00:00:00Z
DAY = "2026-09-22"
EVE = "2026-09-21"
SITE = "shop.example"


def hit(t: float, name: str = "pageview", path: str = "/", *, ip: str = "10.0.0.1", ua: str = CHROME_WINDOWS.ua,
        host: str = SITE, **kw: Any) -> P.Hit:
    return P.Hit(int((T0 + t) * 1000), name, f"https://{host}{path}", SITE, ip, ua, **kw)


def answer(*hits: P.Hit, first: str = DAY, last: str = DAY) -> dict[str, Any]:
    return P.stats(P.ingest(hits), SITE, first, last)


def rows(items: list[dict[str, Any]], key: str, *cols: str) -> dict[str, Any]:
    return {r[key]: tuple(r[c] for c in cols) if len(cols) > 1 else r[cols[0]] for r in items}


def test_bounce_is_one_page_view_with_no_custom_event_and_engagement_does_not_end_it() -> None:
    a = answer(
        # A: one page view, then 30 s of engagement: a bounce (engagement events are not interactive)
        hit(0, path="/a"), hit(30, "engagement", path="/a", engagement_ms=30_000),
        # B: one page view and a custom event: not a bounce
        hit(0, path="/b", ip="10.0.0.2"), hit(40, "Signup", path="/b", ip="10.0.0.2"),
        # C: two page views, then engagement: not a bounce
        hit(0, path="/c", ip="10.0.0.3"), hit(100, path="/c2", ip="10.0.0.3"),
        hit(150, "engagement", path="/c2", ip="10.0.0.3", engagement_ms=50_000),
    )
    assert a["visits"] == 3
    assert a["bounce_rate"] == 33  # 1 of 3
    # duration: first to last page view or custom event; engagement does not extend it: 0, 40, 100 s
    assert a["visit_duration_s"] == 47  # 140 / 3 = 46.7
    assert a["views_per_visit"] == 1.33  # 4 / 3
    assert a["visitors"] == 3 and a["pageviews"] == 4


def test_sources_belong_to_the_visit_and_count_its_page_views() -> None:
    a = answer(
        hit(0, path="/", referrer="https://www.google.com/"),
        hit(60, path="/pricing", referrer=f"https://{SITE}/"),
        hit(120, path="/buy", referrer=f"https://{SITE}/pricing"),
        hit(0, path="/", ip="10.0.0.2"),  # direct
    )
    assert rows(a["sources"], "source", "visitors", "pageviews") == {"Google": (1, 3), "Direct / None": (1, 1)}
    assert rows(a["top_referrers"], "referrer", "pageviews") == {"google.com": 3}
    assert rows(a["entry_pages"], "path", "visits") == {"/": 2}
    assert rows(a["exit_pages"], "path", "visits") == {"/buy": 1, "/": 1}


def test_self_referrals_and_the_sites_www_host_are_direct() -> None:
    a = answer(
        hit(0, host=f"www.{SITE}", referrer=f"https://{SITE}/about"),  # bare host links to www.: self
        hit(0, ip="10.0.0.2", referrer=f"https://www.{SITE}/"),  # www. links to the bare host: self
        hit(0, ip="10.0.0.3", referrer="https://www.partner.example.org/x"),  # another site's www.: stripped
    )
    assert rows(a["sources"], "source", "visitors") == {"Direct / None": 2, "partner.example.org": 1}
    assert rows(a["top_referrers"], "referrer", "pageviews") == {"partner.example.org": 1}
    assert rows(a["channels"], "channel", "visitors") == {"Direct": 2, "Referral": 1}


def test_a_visit_across_midnight_is_one_visit_with_one_source() -> None:
    hits = (hit(-300, path="/", referrer="https://news.ycombinator.com/"),  # 23:55
            hit(600, path="/pricing", referrer=f"https://{SITE}/"),  # 00:10, the next day
            hit(660, "Signup", path="/pricing"))
    store = P.ingest(hits)
    assert len(store.sessions) == 1
    both = P.stats(store, SITE, EVE, DAY)
    assert both["visits"] == 1 and both["bounce_rate"] == 0 and both["visit_duration_s"] == 960
    assert both["visitors"] == 2  # a new daily id after midnight, as Plausible's salts rotate
    day = P.stats(store, SITE, DAY, DAY)
    # the session is active on both days; its source and all its page views go with it
    assert day["visits"] == 1 and day["pageviews"] == 1 and day["visitors"] == 1
    assert rows(day["sources"], "source", "visitors", "pageviews") == {"Hacker News": (1, 2)}
    assert rows(day["entry_pages"], "path", "visits") == {"/": 1}
    eve = P.stats(store, SITE, EVE, EVE)
    assert eve["visits"] == 1 and eve["pageviews"] == 1
    # the session's visitor is its latest id, so sources' visitors over both days count 1, not 2
    assert rows(both["sources"], "source", "visitors") == {"Hacker News": 1}


def test_thirty_minutes_in_whole_minutes_and_engagement_keeps_the_visit_open() -> None:
    store = P.ingest((
        hit(0), hit(30 * 60 + 59),  # 30 min 59 s: still 30 whole minutes, same visit
        hit(0, ip="10.0.0.2"), hit(31 * 60, ip="10.0.0.2"),  # 31 minutes: a new visit
        # the cache's clock moves with engagement: a page view 45 min after the first, 25 min after engagement
        hit(0, ip="10.0.0.3"), hit(20 * 60, "engagement", ip="10.0.0.3", engagement_ms=1000),
        hit(45 * 60, ip="10.0.0.3"),
    ))
    assert len(store.sessions) == 4
    assert Counter(s.user_id[2] for s in store.sessions) == {"10.0.0.1": 1, "10.0.0.2": 2, "10.0.0.3": 1}


def test_engagement_without_a_visit_and_bots_are_dropped() -> None:
    store = P.ingest((hit(0, "engagement", engagement_ms=5000), hit(0, ip="10.0.0.9", ua=BOTS[0].ua),
                      hit(10, ip="10.0.0.9", ua=BOTS[2].ua)))
    assert store.dropped_engagements == 1 and store.dropped_bots == 2
    a = P.stats(store, SITE, DAY, DAY)
    assert a["visitors"] == 0 and a["visits"] == 0 and a["bounce_rate"] == 0


def test_utm_tags_come_from_the_entry_as_written() -> None:
    a = answer(
        hit(0, path="/?utm_source=Newsletter&utm_medium=Email&utm_campaign=Spring%20Sale"),
        hit(60, path="/?utm_medium=cpc&utm_source=google"),  # a later tagged page view: same visit, same tags
        hit(0, ip="10.0.0.2", path="/?utm_source=&ref=x"),  # an empty tag is still the tag: no source
        hit(0, ip="10.0.0.3", path="/?ref=news.ycombinator.com"),  # a tag is a name, not resolved as a host
        hit(0, ip="10.0.0.4", path="/?utm_source=FB"),  # known names merge case-insensitively
    )
    assert rows(a["utm_mediums"], "value", "visitors") == {"Email": 1}
    assert rows(a["utm_campaigns"], "value", "visitors") == {"Spring Sale": 1}
    assert rows(a["sources"], "source", "visitors", "pageviews") == {
        "Newsletter": (1, 2), "Direct / None": (1, 1), "news.ycombinator.com": (1, 1), "Facebook": (1, 1)}


def test_a_tag_is_matched_against_names_and_custom_sources_keys_not_hosts() -> None:
    """source.ex ``init`` and ``find_mapping``: custom_sources.json's keys, hosts among them, map; a
    host that is no key stays as written even when it is a known referrer."""
    a = answer(hit(0, path="/?ref=perplexity.ai"), hit(0, ip="10.0.0.2", path="/?utm_source=EN.wikipedia.org"),
               hit(0, ip="10.0.0.3", path="/?ref=www.google.com"))
    assert rows(a["sources"], "source", "visitors") == {"Perplexity": 1, "Wikipedia": 1, "www.google.com": 1}


def test_an_engagement_counts_its_visitor_in_its_hour_but_is_no_event() -> None:
    """expression.ex: ``visitors`` is ``uniq(user_id)`` over every stored event (table_decider.ex sends
    it with ``pageviews`` to the events table; where_builder.ex filters no event name), ``events``
    leaves engagement out."""
    a = answer(hit(59 * 60), hit(61 * 60, "engagement", engagement_ms=30_000), hit(61 * 60 + 5, "engagement",
                                                                                   ip="10.0.0.2"))
    hours = {r["time"]: r for r in a["timeseries"]}
    assert hours[f"{DAY}T00:00:00Z"]["visitors"] == 1 and hours[f"{DAY}T01:00:00Z"] == {
        "time": f"{DAY}T01:00:00Z", "visitors": 1, "pageviews": 0}
    assert (a["visitors"], a["pageviews"], a["goals"]) == (1, 1, [])


def test_channels_follow_plausibles_rules() -> None:
    cases = {
        "Paid Search": dict(path="/?gclid=abc", referrer="https://www.google.com/"),
        "Email": dict(path="/?utm_source=newsletter&utm_medium=email"),
        "Organic Social": dict(referrer="https://l.facebook.com/"),
        "Organic Search": dict(referrer="https://duckduckgo.com/"),
        "Referral": dict(referrer="https://someblog.example.net/"),
        "Direct": {},
        "AI Assistants": dict(referrer="https://perplexity.ai/"),
    }
    hits = [hit(0, ip=f"10.0.1.{i}", **kw) for i, kw in enumerate(cases.values())]
    hits.append(hit(0, ip="10.0.2.1", path="/?utm_source=google&utm_medium=cpc"))  # Paid Search again
    hits.append(hit(0, ip="10.0.2.2", path="/?utm_source=adwords"))  # a paid source: any medium
    assert rows(answer(*hits)["channels"], "channel", "visitors") == {
        "Paid Search": 3, "Email": 1, "Organic Social": 1, "Organic Search": 1, "Referral": 1, "Direct": 1,
        "AI Assistants": 1}
    assert P.channel("Gmail", "", "", "", "") == "Email"
    # ref=news.ycombinator.com keeps the host as its source, a row of Google's list: social
    assert P.channel("news.ycombinator.com", "", "", "news.ycombinator.com", "") == "Organic Social"
    assert P.channel("", "display", "", "", "") == "Display"
    assert P.channel("someblog.example.net", "", "summer-shop", "", "") == "Organic Shopping"


def test_revenue_per_goal_and_currency_and_conversion_rate() -> None:
    a = answer(
        hit(0), hit(10, "Purchase", revenue=("10.00", "USD"), props={"method": "card"}),
        hit(20, "Purchase", revenue=("20.50", "usd"), props={"method": "paypal"}),
        hit(0, ip="10.0.0.2"), hit(5, "Purchase", ip="10.0.0.2", revenue=("5", "EUR"), props={"method": "card"}),
        hit(0, ip="10.0.0.3"),
    )
    (goal,) = a["goals"]
    assert (goal["goal"], goal["visitors"], goal["events"], goal["conversion_rate"]) == ("Purchase", 2, 3, 66.7)
    assert goal["revenue"] == [{"currency": "EUR", "total": "5.00", "average": "5.00"},
                               {"currency": "USD", "total": "30.50", "average": "15.25"}]
    assert goal["props"] == {"method": [{"value": "card", "events": 2}, {"value": "paypal", "events": 1}]}
    assert P.panel_rows(a, "goal_revenue") == [["goal", "currency", "total", "average"],
                                               ["Purchase", "EUR", "5.00", "5.00"],
                                               ["Purchase", "USD", "30.50", "15.25"]]


def test_paths_are_percent_decoded_and_visit_dimensions_come_from_the_entry() -> None:
    a = answer(hit(0, path="/caf%C3%A9", country="DE", ua=SAFARI_IPHONE.ua),
               hit(9, path="/a%20b ", country="DE", ua=SAFARI_IPHONE.ua),
               hit(0, ip="10.0.0.2", path="/caf%C3%A9", ua=FIREFOX_MAC.ua))
    assert rows(a["pages"], "path", "visitors", "pageviews") == {"/café": (2, 2), "/a b": (1, 1)}
    assert rows(a["countries"], "country", "visitors") == {"DE": 1}
    assert rows(a["devices"], "name", "visitors") == {"mobile": 1, "desktop": 1}
    assert rows(a["os"], "name", "visitors") == {"iOS": 1, "macOS": 1}


def test_compare_previous_period_reads_the_days_before() -> None:
    store = P.ingest((hit(-3600), hit(-3590, path="/x"), hit(3600, ip="10.0.0.2")))
    a = P.compared(store, SITE, DAY, DAY)
    assert a["comparison"] == {"from": EVE, "to": EVE, "visitors": 1, "pageviews": 2, "visits": 1,
                               "bounce_rate": 0, "views_per_visit": 2.0, "visit_duration_s": 10}
    assert (a["visitors"], a["pageviews"], a["bounce_rate"]) == (1, 1, 100)
    hours = {r["time"]: r["pageviews"] for r in a["timeseries"] if r["pageviews"]}
    assert hours == {f"{DAY}T01:00:00Z": 1}


def test_the_generated_traffic_holds_every_case() -> None:
    midnight = T0 * 1000
    hits = generate(23, midnight - 11 * 3_600_000, midnight, midnight + 11 * 3_600_000)
    assert hits == generate(23, midnight - 11 * 3_600_000, midnight, midnight + 11 * 3_600_000)
    assert len(hits) >= 5000
    names = Counter(h.name for h in hits)
    assert names["pageview"] > 2000 and names["engagement"] > 1000 and names["Purchase"] > 20
    assert {h.revenue[1] for h in hits if h.revenue} == {"USD", "EUR"}
    assert {h.domain for h in hits} == {"shop.example", "blog.example", "docs.example"}
    assert any("www." in h.url for h in hits) and any("%C3%" in h.url for h in hits)
    assert any("utm_" in h.url for h in hits) and any(h.props for h in hits if h.name != "Purchase")
    store = P.ingest(hits)
    assert store.dropped_bots > 20 and store.dropped_engagements > 0
    day = datetime.fromtimestamp(T0, UTC).date()
    crossing = [s for s in store.sessions if datetime.fromtimestamp(s.start, UTC).date() < day
                <= datetime.fromtimestamp(s.timestamp, UTC).date()]
    assert len(crossing) >= 10
    self_referred = [h for h in hits if h.referrer and not P.has_referral(h.referrer, h.url)
                     and "?" not in h.url and h.referrer.rstrip("/").count("/") <= 3]
    assert self_referred
    assert len({s.user_id[1] for s in store.sessions}) == 2  # both days
