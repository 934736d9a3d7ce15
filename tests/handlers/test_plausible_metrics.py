"""Figures by Plausible's definitions (docs/metrics.md), on both ingest paths: small hand-built event
sets whose expected numbers are worked out by those definitions (tests/reference/plausible.py gives
the same on the same events)."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import stats_api

from tests.handlers.test_stream_path import Path
from tests.handlers.test_stream_path import path as path


class Ingest:
    """One ingest path: events posted, then (stream) the records delivered, then the answers."""

    def __init__(self, path: Path, mode: str):
        self.path, self.mode = path, mode
        self.now = int(time.time() * 1000)

    def post(self, body: Any, ip: str = "203.0.113.7") -> None:
        status, answer, _ = self.path.api.post(body, ip=ip)
        assert status == 202 and answer["accepted"] == (len(body) if isinstance(body, list) else 1), answer

    def stats(self, site: str) -> dict[str, Any]:
        if self.mode == "stream":
            self.path.poller.drain()
        return self.path.stats(site)

    def panel(self, site: str, panel: str) -> list[list[str]]:
        if self.mode == "stream":
            self.path.poller.drain()
        answer = stats_api.handler({"httpMethod": "GET", "path": "/api/stats", "headers": {},
                                    "queryStringParameters": {"site": site, "period": "day", "format": "csv",
                                                              "panel": panel,
                                                              "date": datetime.now(UTC).strftime("%Y-%m-%d")},
                                    "requestContext": {}}, None)
        assert answer["statusCode"] == 200, answer
        return list(csv.reader(io.StringIO(answer["body"], newline="")))


@pytest.fixture(params=["direct", "stream"])
def ingest(request: pytest.FixtureRequest, path: Path,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[Ingest]:
    if request.param == "direct":
        monkeypatch.delenv("LIVEINSIGHT_INGEST")
    yield Ingest(path, request.param)


def ev(site: str, name: str, ts: int, path: str = "/", **extra: Any) -> dict[str, Any]:
    return {"name": name, "url": f"https://{site}{path}", "domain": site, "ts": ts, **extra}


# -- revenue ------------------------------------------------------------------------------------------
def test_revenue_goals_report_total_and_average_per_currency(ingest: Ingest) -> None:
    """expression.ex ``total_revenue`` = sum, ``average_revenue`` = avg of the amounts, per goal; we
    have no exchange rates, so per currency, two decimals as strings."""
    site, t = "rev.example", ingest.now - 60_000
    ingest.post([ev(site, "pageview", t), ev(site, "Purchase", t + 1, "/buy",
                                             revenue={"amount": "10", "currency": "USD"})], ip="203.0.113.1")
    ingest.post([ev(site, "pageview", t), ev(site, "Purchase", t + 2, "/buy",
                                             revenue={"amount": 5.5, "currency": "usd"}),
                 ev(site, "Purchase", t + 3, "/buy", revenue={"amount": "20.005", "currency": "EUR"})],
                ip="203.0.113.2")
    ingest.post([ev(site, "pageview", t), ev(site, "Signup", t + 4, "/join")], ip="203.0.113.3")
    goals = {g["goal"]: g for g in ingest.stats(site)["goals"]}
    assert goals["Purchase"]["revenue"] == [{"currency": "EUR", "total": "20.01", "average": "20.01"},
                                            {"currency": "USD", "total": "15.50", "average": "7.75"}]
    assert goals["Purchase"]["events"] == 3 and goals["Purchase"]["visitors"] == 2
    assert goals["Signup"]["revenue"] == []
    assert ingest.panel(site, "goal_revenue") == [["goal", "currency", "total", "average"],
                                                  ["Purchase", "EUR", "20.01", "20.01"],
                                                  ["Purchase", "USD", "15.50", "7.75"]]


# -- paths ----------------------------------------------------------------------------------------------
def test_paths_are_percent_decoded_as_plausible_normalises_them(ingest: Ingest) -> None:
    """request.ex ``get_pathname``: ``URI.decode`` of the path, trailing whitespace trimmed."""
    site, t = "paths.example", ingest.now - 60_000
    ingest.post(ev(site, "pageview", t, "/caf%C3%A9"), ip="203.0.113.1")
    ingest.post(ev(site, "pageview", t, "/café"), ip="203.0.113.2")
    ingest.post(ev(site, "pageview", t, "/a%20b%20"), ip="203.0.113.3")
    stats = ingest.stats(site)
    assert stats["pages"] == [{"path": "/café", "visitors": 2, "pageviews": 2},
                              {"path": "/a b", "visitors": 1, "pageviews": 1}]
    assert stats["top_pages"] == [{"path": "/café", "pageviews": 2}, {"path": "/a b", "pageviews": 1}]
    assert stats["entry_pages"] == [{"path": "/café", "visits": 2}, {"path": "/a b", "visits": 1}]


# -- self-referrals -------------------------------------------------------------------------------------
def test_the_sites_own_hosts_are_never_a_referrer_or_a_source(ingest: Ingest,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """source.ex ``has_referral?``: a referrer whose host, without ``www.``, is the page's is none; and
    a declared alias of the site is the site (one rule: sites.is_self_referral)."""
    site, t = "self.example", ingest.now - 60_000
    monkeypatch.setenv("LIVEINSIGHT_SITES", json.dumps({site: site, f"www.{site}": site, "alias.example": site}))
    ingest.post(ev(site, "pageview", t, "/a", referrer=f"https://www.{site}/"), ip="203.0.113.1")
    ingest.post(ev(site, "pageview", t, "/b", referrer="https://alias.example/x"), ip="203.0.113.2")
    ingest.post({**ev(site, "pageview", t, "/c", referrer=f"https://{site}/"),
                 "url": f"https://www.{site}/c"}, ip="203.0.113.3")
    ingest.post(ev(site, "pageview", t, "/d", referrer="https://other.example/"), ip="203.0.113.4")
    stats = ingest.stats(site)
    assert stats["top_referrers"] == [{"referrer": "other.example", "pageviews": 1}]
    # a visit entering from the site itself is Direct / None (expression.ex ``@no_ref``), as one with
    # no referrer; its channel is Direct
    assert stats["sources"] == [{"source": "Direct / None", "visitors": 3, "pageviews": 3},
                                {"source": "other.example", "visitors": 1, "pageviews": 1}]
    assert stats["channels"] == [{"channel": "Direct", "visitors": 3, "pageviews": 3},
                                 {"channel": "Referral", "visitors": 1, "pageviews": 1}]


# -- channels -------------------------------------------------------------------------------------------
def test_channels_count_each_visit_under_its_entrys_channel(ingest: Ingest) -> None:
    """acquisition.ex ``get_channel`` on the session's source and UTM values (set by its entry): a
    visit's page views all count under its entry's channel, internal links included."""
    site, t = "channels.example", ingest.now - 600_000
    google = "https://www.google.com/"
    ingest.post([ev(site, "pageview", t, "/", referrer=google),  # Organic Search, 3 page views
                 ev(site, "pageview", t + 1_000, "/a", referrer=f"https://{site}/"),
                 ev(site, "pageview", t + 2_000, "/b", referrer=f"https://{site}/a")], ip="203.0.113.1")
    ingest.post([{**ev(site, "pageview", t), "url": f"https://{site}/?utm_source=google&utm_medium=cpc"},
                 ev(site, "pageview", t + 1_000, "/a", referrer=f"https://{site}/")], ip="203.0.113.2")
    ingest.post(ev(site, "pageview", t, "/", referrer="https://news.ycombinator.com/"), ip="203.0.113.3")
    ingest.post(ev(site, "pageview", t, "/", referrer="https://blog.example.org/post"), ip="203.0.113.4")
    ingest.post({**ev(site, "pageview", t), "url": f"https://{site}/?utm_source=newsletter"}, ip="203.0.113.5")
    ingest.post(ev(site, "pageview", t), ip="203.0.113.6")  # Direct
    ingest.post(ev(site, "pageview", t, "/x", referrer=f"https://www.{site}/"), ip="203.0.113.7")  # Direct
    stats = ingest.stats(site)
    assert stats["channels"] == [{"channel": "Direct", "visitors": 2, "pageviews": 2},
                                 {"channel": "Organic Search", "visitors": 1, "pageviews": 3},
                                 {"channel": "Paid Search", "visitors": 1, "pageviews": 2},
                                 {"channel": "Email", "visitors": 1, "pageviews": 1},
                                 {"channel": "Organic Social", "visitors": 1, "pageviews": 1},
                                 {"channel": "Referral", "visitors": 1, "pageviews": 1}]
    assert ingest.panel(site, "channels")[:2] == [["channel", "visitors", "pageviews"], ["Direct", "2", "2"]]


# -- bounce rate ----------------------------------------------------------------------------------------
def test_bounce_rate_is_plausibles_and_the_engaged_share_has_its_own_name(ingest: Ingest) -> None:
    """cache_store.ex: a session is a bounce while it has one page view or custom event; engagement
    events change nothing. GA4's engaged visit (10 s or more, a conversion, or two page views) is
    ``engagement_rate``."""
    site, t = "bounce.example", ingest.now - 600_000

    def engagement(ts: int, ms: int) -> dict[str, Any]:
        return {"n": "engagement", "u": f"https://{site}/", "d": site, "e": ms, "ts": ts}

    ingest.post(ev(site, "pageview", t), ip="203.0.113.1")  # a bounce, not engaged
    ingest.post([ev(site, "pageview", t), engagement(t + 30_000, 30_000)], ip="203.0.113.2")  # bounce, engaged
    ingest.post([ev(site, "pageview", t), ev(site, "Signup", t + 5_000)], ip="203.0.113.3")  # engaged
    ingest.post([ev(site, "pageview", t), ev(site, "pageview", t + 5_000, "/b")], ip="203.0.113.4")  # engaged
    ingest.post(ev(site, "Signup", t), ip="203.0.113.5")  # a bounce, engaged (a conversion)
    stats = ingest.stats(site)
    assert (stats["visits"], stats["bounce_rate"], stats["engagement_rate"]) == (5, 60, 80)


# -- sources, referrers and UTM per visit ---------------------------------------------------------------
def test_a_visit_counts_all_its_page_views_under_its_entrys_source(ingest: Ingest) -> None:
    """cache_store.ex: a session takes its source and referrer from the event that starts it, and
    expression.ex counts ``visit:source`` over sessions: a source's page views are its visits'."""
    site, t = "entry.example", ingest.now - 600_000
    ingest.post([ev(site, "pageview", t, "/", referrer="https://google.com/search"),
                 ev(site, "pageview", t + 1_000, "/a"),
                 ev(site, "pageview", t + 2_000, "/b", referrer=f"https://{site}/a"),
                 ev(site, "pageview", t + 3_000, "/c")], ip="203.0.113.1")
    stats = ingest.stats(site)
    assert stats["sources"] == [{"source": "Google", "visitors": 1, "pageviews": 4}]
    assert stats["top_referrers"] == [{"referrer": "google.com", "pageviews": 4}]
    assert ingest.panel(site, "sources") == [["source", "visitors", "pageviews"], ["Google", "1", "4"]]


def test_a_visits_later_tags_and_referrers_change_nothing(ingest: Ingest) -> None:
    """event.ex ``put_source_info`` runs for every event, but only the session's first event sets the
    session's source, referrer and UTM values (cache_store.ex ``new_session_from_event``)."""
    site, t = "utm.example", ingest.now - 600_000
    ingest.post([{**ev(site, "pageview", t), "url": f"https://{site}/?utm_source=newsletter&utm_medium=email"
                                                    "&utm_campaign=spring"},
                 {**ev(site, "pageview", t + 1_000), "referrer": "https://news.ycombinator.com/",
                  "url": f"https://{site}/x?utm_source=other&utm_medium=cpc&utm_campaign=autumn"},
                 ev(site, "pageview", t + 2_000, "/y")], ip="203.0.113.2")
    ingest.post([ev(site, "pageview", t), ev(site, "pageview", t + 1_000, "/z", referrer="https://bing.com/")],
                ip="203.0.113.3")
    stats = ingest.stats(site)
    assert stats["sources"] == [{"source": "newsletter", "visitors": 1, "pageviews": 3},
                                {"source": "Direct / None", "visitors": 1, "pageviews": 2}]
    assert stats["utm_mediums"] == [{"value": "email", "visitors": 1}]
    assert stats["utm_campaigns"] == [{"value": "spring", "visitors": 1}]
    assert stats["top_referrers"] == []


