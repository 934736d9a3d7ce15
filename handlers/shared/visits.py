"""Visits: a visitor's run of events with no gap over 30 minutes (design: docs/storage.md, "Visits").

Ingest side. Each visitor's current visit is one *session* item, ``V#{site}#{day}#s{k}`` /
``visit#{visitor}`` (the visitor markers' partition), holding the visit's first and last event times,
entry and exit pages, page views and whether it was engaged. ``visit_updates`` folds a batch of
events into the sessions read before, and says which counters change by how much: a visit's
counters are what it contributes after the batch minus what it contributed before. The caller
writes the counter changes and the new sessions in the transaction that stores the events
(each session put conditional on the version it was read at), so the figures change exactly when
the events are stored, once.

Distinct values. The session item also keeps which of the day's distinct-visitor values the
visitor has been counted for (``seen``: the day, the hour, each page, source, medium, campaign and
goal; ``breakdowns.py``), as short digests. A value not yet in ``seen`` adds ``uv`` to its counters
and joins ``seen`` in the same conditional put, so the visitor's state costs one write per batch of
its events, however many values they carry (one item per value before: a write unit each).
A session item without ``seen`` was written when each value had a marker item of its own: such a
visitor keeps marker items for the rest of the day (``Session.seen`` is None), so it is not counted
twice. So do the values of a visitor past the first ``SEEN_MAX`` of its day (``marks_item``).

Read side. ``Figures`` sums the counters of the days asked for into the API's visit fields.

Rules (docs/analytics.md, "Visits"):

* an event joins the visit when it is at most 30 minutes after its last event or before its first;
  otherwise a page view or custom event starts a new visit, and an ``engagement`` event (which
  only reports on a page already viewed) is left out, as Plausible drops engagement without a
  session (https://github.com/plausible/analytics/blob/master/lib/plausible/session/cache_store.ex);
* an event more than 30 minutes before the start of the visitor's current visit belongs to a visit
  already closed: it is left out of the visit figures (it still counts as a page view);
* a visit is a bounce while it has at most one page view and no engagement: a custom event, or an
  ``engagement`` event reporting at least 10 s on the page (Google Analytics' engaged session,
  https://support.google.com/analytics/answer/12195621);
* duration is the last event's time minus the first's, engagement events included (a tracker
  sends one when the page is left, so it marks the end of the time on the last page);
* entry page: the earliest page view's path; exit page: the latest page view's path.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

from . import keys

GAP_MS = 30 * 60 * 1000
ENGAGED_MS = 10_000
SESSION_TTL_DAYS = 2  # like the visitor markers: a visitor id lives one day
TOP = 10
SLACK_PER_SESSION = 2  # counter items a session read later may add to a planned transaction (old entry, exit)
SEEN_ID_BYTES = 6  # a value's digest in ``seen``: 48 bits, so two of one visitor's values never share one
SEEN_FORMAT = b"\x01"  # ``seen`` starts with its format byte (and is never empty)
# ``seen`` stops growing at 1,000 values (6 KB): every put of the session rewrites it, and DynamoDB
# bills a put per KB of the item and refuses items over 400 KB
# (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html). A full
# session's other values are marker items, as in the earlier layout.
SEEN_MAX = 1_000

Key = tuple[str, str]  # the session item's pk, sk


class Visit(NamedTuple):
    """One visit's state. ``n`` numbers the visitor's visits of the day; pages are None until a page view.
    (A tuple: ``fold`` makes one per event, for every transaction a batch is planned into.)"""

    n: int
    start: int
    last: int
    pageviews: int
    engaged: bool
    entry: str | None
    entry_ts: int
    exit: str | None
    exit_ts: int
    channel: str | None = None  # the entry's acquisition channel (channels.py), for the whole visit
    interactions: int = 0  # page views and custom events: Plausible's bounce is a visit with one


@dataclass(frozen=True)
class Session:
    """A visitor's current visit, the version of its item (0: not in the table), and the digests of
    the distinct values it was counted for today (None: an item of the earlier layout, whose values
    are marker items)."""

    visit: Visit | None
    version: int
    seen: frozenset[bytes] | None = frozenset()


def seen_id(name: str) -> bytes:
    """The digest of a distinct value's name (a marker's sort key without the visitor)."""
    return hashlib.sha256(name.encode("utf-8")).digest()[:SEEN_ID_BYTES]


def marks_item(sessions: Mapping[Key, Session], key: Key, name: str) -> bool:
    """Whether the visitor of ``key`` keeps its distinct value ``name`` in a marker item: its session
    has the earlier layout, or its ``seen`` is full (``SEEN_MAX``) without the value. A full ``seen``
    never grows, so a value is never both in it and a marker item."""
    found = sessions.get(key)
    if found is None:
        return False
    return found.seen is None or (len(found.seen) >= SEEN_MAX and seen_id(name) not in found.seen)


@dataclass
class VisitWrites:
    """What a batch changes: counter deltas ``(counter pk prefix, sk, attribute, delta, whole value)``
    and the sessions to put, keyed by item key, each with the version its put is conditional on."""

    counters: list[tuple[str, str, str, int, str | None]] = field(default_factory=list)
    sessions: dict[Key, Session] = field(default_factory=dict)


# A distinct value's name, the counter (pk prefix, sk) its ``uv`` goes to, and which event of the
# batch carries it (a number: the order of the events as given).
Mark = tuple[str, str, str, int]


@lru_cache(maxsize=16)
def _day(day_number: int) -> str:
    return keys.day_of(day_number * 86_400_000)


def session_key(ev: Any, visitor: str, shards: int | None = None) -> Key:
    k = int(visitor[:8], 16) % (shards or keys.shards())
    return f"V#{ev.domain}#{_day(ev.ts_ms // 86_400_000)}#s{k}", f"visit#{visitor}"


def _engages(ev: Any) -> bool:
    return bool(ev.kind == "custom" or (ev.kind == "engagement" and (ev.engagement_ms or 0) >= ENGAGED_MS))


def fold(visit: Visit | None, ev: Any) -> Visit | None:
    """The visit after ``ev`` (the same object when ``ev`` is left out of visits)."""
    ts = ev.ts_ms
    page = ev.path if ev.kind == "pageview" else None
    if visit is not None and visit.start - GAP_MS <= ts <= visit.last + GAP_MS:
        n, start, last, pageviews, engaged, entry, entry_ts, exit_, exit_ts, channel, interactions = visit
        if page is not None:
            pageviews += 1
            if entry is None or ts < entry_ts:
                entry, entry_ts = page, ts
            if exit_ is None or ts >= exit_ts:
                exit_, exit_ts = page, ts
        return Visit(n, min(start, ts), max(last, ts), pageviews, engaged or _engages(ev), entry, entry_ts, exit_,
                     exit_ts, channel, interactions + int(ev.kind != "engagement"))
    if ev.kind == "engagement" or (visit is not None and ts < visit.start):
        return visit
    return Visit((visit.n if visit else 0) + 1, ts, ts, int(page is not None), _engages(ev), page, ts, page, ts,
                 (getattr(ev, "dims", None) or {}).get("channel"), 1)


def _contribution(v: Visit) -> Counter[tuple[str, str]]:
    """The counters one visit adds: ``(sk, attribute) -> n``."""
    out: Counter[tuple[str, str]] = Counter({
        ("day", "visits"): 1, ("day", "bounces"): int(v.interactions <= 1),
        ("day", "engaged"): int(v.pageviews > 1 or v.engaged),
        ("day", "visit_pv"): v.pageviews, ("day", "visit_ms"): v.last - v.start})
    for attr, page in (("entries", v.entry), ("exits", v.exit)):  # on the page's own counter item
        if page is not None:
            out[(f"page#{keys.key_part(page)[0]}", attr)] += 1
    if v.channel:  # Plausible's channels: the visit's page views, under its entry's channel
        out[(f"ch#{v.channel}", "visits")] += 1
        out[(f"ch#{v.channel}", "pv")] += v.pageviews
    return out


def _wholes(v: Visit | None) -> dict[str, str]:
    """Counter sort keys of long paths and the whole paths they stand for."""
    out = {}
    for page in (v.entry, v.exit) if v else ():
        if page is not None:
            key, whole = keys.key_part(page)
            if whole:
                out[f"page#{key}"] = whole
    return out


def _settle(deltas: Counter[tuple[str, str, str]], wholes: dict[tuple[str, str], str], prefix: str, v: Visit,
            before: Visit | None) -> None:
    """Add to ``deltas`` what visit ``v`` contributes beyond what it contributed as ``before``."""
    diff = _contribution(v)
    diff.subtract(_contribution(before) if before else Counter())
    for (sk, attr), n in diff.items():
        deltas[(prefix, sk, attr)] += n
    for sk, whole in {**_wholes(before), **_wholes(v)}.items():  # a -1 may create the item on its shard
        wholes[(prefix, sk)] = whole


def visit_updates(events_with_visitors: Iterable[tuple[Any, str]], sessions: Mapping[Key, Session],
                  marks: Mapping[Key, Iterable[Mark]] | None = None) -> VisitWrites:
    """Fold events (validated, each with its daily visitor id) into the visitors' ``sessions``, as read
    from the table (a key that is absent: no visit yet). Events are taken in time order; ties keep
    their order. ``marks`` are the distinct values the events carry, per session key (never a value
    kept in a marker item, ``marks_item``): each value not yet in the session's
    ``seen`` adds 1 to ``uv`` of its counters, once. Pure: nothing is read or written here."""
    shards = keys.shards()
    by_key: dict[Key, list[Any]] = {}
    for ev, visitor in events_with_visitors:
        by_key.setdefault(session_key(ev, visitor, shards), []).append(ev)
    deltas: Counter[tuple[str, str, str]] = Counter()
    wholes: dict[tuple[str, str], str] = {}
    out = VisitWrites()
    for key in dict.fromkeys([*by_key, *(marks or {})]):
        evs = by_key.get(key, [])
        old = sessions.get(key)
        base = cur = old.visit if old else None
        channels: list[str] = []  # the channels of the visits this batch touches
        if evs:
            prefix = f"C#{evs[0].domain}#{keys.day_of(evs[0].ts_ms)}#s"
            for ev in sorted(evs, key=lambda e: int(e.ts_ms)):
                nxt = fold(cur, ev)
                if cur is not None and nxt is not None and nxt.n != cur.n:
                    _settle(deltas, wholes, prefix, cur, base)  # the visit ended: its figures are final
                    base = None
                    channels.append(cur.channel or "")
                cur = nxt
            if cur is not None and cur != base:
                _settle(deltas, wholes, prefix, cur, base)
            if cur is not None:
                channels.append(cur.channel or "")
            # The visitor counts once a day under each channel of its visits (a distinct value).
            extra = [(f"ch#{ch}", prefix, f"ch#{ch}", -1) for ch in dict.fromkeys(channels) if ch]
            if extra:
                marks = {**(marks or {}), key: [*(marks or {}).get(key, ()), *extra]}
        seen = old.seen if old else frozenset()
        grown = seen
        if seen is not None:
            added: set[bytes] = set()
            counted: set[tuple[str, str, str]] = set()
            owners: dict[str, int] = {}
            for name, cprefix, csk, event in (marks or {}).get(key, ()):
                mark = seen_id(name)
                # A value new today counts the counters listed by the first event that carries it
                # (the day's value carries the visitor's country, device, …: those of its first event).
                if mark in seen or owners.setdefault(name, event) != event or (name, cprefix, csk) in counted:
                    continue
                counted.add((name, cprefix, csk))
                deltas[(cprefix, csk, "uv")] += 1
                added.add(mark)
            grown = seen | added
        if (cur is not None and cur != (old.visit if old else None)) or grown != seen:
            out.sessions[key] = Session(cur, old.version if old else 0, grown)
    out.counters = [(p, sk, attr, n, wholes.get((p, sk))) for (p, sk, attr), n in deltas.items() if n]
    return out


def session_fields(session: Session) -> dict[str, Any]:
    """A session as the attributes of its item (its version included); ``session_of`` reads them back."""
    item: dict[str, Any] = {"ver": session.version}
    v = session.visit
    if v is not None:
        item.update({"n": v.n, "start": v.start, "last": v.last, "pv": v.pageviews, "engaged": v.engaged})
        if v.channel:
            item["ch"] = v.channel
        item["ia"] = v.interactions
        for name, page, ts in (("entry", v.entry, v.entry_ts), ("exit", v.exit, v.exit_ts)):
            if page is not None:
                item[name], item[f"{name}_ts"] = page, ts
    if session.seen is not None:
        item["seen"] = SEEN_FORMAT + b"".join(sorted(session.seen))
    return item


def session_put(key: Key, session: Session, table_name: str) -> dict[str, Any]:
    """A transaction's Put of the new session, conditional on the version it replaces."""
    item: dict[str, Any] = {"pk": key[0], "sk": key[1],
                            **session_fields(Session(session.visit, session.version + 1, session.seen)),
                            "expires_at": keys.expiry(days=SESSION_TTL_DAYS)}
    body: dict[str, Any] = {"TableName": table_name, "Item": item}
    if session.version:
        body.update(ConditionExpression="ver = :ver", ExpressionAttributeValues={":ver": session.version})
    else:
        body["ConditionExpression"] = "attribute_not_exists(pk)"
    return {"Put": body}


