"""The analytics storage in the stack's one DynamoDB table (design: docs/storage.md).

Keys (``S`` = counter shards, ``k`` = a shard):

* ``EV#{site}#{day}#s{k}`` / ``{key time}#{event id}``: raw events (and retry guards), expiring
  after the spec's TTL;
* ``C#{site}#{day}#s{k}`` / ``day``, ``h{HH}``, ``page#{path}``, ``ref#{host}``, and the breakdowns'
  ``src#``, ``med#``, ``cmp#``, ``cty#``, ``dev#``, ``br#``, ``os#``, ``goal#``, ``gp#``
  (shared/breakdowns.py): the day's counters;
* ``M#{site}#{day}#s{k}`` / ``m{HHMM}``: pageviews per minute;
* ``V#{site}#{day}#s{k}`` / ``visit#{visitor}``: the visitor's current visit and the distinct
  values it was counted for today (visits.py); a session item of the earlier layout (no ``seen``)
  has marker items beside it: ``d#{visitor}``, ``h{HH}#{visitor}``, and per value ``p#``, ``s#``,
  ``um#``, ``uc#``, ``g#`` + ``{value}#{visitor}`` (conditional puts);
* ``A#{site}#{minute}#s{k}`` / ``{visitor}#{path}``: who was on which page in that minute, for 1 hour
  (the stream path's aggregator writes one item per batch instead, listing them in ``vp``);
* ``B#{stream}#{shard}`` / ``{sequence}``: the stream path's batches: raw events, ids, counter increments.

Exactly once: an event's id is derived from what it says, its raw item is a conditional put, and
its counters and its visitor's session commit in the same transaction, so a retried event is
found and skipped and a failed write leaves nothing half done. Hot counters are write-sharded: a
write goes to a random shard, a read sums all shards. A visitor's items have the shard of its hash,
so their conditional puts still deduplicate. A read touches a number of partitions fixed by the time window
and ``S``, never by how many events are stored.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import time
from collections import Counter, defaultdict
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from . import breakdowns, visits

SALT_PK = "SALT"
RETRY_WINDOW_S = 30  # an event sent without ts is recognised when it comes again within 30 to 60 s
KEY_PART_BYTES = 400  # longer paths and hosts are keyed by a prefix and a digest (sort keys: 1,024 bytes)
MAX_ACTIONS = 100  # per TransactWriteItems (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html)
CONFLICT_RETRIES = 4
_table: Any = None
_known: dict[str, None] = {}  # visitor markers known to be in the table (bounded, insertion-ordered)
_KNOWN_MAX = 50_000


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
    _known.clear()


def expiry(days: float = 0, hours: float = 0) -> int:
    return int(time.time() + days * 86400 + hours * 3600)


def day_of(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, UTC).strftime("%Y-%m-%d")


def _stamp(ts_ms: int) -> datetime:
    return datetime.fromtimestamp(ts_ms / 1000, UTC)


def _marker_shard(visitor: str) -> int:
    return int(visitor[:8], 16) % shards()


def _remember(key: str) -> None:
    """Note that the marker ``key`` is in the table (only once DynamoDB said so)."""
    if key in _known:
        return
    if len(_known) >= _KNOWN_MAX:
        _known.pop(next(iter(_known)))
    _known[key] = None


def key_part(value: str) -> tuple[str, str | None]:
    """``value`` as a key part within DynamoDB's key sizes, and the whole value when it had to be cut.

    A long value (or one holding the cut mark) becomes a readable prefix, "…" and 16 hex digits of
    its SHA-256, so two long values never share a counter; the whole value goes on the item.
    """
    raw = value.encode("utf-8")
    if len(raw) <= KEY_PART_BYTES and "\u2026" not in value:
        return value, None
    prefix = raw[:200].decode("utf-8", "ignore")
    return f"{prefix}\u2026{hashlib.sha256(raw).hexdigest()[:16]}", value


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def event_id(ev: Any, visitor: str, occurrence: int) -> str:
    """The same event from the same visitor always gets the same id: a retry writes the same item.

    ``occurrence`` tells identical events of one request apart, so each of them counts.
    """
    content = [ev.domain, visitor, ev.name, ev.url, ev.path, ev.referrer,
               sorted((k, type(v).__name__, _plain(v)) for k, v in ev.props.items()),
               {k: _plain(v) for k, v in (ev.revenue or {}).items()}, ev.engagement_ms, ev.scroll_depth,
               ev.ts_ms if ev.ts_given else None, occurrence]
    return hashlib.sha256(json.dumps(content, separators=(",", ":")).encode("utf-8")).hexdigest()[:32]


@dataclass
class _Planned:
    """One event's share of a transaction."""

    raw: dict[str, Any]
    guard: dict[str, Any] | None
    counters: list[tuple[str, str, str, str | None]] = field(default_factory=list)  # pk prefix, sk, attr, whole
    # pk, sk, counter pk prefix / sk, ttl. A marker may be listed more than once with different
    # counters (the day marker counts the visitor's country, device, …): each of them gets ``uv``
    # once, when this event creates the marker.
    markers: list[tuple[str, str, str, str, int]] = field(default_factory=list)
    active: tuple[str, str, str | None] | None = None  # pk, sk, whole path
    visit: tuple[Any, str] | None = None  # the event and its visitor, for visits.py


