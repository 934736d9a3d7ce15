"""Cardinality caps per site and day: past a cap a new value counts under ``(other)``; headline
totals stay exact; the day's counter items stay bounded whatever was sent (docs/analytics.md, "Caps")."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest

from shared import caps
from tests.handlers.conftest import Api
from tests.handlers.test_stream_path import Path, path  # noqa: F401  (the stream path's fixture)

SITE = "capped.example"
CAPS = {"pages": 3, "sources": 2, "utm": 2, "goals": 2, "prop_keys": 2, "prop_values": 2}


@pytest.fixture(autouse=True)
def small_caps(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("LIVEINSIGHT_CAPS", json.dumps(CAPS))
    caps.reset_for_tests()
    yield
    caps.reset_for_tests()


def hostile(n: int, tag: str = "") -> list[dict[str, Any]]:
    """``n`` page views and ``n`` goals, each with values never seen before in every dimension."""
    now = int(time.time() * 1000)
    out: list[dict[str, Any]] = []
    for i in range(n):
        q = f"?utm_source=s{tag}{i}&utm_medium=m{tag}{i}&utm_campaign=c{tag}{i}"
        out.append({"name": "pageview", "url": f"https://{SITE}/p{tag}{i}{q}", "domain": SITE, "ts": now - i,
                    "referrer": f"https://r{tag}{i}.example/x"})
        out.append({"name": f"goal{tag}{i}", "url": f"https://{SITE}/", "domain": SITE, "ts": now - i,
                    "props": {f"k{tag}{i}": f"v{tag}{i}", "plan": quote(f"v{tag}{i}")}})
    return out


def rows(answer: dict[str, Any], field: str, label: str) -> dict[str, Any]:
    return {r[label]: r for r in answer[field]}


def check(answer: dict[str, Any], n: int) -> None:
    assert answer["pageviews"] == n
    assert sum(g["events"] for g in answer["goals"]) == n
    pages = rows(answer, "pages", "path")
    assert len(pages) == CAPS["pages"] + 1 and pages["(other)"]["pageviews"] == n - CAPS["pages"]
    assert sum(p["pageviews"] for p in answer["pages"]) == n
    refs = {r["referrer"]: r["pageviews"] for r in answer["top_referrers"]}
    assert len(refs) == CAPS["sources"] + 1 and sum(refs.values()) == n
    for field in ("utm_mediums", "utm_campaigns"):
        assert len(answer[field]) == CAPS["utm"] + 1 and "(other)" in rows(answer, field, "value")
    sources = rows(answer, "sources", "source")
    assert len(sources) <= CAPS["sources"] + 1 and "(other)" in sources
    goals = rows(answer, "goals", "goal")
    assert len(goals) == CAPS["goals"] + 1 and goals["(other)"]["events"] == n - CAPS["goals"]
    keys = {k for g in answer["goals"] for k in g["props"]}
    assert len(keys - {"(other)"}) <= CAPS["prop_keys"]
    for g in answer["goals"]:
        for values in g["props"].values():
            assert len([v for v in values if v["value"] != "(other)"]) <= CAPS["prop_values"]
    assert len(answer["entry_pages"]) <= CAPS["pages"] + 1


def counter_keys(api: Api) -> set[str]:
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    return {i["sk"]["S"] for i in api.items(f"C#{SITE}#{day}#s")}


def ip(k: int) -> str:
    """The address of ``hostile``'s ``k``-th event: each page view and goal pair is a visitor of its
    own, so each visit brings its own source, referrer and UTM values (they count per visit)."""
    return f"198.51.{k // 2 // 250}.{k // 2 % 250 + 1}"


def post_each(api: Api, events: list[dict[str, Any]]) -> None:
    """One event per request: new values in every dimension cost more than a batch of them may."""
    for k, ev in enumerate(events):
        status, body, _ = api.post(ev, ip=ip(k))
        assert status == 202 and body["accepted"] == 1, body


def test_past_each_cap_new_values_count_under_other_and_totals_stay_exact(api: Api) -> None:
    post_each(api, hostile(40))
    check(api.stats(SITE), 40)


def test_the_day_s_counter_items_are_bounded_by_the_caps(api: Api) -> None:
    post_each(api, hostile(10, tag="a"))
    post_each(api, hostile(10, tag="b"))  # the caps are full: entry and exit pages reach (other) too
    before = counter_keys(api)
    post_each(api, hostile(10, tag="c"))
    post_each(api, hostile(10, tag="d"))
    assert counter_keys(api) == before
    assert api.stats(SITE)["pageviews"] == 40


def test_a_value_admitted_stays_admitted_and_a_retry_counts_once(api: Api) -> None:
    first = hostile(5, tag="x")
    post_each(api, first)
    kept = set(rows(api.stats(SITE), "pages", "path"))
    assert len(kept) == CAPS["pages"] + 1 and all(p.startswith("/px") for p in kept - {"(other)"})
    post_each(api, first)  # the same requests again: nothing counts twice
    post_each(api, hostile(5, tag="y"))
    answer = api.stats(SITE)
    assert answer["pageviews"] == 10 and set(rows(answer, "pages", "path")) == kept


def test_the_stream_path_caps_as_the_direct_path(path: Path) -> None:  # noqa: F811
    for k, ev in enumerate(hostile(8)):
        status, _, _ = path.api.post(ev, ip=ip(k))
        assert status == 202
    path.poller.drain()
    check(path.api.stats(SITE), 8)


def test_a_visit_begun_by_a_custom_event_has_its_source_referrer_and_utm_capped(api: Api) -> None:
    """A visit's source, referrer and UTM values are its entry's, and a custom event can be the entry
    (cache_store.ex ``new_session_from_event``): its values are capped as a page view's are."""
    now = int(time.time() * 1000)
    for i in range(8):
        status, _, _ = api.post({"name": "signup", "domain": SITE, "ts": now - i,
                                 "url": f"https://{SITE}/?utm_source=g{i}&utm_medium=gm{i}&utm_campaign=gc{i}",
                                 "referrer": f"https://g{i}.example/"}, ip=f"198.51.100.{i + 1}")
        assert status == 202
    answer = api.stats(SITE)
    sources = rows(answer, "sources", "source")
    assert len(sources) == CAPS["sources"] + 1 and sources["(other)"]["visitors"] == 8 - CAPS["sources"]
    for field in ("utm_mediums", "utm_campaigns"):
        assert len(answer[field]) == CAPS["utm"] + 1 and "(other)" in rows(answer, field, "value")


