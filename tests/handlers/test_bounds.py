"""What one request can cost and what one stats query reads are bounded, whatever was sent
(docs/security.md, "Threat model"): a request planned past its write units, or spread over more sites
and days than a browser sends, is refused whole with a 4xx before any write; a day's stats read a
number of items the caps bound, flat however many distinct values were sent."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from shared import caps, store
from tests.handlers.conftest import Api

SITE = "bounded.example"
WRITES = ("PutItem", "UpdateItem", "BatchWriteItem", "DeleteItem", "TransactWriteItems")


class Reads:
    """Items the table returned to queries, and their distinct sort keys."""

    def __init__(self, api: Api) -> None:
        self.items = 0
        self.keys: set[str] = set()
        store.table().meta.client.meta.events.register("after-call.dynamodb.Query", self._count)

    def _count(self, parsed: dict[str, Any], **_: Any) -> None:
        self.items += len(parsed.get("Items", []))
        self.keys |= {str(i["sk"]["S"]) for i in parsed.get("Items", [])}


@pytest.fixture
def small_caps(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("LIVEINSIGHT_CAPS", json.dumps(
        {"pages": 5, "sources": 5, "utm": 5, "goals": 3, "prop_keys": 3, "prop_values": 3}))
    caps.reset_for_tests()
    yield
    caps.reset_for_tests()


def unique(n: int, tag: str, goals: bool = False, props: int = 1) -> list[dict[str, Any]]:
    now = int(time.time() * 1000)
    if goals:
        return [{"name": f"g{tag}{i}", "url": f"https://{SITE}/", "domain": SITE, "ts": now - i,
                 "props": {f"k{tag}{i}.{j}": f"v{tag}{i}.{j}" for j in range(props)}} for i in range(n)]
    return [{"name": "pageview", "domain": SITE, "ts": now - i, "referrer": f"https://r{tag}{i}.example/",
             "url": f"https://{SITE}/p{tag}{i}?utm_source=s{tag}{i}&utm_medium=m{tag}{i}&utm_campaign=c{tag}{i}"}
            for i in range(n)]


def unique_visits(n: int, tag: str) -> list[dict[str, Any]]:
    """``unique(n, tag)`` spread over the most visits a request's day may hold (one every 31 minutes
    over the last 24 hours): a visit's source, referrer and UTM values count once per visit."""
    spaced = unique(n, tag)
    return [{**e, "ts": e["ts"] - (i % 46) * 31 * 60_000} for i, e in enumerate(spaced)]


def writes(api: Api) -> int:
    return sum(1 for c in api.calls if c in WRITES)


@pytest.mark.usefixtures("small_caps")
def test_a_day_s_stats_read_a_bounded_number_of_items_whatever_was_sent(api: Api) -> None:
    reads = Reads(api)
    sent = 0
    counts = []
    for round_ in range(4):
        for j in range(5):  # small requests: within what a request may cost
            for batch in (unique(3, f"{round_}.{j}."), unique(3, f"{round_}.{j}.", goals=True)):
                status, body, _ = api.post(batch)
                assert status == 202 and body["accepted"] == 3, body
                sent += 3
        reads.items, reads.keys = 0, set()
        answer = api.stats(SITE)
        counts.append(len(reads.keys))
        assert answer["pageviews"] + sum(g["events"] for g in answer["goals"]) == sent
    assert counts[1] == counts[2] == counts[3], counts  # no new counter once the caps are full
    assert counts[-1] <= caps.counter_bound() and reads.items <= caps.counter_bound() * store.shards()


def test_a_request_spread_over_more_sites_and_days_is_refused_whole(api: Api) -> None:
    api.calls.clear()
    now = int(time.time() * 1000)
    spread = [{"name": "pageview", "url": f"https://s{i}.example/", "domain": f"s{i}.example", "ts": now}
              for i in range(3)]
    status, body, _ = api.post(spread)
    assert status == 400 and "sites and days in one request" in body["error"]
    assert writes(api) == 0


@pytest.mark.parametrize("shape", ["unique visits", "unique goals", "maximum props"])
def test_a_request_past_its_write_units_is_refused_whole(api: Api, shape: str) -> None:
    now = int(time.time() * 1000)
    batch = {"unique visits": unique_visits(100, "u"), "unique goals": unique(100, "g", goals=True, props=10),
             "maximum props": [{"name": "big", "url": f"https://{SITE}/", "domain": SITE, "ts": now,
                                "props": {f"k{j}": "v" * 1900 for j in range(30)}}]}[shape]
    api.calls.clear()
    status, body, _ = api.post(batch)
    assert status == 413 and "write units" in body["error"], body
    assert writes(api) == 0 and api.stats(SITE)["pageviews"] == 0


