"""The analytics storage in the stack's one DynamoDB table (design: docs/storage.md).

Keys (``S`` = counter shards, ``k`` = a shard):

* ``EV#{site}#{day}#s{k}`` / ``{ts}#{id}``: raw events, expiring after the spec's TTL;
* ``C#{site}#{day}#s{k}`` / ``day``, ``h{HH}``, ``page#{path}``, ``ref#{host}``: the day's counters;
* ``M#{site}#{day}#s{k}`` / ``m{HHMM}``: pageviews per minute;
* ``V#{site}#{day}#s{k}`` / ``d#{visitor}``, ``h{HH}#{visitor}``: distinct-visitor markers (conditional puts);
* ``A#{site}#{minute}#s{k}`` / ``{visitor}#{path}``: who was on which page in that minute, for 1 hour
  (the stream path's aggregator writes one item per batch instead, listing them in ``vp``);
* ``B#{stream}#{shard}`` / ``{sequence}``: the stream path's batches: raw events, ids, counter increments.

Hot counters are write-sharded: a write goes to a random shard, a read sums all shards. A marker's
shard is fixed by the visitor's hash, so its conditional put still deduplicates. The events of one
request are aggregated before anything is written. A read touches a number of partitions fixed by
the time window and ``S``, never by how many events are stored.
"""

from __future__ import annotations

import os
import random
import secrets
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

SALT_PK = "SALT"
_table: Any = None
_seen: dict[str, None] = {}  # markers this container has written (bounded, insertion-ordered)
_SEEN_MAX = 50_000


def shards() -> int:
    return max(1, int(os.environ.get("LIVEINSIGHT_COUNTER_SHARDS", "4")))


def table() -> Any:
    """The table, created once per container, on first use (no AWS client at import time)."""
    global _table
    if _table is None:
        import boto3

        _table = boto3.resource("dynamodb").Table(os.environ["LIVEINSIGHT_TABLE"])
    return _table


def reset_for_tests() -> None:
    global _table
    _table = None
    _seen.clear()


def expiry(days: float = 0, hours: float = 0) -> int:
    return int(time.time() + days * 86400 + hours * 3600)


def day_of(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, UTC).strftime("%Y-%m-%d")


def _stamp(ts_ms: int) -> datetime:
    return datetime.fromtimestamp(ts_ms / 1000, UTC)


def _marker_shard(visitor: str) -> int:
    return int(visitor[:8], 16) % shards()


def _remember(key: str) -> bool:
    """True when this container already wrote the marker ``key``."""
    if key in _seen:
        return True
    if len(_seen) >= _SEEN_MAX:
        _seen.pop(next(iter(_seen)))
    _seen[key] = None
    return False


def _put_marker(t: Any, pk: str, sk: str, ttl: int) -> bool:
    """A conditional put; True when the marker is new (the visitor was not counted yet)."""
    if _remember(f"{pk}|{sk}"):
        return False
    try:
        t.put_item(Item={"pk": pk, "sk": sk, "expires_at": ttl}, ConditionExpression="attribute_not_exists(pk)")
        return True
    except t.meta.client.exceptions.ConditionalCheckFailedException:
        return False


def store_events(site_events: list[tuple[Any, str]], event_ttl_days: int) -> None:
    """Store valid events (each with its visitor id): raw items, markers, then aggregated counters."""
    t = table()
    counters: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    raw_ttl = expiry(days=event_ttl_days)
    marker_ttl = expiry(days=2)
    with t.batch_writer() as batch:  # chunks of 25, unprocessed items sent again
        for ev, visitor in site_events:
            at = _stamp(ev.ts_ms)
            day, hour, minute = at.strftime("%Y-%m-%d"), at.strftime("%H"), at.strftime("%H%M")
            batch.put_item(Item={
                "pk": f"EV#{ev.domain}#{day}#s{random.randrange(shards())}",
                "sk": f"{ev.ts_ms:013d}#{secrets.token_hex(4)}", "name": ev.name, "path": ev.path,
                "referrer": ev.referrer, "visitor": visitor, "props": ev.props, "expires_at": raw_ttl})
            c = f"C#{ev.domain}#{day}#s"
            if ev.name != "pageview":
                counters[(c, "day")]["events"] += 1
                continue
            counters[(c, "day")]["pv"] += 1
            counters[(c, f"h{hour}")]["pv"] += 1
            counters[(c, f"page#{ev.path}")]["pv"] += 1
            if ev.referrer:
                counters[(c, f"ref#{ev.referrer}")]["pv"] += 1
            counters[(f"M#{ev.domain}#{day}#s", f"m{minute}")]["pv"] += 1
            k = _marker_shard(visitor)
            vpk = f"V#{ev.domain}#{day}#s{k}"
            if _put_marker(t, vpk, f"d#{visitor}", marker_ttl):
                counters[(c, "day")]["uv"] += 1
            if _put_marker(t, vpk, f"h{hour}#{visitor}", marker_ttl):
                counters[(c, f"h{hour}")]["uv"] += 1
            apk = f"A#{ev.domain}#{at.strftime('%Y%m%d%H%M')}#s{k}"
            _put_marker(t, apk, f"{visitor}#{ev.path}", expiry(hours=1))
    minute_ttl = expiry(days=2)
    for (pk_prefix, sk), values in counters.items():
        pk = f"{pk_prefix}{random.randrange(shards())}"
        names = {f"#a{i}": name for i, name in enumerate(values)}
        adds = ", ".join(f"#a{i} :v{i}" for i in range(len(values)))
        vals: dict[str, Any] = {f":v{i}": n for i, n in enumerate(values.values())}
        expr = f"ADD {adds}"
        if pk_prefix.startswith("M#"):
            expr += " SET expires_at = if_not_exists(expires_at, :ttl)"
            vals[":ttl"] = minute_ttl
        t.update_item(Key={"pk": pk, "sk": sk}, UpdateExpression=expr, ExpressionAttributeNames=names,
                      ExpressionAttributeValues=vals)


