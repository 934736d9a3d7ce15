"""Visits: a visitor's run of events with no gap over 30 minutes (design: docs/storage.md, "Visits").

Ingest side. Each visitor's current visit is one *session* item, ``V#{site}#{day}#s{k}`` /
``visit#{visitor}`` (the visitor markers' partition), holding the visit's first and last event times,
entry and exit pages, page views, whether it was engaged, and its entry's channel, source, referrer
and UTM medium and campaign (``Origin``): as in Plausible, a visit's page views count under its
entry's source and referrer (``src#``, ``ref#``), and its visitor under its source, medium and
campaign, whatever later page views of the visit carry (docs/metrics.md). ``visit_updates`` folds a batch of
events into the sessions read before, and says which counters change by how much: a visit's
counters are what it contributes after the batch minus what it contributed before. The caller
writes the counter changes and the new sessions in the transaction that stores the events
(each session put conditional on the version it was read at), so the figures change exactly when
the events are stored, once.

Distinct values. The session item also keeps which of the day's distinct-visitor values the
visitor has been counted for (``seen``: the day, the hour, each page and goal (``breakdowns.py``), and
each channel, source, medium and campaign of its visits (here)), as short digests. A value not yet
in ``seen`` adds ``uv`` to its counters and joins ``seen`` in the same conditional put, so the
visitor's state costs one write per batch of its events, however many values they carry (one item
per value before: a write unit each). A session item without ``seen`` was written when each value
had a marker item of its own: such a visitor keeps marker items for the rest of the day
(``Session.seen`` is None), so it is not counted twice (and its visits' channels, sources, mediums
and campaigns count no visitor that day). So do the values of a visitor past the first ``SEEN_MAX``
of its day (``marks_item``).

Read side. ``Figures`` sums the counters of the days asked for into the API's visit fields.

Rules (docs/analytics.md, "Visits"):

* an event joins the visit when it is at most 30 minutes after its last event or before its first;
  otherwise a page view or custom event starts a new visit, and an ``engagement`` event (which
  only reports on a page already viewed) is left out, as Plausible drops engagement without a
  session (https://github.com/plausible/analytics/blob/master/lib/plausible/session/cache_store.ex);
* an event more than 30 minutes before the start of the visitor's current visit belongs to a visit
  already closed: it is left out of the visit figures (it still counts as a page view);
* a visit is a bounce (Plausible's) while it has one page view or custom event, whatever
  ``engagement`` events follow; it is engaged (GA4's, ``engagement_rate``) with two page views, a
  custom event, or an ``engagement`` event reporting at least 10 s on the page
  (https://support.google.com/analytics/answer/12195621);
* duration is the last page view or custom event's time minus the first event's: an
  ``engagement`` event keeps the visit open (the 30 minutes count from it too) but does not
  lengthen it, as Plausible's ``refresh_session_cache`` (cache_store.ex) does; it counts its visitor
  in its hour (Plausible counts ``uniq(user_id)`` over every stored event, engagement included);
* entry page: the earliest page view's path; exit page: the latest page view's path; source,
  referrer, UTM values and channel: the earliest page view's or custom event's.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any, NamedTuple

from . import keys
from .dimensions import DIRECT
from .dimensions import MAX_VALUE_LENGTH as VALUE_CHARS

GAP_MS = 30 * 60 * 1000
ENGAGED_MS = 10_000
SESSION_TTL_DAYS = 2  # like the visitor markers: a visitor id lives one day
TOP = 10
# Counter items a session read later may add to a planned transaction: the visit it ends counts its
# entry, exit, channel, source and referrer, and its medium and campaign may add a visitor.
SLACK_PER_SESSION = 7
SEEN_ID_BYTES = 6  # a value's digest in ``seen``: 48 bits, so two of one visitor's values never share one
SEEN_FORMAT = b"\x01"  # ``seen`` starts with its format byte (and is never empty)
# ``seen`` stops growing at 1,000 values (6 KB): every put of the session rewrites it, and DynamoDB
# bills a put per KB of the item and refuses items over 400 KB
# (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html). A full
# session's other values are marker items, as in the earlier layout.
SEEN_MAX = 1_000
# Across midnight (docs/storage.md, "Visits across midnight"): a visit continued from the day before
# is numbered 0 in the new day's session, and its counters on the new day are copied under ``~{sk}``.
CARRIED = "~"
CARRIED_N = 0
# The visitor's country, device, browser and OS (counted once a day with its first event, breakdowns.py):
# a visit carried into its new day counts them there again, and in its carried copy, so that a period
# over both days counts the visitor once, as Plausible's session (one ``user_id``) is counted; when it
# was not the visitor's first visit of the day before, that day counts it once more (its new user id).
VISITOR_DIMS = frozenset({"cty", "dev", "br", "os"})

Key = tuple[str, str]  # the session item's pk, sk


class Origin(NamedTuple):
    """Where a visit came from: its entry's source (``Direct / None`` when none), referrer host and
    UTM medium and campaign ("" when none). The whole visit counts under them (docs/metrics.md)."""

    source: str
    referrer: str
    medium: str
    campaign: str


def origin_of(ev: Any) -> Origin | None:
    """The origin an event gives the visit it starts (None: an event without dimensions)."""
    dims = getattr(ev, "dims", None)
    if not dims:
        return None
    # the referrer host without ``www.``, as Plausible's format_referrer keeps it (sanitize_hostname)
    return Origin(str(dims.get("source") or DIRECT)[:VALUE_CHARS], str(ev.referrer or "").removeprefix("www."),
                  str(dims.get("utm_medium") or "")[:VALUE_CHARS], str(dims.get("utm_campaign") or "")[:VALUE_CHARS])


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
    origin: Origin | None = None  # the entry's source, referrer and UTM values, for the whole visit
    # The last page view or custom event: the visit's end for its duration (``last`` also moves with
    # engagement events, which keep the visit open). None: a session written before it (``last``).
    end: int | None = None


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


def previous_session_key(ev: Any, previous_visitor: str, shards: int | None = None) -> Key:
    """The session key the visitor had the day before ``ev``'s (``previous_visitor``: its id with that
    day's salt, visitors.previous_salt)."""
    k = int(previous_visitor[:8], 16) % (shards or keys.shards())
    return f"V#{ev.domain}#{_day(ev.ts_ms // 86_400_000 - 1)}#s{k}", f"visit#{previous_visitor}"


