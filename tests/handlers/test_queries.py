"""realtime-api and stats-api: exact counts, query cost flat in stored events, input errors."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import realtime_api
import stats_api
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.validate import valid_site
from tests.handlers.conftest import Api

PAGES = ["/", "/pricing", "/docs", "/blog/launch", "/about"]


def traffic(api: Api, events: int, visitors: int, batch: int = 100) -> None:
    now = int(time.time() * 1000)
    per_visitor: dict[int, list[dict[str, Any]]] = {v: [] for v in range(visitors)}
    for i in range(events):
        v = i % visitors
        per_visitor[v].append({"name": "pageview", "url": f"https://example.com{PAGES[(i // visitors) % len(PAGES)]}",
                               "domain": "example.com",
                               # spread over the last minute; distinct, as an event's own ts makes it unique
                               "ts": now - (i % 60) * 1000 - (i // 60) % 1000,
                               "referrer": "https://news.example.org/item" if v % 5 == 0 else ""})
    for v, evs in per_visitor.items():
        for i in range(0, len(evs), batch):
            status, body, _ = api.post(evs[i:i + batch], ip=f"198.51.100.{v}", ua=f"Mozilla/5.0 agent-{v}")
            assert status == 202 and body["accepted"] == len(evs[i:i + batch])


def test_1000_events_from_50_visitors_are_counted_exactly(api: Api) -> None:
    traffic(api, 1000, 50, batch=7)
    now = api.realtime("example.com")
    assert now["active_visitors"] == 50
    assert sum(m["pageviews"] for m in now["pageviews_per_minute"]) == 1000
    assert len(now["pageviews_per_minute"]) == 30
    assert {p["path"]: p["visitors"] for p in now["top_pages"]} == {p: 50 for p in PAGES}
    day = api.stats("example.com", period="day")
    assert day["visitors"] == 50 and day["pageviews"] == 1000
    assert {p["path"]: p["pageviews"] for p in day["top_pages"]} == {p: 200 for p in PAGES}
    assert day["top_referrers"] == [{"referrer": "news.example.org", "pageviews": 200}]
    assert len(day["timeseries"]) == 24 and sum(t["pageviews"] for t in day["timeseries"]) == 1000
    assert sum(t["visitors"] for t in day["timeseries"]) >= 50
    week = api.stats("example.com", period="7d")
    assert week["visitors"] == 50 and week["pageviews"] == 1000 and len(week["timeseries"]) == 7


def test_a_site_with_no_data_answers_zeros(api: Api) -> None:
    assert api.realtime("empty.example")["active_visitors"] == 0
    s = api.stats("empty.example", period="30d")
    assert (s["visitors"], s["pageviews"], s["top_pages"], len(s["timeseries"])) == (0, 0, [], 30)


def calls_for(api: Api, fn: Any) -> int:
    api.calls.clear()
    fn()
    return sum(1 for c in api.calls if c in ("Query", "GetItem", "BatchGetItem", "Scan"))


def test_query_cost_is_flat_in_the_number_of_stored_events(api: Api) -> None:
    traffic(api, 100, 10)
    small = (calls_for(api, lambda: api.realtime("example.com")),
             calls_for(api, lambda: api.stats("example.com", period="7d")))
    traffic(api, 9900, 10)
    assert api.stats("example.com", period="day")["pageviews"] == 10_000
    large = (calls_for(api, lambda: api.realtime("example.com")),
             calls_for(api, lambda: api.stats("example.com", period="7d")))
    assert small == large
    assert small[0] > 0 and small[1] > 0


@pytest.mark.parametrize(("fn", "params", "message"), [
    (realtime_api.handler, {}, "site: required"),
    (realtime_api.handler, {"site": "Not A Host"}, "site: required"),
    (stats_api.handler, {}, "site: required"),
    (stats_api.handler, {"site": "example.com", "period": "decade"}, "period: one of day, 7d, 30d, 6mo, 12mo, year"),
    (stats_api.handler, {"site": "example.com", "from": "2026-01-01"}, "from and to: both required"),
    (stats_api.handler, {"site": "example.com", "from": "2026-02-01", "to": "2026-01-01"}, "from: must not be after"),
    (stats_api.handler, {"site": "example.com", "from": "2015-01-01", "to": "2025-12-31"}, "from/to: at most 3660"),
])
def test_query_errors_are_400_with_cors(api: Api, fn: Any, params: dict[str, str], message: str) -> None:
    status, body, headers = api.get(fn, **params)
    assert status == 400 and body["error"].startswith(message)
    assert headers["Access-Control-Allow-Origin"] == "*"


def test_from_to_range(api: Api) -> None:
    traffic(api, 10, 2)
    today = datetime.now(UTC).date()
    s = api.stats("example.com", **{"from": str(today - timedelta(days=2)), "to": str(today)})
    assert s["from"] == str(today - timedelta(days=2)) and len(s["timeseries"]) == 3
    assert s["timeseries"][-1]["pageviews"] == 10


# Numbers boto3 refuses as they are (floats, infinities, integers over 38 digits), lone surrogates
# and strings over DynamoDB's key sizes, beside ordinary JSON.
numbers = (st.integers() | st.integers(min_value=10 ** 37, max_value=10 ** 60) | st.floats()
           | st.sampled_from([9.99, 1e308, 1e-300, float("inf"), -0.0]))
strings = (st.text() | st.text(st.characters(categories=["Cs", "Lu", "Nd"]), max_size=5)
           | st.text(st.sampled_from("aé/€-"), min_size=300, max_size=1500))
json_values = st.recursive(st.none() | st.booleans() | numbers | strings,
                           lambda children: st.lists(children, max_size=4) | st.dictionaries(strings, children,
                                                                                             max_size=4),
                           max_leaves=12)
paths = st.text(st.sampled_from("ab/é%"), max_size=1200).map(lambda p: f"https://example.com/{p}")
event_like = st.fixed_dictionaries({}, optional={
    "name": json_values | st.sampled_from(["pageview", "signup", "engagement"]),
    "url": json_values | st.just("https://example.com/x") | paths,
    "domain": json_values | st.just("example.com"),
    "referrer": json_values | st.text(st.sampled_from("r."), min_size=1, max_size=1100).map(lambda h: f"https://{h}/"),
    "props": json_values | st.dictionaries(st.text(max_size=5), numbers | strings, max_size=3),
    "ts": json_values})
examples = iter(range(10 ** 9))


def _own_site(value: Any, site: str) -> Any:
    """The example's events on a site of their own, so its stored items can be counted alone."""
    if isinstance(value, list):
        return [_own_site(v, site) for v in value]
    if isinstance(value, dict):
        return {k: (site if k in ("domain", "d") and valid_site(v) else v) for k, v in value.items()}
    return value


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                    HealthCheck.too_slow])
@given(body=st.one_of(json_values, event_like, st.lists(event_like | json_values, max_size=8)))
def test_arbitrary_json_never_5xx_and_every_event_is_accounted_for(api: Api, body: Any) -> None:
    site = f"h{next(examples)}.example"
    body = _own_site(body, site)
    status, answer, _ = api.post(body)
    assert status < 500, answer
    submitted = len(body) if isinstance(body, list) else 1
    if status == 202:
        assert answer["accepted"] + len(answer["rejected"]) + answer["dropped"] == submitted
    elif status == 400 and "rejected" in answer:
        assert len(answer["rejected"]) == submitted
    accepted = answer.get("accepted", 0) if status == 202 else 0
    stored = [i for i in api.items(f"EV#{site}#") if "guard" not in i]
    assert len(stored) == accepted  # every accepted event is stored, once


def test_breakdowns_compare_and_csv_read_only_the_window(api: Api) -> None:
    """The new fields come from the same day partitions: compare reads the previous window once more,
    a CSV panel the same as the JSON answer, and neither grows with stored events."""
    traffic(api, 100, 10)
    plain = calls_for(api, lambda: api.stats("example.com", period="7d"))
    compare = calls_for(api, lambda: api.stats("example.com", period="7d", compare="previous_period"))
    as_csv = calls_for(api, lambda: stats_api.handler(
        {"queryStringParameters": {"site": "example.com", "period": "7d", "format": "csv", "panel": "pages"}}, None))
    assert compare == 2 * plain and as_csv == plain
    traffic(api, 2000, 10)
    week = api.stats("example.com", period="7d")
    assert sum(s["pageviews"] for s in week["sources"]) == 2100
    assert {p["path"]: p["visitors"] for p in week["pages"]} == {p: 10 for p in PAGES}
    assert calls_for(api, lambda: api.stats("example.com", period="7d", compare="previous_period")) == compare
