"""A visit that crosses midnight UTC is one visit with one source, on both ingest paths, as in
Plausible (docs/metrics.md, "Visits across midnight"): each day counts it whole, with its entry's
source and pages; a period of both days counts it once.

The visitor id is daily (a day's salt), so the part after midnight is found with the day before's
salt; the clock is frozen just after midnight so both salts exist.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.handlers.conftest import Api
from tests.handlers.test_stream_path import Path, path  # noqa: F401 (the stream path's fixture)

SITE = "midnight.example"
MIN = 60_000
TODAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
YESTERDAY = TODAY - timedelta(days=1)
MIDNIGHT = int(TODAY.timestamp() * 1000)


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("time.time", lambda: (MIDNIGHT + 60 * MIN) / 1000)


def pv(path_: str, ts: int, referrer: str | None = None, query: str = "") -> dict[str, Any]:
    event = {"name": "pageview", "url": f"https://{SITE}{path_}{query}", "domain": SITE, "ts": ts}
    return {**event, "referrer": referrer} if referrer else event


# One visit from Google: two page views before midnight, two after (5 and 20 minutes past).
VISIT = [pv("/night", MIDNIGHT - 10 * MIN, "https://www.google.com/", "?utm_medium=cpc&utm_campaign=winter"),
         pv("/late", MIDNIGHT - 5 * MIN), pv("/morning", MIDNIGHT + 5 * MIN), pv("/coffee", MIDNIGHT + 20 * MIN)]


def day(d: datetime) -> str:
    return d.strftime("%Y-%m-%d")


def visit_figures(s: dict[str, Any]) -> dict[str, Any]:
    return {k: s[k] for k in ("visits", "bounce_rate", "views_per_visit", "visit_duration_s", "entry_pages",
                              "exit_pages")}


WHOLE_VISIT = {"visits": 1, "bounce_rate": 0, "views_per_visit": 4, "visit_duration_s": 30 * 60,
               "entry_pages": [{"path": "/night", "visits": 1}], "exit_pages": [{"path": "/coffee", "visits": 1}]}


def sources(s: dict[str, Any]) -> list[tuple[str, int, int]]:
    return [(r["source"], r["visitors"], r["pageviews"]) for r in s["sources"]]


def utm(s: dict[str, Any]) -> list[tuple[str, str, int]]:
    return [(name, r["value"], r["visitors"]) for name in ("utm_mediums", "utm_campaigns") for r in s[name]]


def check_one_visit(stats: Callable[..., dict[str, Any]]) -> None:
    for first, last in ((YESTERDAY, YESTERDAY), (TODAY, TODAY), (YESTERDAY, TODAY)):
        s = stats(SITE, **{"from": day(first), "to": day(last)})
        where = f"{day(first)}..{day(last)}"
        assert visit_figures(s) == WHOLE_VISIT, where  # each day counts the whole visit, a period it once
        assert sources(s) == [("Google", 1, 4)], where  # no "Direct / None" for the part after midnight
        assert utm(s) == [("utm_mediums", "cpc", 1), ("utm_campaigns", "winter", 1)], where
        # the visit's visitor: one in its device, browser and OS (and country), on each day and over both
        # (Plausible counts its session's user id once)
        dims = {name: [r["visitors"] for r in s[name]] for name in ("devices", "browsers", "os")}
        assert dims == {name: [1] for name in dims}, where
        # a visitor is a visitor of each day it is seen on (Plausible's daily user id)
        assert s["visitors"] == (2 if first != last else 1), where
        assert s["pageviews"] == (4 if first != last else 2), where
    compared = stats(SITE, **{"from": day(TODAY), "to": day(TODAY), "compare": "previous_period"})
    assert {k: compared["comparison"][k] for k in ("visits", "views_per_visit", "visit_duration_s", "bounce_rate")} \
        == {"visits": 1, "views_per_visit": 4, "visit_duration_s": 30 * 60, "bounce_rate": 0}


def test_direct_path_one_visit_across_midnight(api: Api) -> None:
    for e in VISIT:  # each in its own request, as the tracker sends them
        status, body, _ = api.post(e)
        assert status == 202 and body["accepted"] == 1, body
    check_one_visit(api.stats)


def test_stream_path_one_visit_across_midnight(path: Path) -> None:  # noqa: F811
    for e in VISIT:
        status, body, _ = path.api.post(e)
        assert status == 202 and body["accepted"] == 1, body
        path.poller.drain()  # each batch on its own: the part after midnight finds the visit stored
    check_one_visit(path.api.stats)


def test_stream_path_one_batch_across_midnight(path: Path) -> None:  # noqa: F811
    for e in VISIT:
        assert path.api.post(e)[0] == 202
    path.poller.drain()  # the aggregator folds the whole visit in one batch
    check_one_visit(path.api.stats)


def test_a_gap_of_more_than_30_minutes_at_midnight_starts_a_new_visit(api: Api) -> None:
    for e in (VISIT[0], pv("/morning", MIDNIGHT + 25 * MIN)):
        assert api.post(e)[0] == 202
    both = api.stats(SITE, **{"from": day(YESTERDAY), "to": day(TODAY)})
    assert both["visits"] == 2
    assert sorted(sources(both)) == [("Direct / None", 1, 1), ("Google", 1, 1)]
    today = api.stats(SITE, **{"from": day(TODAY), "to": day(TODAY)})
    assert (today["visits"], sources(today)) == (1, [("Direct / None", 1, 1)])


def test_a_visit_continued_once_is_found_again_after_midnight(api: Api) -> None:
    """The third page view after midnight finds the visit in the new day's session (no salt of the
    day before needed any more), and a request of two page views is counted as two single ones."""
    assert api.post(VISIT[:2])[0] == 202
    assert api.post(VISIT[2:])[0] == 202
    check_one_visit(api.stats)


def test_an_engagement_after_midnight_continues_the_visit_and_counts_the_days_visitor(api: Api) -> None:
    """Plausible stores an engagement event that finds its session (under the day before's id too)
    and counts ``uniq(user_id)`` over stored events: the new day has that visitor. The session's
    ``timestamp`` moves with page views and custom events only, so the new day does not list the
    visit until one of those comes."""
    for e in (VISIT[0], pv("/late", MIDNIGHT - 5 * MIN),
              {"n": "engagement", "u": f"https://{SITE}/late", "d": SITE, "e": 60_000, "sd": 50,
               "ts": MIDNIGHT + 2 * MIN}):
        assert api.post(e)[0] == 202
    today = api.stats(SITE, **{"from": day(TODAY), "to": day(TODAY)})
    assert (today["visitors"], today["pageviews"], today["visits"], sources(today)) == (1, 0, 0, [])
    assert api.post(pv("/morning", MIDNIGHT + 10 * MIN))[0] == 202  # now the visit is in the new day too
    today = api.stats(SITE, **{"from": day(TODAY), "to": day(TODAY)})
    assert (today["visitors"], today["pageviews"], today["visits"], sources(today)) == (1, 1, 1, [("Google", 1, 3)])
    both = api.stats(SITE, **{"from": day(YESTERDAY), "to": day(TODAY)})
    assert (both["visits"], both["views_per_visit"], sources(both)) == (1, 3, [("Google", 1, 3)])


def visitor_dims(s: dict[str, Any]) -> dict[str, list[int]]:
    return {name: [r["visitors"] for r in s[name]] for name in ("countries", "devices", "browsers", "os")}


@pytest.mark.parametrize("one_request", [False, True])
def test_a_visit_carried_after_an_earlier_one_counts_under_the_new_days_id(api: Api, one_request: bool) -> None:
    """Plausible's session takes the new day's user id with its next page view (cache_store.ex
    ``update_session``), and a visitor's dimensions are ``uniq(user_id)`` over the period's sessions:
    a visitor with an earlier visit before midnight and a second one carried over it is two visitors
    of the day before and of both days, one of the new day (as tests/reference/plausible.py counts)."""
    earlier = pv("/first", MIDNIGHT - 120 * MIN)
    events = [earlier, *VISIT]
    country = {"CloudFront-Viewer-Country": "US"}
    if one_request:
        assert api.post(events, headers=country)[0] == 202
    for e in ([] if one_request else events):
        assert api.post(e, headers=country)[0] == 202
    counts = {(day(f), day(t)): visitor_dims(api.stats(SITE, **{"from": day(f), "to": day(t)}))
              for f, t in ((YESTERDAY, YESTERDAY), (TODAY, TODAY), (YESTERDAY, TODAY))}
    assert counts == {(day(YESTERDAY), day(YESTERDAY)): {n: [2] for n in ("countries", "devices", "browsers", "os")},
                      (day(TODAY), day(TODAY)): {n: [1] for n in ("countries", "devices", "browsers", "os")},
                      (day(YESTERDAY), day(TODAY)): {n: [2] for n in ("countries", "devices", "browsers", "os")}}


def test_a_visit_carried_by_an_engagement_alone_keeps_the_day_befores_id(api: Api) -> None:
    """An engagement event after midnight keeps the visit open without changing its session's user
    id (cache_store.ex ``refresh_session_cache``): a new visit later that day is another visitor, so
    both days count two in each visitor dimension."""
    country = {"CloudFront-Viewer-Country": "US"}
    engagement = {"n": "engagement", "u": f"https://{SITE}/night", "d": SITE, "e": 60_000, "sd": 50,
                  "ts": MIDNIGHT + 2 * MIN}
    assert api.post([VISIT[0], engagement, pv("/again", MIDNIGHT + 40 * MIN)], headers=country)[0] == 202
    counts = [visitor_dims(api.stats(SITE, **{"from": day(f), "to": day(t)}))
              for f, t in ((YESTERDAY, YESTERDAY), (TODAY, TODAY), (YESTERDAY, TODAY))]
    assert counts == [{n: [k] for n in ("countries", "devices", "browsers", "os")} for k in (1, 1, 2)]


def test_a_month_rollup_counts_a_carried_visit_once() -> None:
    """A month row adds its days' counters: a visit carried into a day of the same month is taken
    off at once; one carried into the month's first day stays carried, for a query that reads the
    month before too."""
    from collections import Counter

    from shared import months, periods, visits

    counters: months.Counters = {
        ("C#m.example#2026-11-30#s", "src#Google"): (Counter(visits=1, pv=4), None),
        ("C#m.example#2026-12-01#s", "src#Google"): (Counter(visits=1, pv=4), None),
        ("C#m.example#2026-12-01#s", "~src#Google"): (Counter(visits=1, pv=4), None),
        ("C#m.example#2026-12-06#s", "day"): (Counter(visits=1, visit_pv=3), None),
        ("C#m.example#2026-12-07#s", "day"): (Counter(visits=1, visit_pv=3), None),
        ("C#m.example#2026-12-07#s", "~day"): (Counter(visits=1, visit_pv=3), None)}
    rolled = months.with_rollups(counters, months.Rollup(None))
    assert rolled[("C#m.example#2026-12#s", "day")][0] == Counter(visits=1, visit_pv=3)
    assert rolled[("C#m.example#2026-12#s", "src#Google")][0] == Counter(visits=1, pv=4)
    assert rolled[("C#m.example#2026-12#s", "~src#Google")][0] == Counter(visits=1, pv=4)
    assert rolled[("C#m.example#2026-11#s", "src#Google")][0] == Counter(visits=1, pv=4)
    # a query of November and December takes the carried row off; one of December alone passes it over
    assert periods.day_before("2026-12") == "2026-11-30"
    carried = {"pk": "C#m.example#2026-12#s0", "sk": "~src#Google", "visits": 1, "pv": 4}
    assert visits.net_of_carried(carried, day_before_read=True) == {**carried, "sk": "src#Google", "visits": -1,
                                                                    "pv": -4}
    assert visits.net_of_carried(carried, day_before_read=False) is None