def may_continue(ts_ms: int) -> bool:
    """Whether an event at ``ts_ms`` may continue a visit of the day before (within 30 minutes of
    midnight): only such events look the visitor up with yesterday's salt."""
    return ts_ms % 86_400_000 <= GAP_MS


def _engages(ev: Any) -> bool:
    return bool(ev.kind == "custom" or (ev.kind == "engagement" and (ev.engagement_ms or 0) >= ENGAGED_MS))


def joins(visit: Visit | None, ts: int) -> bool:
    """Whether an event at ``ts`` belongs to ``visit`` (at most 30 minutes before or after it)."""
    return visit is not None and visit.start - GAP_MS <= ts <= visit.last + GAP_MS


def fold(visit: Visit | None, ev: Any) -> Visit | None:
    """The visit after ``ev`` (the same object when ``ev`` is left out of visits)."""
    ts = ev.ts_ms
    page = ev.path if ev.kind == "pageview" else None
    if visit is not None and joins(visit, ts):
        (n, start, last, pageviews, engaged, entry, entry_ts, exit_, exit_ts, channel, interactions,
         origin, end) = visit
        end = last if end is None else end
        if page is not None:
            pageviews += 1
            if entry is None or ts < entry_ts:
                entry, entry_ts = page, ts
            if exit_ is None or ts >= exit_ts:
                exit_, exit_ts = page, ts
        if ev.kind == "engagement":  # Plausible's refresh_session_cache: the visit stays open, no more
            return Visit(n, start, max(last, ts), pageviews, engaged or _engages(ev), entry, entry_ts, exit_,
                         exit_ts, channel, interactions, origin, end)
        if ts < start:  # an earlier event: the visit's entry is its now
            channel = (getattr(ev, "dims", None) or {}).get("channel") or channel
            origin = origin_of(ev) or origin
        return Visit(n, min(start, ts), max(last, ts), pageviews, engaged or _engages(ev), entry, entry_ts, exit_,
                     exit_ts, channel, interactions + 1, origin, max(end, ts))
    if ev.kind == "engagement" or (visit is not None and ts < visit.start):
        return visit
    return Visit((visit.n if visit else 0) + 1, ts, ts, int(page is not None), _engages(ev), page, ts, page, ts,
                 (getattr(ev, "dims", None) or {}).get("channel"), 1, origin_of(ev), ts)