def test_a_referrer_is_its_host_without_www(ingest: Ingest) -> None:
    """source.ex ``format_referrer``: the referrer's host through request.ex ``sanitize_hostname``,
    which drops ``www.``: www.google.de and google.de are one referrer."""
    site, t = "hosts.example", ingest.now - 600_000
    ingest.post([ev(site, "pageview", t, "/", referrer="https://www.google.de/"),
                 ev(site, "pageview", t + 1_000, "/a")], ip="203.0.113.1")
    ingest.post(ev(site, "pageview", t, "/", referrer="https://google.de/search"), ip="203.0.113.2")
    ingest.post(ev(site, "pageview", t, "/", referrer="https://wwwhat.example/"), ip="203.0.113.3")
    assert ingest.stats(site)["top_referrers"] == [{"referrer": "google.de", "pageviews": 3},
                                                   {"referrer": "wwwhat.example", "pageviews": 1}]


# -- engagement events and visitors ---------------------------------------------------------------------
def test_an_engagement_in_its_visit_counts_its_visitor_in_its_hour(ingest: Ingest) -> None:
    """expression.ex ``event_metric(:visitors)`` is ``uniq(user_id)`` over every stored event of the
    period (only ``events`` leaves engagement out), and an engagement event is stored when it joins a
    session (cache_store.ex): an hour whose only event of a visitor is an engagement counts that
    visitor. An engagement without a session is dropped, so it counts nowhere."""
    hour = 3_600_000
    boundary = (ingest.now - 60_000) // hour * hour
    if boundary % 86_400_000 == 0:  # both hours in one UTC day: one day's series (midnight: test_midnight.py)
        boundary -= hour
    site, day = "engaged.example", datetime.fromtimestamp(boundary / 1000, UTC).strftime("%Y-%m-%d")
    before = datetime.fromtimestamp((boundary - hour) / 1000, UTC).strftime(f"{day}T%H:00:00Z")
    after = datetime.fromtimestamp(boundary / 1000, UTC).strftime(f"{day}T%H:00:00Z")

    def engagement(ts: int) -> dict[str, Any]:
        return {"n": "engagement", "u": f"https://{site}/", "d": site, "e": 20_000, "ts": ts}

    ingest.post([ev(site, "pageview", boundary - 50_000), engagement(boundary + 10_000)], ip="203.0.113.1")
    ingest.post(ev(site, "pageview", boundary - 40_000), ip="203.0.113.2")
    ingest.post(engagement(boundary + 20_000), ip="203.0.113.2")  # a later request of the same visit
    ingest.post(engagement(boundary + 20_000), ip="203.0.113.2")  # sent again: counted once
    ingest.post(engagement(boundary + 30_000), ip="203.0.113.3")  # no session: dropped
    if ingest.mode == "stream":
        ingest.path.poller.drain()
    stats = ingest.path.api.stats(site, period="day", date=day)
    series = {row["time"]: row for row in stats["timeseries"]}
    assert series[before] == {"time": before, "visitors": 2, "pageviews": 2}
    assert series[after] == {"time": after, "visitors": 2, "pageviews": 0}
    assert (stats["visitors"], stats["visits"], stats["pageviews"]) == (2, 2, 2)