def seen_of(value: Any) -> frozenset[bytes] | None:
    """The digests of a ``seen`` attribute (None: no such attribute, the earlier layout)."""
    if value is None:
        return None
    data = bytes(value.value if hasattr(value, "value") else value)  # boto3's Binary, or bytes
    if data[:1] != SEEN_FORMAT:
        raise ValueError("a session's seen values are in an unknown format")
    return frozenset(data[i:i + SEEN_ID_BYTES] for i in range(1, len(data), SEEN_ID_BYTES))


def session_of(item: Mapping[str, Any]) -> Session:
    seen = seen_of(item.get("seen"))
    if "n" not in item:
        return Session(None, int(item["ver"]), seen)

    def page(name: str) -> tuple[str | None, int]:
        return (str(item[name]), int(item[f"{name}_ts"])) if name in item else (None, int(item["start"]))

    entry, entry_ts = page("entry")
    exit_, exit_ts = page("exit")
    return Session(Visit(int(item["n"]), int(item["start"]), int(item["last"]), int(item["pv"]),
                         bool(item["engaged"]), entry, entry_ts, exit_, exit_ts,
                         str(item["ch"]) if "ch" in item else None,
                         # a session written before ``ia``: its page views, and 2 if it was engaged
                         int(item.get("ia", max(int(item["pv"]), 2 if item["engaged"] else 0)))),
                  int(item["ver"]), seen)