def _contribution(v: Visit) -> Counter[tuple[str, str]]:
    """The counters one visit adds: ``(sk, attribute) -> n``."""
    out: Counter[tuple[str, str]] = Counter({
        ("day", "visits"): 1, ("day", "bounces"): int(v.interactions <= 1),
        ("day", "engaged"): int(v.pageviews > 1 or v.engaged),
        ("day", "visit_pv"): v.pageviews, ("day", "visit_ms"): (v.last if v.end is None else v.end) - v.start})
    for attr, page in (("entries", v.entry), ("exits", v.exit)):  # on the page's own counter item
        if page is not None:
            out[(f"page#{keys.key_part(page)[0]}", attr)] += 1
    if v.channel:  # Plausible's channels: the visit's page views, under its entry's channel
        out[(f"ch#{v.channel}", "visits")] += 1
        out[(f"ch#{v.channel}", "pv")] += v.pageviews
    if v.origin:  # Plausible's sources and referrers: the visit's page views, under its entry's
        out[(f"src#{v.origin.source}", "visits")] += 1
        out[(f"src#{v.origin.source}", "pv")] += v.pageviews
        if v.origin.referrer:
            out[(f"ref#{keys.key_part(v.origin.referrer)[0]}", "pv")] += v.pageviews
    return out


def _names(v: Visit) -> list[tuple[str, str]]:
    """The distinct values a visit's visitor counts once a day under (``seen`` names, and the
    counters their ``uv`` goes to): its channel, its entry's source, UTM medium and campaign."""
    out = [(f"ch#{v.channel}", f"ch#{v.channel}")] if v.channel else []
    if v.origin:
        out.append((f"s#{v.origin.source}", f"src#{v.origin.source}"))
        out += [(f"{name}#{value}", f"{prefix}#{value}") for name, prefix, value in
                (("um", "med", v.origin.medium), ("uc", "cmp", v.origin.campaign)) if value]
    return out


def _engagement_hour(ev: Any) -> tuple[str, str]:
    """The hour's visitor (``seen`` name and counter) of an engagement event that joins a visit.
    Plausible stores it in the session and counts ``uniq(user_id)`` over every stored event
    (expression.ex ``event_metric(:visitors)``), so the hour counts its visitor; the day's visitor is
    counted already, by the page view or custom event that began the visit (docs/metrics.md)."""
    hour = f"h{keys.stamp(ev.ts_ms).strftime('%H')}"
    return hour, hour


def _wholes(v: Visit | None) -> dict[str, str]:
    """Counter sort keys of long paths and the whole paths they stand for."""
    out = {}
    for kind, page in (("page", v.entry), ("page", v.exit), ("ref", v.origin.referrer if v.origin else None)
                       ) if v else ():
        if page:
            key, whole = keys.key_part(page)
            if whole:
                out[f"{kind}#{key}"] = whole
    return out


def _settle(deltas: Counter[tuple[str, str, str]], wholes: dict[tuple[str, str], str], prefix: str,
            v: Visit | None, before: Visit | None, mark: str = "") -> None:
    """Add to ``deltas`` what visit ``v`` contributes beyond what it contributed as ``before`` (to the
    counters ``{mark}{sk}``: ``CARRIED`` for the carried copy)."""
    diff = _contribution(v) if v else Counter()
    diff.subtract(_contribution(before) if before else Counter())
    for (sk, attr), n in diff.items():
        deltas[(prefix, f"{mark}{sk}", attr)] += n
    for sk, whole in {**_wholes(before), **_wholes(v)}.items():  # a -1 may create the item on its shard
        wholes[(prefix, f"{mark}{sk}")] = whole


def _settle_visit(deltas: Counter[tuple[str, str, str]], wholes: dict[tuple[str, str], str], prefix: str,
                  v: Visit, before: Visit | None, yesterday: tuple[str, Visit | None] | None) -> None:
    """``_settle`` for the day of ``prefix``; for a visit carried over midnight (``n`` 0) also its
    carried copy on that day and its change on the day before (``yesterday``: that day's counter
    prefix and what it counted of the visit when ``before`` is None)."""
    if v.n != CARRIED_N or yesterday is None:
        _settle(deltas, wholes, prefix, v, before)
        return
    _settle(deltas, wholes, prefix, on_new_day(v), on_new_day(before))
    _settle(deltas, wholes, prefix, on_new_day(v), on_new_day(before), CARRIED)
    _settle(deltas, wholes, yesterday[0], v, before if before is not None else yesterday[1])