def test_values_of_a_props_key_past_its_cap_keep_no_set_of_their_own(api: Api) -> None:
    """Each admitted props key has a set of admitted values; a goal or a key past its cap counts
    under ``(other)`` and writes no set, so the day's caps items stay bounded by the caps too."""
    post_each(api, hostile(12, tag="s"))
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    items = {i["sk"]["S"]: i for i in api.items(f"C#caps#{SITE}#{day}")}
    values = [a for a in items[caps.GOALS] if a.startswith("v")]  # a set of values per admitted key
    assert 0 < len(values) <= CAPS["prop_keys"], sorted(items[caps.GOALS])
    assert not [sk for sk in items if sk.startswith("pval#")], sorted(items)


def test_a_spec_without_caps_deploys_the_documented_defaults() -> None:
    """The functions get the spec's caps; a spec that sets none must give them ``caps.DEFAULTS``, the
    caps docs/analytics.md documents and the read and write bounds are measured with."""
    from pathlib import Path as FsPath

    from liveinsight_infra.naming import caps_variable
    from liveinsight_infra.spec import load_spec

    spec = load_spec(FsPath(__file__).resolve().parents[2] / "specs" / "dev.yaml")
    assert json.loads(caps_variable(spec.spec)) == caps.DEFAULTS


def test_with_large_caps_each_props_key_keeps_its_values_apart(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past ``GROUPED_VALUES`` props values the goals item would grow to tens of KB, each update billed
    by its size: each key's values then keep an item of their own, and count as before."""
    monkeypatch.setenv("LIVEINSIGHT_CAPS", json.dumps({**CAPS, "prop_keys": 50, "prop_values": 100}))
    caps.reset_for_tests()
    post_each(api, hostile(3, tag="L"))
    answer = api.stats(SITE)
    goals = rows(answer, "goals", "goal")
    assert goals["goalL0"]["props"]["kL0"] == [{"value": "vL0", "events": 1}]
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    items = {i["sk"]["S"]: i for i in api.items(f"C#caps#{SITE}#{day}")}
    assert not [a for a in items[caps.GOALS] if a.startswith("v")]
    assert len([sk for sk in items if sk.startswith("pval#")]) == 4  # 2 goals admitted, 2 keys each


def test_direct_none_is_never_capped_and_takes_no_place_in_the_sources_cap(api: Api) -> None:
    """``Direct / None`` is what a visit without a source counts under, not a value from the request:
    it costs no caps update, stays itself after the sources cap is full, and leaves the cap's places
    to the sources the requests bring."""
    now = int(time.time() * 1000)
    status, _, _ = api.post({"name": "signup", "url": f"https://{SITE}/", "domain": SITE, "ts": now}, ip="192.0.2.1")
    assert status == 202
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    assert "source" not in {i["sk"]["S"] for i in api.items(f"C#caps#{SITE}#{day}")}  # no caps update for it
    for i in range(CAPS["sources"] + 1):
        status, _, _ = api.post({"name": "pageview", "url": f"https://{SITE}/?utm_source=s{i}", "domain": SITE,
                                 "ts": now - i - 1}, ip=f"192.0.2.{i + 10}")
        assert status == 202
    status, _, _ = api.post({"name": "pageview", "url": f"https://{SITE}/", "domain": SITE, "ts": now - 50},
                            ip="192.0.2.99")
    sources = rows(api.stats(SITE), "sources", "source")
    assert set(sources) == {"Direct / None", "s0", "s1", "(other)"}, sources
    assert sources["Direct / None"]["visitors"] == 2 and sources["(other)"]["visitors"] == 1


def buy(currency: str, amount: str = "2.50", goal: str = "Purchase") -> dict[str, Any]:
    return {"name": goal, "url": f"https://{SITE}/checkout", "domain": SITE, "ts": int(time.time() * 1000),
            "revenue": {"amount": amount, "currency": currency}}


def test_revenue_currencies_are_capped_and_past_the_cap_no_amount_is_summed(api: Api) -> None:
    codes = ["EUR", "USD", "GBP", "JPY", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK", "AUD", "CAD"]
    for k, code in enumerate(codes):
        status, body, _ = api.post(buy(code), ip=ip(2 * k))
        assert status == 202 and body["accepted"] == 1, body
    status, body, _ = api.post(buy("EUR", "1.50"), ip=ip(100))  # an admitted currency keeps counting
    assert status == 202
    answer = api.stats(SITE)
    purchase = rows(answer, "goals", "goal")["Purchase"]
    assert purchase["events"] == len(codes) + 1  # every conversion counts
    revenue = {r["currency"]: r for r in purchase["revenue"]}
    assert set(revenue) == set(codes[:caps.CURRENCY_CAP])
    assert revenue["EUR"]["total"] == "4.00"
    rev_rows = {k for k in counter_keys(api) if k.startswith("rev#")}
    assert len(rev_rows) == caps.CURRENCY_CAP


def test_a_currency_flood_leaves_the_day_s_items_bounded(api: Api) -> None:
    for k in range(3):
        api.post([buy(c, goal=f"g{k}") for c in ("EUR", "USD", "GBP", "JPY", "CHF", "SEK", "NOK", "DKK")], ip=ip(k))
    before = counter_keys(api)
    for k in range(3, 6):
        api.post([buy(c, goal=f"g{k % 2}") for c in ("PLN", "CZK", "AUD", "CAD", "HUF", "RON")], ip=ip(k))
    assert {k for k in counter_keys(api) if k.startswith("rev#")} == {k for k in before if k.startswith("rev#")}
