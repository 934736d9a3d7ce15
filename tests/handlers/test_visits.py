"""Visits through the event collector and /api/stats: visits, bounce rate, views per visit, visit
duration, entry and exit pages; exactly once under retries, faults and concurrent requests.

The clock is frozen at noon UTC today and every event carries its own ``ts``, so each test sets the
time of every event (a visitor id is daily, so all of a test's events of one visit share a day).
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared import keys, store, visitors
from tests.handlers.conftest import Api
from tests.handlers.test_exactly_once import Faults

SITE = "visits.example"
MIN = 60_000
TODAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
NOON = int((TODAY + timedelta(hours=12)).timestamp() * 1000)
T = NOON - 3 * 3600 * 1000  # 09:00 today: a test's visits happen after it


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("time.time", lambda: NOON / 1000)


def pv(path: str, ts: int, site: str = SITE) -> dict[str, Any]:
    return {"name": "pageview", "url": f"https://{site}{path}", "domain": site, "ts": ts}


def engagement(path: str, ts: int, ms: int, site: str = SITE) -> dict[str, Any]:
    return {"n": "engagement", "u": f"https://{site}{path}", "d": site, "e": ms, "sd": 50, "ts": ts}


def send(api: Api, *events: dict[str, Any], ip: str = "203.0.113.7") -> None:
    """Each event in its own request, as the tracker sends them."""
    for e in events:
        status, body, _ = api.post(e, ip=ip)
        assert status == 202 and body["accepted"] == 1, body


def figures(api: Api, site: str = SITE, first: datetime = TODAY, last: datetime = TODAY) -> dict[str, Any]:
    s = api.stats(site, **{"from": first.strftime("%Y-%m-%d"), "to": last.strftime("%Y-%m-%d")})
    return {k: s[k] for k in ("visits", "bounce_rate", "views_per_visit", "visit_duration_s", "entry_pages",
                              "exit_pages")}


def pages(*pairs: tuple[str, int]) -> list[dict[str, Any]]:
    return [{"path": p, "visits": n} for p, n in pairs]


def test_one_visit_of_three_pages(api: Api) -> None:
    send(api, pv("/", T), pv("/pricing", T + MIN), pv("/docs", T + 2 * MIN))
    assert figures(api) == {"visits": 1, "bounce_rate": 0, "views_per_visit": 3, "visit_duration_s": 120,
                            "entry_pages": pages(("/", 1)), "exit_pages": pages(("/docs", 1))}


def test_a_gap_over_30_minutes_starts_a_new_visit(api: Api) -> None:
    send(api, pv("/a", T), pv("/b", T + 30 * MIN + 1))
    assert figures(api) == {"visits": 2, "bounce_rate": 100, "views_per_visit": 1, "visit_duration_s": 0,
                            "entry_pages": pages(("/a", 1), ("/b", 1)), "exit_pages": pages(("/a", 1), ("/b", 1))}


def test_a_gap_of_exactly_30_minutes_stays_in_the_visit(api: Api) -> None:
    send(api, pv("/a", T), pv("/b", T + 30 * MIN))
    f = figures(api)
    assert (f["visits"], f["visit_duration_s"], f["views_per_visit"]) == (1, 1800, 2)
    assert (f["entry_pages"], f["exit_pages"]) == (pages(("/a", 1)), pages(("/b", 1)))


def test_a_single_page_view_is_a_bounce(api: Api) -> None:
    send(api, pv("/landing", T))
    assert figures(api) == {"visits": 1, "bounce_rate": 100, "views_per_visit": 1, "visit_duration_s": 0,
                            "entry_pages": pages(("/landing", 1)), "exit_pages": pages(("/landing", 1))}


def test_an_engagement_of_10_s_or_more_keeps_the_bounce_and_the_duration_but_is_engaged(api: Api) -> None:
    send(api, pv("/post", T), engagement("/post", T + 40_000, 38_000))
    f = figures(api)
    assert (f["visits"], f["bounce_rate"], f["views_per_visit"], f["visit_duration_s"]) == (1, 100, 1, 0)
    assert api.stats(SITE, **{"from": TODAY.strftime("%Y-%m-%d"), "to": TODAY.strftime("%Y-%m-%d")})[
        "engagement_rate"] == 100
    assert f["exit_pages"] == pages(("/post", 1))


def test_an_engagement_neither_lengthens_a_visit_nor_ends_its_bounce(api: Api) -> None:
    """cache_store.ex: an engagement event only refreshes the session cache's clock; the session's
    duration runs from its first to its last page view or custom event."""
    send(api, pv("/post", T), engagement("/post", T + 4_000, 3_500))
    f = figures(api)
    assert (f["visits"], f["bounce_rate"], f["visit_duration_s"]) == (1, 100, 0)


def test_an_engagement_keeps_the_visit_open(api: Api) -> None:
    """The 30 minutes count from the engagement too (``refresh_session_cache``): a page view 50
    minutes after the first, 25 after an engagement, is the same visit, 50 minutes long."""
    send(api, pv("/a", T), engagement("/a", T + 25 * MIN, 25 * MIN), pv("/b", T + 50 * MIN))
    f = figures(api)
    assert (f["visits"], f["bounce_rate"], f["views_per_visit"], f["visit_duration_s"]) == (1, 0, 2, 3000)


def test_bounce_rate_and_averages_over_several_visitors(api: Api) -> None:
    send(api, pv("/", T), pv("/a", T + MIN), ip="198.51.100.1")  # 2 pages, 60 s
    send(api, pv("/", T), ip="198.51.100.2")  # bounce
    send(api, pv("/b", T), engagement("/b", T + 20_000, 20_000), ip="198.51.100.3")  # bounce (engaged), 0 s
    send(api, pv("/", T), ip="198.51.100.4")  # bounce
    f = figures(api)
    assert (f["visits"], f["bounce_rate"], f["views_per_visit"], f["visit_duration_s"]) == (4, 75, 1.25, 15)
    assert f["entry_pages"] == pages(("/", 3), ("/b", 1))
    assert f["exit_pages"] == pages(("/", 2), ("/a", 1), ("/b", 1))


def test_an_engagement_outside_any_visit_starts_none(api: Api) -> None:
    send(api, engagement("/old-tab", T, 50_000))
    assert figures(api)["visits"] == 0
    send(api, pv("/a", T + MIN), engagement("/a", T + 40 * MIN, 30_000))  # 39 minutes later: too late
    f = figures(api)
    assert (f["visits"], f["bounce_rate"], f["visit_duration_s"]) == (1, 100, 0)


def test_a_custom_event_is_part_of_the_visit_and_ends_the_bounce(api: Api) -> None:
    signup = {"name": "signup", "url": f"https://{SITE}/pricing", "domain": SITE, "ts": T + 30_000}
    send(api, pv("/pricing", T), signup)
    f = figures(api)
    assert (f["visits"], f["bounce_rate"], f["views_per_visit"], f["visit_duration_s"]) == (1, 0, 1, 30)
    assert f["exit_pages"] == pages(("/pricing", 1))


def test_an_engagement_arriving_after_the_next_page_view_is_placed_by_its_time(api: Api) -> None:
    # the tracker's engagement for /a (sent on leaving /a) reaches us after the page view of /b
    send(api, pv("/a", T), pv("/b", T + 60_000), engagement("/a", T + 59_000, 59_000))
    f = figures(api)
    assert (f["visits"], f["bounce_rate"], f["views_per_visit"], f["visit_duration_s"]) == (1, 0, 2, 60)
    assert (f["entry_pages"], f["exit_pages"]) == (pages(("/a", 1)), pages(("/b", 1)))


def test_a_late_earlier_page_view_moves_the_entry_page_and_the_start(api: Api) -> None:
    send(api, pv("/b", T + 10 * MIN), pv("/a", T))
    f = figures(api)
    assert (f["visits"], f["views_per_visit"], f["visit_duration_s"]) == (1, 2, 600)
    assert (f["entry_pages"], f["exit_pages"]) == (pages(("/a", 1)), pages(("/b", 1)))


def test_an_event_from_before_the_current_visit_is_left_out_of_visits(api: Api) -> None:
    send(api, pv("/late", T + 60 * MIN), pv("/early", T))  # the earlier visit's state is gone
    f = figures(api)
    assert (f["visits"], f["views_per_visit"], f["entry_pages"]) == (1, 1, pages(("/late", 1)))
    assert api.stats(SITE, **{"from": TODAY.strftime("%Y-%m-%d"), "to": TODAY.strftime("%Y-%m-%d")})[
        "pageviews"] == 2


def test_a_visit_sent_in_one_request_counts_as_sent_one_by_one(api: Api) -> None:
    batch = [pv("/", T), pv("/pricing", T + MIN), engagement("/pricing", T + 3 * MIN, 100_000),
             pv("/docs", T + 2 * MIN), pv("/next", T + 40 * MIN)]
    status, body, _ = api.post(batch)
    assert status == 202 and body["accepted"] == 5
    f = figures(api)
    # the first visit lasts to /docs (120 s: the engagement at 3 minutes does not lengthen it)
    assert (f["visits"], f["bounce_rate"], f["views_per_visit"], f["visit_duration_s"]) == (2, 50, 2, 60)
    assert f["entry_pages"] == pages(("/", 1), ("/next", 1))
    assert f["exit_pages"] == pages(("/docs", 1), ("/next", 1))


def test_a_visit_longer_than_one_transaction(api: Api) -> None:
    batch = [pv(f"/p/{i}", T + i * 1000) for i in range(100)]
    status, body, _ = api.post(batch)
    assert status == 202 and body["accepted"] == 100
    assert api.calls.count("TransactWriteItems") >= 2
    assert figures(api) == {"visits": 1, "bounce_rate": 0, "views_per_visit": 100, "visit_duration_s": 99,
                            "entry_pages": pages(("/p/0", 1)), "exit_pages": pages(("/p/99", 1))}


def test_a_retried_request_changes_nothing(api: Api) -> None:
    visit = [pv("/", T), pv("/pricing", T + MIN), engagement("/pricing", T + 2 * MIN, 60_000)]
    expected = {"visits": 1, "bounce_rate": 0, "views_per_visit": 2, "visit_duration_s": 60,
                "entry_pages": pages(("/",  1)), "exit_pages": pages(("/pricing", 1))}
    send(api, *visit)
    assert figures(api) == expected
    send(api, *visit)  # each request again
    send(api, visit[0])  # the first one once more, after the others
    assert api.post(visit)[0] == 202  # all of it as one request
    assert figures(api) == expected


def test_a_visit_across_midnight_is_one_visit_counted_on_each_day(api: Api) -> None:
    midnight = int(TODAY.timestamp() * 1000)
    yesterday = TODAY - timedelta(days=1)
    send(api, pv("/night", midnight - 10 * MIN), pv("/late", midnight - 5 * MIN), pv("/morning", midnight + 5 * MIN))
    whole = {"visits": 1, "bounce_rate": 0, "views_per_visit": 3, "visit_duration_s": 900,
             "entry_pages": pages(("/night", 1)), "exit_pages": pages(("/morning", 1))}
    assert figures(api, first=yesterday, last=yesterday) == whole  # as Plausible: each day counts it whole
    assert figures(api) == whole
    assert figures(api, first=yesterday) == whole  # and both days once


def test_no_visits_gives_zeros(api: Api) -> None:
    assert figures(api, site="empty.example") == {"visits": 0, "bounce_rate": 0, "views_per_visit": 0,
                                                  "visit_duration_s": 0, "entry_pages": [], "exit_pages": []}


def test_long_paths_are_shown_whole(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    long = "/" + "x" * 900
    shard = {"k": 0}  # each request's counters on a shard of its own: the exit's -1 lands where the +1 is not
    monkeypatch.setattr(store.random, "randrange", lambda n: shard["k"] % n)
    for i, e in enumerate([pv(long, T), pv("/b", T + MIN), pv("/c", T + 2 * MIN)]):
        shard["k"] = i
        send(api, e)
    shard["k"] = 3
    send(api, pv(long, T), ip="198.51.100.9")  # and a second visit that stays on it
    f = figures(api)
    assert f["entry_pages"] == pages((long, 2))
    assert f["exit_pages"] == pages(("/c", 1), (long, 1))
    cut = [i for i in api.items(f"C#{SITE}#") if "\u2026" in i["sk"]["S"]]
    assert len(cut) >= 3 and all(i["whole"]["S"] == long for i in cut), cut


def test_a_fault_at_any_write_then_a_retry_counts_each_visit_once(api: Api) -> None:
    def request(site: str) -> list[dict[str, Any]]:
        return [pv("/", T, site), pv("/pricing", T + MIN, site), engagement("/pricing", T + 2 * MIN, 30_000, site),
                pv("/docs", T + 3 * MIN, site)]

    expected = {"visits": 1, "bounce_rate": 0, "views_per_visit": 3, "visit_duration_s": 180,
                "entry_pages": pages(("/", 1)), "exit_pages": pages(("/docs", 1))}
    faults = Faults()
    faults.arm(None)
    visitors._salts.clear()  # each request writes the salt too (a failed condition, after the first)
    assert api.post(request("clean.example"))[0] == 202
    writes = faults.writes
    assert figures(api, "clean.example") == expected
    for mode in ("before", "after"):
        for n in range(1, writes + 1):
            site = f"v{n}-{mode}.example"
            visitors._salts.clear()
            faults.arm(n, mode)
            assert api.post(request(site))[0] == 503, (mode, n)
            faults.arm(None)
            assert api.post(request(site))[0] == 202
            assert api.post(request(site))[0] == 202
            assert figures(api, site) == expected, (mode, n)


def test_a_concurrent_request_of_the_same_visitor_is_not_lost(api: Api) -> None:
    """Another request updates the visit between this request's read and its write: the write's
    condition fails, the visit is read again, and both requests count."""
    send(api, pv("/", T))
    client = store.table().meta.client
    state = {"done": False}

    def meanwhile(model: Any, **_: Any) -> None:
        if model.name == "TransactWriteItems" and not state["done"]:
            state["done"] = True
            send(api, pv("/other", T + MIN))

    client.meta.events.register("before-call.dynamodb.TransactWriteItems", meanwhile)
    send(api, pv("/last", T + 2 * MIN))
    assert state["done"]
    assert figures(api) == {"visits": 1, "bounce_rate": 0, "views_per_visit": 3, "visit_duration_s": 120,
                            "entry_pages": pages(("/", 1)), "exit_pages": pages(("/last", 1))}


def test_visitors_and_page_views_are_unchanged_by_visit_tracking(api: Api) -> None:
    send(api, pv("/", T), pv("/a", T + MIN), engagement("/a", T + 2 * MIN, 60_000))
    s = api.stats(SITE, **{"from": TODAY.strftime("%Y-%m-%d"), "to": TODAY.strftime("%Y-%m-%d")})
    assert (s["visitors"], s["pageviews"]) == (1, 2)
    assert s["top_pages"] == [{"path": "/", "pageviews": 1}, {"path": "/a", "pageviews": 1}]


def test_session_items_expire(api: Api) -> None:
    send(api, pv("/", T))
    (item,) = [i for i in api.items(f"V#{SITE}#") if i["sk"]["S"].startswith("visit#")]
    assert int(item["expires_at"]["N"]) <= int(time.time()) + 3 * 86400


def test_stats_reads_no_more_with_visits_than_without(api: Api) -> None:
    def queries() -> int:
        api.calls.clear()
        figures(api)
        return api.calls.count("Query")

    before = queries()
    for v in range(20):
        send(api, pv("/", T + v), pv(f"/p{v}", T + MIN + v), engagement(f"/p{v}", T + 2 * MIN, 20_000),
             ip=f"198.51.100.{v}")
    assert queries() == before == 2 * keys.shards()  # per shard: the day's partition, its month's f# rows


# -- the pure fold, as the stream aggregator would call it -----------------------------------------
def _events(seed: int) -> list[Any]:
    """A visitor's day: page views, engagements and custom events at random times, in time order."""
    import json
    import random

    from shared.validate import loads, validate_event

    rnd = random.Random(seed)
    out = []
    ts = int(TODAY.timestamp() * 1000)  # at most 24 steps of at most 45 minutes: the same day
    for _ in range(rnd.randrange(1, 25)):
        ts += rnd.choice([0, 1_000, 20_000, 5 * MIN, 29 * MIN, 30 * MIN, 31 * MIN, 45 * MIN])
        kind = rnd.choice(["pageview", "pageview", "pageview", "engagement", "signup"])
        raw = {"name": kind, "url": f"https://{SITE}/{rnd.choice('abc')}", "domain": SITE, "ts": ts}
        if kind == "engagement":
            raw["e"] = rnd.choice([2_000, 9_999, 10_000, 60_000])
        out.append(validate_event(loads(json.dumps(raw)), ts))
    return out


