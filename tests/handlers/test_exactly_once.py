"""event-collector: every valid event is counted once, whatever fails and however often it is retried.

The fault sweep fails each DynamoDB write of a request in turn, once before the call reaches the
table (nothing applied) and once after (applied, the answer lost), then retries the same request.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

import pytest
import realtime_api
from botocore.exceptions import ConnectionClosedError

from shared import plan, store, visitors
from tests.handlers.conftest import Api

WRITES = {"PutItem", "UpdateItem", "BatchWriteItem", "TransactWriteItems", "DeleteItem"}
UA = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"


class Faults:
    """Fails the n-th DynamoDB write from now on: before it is sent, or after it was applied."""

    def __init__(self) -> None:
        self.writes = 0
        self.target: int | None = None
        self.mode = "before"
        events = store.table().meta.client.meta.events
        events.register("before-call.dynamodb.*", self._before)
        events.register("after-call.dynamodb.*", self._after)

    def arm(self, target: int | None, mode: str = "before") -> None:
        self.writes, self.target, self.mode = 0, target, mode

    def _before(self, model: Any, **_: Any) -> None:
        if model.name in WRITES:
            self.writes += 1
            if self.mode == "before" and self.writes == self.target:
                raise ConnectionClosedError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")

    def _after(self, model: Any, **_: Any) -> None:
        if model.name in WRITES and self.mode == "after" and self.writes == self.target:
            self.target = None
            raise ConnectionClosedError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")


def request(site: str) -> list[dict[str, Any]]:
    base = f"https://{site}"
    return [{"name": "pageview", "url": f"{base}/", "domain": site, "referrer": "https://news.example.org/item"},
            {"name": "pageview", "url": f"{base}/pricing", "domain": site},
            {"name": "signup", "url": f"{base}/pricing", "domain": site, "props": {"plan": "pro", "seats": 3}},
            {"name": "pageview", "url": f"{base}/docs", "domain": site, "referrer": "https://news.example.org/x"}]


def big_request(site: str) -> list[dict[str, Any]]:
    """More writes than one transaction takes, within what one request may cost (store.max_request_units)."""
    return [{"name": "pageview", "url": f"https://{site}/p/{i % 6}", "domain": site} for i in range(60)]


def counts(api: Api, site: str) -> dict[str, Any]:
    """What the table says, read straight from the items (summed over shards). The month rollups
    (``C#{site}#{YYYY-MM}#s{k}``) hold the same as the days: counted once too."""
    items = api.items(f"C#{site}#")
    months = [{**i, "sk": {"S": i["sk"]["S"].removeprefix("f#")}} for i in items
              if len(i["pk"]["S"].split("#")[2]) == 7]
    # The days' rows, and the day shares that ride on their month's f# rows (shared/on_month.py)
    days = [i for i in items if len(i["pk"]["S"].split("#")[2]) == 10] + [_day_shares(i) for i in items
                                                                         if i["sk"]["S"].startswith("f#")]
    in_days, in_months = _counters(days), _counters(months)
    assert in_months == in_days
    out, pages, refs, breakdowns = in_days
    minute = sum(int(i["pv"]["N"]) for i in api.items(f"M#{site}#"))
    now = api.realtime(site)
    return {**out, "pages": dict(pages), "refs": dict(refs), "minute": minute,
            "breakdowns": {sk: {k: n for k, n in c.items() if n} for sk, c in breakdowns.items()},
            "active": now["active_visitors"], "raw": len([i for i in api.items(f"EV#{site}#") if "guard" not in i])}


def _day_shares(item: dict[str, Any]) -> dict[str, Any]:
    """A month's ``f#`` row as its days count it: the sum of its ``{counter}{DD}`` attributes."""
    shares: Counter[str] = Counter()
    for name, value in item.items():
        if name[:-2] in ("pv", "uv", "events") and name[-2:].isdigit():
            shares[name[:-2]] += int(value["N"])
    return {"sk": {"S": item["sk"]["S"].removeprefix("f#")}, **{k: {"N": str(n)} for k, n in shares.items()}}


def _counters(items: list[dict[str, Any]]) -> tuple[Any, ...]:
    out: Counter[str] = Counter()
    pages: Counter[str] = Counter()
    refs: Counter[str] = Counter()
    breakdowns: dict[str, Counter[str]] = {}  # the breakdown counters, and the pages' visitors
    for item in items:
        sk = item["sk"]["S"]
        if sk == "day":
            for k in ("pv", "uv", "events"):
                out[k] += int(item.get(k, {"N": "0"})["N"])
        elif sk.startswith("page#"):
            pages[item.get("v", {"S": sk[5:]})["S"]] += int(item.get("pv", {"N": "0"})["N"])  # or exits only
            breakdowns.setdefault(sk, Counter())["uv"] += int(item.get("uv", {"N": "0"})["N"])
        elif sk.split("#")[0] in ("src", "dev", "br", "os", "goal", "gp"):
            for k in ("pv", "uv", "events"):
                breakdowns.setdefault(sk, Counter())[k] += int(item.get(k, {"N": "0"})["N"])
        elif sk.startswith("ref#"):
            refs[item.get("v", {"S": sk[4:]})["S"]] += int(item["pv"]["N"])
    return out, pages, refs, {sk: +c for sk, c in breakdowns.items()}


EXPECTED_SMALL = {"pv": 3, "uv": 1, "events": 1, "pages": {"/": 1, "/pricing": 1, "/docs": 1},
                  # one visit: its page views count under its entry's referrer and source
                  "refs": {"news.example.org": 3}, "minute": 3, "active": 1, "raw": 4,
                  "breakdowns": {"page#/": {"uv": 1}, "page#/pricing": {"uv": 1}, "page#/docs": {"uv": 1},
                                 "src#news.example.org": {"pv": 3, "uv": 1},
                                 "dev#desktop": {"uv": 1}, "br#Firefox": {"uv": 1},
                                 "os#Linux": {"uv": 1}, "goal#signup": {"events": 1, "uv": 1},
                                 "gp#signup#plan#pro": {"events": 1}, "gp#signup#seats#3": {"events": 1}}}
EXPECTED_BIG = {"pv": 60, "uv": 1, "events": 0, "pages": {f"/p/{i}": 10 for i in range(6)}, "refs": {},
                "minute": 60, "active": 1, "raw": 60,
                "breakdowns": {**{f"page#/p/{i}": {"uv": 1} for i in range(6)},
                               "src#Direct / None": {"pv": 60, "uv": 1},
                               **{sk: {"uv": 1} for sk in ("dev#desktop", "br#Firefox", "os#Linux")}}}


@pytest.mark.parametrize(("make", "expected"), [(request, EXPECTED_SMALL), (big_request, EXPECTED_BIG)],
                         ids=["4 events", "60 events"])
def test_a_fault_at_any_write_then_a_retry_counts_each_event_once(
        api: Api, make: Any, expected: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    import time
    frozen = (time.time() // plan.RETRY_WINDOW_S) * plan.RETRY_WINDOW_S + 1  # retries stay in one window
    monkeypatch.setattr("time.time", lambda: frozen)

    class FrozenClock(datetime):  # realtime's "now" too: its active visitors do not age while the test runs
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return datetime.fromtimestamp(frozen, tz)

    monkeypatch.setattr(realtime_api, "datetime", FrozenClock)
    faults = Faults()
    visitors._salts.clear()
    faults.arm(None)
    status, body, _ = api.post(make("clean.example"), ua=UA)
    assert status == 202 and body["accepted"] == len(make("x.example"))
    writes = faults.writes
    assert writes >= 1
    assert counts(api, "clean.example") == expected
    for mode in ("before", "after"):
        for n in range(1, writes + 1):
            site = f"s{n}-{mode}.example"
            visitors._salts.clear()
            faults.arm(n, mode)
            first, _, _ = api.post(make(site), ua=UA)
            assert first == 503, (mode, n)
            faults.arm(None)
            status, body, _ = api.post(make(site), ua=UA)
            assert status == 202 and body["accepted"] == len(make(site)), (mode, n, body)
            again, _, _ = api.post(make(site), ua=UA)  # a proxy that retries a success too
            assert again == 202
            assert counts(api, site) == expected, (mode, n)


def test_the_same_request_posted_three_times_counts_once(api: Api) -> None:
    for _ in range(3):
        assert api.post(request("r.example"), ua=UA)[0] == 202
    assert counts(api, "r.example") == EXPECTED_SMALL


def test_an_event_with_its_own_ts_is_counted_once_whenever_it_is_retried(api: Api) -> None:
    import time
    e = {"name": "pageview", "url": "https://t.example/a", "domain": "t.example", "ts": int(time.time() * 1000) - 5000}
    for _ in range(2):
        assert api.post(e, ua=UA)[0] == 202
    assert api.stats("t.example")["pageviews"] == 1


def test_identical_events_in_one_request_are_each_counted(api: Api) -> None:
    e = {"name": "pageview", "url": "https://twice.example/", "domain": "twice.example"}
    assert api.post([e, e], ua=UA)[1]["accepted"] == 2
    assert api.post([e, e], ua=UA)[1]["accepted"] == 2  # the retry of that request
    assert api.stats("twice.example")["pageviews"] == 2


def test_a_retry_in_the_next_window_is_still_recognised(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    import time as real_time
    e = {"name": "pageview", "url": "https://w.example/", "domain": "w.example"}
    start = (int(real_time.time()) // plan.RETRY_WINDOW_S) * plan.RETRY_WINDOW_S + plan.RETRY_WINDOW_S - 1
    clock = {"t": float(start)}
    monkeypatch.setattr("time.time", lambda: clock["t"])
    assert api.post(e, ua=UA)[0] == 202
    clock["t"] += 2  # the next window
    assert api.post(e, ua=UA)[0] == 202
    assert api.stats("w.example")["pageviews"] == 1
    clock["t"] += 2 * plan.RETRY_WINDOW_S  # a new page view of the same page, later
    assert api.post(e, ua=UA)[0] == 202
    assert api.stats("w.example")["pageviews"] == 2


def test_a_503_logs_the_exception_type_and_message(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    faults = Faults()
    faults.arm(1)
    assert api.post(request("log.example"), ua=UA, ip="192.0.2.55")[0] == 503
    out = capsys.readouterr().out
    import json
    line = [json.loads(x) for x in out.splitlines() if x.startswith("{")][-1]
    assert line["status"] == 503
    assert line["error"].startswith("ConnectionClosedError: Connection was closed before we received a valid")
    assert "192.0.2.55" not in out and "signup" not in out