# -- tags and UTM values as written ---------------------------------------------------------------------
def test_utm_values_and_a_tag_written_as_a_host_are_kept_as_written(ingest: Ingest) -> None:
    """event.ex ``put_source_info`` stores ``utm_medium`` and ``utm_campaign`` as sent; source.ex
    ``resolve`` takes the first tag present (``utm_source``, ``source``, ``ref``; an empty one too) and
    ``find_mapping`` matches it against known names, not hosts: ``ref=news.ycombinator.com`` stays."""
    site, t = "tags.example", ingest.now - 600_000
    ingest.post({**ev(site, "pageview", t), "url": f"https://{site}/?utm_source=newsletter&utm_medium=Email"},
                ip="203.0.113.1")
    ingest.post({**ev(site, "pageview", t), "url": f"https://{site}/?utm_source=newsletter&utm_medium=email"},
                ip="203.0.113.2")
    ingest.post({**ev(site, "pageview", t), "url": f"https://{site}/?ref=news.ycombinator.com"}, ip="203.0.113.3")
    ingest.post({**ev(site, "pageview", t), "url": f"https://{site}/?utm_source=&ref=other",
                 "referrer": "https://bing.com/"}, ip="203.0.113.4")
    stats = ingest.stats(site)
    assert stats["utm_mediums"] == [{"value": "Email", "visitors": 1}, {"value": "email", "visitors": 1}]
    assert stats["sources"] == [{"source": "newsletter", "visitors": 2, "pageviews": 2},
                                {"source": "Direct / None", "visitors": 1, "pageviews": 1},
                                {"source": "news.ycombinator.com", "visitors": 1, "pageviews": 1}]
    channels = {c["channel"]: c["visitors"] for c in stats["channels"]}
    assert (channels["Email"], channels["Direct"]) == (2, 1)  # acquisition.ex compares lower-cased


def test_a_google_click_id_without_a_medium_is_the_medium_gclid(ingest: Ingest) -> None:
    """event.ex ``maybe_infer_medium``: with no ``utm_medium``, a Google source with ``gclid`` has the
    medium ``(gclid)``, Bing with ``msclkid`` ``(msclkid)``; a medium sent, even empty, is kept."""
    site, t = "clicks.example", ingest.now - 600_000
    google, bing = "https://www.google.com/", "https://www.bing.com/"
    ingest.post({**ev(site, "pageview", t, referrer=google), "url": f"https://{site}/?gclid=abc"}, ip="203.0.113.1")
    ingest.post({**ev(site, "pageview", t, referrer=bing), "url": f"https://{site}/?msclkid=x"}, ip="203.0.113.2")
    ingest.post({**ev(site, "pageview", t, referrer=bing), "url": f"https://{site}/?gclid=abc"}, ip="203.0.113.3")
    ingest.post({**ev(site, "pageview", t, referrer=google), "url": f"https://{site}/?gclid=a&utm_medium="},
                ip="203.0.113.4")
    stats = ingest.stats(site)
    assert stats["utm_mediums"] == [{"value": "(gclid)", "visitors": 1}, {"value": "(msclkid)", "visitors": 1}]