def _reference(events: list[Any]) -> dict[str, Any]:
    """Visit figures straight from the definition (docs/analytics.md), for events in time order."""
    runs: list[list[Any]] = []
    for ev in events:
        if runs and ev.ts_ms - runs[-1][-1].ts_ms <= 30 * MIN:
            runs[-1].append(ev)
        elif ev.name != "engagement":
            runs.append([ev])
    entry: Counter[str] = Counter()
    exit_: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    for run in runs:
        views = [e.path for e in run if e.name == "pageview"]
        engaged = any(e.name == "signup" or (e.name == "engagement" and e.engagement_ms >= 10_000) for e in run)
        # Plausible's bounce: one page view or custom event (engagement is not interactive);
        # GA4's engaged visit: two page views, a conversion, or 10 s of engagement
        # Plausible's duration: from the first to the last page view or custom event
        totals.update(visits=1, bounces=int(sum(e.name != "engagement" for e in run) <= 1),
                      engaged=int(len(views) > 1 or engaged), visit_pv=len(views),
                      visit_ms=max(e.ts_ms for e in run if e.name != "engagement") - run[0].ts_ms)
        if views:
            entry[views[0]] += 1
            exit_[views[-1]] += 1
    return {**{k: n for k, n in totals.items() if n}, "entry": +entry, "exit": +exit_}