def _plan(ev: Any, visitor: str, occurrence: int, now_ms: int, raw_ttl: int) -> _Planned:
    eid = event_id(ev, visitor, occurrence)
    shard = int(eid[:8], 16) % shards()
    window = RETRY_WINDOW_S * 1000
    key_ms = ev.ts_ms if ev.ts_given else (now_ms // window) * window
    item: dict[str, Any] = {
        "pk": f"EV#{ev.domain}#{day_of(key_ms)}#s{shard}", "sk": f"{key_ms:013d}#{eid}", "ts": ev.ts_ms,
        "name": ev.name, "path": ev.path, "referrer": ev.referrer, "visitor": visitor, "props": ev.props,
        "expires_at": raw_ttl}
    if getattr(ev, "dims", None):
        item["dims"] = dict(ev.dims)
    for attr in ("revenue", "engagement_ms", "scroll_depth"):
        if getattr(ev, attr) is not None:
            item[attr] = getattr(ev, attr)
    guard = None
    if not ev.ts_given:  # the same event in the next window finds this item and is not counted again
        nxt = key_ms + window
        guard = {"pk": f"EV#{ev.domain}#{day_of(nxt)}#s{shard}", "sk": f"{nxt:013d}#{eid}", "guard": True,
                 "expires_at": expiry(days=1)}
    planned = _Planned(item, guard)
    at = _stamp(ev.ts_ms)
    day, hour, minute = at.strftime("%Y-%m-%d"), at.strftime("%H"), at.strftime("%H%M")
    c = f"C#{ev.domain}#{day}#s"
    k = _marker_shard(visitor)
    vpk = f"V#{ev.domain}#{day}#s{k}"
    marker_ttl = expiry(days=2)
    if ev.kind in ("pageview", "custom"):
        breakdowns.plan_visitor(planned, getattr(ev, "dims", None) or {}, visitor, c, vpk, hour, marker_ttl)
    if ev.kind == "custom":
        planned.counters.append((c, "day", "events", None))
        breakdowns.plan_goal(planned, ev.name, ev.props, visitor, c, vpk, marker_ttl)
    if ev.kind != "pageview":
        return planned
    page, whole_page = key_part(ev.path)
    planned.counters += [(c, "day", "pv", None), (c, f"h{hour}", "pv", None), (c, f"page#{page}", "pv", whole_page),
                         (f"M#{ev.domain}#{day}#s", f"m{minute}", "pv", None)]
    if ev.referrer:
        ref, whole_ref = key_part(ev.referrer)
        planned.counters.append((c, f"ref#{ref}", "pv", whole_ref))
    breakdowns.plan_pageview(planned, getattr(ev, "dims", None) or {}, visitor, c, vpk, marker_ttl, page)
    planned.active = (f"A#{ev.domain}#{at.strftime('%Y%m%d%H%M')}#s{k}", f"{visitor}#{page}", whole_page)
    return planned


def session_marker(p: _Planned, pk: str, sk: str) -> tuple[visits.Key, str] | None:
    """The session item that keeps the marker ``pk``/``sk`` of the event ``p``, and the value's name
    there; None for a marker outside its visitor's session partition (an item of its own)."""
    if not p.visit:
        return None
    ev, visitor = p.visit
    key = visits.session_key(ev, visitor)
    suffix = f"#{visitor}"
    if key[0] != pk or not sk.endswith(suffix):
        return None
    return key, sk[: -len(suffix)]


def _actions(chunk: list[_Planned], table_name: str,
             sessions: dict[visits.Key, visits.Session]) -> tuple[list[dict[str, Any]], list[tuple[str, Any]]]:
    """The transaction for ``chunk`` and, per action, what its failed condition would mean.

    Plain Python values: the resource's client serialises them, as for ``put_item``.
    """

    def item(values: dict[str, Any]) -> dict[str, Any]:
        return values

    def put(values: dict[str, Any], conditional: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"TableName": table_name, "Item": item(values)}
        if conditional:
            body["ConditionExpression"] = "attribute_not_exists(pk)"
        return {"Put": body}

    actions: list[dict[str, Any]] = []
    owners: list[tuple[str, Any]] = []
    counters: dict[tuple[str, str], tuple[Counter[str], str | None]] = {}
    markers: dict[tuple[str, str], tuple[int, int]] = {}  # -> ttl, the event that creates it
    counted: set[tuple[str, str, str, str]] = set()
    active: dict[tuple[str, str], str | None] = {}
    marks: dict[visits.Key, list[visits.Mark]] = defaultdict(list)

    def in_session(p: _Planned, pk: str, sk: str) -> tuple[visits.Key, str] | None:
        key = session_marker(p, pk, sk)
        return None if key is None or visits.marks_item(sessions, *key) else key

    def count(prefix: str, sk: str, attr: str, whole: str | None, n: int = 1) -> None:
        counters.setdefault((prefix, sk), (Counter(), whole))[0][attr] += n

    for i, p in enumerate(chunk):
        actions.append(put(p.raw, True))
        owners.append(("event", i))
        if p.guard:
            actions.append(put(p.guard, True))
            owners.append(("event", i))
        for prefix, sk, attr, whole in p.counters:
            count(prefix, sk, attr, whole)
        for pk, sk, cprefix, csk, ttl in p.markers:
            kept = in_session(p, pk, sk)
            if kept:
                marks[kept[0]].append((kept[1], cprefix, csk, i))
                continue
            if f"{pk}|{sk}" in _known or markers.setdefault((pk, sk), (ttl, i))[1] != i:
                continue
            if (pk, sk, cprefix, csk) not in counted:
                counted.add((pk, sk, cprefix, csk))
                count(cprefix, csk, "uv", None)
        if p.active:
            active[(p.active[0], p.active[1])] = p.active[2]
    visit_writes = visits.visit_updates([p.visit for p in chunk if p.visit], sessions, marks)
    for prefix, sk, attr, n, whole in visit_writes.counters:
        count(prefix, sk, attr, whole, n)
    for key, session in visit_writes.sessions.items():  # conditional on the version read: no lost update
        actions.append(visits.session_put(key, session, table_name))
        owners.append(("session", (key, session)))
    for (pk, sk), (ttl, _) in markers.items():
        actions.append(put({"pk": pk, "sk": sk, "expires_at": ttl}, True))
        owners.append(("marker", f"{pk}|{sk}"))
    for (pk, sk), whole in active.items():
        actions.append(put({"pk": pk, "sk": sk, "expires_at": expiry(hours=1),
                            **({"whole": whole} if whole else {})}, False))
        owners.append(("", None))
    for (prefix, sk), (all_values, whole) in counters.items():
        values = Counter({k: n for k, n in all_values.items() if n})
        if not values:
            continue
        expr, names, vals = counter_update(prefix, values, whole)
        actions.append({"Update": {"TableName": table_name,
                                   "Key": item({"pk": f"{prefix}{random.randrange(shards())}", "sk": sk}),
                                   "UpdateExpression": expr, "ExpressionAttributeNames": names,
                                   "ExpressionAttributeValues": item(vals)}})
        owners.append(("", None))
    return actions, owners


def counter_update(prefix: str, values: Mapping[str, Any], whole: str | None
                   ) -> tuple[str, dict[str, str], dict[str, Any]]:
    """The update expression, names and values that add ``values`` to a counter whose partition key
    starts with ``prefix`` (the direct path's transactions and the stream path's aggregator)."""
    names = {f"#a{i}": name for i, name in enumerate(values)}
    vals: dict[str, Any] = {f":v{i}": n for i, n in enumerate(values.values())}
    expr = "ADD " + ", ".join(f"#a{i} :v{i}" for i in range(len(values)))
    sets = []
    if prefix.startswith("M#"):
        sets.append("expires_at = if_not_exists(expires_at, :ttl)")
        vals[":ttl"] = expiry(days=2)
    if whole:
        names["#w"] = "whole"
        sets.append("#w = :w")
        vals[":w"] = whole
    if sets:
        expr += " SET " + ", ".join(sets)
    return expr, names, vals


def _chunks(planned: list[_Planned], table_name: str,
            sessions: dict[visits.Key, visits.Session]) -> list[list[_Planned]]:
    """Consecutive events, as many per transaction as fit in its 100 actions (with room for the
    counters a session read again may add)."""
    out: list[list[_Planned]] = [[]]
    keys: set[visits.Key] = set()  # sessions in the last chunk
    for p in planned:
        grown = keys | set(visits.keys_of([p.visit] if p.visit else []))
        spare = visits.SLACK_PER_SESSION * len(grown)
        if out[-1] and len(_actions([*out[-1], p], table_name, sessions)[0]) + spare > MAX_ACTIONS:
            out.append([])
            grown = set(visits.keys_of([p.visit] if p.visit else []))
        keys = grown
        out[-1].append(p)
    return [c for c in out if c]


def _commit(chunk: list[_Planned], t: Any, sessions: dict[visits.Key, visits.Session]) -> None:
    """Write the chunk in one transaction; events already stored (a retry) and visitors already
    counted are taken out and the rest written again, so nothing is counted twice or lost. A
    session changed by another request since it was read is read again (a conflict)."""
    from botocore.exceptions import ClientError

    conflicts = 0
    while chunk:
        actions, owners = _actions(chunk, t.name, sessions)
        try:
            t.meta.client.transact_write_items(TransactItems=actions)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            reasons = exc.response.get("CancellationReasons") or []
            stored: set[int] = set()
            learned = conflict = False
            stale = []
            for (kind, what), reason in zip(owners, reasons, strict=False):
                code = reason.get("Code") or "None"
                if code == "ConditionalCheckFailed" and kind == "event":
                    stored.add(what)
                elif code == "ConditionalCheckFailed" and kind == "marker":
                    _remember(what)
                    learned = True
                elif code == "TransactionConflict":
                    conflict = True
                elif code == "ConditionalCheckFailed" and kind == "session":
                    stale.append(what[0])
                    conflict = True
                elif code != "None":
                    raise
            if conflict and not (stored or learned):
                conflicts += 1
                if conflicts > CONFLICT_RETRIES:
                    raise
                time.sleep(random.uniform(0, 0.05 * 2 ** conflicts))
            elif not (stored or learned):
                raise
            chunk = [p for i, p in enumerate(chunk) if i not in stored]
            visits.read_sessions(t, stale, sessions)
            continue
        for kind, what in owners:
            if kind == "marker":
                _remember(what)
            elif kind == "session":
                sessions[what[0]] = visits.Session(what[1].visit, what[1].version + 1, what[1].seen)
        return


def store_events(site_events: list[tuple[Any, str]], event_ttl_days: int, now_ms: int) -> None:
    """Store valid events (each with its visitor id) exactly once: each event's raw item, counters
    and visitor markers commit together in a transaction, and an event already stored is skipped."""
    t = table()
    raw_ttl = expiry(days=event_ttl_days)
    seen: Counter[str] = Counter()
    planned = []
    for ev, visitor in site_events:
        first = event_id(ev, visitor, 0)
        planned.append(_plan(ev, visitor, seen[first], now_ms, raw_ttl))
        planned[-1].visit = (ev, visitor)
        seen[first] += 1
    planned.sort(key=lambda p: int(p.visit[0].ts_ms) if p.visit else 0)  # visits: in time order
    sessions: dict[visits.Key, visits.Session] = {}
    visits.read_sessions(t, visits.keys_of(site_events), sessions)
    for chunk in _chunks(planned, t.name, sessions):
        _commit(chunk, t, sessions)


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


def stats(site: str, first: datetime, last: datetime) -> dict[str, Any]:
    days = [(first + timedelta(days=i)).strftime("%Y-%m-%d") for i in range((last - first).days + 1)]
    queries = [_key_eq(f"C#{site}#{day}#s{k}") for day in days for k in range(shards())]
    results = _parallel_queries(queries)
    per_day: dict[str, Counter[str]] = {d: Counter() for d in days}
    per_hour: dict[str, Counter[str]] = {f"{h:02d}": Counter() for h in range(24)}
    pages: Counter[str] = Counter()
    refs: Counter[str] = Counter()
    found = breakdowns.Breakdowns()
    visit_figures = visits.Figures()
    for query, items in zip(queries, results, strict=True):
        day = query["ExpressionAttributeValues"][":pk"].split("#")[2]
        for item in items:
            sk = item["sk"]
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
    if len(days) == 1:
        series = [{"time": f"{days[0]}T{h}:00:00Z", "visitors": c["uv"], "pageviews": c["pv"]}
                  for h, c in sorted(per_hour.items())]
    else:
        series = [{"time": d, "visitors": c["uv"], "pageviews": c["pv"]} for d, c in per_day.items()]

    def top(counter: Counter[str], key: str) -> list[dict[str, Any]]:
        return [{key: k, "pageviews": n} for k, n in sorted(counter.items(), key=lambda x: (-x[1], x[0]))[:10]]

    # Daily salts: a visitor is a new id each day, so a period's visitors are the days' sum.
    visitors = sum(c["uv"] for c in per_day.values())
    return {"site": site, "from": days[0], "to": days[-1], "visitors": visitors,
            "pageviews": sum(c["pv"] for c in per_day.values()),
            "top_pages": top(pages, "path"), "top_referrers": top(refs, "referrer"), "timeseries": series,
            **found.fields(visitors), **visit_figures.fields()}