def read_sessions(table: Any, keys: Iterable[Key], into: MutableMapping[Key, Session]) -> None:
    """Read the sessions of ``keys`` (strongly consistent, as the puts are conditional on them) into ``into``."""
    for pk, sk in dict.fromkeys(keys):
        found = table.get_item(Key={"pk": pk, "sk": sk}, ConsistentRead=True).get("Item")
        if found:
            into[(pk, sk)] = session_of(found)
        else:
            into.pop((pk, sk), None)


def keys_of(events_with_visitors: Iterable[tuple[Any, str]]) -> list[Key]:
    return list(dict.fromkeys(session_key(ev, visitor) for ev, visitor in events_with_visitors))


# -- reads ------------------------------------------------------------------------------------------
class Figures:
    """The visit fields of ``GET /api/stats``, summed from the counter items of the days asked for."""

    def __init__(self) -> None:
        self.totals: Counter[str] = Counter()
        self.pages: dict[str, Counter[str]] = {"entry": Counter(), "exit": Counter()}

    def add(self, item: dict[str, Any]) -> None:
        """Take one counter item (any: those that are not about visits are passed over)."""
        sk = str(item["sk"])
        if sk == "day":
            for attr in ("visits", "bounces", "engaged", "visit_pv", "visit_ms"):
                self.totals[attr] += int(item.get(attr, 0))
            return
        kind, sep, key = sk.partition("#")
        if kind == "page":  # a page's visits entering and leaving on it
            for name, attr in (("entry", "entries"), ("exit", "exits")):
                if attr in item:
                    self.pages[name][str(item.get("whole", key))] += int(item[attr])
        elif sep and kind in self.pages:  # the earlier layout: an item per entry and exit page
            self.pages[kind][str(item.get("whole", key))] += int(item.get("visits", 0))

    def fields(self) -> dict[str, Any]:
        visits = self.totals["visits"]

        def top(counter: Counter[str]) -> list[dict[str, Any]]:
            ranked = sorted(((p, n) for p, n in counter.items() if n > 0), key=lambda x: (-x[1], x[0]))
            return [{"path": p, "visits": n} for p, n in ranked[:TOP]]

        return {"visits": visits,
                "bounce_rate": round(100 * self.totals["bounces"] / visits) if visits else 0,
                "engagement_rate": round(100 * self.totals["engaged"] / visits) if visits else 0,
                "views_per_visit": round(self.totals["visit_pv"] / visits, 2) if visits else 0,
                "visit_duration_s": round(self.totals["visit_ms"] / visits / 1000) if visits else 0,
                "entry_pages": top(self.pages["entry"]), "exit_pages": top(self.pages["exit"])}