def _apply(writes: Any, into: Counter[tuple[str, str]]) -> None:
    for _prefix, sk, attr, n, _whole in writes.counters:
        into[(sk, attr)] += n


def _summary(counters: Counter[tuple[str, str]]) -> dict[str, Any]:
    out: dict[str, Any] = {attr: n for (sk, attr), n in counters.items() if sk == "day" and n}
    for kind, attr in (("entry", "entries"), ("exit", "exits")):  # on the page's counter item
        out[kind] = +Counter({sk.partition("#")[2]: n for (sk, a), n in counters.items()
                              if sk.startswith("page#") and a == attr})
    return out


@pytest.mark.parametrize("seed", range(150))
def test_visit_updates_matches_the_definition_in_one_batch_or_event_by_event(seed: int) -> None:
    from shared import visits

    events = _events(seed)
    pairs = [(ev, "ab12cd34ef56ab12cd34") for ev in events]
    batch: Counter[tuple[str, str]] = Counter()
    _apply(visits.visit_updates(pairs, {}), batch)
    one_by_one: Counter[tuple[str, str]] = Counter()
    sessions: dict[visits.Key, visits.Session] = {}
    for pair in pairs:
        writes = visits.visit_updates([pair], sessions)
        _apply(writes, one_by_one)
        for key, s in writes.sessions.items():
            assert s.version == (sessions[key].version if key in sessions else 0)
            sessions[key] = visits.Session(s.visit, s.version + 1)
    assert _summary(batch) == _summary(one_by_one) == _reference(events), [(e.name, e.ts_ms - T) for e in events]


