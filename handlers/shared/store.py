"""The direct ingest path's writes: each request's events in transactions (design: docs/storage.md;
the key layout: keys.py).

Exactly once: an event's id is derived from what it says, its raw item is a conditional put, and
its counters and its visitor's session commit in the same transaction, so a retried event is
found and skipped and a failed write leaves nothing half done. Hot counters are write-sharded: a
write goes to a random shard, a read sums all shards. A visitor's items have the shard of its hash,
so their conditional puts still deduplicate. A read touches a number of partitions fixed by the time window
and ``S``, never by how many events are stored.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any, cast

from . import caps, months, plan, visits
from .db import reset_for_tests as _reset_table
from .db import table
from .keys import expiry, shards
from .writes import Planned, counter_update

__all__ = ["count_bots", "store_events", "table"]

# Write units one request may cost at most: REQUEST_UNITS_BASE + REQUEST_UNITS_PER_EVENT per event
# (a unit per started KB of an item written, doubled again in a transaction). Ordinary page views
# plan about 24 units for one and 135 for a batch of 100, an event with a 2,000-character path and
# referrer about 36 (before the month rollups: docs/storage.md). A request planned past it (a batch
# with new values in every dimension: 700 to 1,200 units for 100 events; 30 props of 1,900
# characters: 76) is refused whole with 413 before anything is written (docs/security.md).
REQUEST_UNITS_BASE = 60
REQUEST_UNITS_PER_EVENT = 4
MAX_ACTIONS = 100  # per TransactWriteItems (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html)
CONFLICT_RETRIES = 4
# A visit continued across midnight (visits.py) changes its counters on the day before too and
# copies them as carried counters on its new day: at most 7 counter items each, and its channel,
# source, medium and campaign counted as carried (4), and its visitor's country, device, browser and
# OS (visits.VISITOR_DIMS) carried and on the day before (4 each): planned_writes plans this much, and
# max_request_units allows it, for each visitor with an event within 30 minutes after midnight.
CONTINUE_UNITS = 2 * visits.SLACK_PER_SESSION + 4 + 2 * len(visits.VISITOR_DIMS)
# Visitor markers, and raw items and retry guards, known to be in the table (bounded, insertion-ordered):
# an event whose raw key is known is skipped before any call, so a request sent again to the same
# container (a browser's retry, a replay) costs no cancelled transaction, which DynamoDB would bill.
_known: dict[str, None] = {}
_KNOWN_MAX = 50_000


def reset_for_tests() -> None:
    _reset_table()
    _known.clear()
    caps.reset_for_tests()
    months.reset_for_tests()


def _remember(key: str) -> None:
    """Note that the marker ``key`` is in the table (only once DynamoDB said so)."""
    if key in _known:
        return
    if len(_known) >= _KNOWN_MAX:
        _known.pop(next(iter(_known)))
    _known[key] = None


def _raw_key(p: Planned) -> str:
    return f"{p.raw['pk']}|{p.raw['sk']}"


def _remember_stored(p: Planned) -> None:
    """Note that ``p`` is stored: a later event with its raw key (the same event in the same 30 s
    window, or in the next one: the guard's key) is found stored, in the table as here."""
    _remember(_raw_key(p))
    if p.guard:
        _remember(f"{p.guard['pk']}|{p.guard['sk']}")


def _actions(chunk: list[Planned], table_name: str, sessions: dict[visits.Key, visits.Session],
             rollup: months.Rollup | None = None, previous: dict[visits.Key, visits.Key] | None = None,
             ) -> tuple[list[dict[str, Any]], list[tuple[str, Any]]]:
    """The transaction for ``chunk`` and, per action, what its failed condition would mean. Each day
    counter is added to its month counter too (months.py; ``rollup`` decides which month row).

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

    def in_session(p: Planned, pk: str, sk: str) -> tuple[visits.Key, str] | None:
        key = plan.session_marker(p, pk, sk)
        return None if key is None or visits.marks_item(sessions, *key) else key

    def count(prefix: str, sk: str, attr: str, whole: str | None, n: int | Decimal = 1) -> None:
        counters.setdefault((prefix, sk), (Counter(), whole))[0][attr] += cast(int, n)  # or a Decimal amount

    for i, p in enumerate(chunk):
        actions.append(put(p.raw, True))
        owners.append(("event", i))
        if p.guard:
            actions.append(put(p.guard, True))
            owners.append(("event", i))
        for prefix, sk, attr, whole in p.counters:
            count(prefix, sk, attr, whole)
        for prefix, sk, attr, amount, whole in p.amounts:
            count(prefix, sk, attr, whole, amount)
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
    visit_writes = visits.visit_updates([p.visit for p in chunk if p.visit], sessions, marks, previous)
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
    for (prefix, sk), (all_values, whole) in months.with_rollups(counters, rollup or months.Rollup(None)).items():
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


def _chunks(planned: list[Planned], table_name: str, sessions: dict[visits.Key, visits.Session],
            previous: dict[visits.Key, visits.Key] | None = None) -> list[list[Planned]]:
    """Consecutive events, as many per transaction as fit in its 100 actions (with room for the
    counters a session read again may add)."""
    out: list[list[Planned]] = [[]]
    keys: set[visits.Key] = set()  # sessions in the last chunk
    for p in planned:
        grown = keys | set(visits.keys_of([p.visit] if p.visit else []))
        spare = visits.SLACK_PER_SESSION * len(grown)
        if out[-1] and len(_actions([*out[-1], p], table_name, sessions, None, previous)[0]) + spare > MAX_ACTIONS:
            out.append([])
            grown = set(visits.keys_of([p.visit] if p.visit else []))
        keys = grown
        out[-1].append(p)
    return [c for c in out if c]


def _commit(chunk: list[Planned], t: Any, sessions: dict[visits.Key, visits.Session],
            rollup: months.Rollup, previous: dict[visits.Key, visits.Key] | None = None) -> None:
    """Write the chunk in one transaction; events already stored (a retry) and visitors already
    counted are taken out and the rest written again, so nothing is counted twice or lost. A
    session changed by another request since it was read is read again (a conflict)."""
    from botocore.exceptions import ClientError

    conflicts = 0
    while chunk:
        actions, owners = _actions(chunk, t.name, sessions, rollup, previous)
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
            for i in stored:
                _remember_stored(chunk[i])
            chunk = [p for i, p in enumerate(chunk) if i not in stored]
            visits.read_sessions(t, stale, sessions)
            continue
        for p in chunk:
            _remember_stored(p)
        for kind, what in owners:
            if kind == "marker":
                _remember(what)
            elif kind == "session":
                sessions[what[0]] = visits.Session(what[1].visit, what[1].version + 1, what[1].seen)
        return


def planned_writes(site_events: list[tuple[Any, str]], now_ms: int) -> int:
    """The write units of storing ``site_events`` at most, before a transaction doubles them (no call:
    as if every value were new and admitted; caps.py only merges counters, and a stored event is skipped)."""
    seen: Counter[str] = Counter()
    planned = []
    for ev, visitor in site_events:
        first = plan.event_id(ev, visitor, 0)
        planned.append(plan.plan(ev, visitor, seen[first], now_ms, 0))
        planned[-1].visit = (ev, visitor)
        seen[first] += 1
    actions = _actions(planned, "", {})[0]
    return (sum(_units(a) for a in actions) + len(visits.keys_of(site_events))
            + CONTINUE_UNITS * continuing(site_events))


def continuing(site_events: list[tuple[Any, str]]) -> int:
    """The visitors of ``site_events`` whose visit may go on across midnight (an event within 30
    minutes after it): each may cost ``CONTINUE_UNITS`` more (a request has at most 2 site-days)."""
    return len(visits.keys_of([(ev, v) for ev, v in site_events if visits.may_continue(ev.ts_ms)]))


def max_request_units(events: int, continuing: int = 0) -> int:
    """A request's write bound: per event, and per visitor whose visit may go on across midnight."""
    return int(REQUEST_UNITS_BASE + REQUEST_UNITS_PER_EVENT * events + CONTINUE_UNITS * continuing)


def _units(action: dict[str, Any]) -> int:
    """Write units of one action: one per started KB of a put item (an estimate from its JSON), one
    for a counter update (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/provisioned-capacity-mode.html)."""
    put = action.get("Put")
    if not put:
        return 1
    return -(-len(json.dumps(put["Item"], default=str, separators=(",", ":")).encode()) // 1024)


def store_events(site_events: list[tuple[Any, str]], event_ttl_days: int, now_ms: int,
                 previous: dict[str, str] | None = None) -> None:
    """Store valid events (each with its visitor id) exactly once: each event's raw item, counters
    and visitor markers commit together in a transaction, and an event already stored is skipped.
    ``previous``: visitor id -> its id with the day before's salt, for events near midnight (a visit
    open before midnight goes on: visits.py)."""
    t = table()
    raw_ttl = expiry(days=event_ttl_days)
    seen: Counter[str] = Counter()
    planned = []
    counted = caps.apply(t, [ev for ev, _ in site_events])
    for (ev, visitor), as_counted in zip(site_events, counted, strict=True):
        first = plan.event_id(ev, visitor, 0)
        planned.append(plan.plan(ev, visitor, seen[first], now_ms, raw_ttl, as_counted))
        planned[-1].visit = (as_counted, visitor)
        seen[first] += 1
    planned = [p for p in planned if _raw_key(p) not in _known]  # stored already, as this container knows
    if not planned:
        return
    planned.sort(key=lambda p: int(p.visit[0].ts_ms) if p.visit else 0)  # visits: in time order
    sessions: dict[visits.Key, visits.Session] = {}
    before = visits.previous_keys([p.visit for p in planned if p.visit], previous or {})
    visits.read_sessions(t, [*visits.keys_of([p.visit for p in planned if p.visit]), *before.values()], sessions)
    rollup = months.Rollup(t)
    for chunk in _chunks(planned, t.name, sessions, before):
        _commit(chunk, t, sessions, rollup, before)


def count_bots(site: str, day: str, n: int) -> None:
    table().update_item(Key={"pk": f"C#{site}#{day}#s{random.randrange(shards())}", "sk": "day"},
                        UpdateExpression="ADD bots :n", ExpressionAttributeValues={":n": n})


