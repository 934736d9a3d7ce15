"""Long periods (12mo, 6mo, year, all, from/to past 92 days) from month rollups kept at ingest: as many
reads as a month's partitions, whatever the period's length, and the same figures as its days'."""

from __future__ import annotations

import base64
import hashlib
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import aggregator
import pytest
import stats_api

from shared import breakdowns, caps, periods, queries, store, stream
from shared.validate import Event
from tests.handlers.conftest import Api

UA = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"
PAGES = ["/", "/pricing", "/docs", "/blog/launch", "/about"]
REFS = ["", "https://www.google.com/", "https://news.ycombinator.com/item?id=1"]


def today() -> datetime:
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def events(site: str, days: list[int], per_day: int = 3, pages: list[str] = PAGES) -> list[tuple[Event, str]]:
    """``per_day`` visitors on each of ``days`` (days before today), two page views each and a signup."""
    out: list[tuple[Event, str]] = []
    for back in days:
        noon = int((today() - timedelta(days=back)).timestamp() * 1000) + 12 * 3600 * 1000
        for v in range(per_day):
            visitor = hashlib.sha256(f"{back}|{v}".encode()).hexdigest()[:20]
            ref = REFS[(back + v) % len(REFS)]
            for n in range(2):
                page = pages[(back * 7 + v * 3 + n) % len(pages)]
                url = f"https://{site}{page}"
                dims = breakdowns.derive(url, ref or None, {"CloudFront-Viewer-Country": "DE"}, UA, site)
                host = ref.split("/")[2] if ref else ""
                out.append((Event("pageview", url, page, site, host if n == 0 else "", {}, noon + v * 1000 + n * 60_000,
                                  True, dims=dims if n == 0 else {**dims, "source": ""}), visitor))
            signup = Event("signup", f"https://{site}/", "/", site, "", {"plan": f"p{v % 2}"}, noon + v * 1000 + 90_000,
                           True, dims=breakdowns.derive(f"https://{site}/", None, {}, UA, site))
            out.append((signup, visitor))
    return out


def store_direct(evs: list[tuple[Event, str]]) -> None:
    store.store_events(evs, 30, int(datetime.now(UTC).timestamp() * 1000))


def store_stream(evs: list[tuple[Event, str]], batch: int = 50) -> None:
    """Through the aggregator, as the event source mapping hands it the stream's records."""
    seq = 10 ** 20
    for i in range(0, len(evs), batch):
        records = []
        for ev, visitor in evs[i:i + batch]:
            seq += 1
            data = base64.b64encode(stream.encode(ev, visitor, 0, ev.ts_ms)).decode()
            records.append({"eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/s",
                            "eventID": f"shardId-000000000000:{seq}",
                            "kinesis": {"sequenceNumber": str(seq), "data": data}})
        assert aggregator.handler({"Records": records}, None) == {"batchItemFailures": []}


SPREAD = [0, 1, 2, 9, 33, 40, 70, 95, 130, 200, 260, 330]  # days back: over the last 12 months and more