def test_a_request_for_two_sites_counts_each_sites_visit_and_more_are_refused(api: Api) -> None:
    sites = ["s0.example", "s1.example"]
    batch = [e for site in sites for e in (pv("/in", T, site), pv("/out", T + MIN, site))]
    status, body, _ = api.post(batch)
    assert status == 202 and body["accepted"] == 4
    for site in sites:
        assert figures(api, site) == {"visits": 1, "bounce_rate": 0, "views_per_visit": 2, "visit_duration_s": 60,
                                      "entry_pages": pages(("/in", 1)), "exit_pages": pages(("/out", 1))}
    # Each site is a visitor of its own: a request spread over more sites than a browser sends is
    # refused whole (event_collector.MAX_SITE_DAYS), before any write.
    many = [e for i in range(30) for e in (pv("/in", T, f"m{i}.example"), pv("/out", T + MIN, f"m{i}.example"))]
    api.calls.clear()
    status, body, _ = api.post(many)
    assert status == 400 and "sites and days" in body["error"]
    assert not {"PutItem", "UpdateItem", "TransactWriteItems"} & set(api.calls)


# -- distinct values kept in the session item --------------------------------------------------------
def _marks_fold(sessions: dict[Any, Any], marks: list[tuple[str, str, str, int]]) -> tuple[Counter[str], Any]:
    from shared import visits

    ev = _events(1)[0]
    pairs = [(ev, "ab12cd34ef56ab12cd34")]
    key = visits.session_key(ev, pairs[0][1])
    writes = visits.visit_updates(pairs, sessions, {key: marks})
    uv = Counter({sk: n for _p, sk, attr, n, _w in writes.counters if attr == "uv"})
    return uv, writes.sessions.get(key)


