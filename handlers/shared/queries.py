"""The read side of the table: the realtime and statistics queries (keys: keys.py).

A read touches a number of partitions fixed by the time window and the shard count, never by how
many events are stored.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from . import breakdowns, months, on_month, periods, visits
from .db import table
from .keys import shards


def _query_all(kwargs: dict[str, Any]) -> list[dict[str, Any]]:
    t = table()
    items: list[dict[str, Any]] = []
    while True:
        page = t.query(**kwargs)
        items += page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return items
        kwargs = {**kwargs, "ExclusiveStartKey": page["LastEvaluatedKey"]}


# Queries in flight at once, over all the reads of a request (a period and the one before it share
# them): within botocore's 10 connections a client keeps, so no connection is opened and dropped.
MAX_IN_FLIGHT = 8
_pool: ThreadPoolExecutor | None = None


def _parallel_queries(queries: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    global _pool
    if _pool is None:  # one per container, kept between requests
        _pool = ThreadPoolExecutor(max_workers=MAX_IN_FLIGHT, thread_name_prefix="query")
    return list(_pool.map(_query_all, queries))


def _key_eq(pk: str) -> dict[str, Any]:
    return {"KeyConditionExpression": "pk = :pk", "ExpressionAttributeValues": {":pk": pk}}


def realtime(site: str, now: datetime) -> dict[str, Any]:
    minutes = [now - timedelta(minutes=i) for i in range(29, -1, -1)]
    days = sorted({m.strftime("%Y-%m-%d") for m in minutes})
    queries: list[dict[str, Any]] = []
    for day in days:
        in_day = [m for m in minutes if m.strftime("%Y-%m-%d") == day]
        lo, hi = f"m{in_day[0].strftime('%H%M')}", f"m{in_day[-1].strftime('%H%M')}"
        for k in range(shards()):
            queries.append({"KeyConditionExpression": "pk = :pk AND sk BETWEEN :lo AND :hi",
                            "ExpressionAttributeValues": {":pk": f"M#{site}#{day}#s{k}", ":lo": lo, ":hi": hi}})
    active_minutes = minutes[-5:]
    for m in active_minutes:
        for k in range(shards()):
            queries.append({**_key_eq(f"A#{site}#{m.strftime('%Y%m%d%H%M')}#s{k}"),
                            "ProjectionExpression": "sk, #w, vp", "ExpressionAttributeNames": {"#w": "whole"}})
    results = _parallel_queries(queries)
    per_minute: Counter[str] = Counter()
    visitors: set[str] = set()
    page_visitors: dict[str, set[str]] = defaultdict(set)
    for query, items in zip(queries, results, strict=True):
        pk = query["ExpressionAttributeValues"][":pk"]
        if pk.startswith("M#"):
            day = pk.split("#")[2]
            for item in items:
                per_minute[f"{day}T{item['sk'][1:3]}:{item['sk'][3:5]}"] += int(item.get("pv", 0))
        else:
            for item in items:
                # One marker per item (direct path), or a batch's "visitor#path" list in ``vp`` (stream path).
                for entry in item.get("vp") or [item["sk"]]:
                    visitor, _, path = str(entry).partition("#")
                    path = str(item.get("whole", path))
                    visitors.add(visitor)
                    page_visitors[path].add(visitor)
    series = [{"minute": m.strftime("%Y-%m-%dT%H:%M:00Z"), "pageviews": per_minute[m.strftime("%Y-%m-%dT%H:%M")]}
              for m in minutes]
    top = sorted(((p, len(v)) for p, v in page_visitors.items()), key=lambda x: (-x[1], x[0]))[:10]
    return {"site": site, "active_visitors": len(visitors), "pageviews_per_minute": series,
            "top_pages": [{"path": p, "visitors": n} for p, n in top]}


def first_month(site: str) -> str | None:
    """The site's first month with counters (``YYYY-MM``, months.py's list), None before any."""
    found = [str(m) for item in _query_all(_key_eq(months.months_pk(site))) for m in item.get("months", ())]
    return min(found, default=None)


def stats(site: str, first: datetime, last: datetime) -> dict[str, Any]:
    # Days, or for a long period whole months from their rollups and the days of the months in part.
    days = periods.partitions(first, last)
    queries = [_key_eq(f"C#{site}#{day}#s{k}") for day in days for k in range(shards())]
    folded = on_month.queries(site, days, shards())  # counters of days kept on their months' rows
    results = _parallel_queries(queries + folded)
    found = breakdowns.Breakdowns()
    for query, items in zip(folded, results[len(queries):], strict=True):
        month = query["ExpressionAttributeValues"][":pk"].split("#")[2]
        for row in on_month.day_items(items, [d for d in days if d.startswith(f"{month}-")]):
            found.add(row["sk"], row)
    results = results[:len(queries)]
    per_day: dict[str, Counter[str]] = {d: Counter() for d in days}
    per_hour: dict[str, Counter[str]] = {f"{h:02d}": Counter() for h in range(24)}
    pages: Counter[str] = Counter()
    refs: Counter[str] = Counter()
    visit_figures = visits.Figures()
    read = set(days)
    for query, items in zip(queries, results, strict=True):
        day = query["ExpressionAttributeValues"][":pk"].split("#")[2]
        before = periods.day_before(day)  # a visit carried over midnight counts once (visits.py)
        for stored in items:
            item = visits.net_of_carried(stored, before in read or before[:7] in read)
            if item is None:
                continue
            sk = on_month.row_key(item["sk"])
            found.add(sk, item)
            visit_figures.add(item)
            if sk == "day":
                per_day[day]["pv"] += int(item.get("pv", 0))
                per_day[day]["uv"] += int(item.get("uv", 0))
            elif sk.startswith("h"):
                per_hour[sk[1:3]]["pv"] += int(item.get("pv", 0))
                per_hour[sk[1:3]]["uv"] += int(item.get("uv", 0))
            elif sk.startswith("page#"):
                pages[str(item.get("whole", sk[5:]))] += int(item.get("pv", 0))
            elif sk.startswith("ref#"):
                refs[str(item.get("whole", sk[4:]))] += int(item.get("pv", 0))
    if first == last:
        series = [{"time": f"{days[0]}T{h}:00:00Z", "visitors": c["uv"], "pageviews": c["pv"]}
                  for h, c in sorted(per_hour.items())]
    else:
        points: dict[str, Counter[str]] = {t: Counter() for t in periods.series_points(first, last)}
        for d, c in per_day.items():
            points[d if d in points else f"{d[:7]}-01"].update(c)
        series = [{"time": t, "visitors": c["uv"], "pageviews": c["pv"]} for t, c in points.items()]

    def top(counter: Counter[str], key: str) -> list[dict[str, Any]]:
        ranked = sorted(((k, n) for k, n in counter.items() if n > 0), key=lambda x: (-x[1], x[0]))
        return [{key: k, "pageviews": n} for k, n in ranked[:10]]  # a referrer a visit left has 0

    # Daily salts: a visitor is a new id each day, so a period's visitors are the days' sum.
    visitors = sum(c["uv"] for c in per_day.values())
    return {"site": site, "from": first.strftime("%Y-%m-%d"), "to": last.strftime("%Y-%m-%d"), "visitors": visitors,
            "pageviews": sum(c["pv"] for c in per_day.values()),
            "top_pages": top(pages, "path"), "top_referrers": top(refs, "referrer"), "timeseries": series,
            **found.fields(visitors), **visit_figures.fields()}