def read_days(site: str, first: datetime, last: datetime, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The period read from its days' partitions only, as before month rollups."""
    with monkeypatch.context() as m:
        m.setattr(periods, "DAILY_DAYS", 100_000)
        return queries.stats(site, first, last)


def same_as_days(long: dict[str, Any], days: dict[str, Any]) -> None:
    for key in set(long) | set(days):
        if key != "timeseries":
            assert long[key] == days[key], key
    by_month: Counter[str] = Counter()
    for point in days["timeseries"]:
        by_month[f"{point['time'][:7]}-01"] += point["pageviews"]
    assert {p["time"]: p["pageviews"] for p in long["timeseries"]} == {t: by_month[t] for t in by_month}


@pytest.mark.parametrize("ingest", [store_direct, store_stream])
def test_twelve_months_equal_the_sum_of_their_days(api: Api, ingest: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    site = "example.com"
    evs = events(site, SPREAD)
    ingest(evs)
    year = api.stats(site, period="12mo")
    first, last = periods.months_back(today(), 12)
    assert (year["from"], year["to"]) == (first.strftime("%Y-%m-%d"), last.strftime("%Y-%m-%d"))
    assert len(year["timeseries"]) == 12
    in_period = [e for e, _ in evs if e.ts_ms >= first.timestamp() * 1000]
    assert year["pageviews"] == sum(1 for e in in_period if e.name == "pageview") > 0
    assert year["visitors"] == 3 * len({e.ts_ms // 86_400_000 for e in in_period})
    same_as_days(year, read_days(site, first, last, monkeypatch))
    assert year["goals"][0]["events"] == sum(1 for e in in_period if e.name == "signup")
    assert {p["path"] for p in year["pages"]} <= set(PAGES) and year["sources"] and year["entry_pages"]
    # A range past 92 days that is not whole months: whole months from rollups, the edges from days.
    a, b = today() - timedelta(days=300), today() - timedelta(days=1)
    ranged = api.stats(site, **{"from": a.strftime("%Y-%m-%d"), "to": b.strftime("%Y-%m-%d")})
    same_as_days(ranged, read_days(site, a, b, monkeypatch))
    everything = api.stats(site, period="all")
    start = periods.month_start(today() - timedelta(days=max(SPREAD)))
    assert everything["from"] == start.strftime("%Y-%m-%d")
    assert everything["pageviews"] == sum(1 for e, _ in evs if e.name == "pageview")
    same_as_days(everything, read_days(site, start, periods.month_end(today()), monkeypatch))


def test_both_ingest_paths_write_the_same_month_rollups(api: Api) -> None:
    store_direct(events("direct.example", SPREAD[:6]))
    store_stream(events("stream.example", SPREAD[:6]))
    direct, streamed = (api.stats(s, period="12mo") for s in ("direct.example", "stream.example"))
    for key in direct:
        if key != "site":
            assert direct[key] == streamed[key], key


def reads(api: Api, params: dict[str, str]) -> tuple[int, int]:
    """Read calls and items read by one stats request."""
    items: list[int] = []

    def count(parsed: dict[str, Any], **_: Any) -> None:
        items.append(int(parsed.get("Count", 0)))

    events_ = store.table().meta.client.meta.events
    events_.register("after-call.dynamodb.Query", count)
    try:
        api.calls.clear()
        api.stats("example.com", **params)
    finally:
        events_.unregister("after-call.dynamodb.Query", count)
    return sum(1 for c in api.calls if c in ("Query", "GetItem", "BatchGetItem", "Scan")), sum(items)


def test_twelve_months_read_no_more_than_thirty_days(api: Api) -> None:
    """The done-when of long periods: calls and items bounded by months, not days."""
    store_direct(events("example.com", list(range(32)) + SPREAD[5:], per_day=1))
    thirty = reads(api, {"period": "30d"})
    year = reads(api, {"period": "12mo"})
    assert year[0] <= thirty[0] and year[1] <= thirty[1]
    for period in ("year", "6mo", "all"):
        assert reads(api, {"period": period})[0] <= thirty[0] + 1  # all: one more, the site's first month
    store_direct(events("example.com", list(range(0, 35, 7)), per_day=5))  # more events: as many calls
    more = reads(api, {"period": "12mo"})
    assert more[0] == year[0] and more[1] <= reads(api, {"period": "30d"})[1]


@pytest.mark.parametrize("ingest", [store_direct, store_stream])
def test_month_panels_are_capped_as_a_days_are(api: Api, ingest: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each day admits its own 3 pages; the month admits 3 over all its days, the rest is (other)."""
    monkeypatch.setenv("LIVEINSIGHT_CAPS", json.dumps({"pages": 3}))
    caps.reset_for_tests()
    month = periods.month_start(today(), -2)
    back = [(today() - month).days - d for d in range(6)]  # six days of the same past month
    pages = [f"/p{i}" for i in range(30)]
    evs = events("example.com", back, per_day=4, pages=pages)
    ingest(evs)
    rows = {i["sk"]["S"] for i in api.items(f"C#example.com#{month.strftime('%Y-%m')}#s") if
            i["sk"]["S"].startswith("page#")}
    assert len(rows) <= 4 and "page#(other)" in rows
    day_rows = {i["sk"]["S"] for i in api.items("C#example.com#") if i["sk"]["S"].startswith("page#")
                and len(i["pk"]["S"].split("#")[2]) == 10}
    assert len(day_rows) > 4  # the days keep more than the month
    long = api.stats("example.com", period="12mo")
    assert sum(p["pageviews"] for p in long["pages"]) == sum(1 for e, _ in evs if e.name == "pageview")


def test_long_period_errors(api: Api) -> None:
    status, body, _ = api.get(stats_api.handler, site="example.com", period="decade")
    assert status == 400 and "12mo" in body["error"] and "all" in body["error"]
    status, body, _ = api.get(stats_api.handler, site="example.com", **{"from": "2000-01-01", "to": "2026-01-01"})
    assert status == 400 and body["error"].startswith("from/to: at most 3660 days")


@pytest.mark.parametrize("ingest", [store_direct, store_stream])
def test_a_month_keeps_the_day_s_currency_cap(api: Api, ingest: Any) -> None:
    """Each day may admit 5 revenue currencies; the month admits 5 over all its days: a currency flood
    spread over a month leaves its revenue rows bounded for long periods."""
    caps.reset_for_tests()
    month = periods.month_start(today(), -2)
    codes = ["EUR", "USD", "GBP", "JPY", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK", "AUD", "CAD", "HUF", "RON"]
    evs = []
    for d in range(4):  # four days of a past month, each with its own currencies after the first two
        noon = int((month + timedelta(days=d)).timestamp() * 1000) + 12 * 3600 * 1000
        for k, code in enumerate(codes[:2] + codes[2 + 3 * d:5 + 3 * d]):
            evs.append((Event("Purchase", "https://example.com/", "/", "example.com", "", {}, noon + k, True,
                              {"amount": Decimal("1"), "currency": code},
                              dims=breakdowns.derive("https://example.com/", None, {}, UA, "example.com")),
                        hashlib.sha256(f"{d}|{k}".encode()).hexdigest()[:20]))
    ingest(evs)
    rows = {i["sk"]["S"] for i in api.items(f"C#example.com#{month.strftime('%Y-%m')}#s") if
            i["sk"]["S"].startswith("rev#")}
    assert len(rows) == caps.CURRENCY_CAP  # 14 currencies over the month's days
    day_rows = {i["sk"]["S"] for i in api.items("C#example.com#") if i["sk"]["S"].startswith("rev#")
                and len(i["pk"]["S"].split("#")[2]) == 10}
    assert len(day_rows) > caps.CURRENCY_CAP  # each day kept its own 5
    long = api.stats("example.com", period="12mo")
    purchase = {g["goal"]: g for g in long["goals"]}["Purchase"]
    assert purchase["events"] == len(evs)
    assert len(purchase["revenue"]) == caps.CURRENCY_CAP