def count_bots(site: str, day: str, n: int) -> None:
    table().update_item(Key={"pk": f"C#{site}#{day}#s{random.randrange(shards())}", "sk": "day"},
                        UpdateExpression="ADD bots :n", ExpressionAttributeValues={":n": n})


# -- reads ------------------------------------------------------------------------------------------
def _query_all(kwargs: dict[str, Any]) -> list[dict[str, Any]]:
    t = table()
    items: list[dict[str, Any]] = []
    while True:
        page = t.query(**kwargs)
        items += page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return items
        kwargs = {**kwargs, "ExclusiveStartKey": page["LastEvaluatedKey"]}


def _parallel_queries(queries: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    with ThreadPoolExecutor(max_workers=min(8, max(1, len(queries)))) as pool:
        return list(pool.map(_query_all, queries))


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
            queries.append({**_key_eq(f"A#{site}#{m.strftime('%Y%m%d%H%M')}#s{k}"), "ProjectionExpression": "sk, vp"})
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
            # One marker per item (direct path), or a batch's markers in ``vp`` (the aggregator).
            for entry in (e for item in items for e in (item.get("vp") or [item["sk"]])):
                visitor, _, path = entry.partition("#")
                visitors.add(visitor)
                page_visitors[path].add(visitor)
    series = [{"minute": m.strftime("%Y-%m-%dT%H:%M:00Z"), "pageviews": per_minute[m.strftime("%Y-%m-%dT%H:%M")]}
              for m in minutes]
    top = sorted(((p, len(v)) for p, v in page_visitors.items()), key=lambda x: (-x[1], x[0]))[:10]
    return {"site": site, "active_visitors": len(visitors), "pageviews_per_minute": series,
            "top_pages": [{"path": p, "visitors": n} for p, n in top]}


def stats(site: str, first: datetime, last: datetime) -> dict[str, Any]:
    days = [(first + timedelta(days=i)).strftime("%Y-%m-%d") for i in range((last - first).days + 1)]
    queries = [_key_eq(f"C#{site}#{day}#s{k}") for day in days for k in range(shards())]
    results = _parallel_queries(queries)
    per_day: dict[str, Counter[str]] = {d: Counter() for d in days}
    per_hour: dict[str, Counter[str]] = {f"{h:02d}": Counter() for h in range(24)}
    pages: Counter[str] = Counter()
    refs: Counter[str] = Counter()
    for query, items in zip(queries, results, strict=True):
        day = query["ExpressionAttributeValues"][":pk"].split("#")[2]
        for item in items:
            sk = item["sk"]
            if sk == "day":
                per_day[day]["pv"] += int(item.get("pv", 0))
                per_day[day]["uv"] += int(item.get("uv", 0))
            elif sk.startswith("h"):
                per_hour[sk[1:3]]["pv"] += int(item.get("pv", 0))
                per_hour[sk[1:3]]["uv"] += int(item.get("uv", 0))
            elif sk.startswith("page#"):
                pages[sk[5:]] += int(item.get("pv", 0))
            elif sk.startswith("ref#"):
                refs[sk[4:]] += int(item.get("pv", 0))
    if len(days) == 1:
        series = [{"time": f"{days[0]}T{h}:00:00Z", "visitors": c["uv"], "pageviews": c["pv"]}
                  for h, c in sorted(per_hour.items())]
    else:
        series = [{"time": d, "visitors": c["uv"], "pageviews": c["pv"]} for d, c in per_day.items()]

    def top(counter: Counter[str], key: str) -> list[dict[str, Any]]:
        return [{key: k, "pageviews": n} for k, n in sorted(counter.items(), key=lambda x: (-x[1], x[0]))[:10]]

    return {"site": site, "from": days[0], "to": days[-1],
            # Daily salts: a visitor is a new id each day, so a period's visitors are the days' sum.
            "visitors": sum(c["uv"] for c in per_day.values()),
            "pageviews": sum(c["pv"] for c in per_day.values()),
            "top_pages": top(pages, "path"), "top_referrers": top(refs, "referrer"), "timeseries": series}