def on_new_day(v: Visit | None) -> Visit | None:
    """A carried visit as its new day counts it: not before a page view or custom event of that day
    (Plausible's session ``timestamp`` moves with those only, and a period reads the sessions whose
    timestamp is in it: an engagement event alone keeps the visit open, not in the day)."""
    if v is None or v.n != CARRIED_N:
        return v
    end = v.last if v.end is None else v.end
    return v if keys.day_of(end) != keys.day_of(v.start) else None


def visit_updates(events_with_visitors: Iterable[tuple[Any, str]], sessions: Mapping[Key, Session],
                  marks: Mapping[Key, Iterable[Mark]] | None = None,
                  previous: Mapping[Key, Key] | None = None) -> VisitWrites:
    """Fold events (validated, each with its daily visitor id) into the visitors' ``sessions``, as read
    from the table (a key that is absent: no visit yet). Events are taken in time order; ties keep
    their order. ``marks`` are the distinct values the events carry, per session key (never a value
    kept in a marker item, ``marks_item``): each value not yet in the session's
    ``seen`` adds 1 to ``uv`` of its counters, once. ``previous`` maps a session key to the visitor's
    session key of the day before (events near midnight, ``may_continue``), whose session, read into
    ``sessions`` too, the visit continues when it is open (its counters the day before follow the
    visit; that session item is left as it was). Pure: nothing is read or written here."""
    shards = keys.shards()
    by_key: dict[Key, list[Any]] = {}
    for ev, visitor in events_with_visitors:
        by_key.setdefault(session_key(ev, visitor, shards), []).append(ev)
    deltas: Counter[tuple[str, str, str]] = Counter()
    wholes: dict[tuple[str, str], str] = {}
    out = VisitWrites()
    folded: dict[Key, Visit | None] = {}  # each key's visit after this batch
    for key in dict.fromkeys([*by_key, *(marks or {})]):
        evs = by_key.get(key, [])
        old = sessions.get(key)
        base = cur = old.visit if old else None
        names: list[tuple[str, str]] = []  # the distinct values of the visits this batch touches
        carried: list[tuple[str, str]] = []  # those of a visit carried from the day before
        yesterday: tuple[str, Visit | None] | None = None
        carried_in: Visit | None = None  # the visit of the day before that goes on in this one, as it ends
        if evs:
            prefix = f"C#{evs[0].domain}#{keys.day_of(evs[0].ts_ms)}#s"
            if cur is not None and cur.n == CARRIED_N:  # carried before: the day before follows it still
                yesterday = (f"C#{evs[0].domain}#{keys.day_of(evs[0].ts_ms - 86_400_000)}#s", None)
            for ev in sorted(evs, key=lambda e: int(e.ts_ms)):
                if cur is None and previous and key in previous:
                    was = previous[key]
                    found = folded[was] if was in folded else getattr(sessions.get(was), "visit", None)
                    if found is not None and found.n != CARRIED_N and found.last < ev.ts_ms and joins(found, ev.ts_ms):
                        cur = found._replace(n=CARRIED_N)  # the visit goes on: same entry, source, pages
                        yesterday = (f"C#{evs[0].domain}#{keys.day_of(found.start)}#s", found)
                if ev.kind == "engagement" and joins(cur, ev.ts_ms):
                    hour = _engagement_hour(ev)
                    if not marks_item(sessions, key, hour[0]):  # else the hour's page views mark items
                        names.append(hour)
                    if cur is not None and cur.n == CARRIED_N and not marks_item(sessions, key, "d"):
                        names.append(("d", "day"))  # the new day's visitor: its first event may be this one
                nxt = fold(cur, ev)
                if cur is not None and nxt is not None and nxt.n != cur.n:
                    # the visit ended: its figures are final
                    _settle_visit(deltas, wholes, prefix, cur, base, yesterday)
                    base = None
                    names += _names(cur) if on_new_day(cur) else []
                    carried += _names(cur) if cur.n == CARRIED_N and on_new_day(cur) else []
                    carried_in = cur if cur.n == CARRIED_N else carried_in
                cur = nxt
            if cur is not None and cur != base:
                _settle_visit(deltas, wholes, prefix, cur, base, yesterday)
            if cur is not None and on_new_day(cur) is not None:
                names += _names(cur)
                carried += _names(cur) if cur.n == CARRIED_N and yesterday else []
            # The visitor counts once a day under each channel, source, medium and campaign of its
            # visits (each a distinct value); a carried visit's in its carried copy too.
            extra = [(name, prefix, csk, -1) for name, csk in dict.fromkeys(names)]
            extra += [(name, prefix, f"{CARRIED}{csk}", -1) for name, csk in dict.fromkeys(carried)]
            if cur is not None and cur.n == CARRIED_N:
                carried_in = cur
            # and its visitor's country, device, browser and OS (VISITOR_DIMS), once a page view or
            # custom event brings it into the new day (the session's user id is the new day's then)
            if on_new_day(carried_in) is not None:
                fixed = [m for m in (marks or {}).get(key, ()) if m[2].partition("#")[0] in VISITOR_DIMS]
                extra += [(name, cprefix, f"{CARRIED}{csk}", event) for name, cprefix, csk, event in fixed]
                if yesterday is not None and yesterday[1] is not None and yesterday[1].n > 1:
                    # Not the visitor's first visit of the day before: Plausible's session takes the new
                    # day's user id with its next page view or custom event (update_session), so that
                    # day counts this visit's visitor apart from its earlier visits' one.
                    extra += [(name, yesterday[0], csk, event) for name, _, csk, event in fixed]
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
        if evs:
            folded[key] = cur
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
        if v.end is not None:
            item["end"] = v.end
        if v.channel:
            item["ch"] = v.channel
        if v.origin:
            item["src"] = v.origin.source
            for name, value in (("ref", v.origin.referrer), ("med", v.origin.medium), ("cmp", v.origin.campaign)):
                if value:
                    item[name] = value
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
                         int(item.get("ia", max(int(item["pv"]), 2 if item["engaged"] else 0))),
                         # a session written before ``src``: its page views counted under their own
                         Origin(str(item["src"]), str(item.get("ref", "")), str(item.get("med", "")),
                                str(item.get("cmp", ""))) if "src" in item else None,
                         int(item["end"]) if "end" in item else None),
                  int(item["ver"]), seen)