def test_a_value_new_today_counts_once_with_the_counters_of_the_first_event_carrying_it() -> None:
    from shared import visits

    c = "C#x#d#s"
    uv, session = _marks_fold({}, [("d", c, "day", 0), ("d", c, "cty#FR", 0), ("p#/a", c, "page#/a", 0),
                                   ("d", c, "day", 1), ("d", c, "cty#DE", 1), ("p#/a", c, "page#/a", 1),
                                   ("p#/b", c, "page#/b", 1)])
    assert uv == {"day": 1, "cty#FR": 1, "page#/a": 1, "page#/b": 1}
    assert session is not None and session.seen == {visits.seen_id(n) for n in ("d", "p#/a", "p#/b")}


def test_a_value_already_seen_counts_nothing_and_an_earlier_layout_session_is_left_to_its_marker_items() -> None:
    from shared import visits

    c = "C#x#d#s"
    ev = _events(1)[0]
    key = visits.session_key(ev, "ab12cd34ef56ab12cd34")
    uv, first = _marks_fold({}, [("d", c, "day", 0), ("p#/a", c, "page#/a", 0)])
    assert first is not None
    stored = visits.session_of(visits.session_fields(visits.Session(first.visit, 1, first.seen)))
    assert stored.seen == first.seen  # written and read back
    uv, _ = _marks_fold({key: stored}, [("d", c, "day", 0), ("p#/a", c, "page#/a", 0), ("p#/b", c, "page#/b", 0)])
    assert uv == {"page#/b": 1}
    earlier = visits.session_of({k: v for k, v in visits.session_fields(stored).items() if k != "seen"})
    assert earlier.seen is None and visits.marks_item({key: earlier}, key, "p#/a")
    uv, _ = _marks_fold({key: earlier}, [("p#/c", c, "page#/c", 0)])
    assert not uv