def test_an_ordinary_batch_fits_and_costs_what_was_planned(api: Api) -> None:
    now = int(time.time() * 1000)
    pages = ["/", "/pricing", "/docs", "/blog", "/about"]
    batch = [{"name": "pageview", "url": f"https://{SITE}{pages[i % 5]}", "domain": SITE, "ts": now - i}
             for i in range(100)]
    status, body, _ = api.post(batch)
    assert status == 202 and body["accepted"] == 100


@pytest.mark.usefixtures("small_caps")
def test_a_page_s_entries_and_exits_ride_on_its_page_counter(api: Api) -> None:
    """A page is one counter item per shard, whatever visits enter or leave on it: the stats read at
    most ``pages + 1`` page keys after a flood of distinct pages, and entry and exit pages stay exact."""
    reads = Reads(api)
    for v in range(10):  # ten visitors, each entering and leaving on pages never seen before
        status, body, _ = api.post(unique(3, f"e{v}."), ip=f"198.51.100.{v}")
        assert status == 202 and body["accepted"] == 3, body
    answer = api.stats(SITE)
    about_pages = {k for k in reads.keys if k.split("#")[0] in ("page", "entry", "exit")}
    assert len(about_pages) <= 5 + 1, sorted(about_pages)
    assert sum(p["visits"] for p in answer["entry_pages"]) == 10
    assert sum(p["visits"] for p in answer["exit_pages"]) == 10
    assert answer["pageviews"] == 30 and answer["visits"] == 10


def test_a_page_view_that_starts_a_visit_writes_one_page_counter(api: Api) -> None:
    status, _, _ = api.post({"name": "pageview", "url": f"https://{SITE}/landing", "domain": SITE})
    assert status == 202
    day = time.strftime("%Y-%m-%d", time.gmtime())
    keys = [i["sk"]["S"] for i in api.items(f"C#{SITE}#{day}#s")]
    assert [k for k in keys if "/landing" in k] == ["page#/landing"], keys


class Units:
    """Write units as bench/handlers.py counts them: 2 per item of a transaction, and one per started
    KB of an item a plain put or update writes (an update's item sized from the item it returns)."""

    def __init__(self) -> None:
        self.units = 0
        hooks = store.table().meta.client.meta.events
        hooks.register("before-parameter-build.dynamodb.TransactWriteItems", self._transaction)
        hooks.register("after-call.dynamodb.UpdateItem", self._update)
        hooks.register("after-call.dynamodb.PutItem", self._put)

    def _transaction(self, params: dict[str, Any], **_: Any) -> None:
        self.units += 2 * len(params["TransactItems"])

    def _update(self, parsed: dict[str, Any], **_: Any) -> None:
        self.units += max(1, -(-len(json.dumps(parsed.get("Attributes", {}), default=lambda b: "x" * len(b))) // 1024))

    def _put(self, parsed: dict[str, Any], **_: Any) -> None:
        self.units += 1


def test_the_worst_single_event_stays_within_the_documented_maximum(api: Api) -> None:
    """One event with new values in every dimension, from a new visitor (a page view, or a goal with
    10 props keys and values) is accepted, and costs at most what docs/security.md says a request may:
    ``2 x (60 + 4 x events)`` in its transaction, plus one update of each panel's caps set (the day's
    and the month's) of at most a few KB. How it compares with ordinary page views is measured by
    bench/abuse.py (docs/BENCHMARKS.md, "Abuse")."""
    meter = Units()
    caps_updates: list[int] = []
    hooks = store.table().meta.client.meta.events
    hooks.register("before-parameter-build.dynamodb.UpdateItem",
                   lambda params, **_: caps_updates.append(1) if params["Key"]["pk"].startswith("C#caps#") else None)
    panels = 9  # page, ref, source, utm_medium, utm_campaign, goals, browser, os, and the month's props set
    for r in range(40):
        ev = unique(1, f"w{r}.", goals=r % 2 == 1, props=10)[0]
        before, updates = meter.units, len(caps_updates)
        status, body, _ = api.post(ev, ip=f"198.51.100.{r}")
        assert status == 202 and body["accepted"] == 1, body
        assert len(caps_updates) - updates <= 2 * panels
        assert meter.units - before <= 2 * store.max_request_units(1) + 5 * (len(caps_updates) - updates), r


def test_a_request_sent_again_to_the_same_container_writes_nothing(api: Api) -> None:
    """A replay (or a browser's retry) of a stored request: its events are known stored, so no
    transaction is sent, and none is cancelled and billed; it still counts once."""
    body = unique(10, "r.") + unique(3, "rg.", goals=True, props=2)
    body += [{"name": "pageview", "url": f"https://{SITE}/no-ts", "domain": SITE}]  # keyed by its 30 s window
    status, first, _ = api.post(body)
    assert status == 202 and first["accepted"] == 14, first
    api.calls.clear()
    status, again, _ = api.post(body)
    assert status == 202 and again["accepted"] == 14, again
    assert writes(api) == 0, api.calls
    answer = api.stats(SITE)
    assert answer["pageviews"] == 11 and sum(g["events"] for g in answer["goals"]) == 3