def read_sessions(table: Any, keys: Iterable[Key], into: MutableMapping[Key, Session]) -> None:
    """Read the sessions of ``keys`` (strongly consistent, as the puts are conditional on them) into ``into``."""
    for pk, sk in dict.fromkeys(keys):
        found = table.get_item(Key={"pk": pk, "sk": sk}, ConsistentRead=True).get("Item")
        if found:
            into[(pk, sk)] = session_of(found)
        else:
            into.pop((pk, sk), None)


def previous_keys(events_with_visitors: Iterable[tuple[Any, str]], previous: Mapping[str, str]) -> dict[Key, Key]:
    """Session key -> the visitor's session key the day before, for events that may continue a visit
    of that day (``may_continue``; ``previous``: visitor id -> its id with the day before's salt)."""
    return {session_key(ev, v): previous_session_key(ev, previous[v]) for ev, v in events_with_visitors
            if v in previous and may_continue(ev.ts_ms)}


def keys_of(events_with_visitors: Iterable[tuple[Any, str]]) -> list[Key]:
    return list(dict.fromkeys(session_key(ev, visitor) for ev, visitor in events_with_visitors))


# -- reads ------------------------------------------------------------------------------------------
_NOT_COUNTS = frozenset({"pk", "sk", "whole", "expires_at"})


def net_of_carried(item: Mapping[str, Any], day_before_read: bool) -> Mapping[str, Any] | None:
    """How a query counts a counter item. A carried item (``~{sk}``: what a visit continued from the
    day before adds on its new day) is taken off ``{sk}`` when the query reads the day before too, so
    a period counts that visit once; otherwise (the day alone, or the period starts on it) it is
    passed over (None) and the day counts the visit. Any other item is itself."""
    sk = str(item["sk"])
    if not sk.startswith(CARRIED):
        return item
    if not day_before_read:
        return None
    return {k: (-v if k not in _NOT_COUNTS and isinstance(v, int | Decimal) else v)
            for k, v in {**item, "sk": sk[len(CARRIED):]}.items()}


class Figures:
    """The visit fields of ``GET /api/stats``, summed from the counter items of the days asked for."""

    def __init__(self) -> None:
        self.totals: Counter[str] = Counter()
        self.pages: dict[str, Counter[str]] = {"entry": Counter(), "exit": Counter()}

    def add(self, item: Mapping[str, Any]) -> None:
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
