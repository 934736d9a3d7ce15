"""An event's writes, derived the same way by both ingest paths (the direct path's transactions in
store.py, the stream path's aggregator): its id, raw item and retry guard, its counters, the
distinct-visitor values it carries and its active-page entry."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

from . import breakdowns, visits
from .keys import day_of, expiry, key_part, marker_shard, shards, stamp
from .writes import Planned

RETRY_WINDOW_S = 30  # an event sent without ts is recognised when it comes again within 30 to 60 s


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


def plan(ev: Any, visitor: str, occurrence: int, now_ms: int, raw_ttl: int, counted: Any = None) -> Planned:
    """``ev``'s writes. ``counted`` is the event as its counters see it (caps.apply: values past their
    cap are ``(other)``); its id and raw item are always ``ev``'s own."""
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
    planned = Planned(item, guard)
    ev = counted if counted is not None else ev
    at = stamp(ev.ts_ms)
    day, hour, minute = at.strftime("%Y-%m-%d"), at.strftime("%H"), at.strftime("%H%M")
    c = f"C#{ev.domain}#{day}#s"
    k = marker_shard(visitor)
    vpk = f"V#{ev.domain}#{day}#s{k}"
    marker_ttl = expiry(days=2)
    if ev.kind in ("pageview", "custom"):
        breakdowns.plan_visitor(planned, getattr(ev, "dims", None) or {}, visitor, c, vpk, hour, marker_ttl)
    if ev.kind == "custom":
        planned.counters.append((c, "day", "events", None))
        breakdowns.plan_goal(planned, ev.name, ev.props, visitor, c, vpk, marker_ttl)
        if ev.revenue:
            breakdowns.plan_revenue(planned, ev.name, ev.revenue, c)
    if ev.kind != "pageview":
        return planned
    page, whole_page = key_part(ev.path)
    planned.counters += [(c, "day", "pv", None), (c, f"h{hour}", "pv", None), (c, f"page#{page}", "pv", whole_page),
                         (f"M#{ev.domain}#{day}#s", f"m{minute}", "pv", None)]
    breakdowns.plan_pageview(planned, visitor, c, vpk, marker_ttl, page)
    planned.active = (f"A#{ev.domain}#{at.strftime('%Y%m%d%H%M')}#s{k}", f"{visitor}#{page}", whole_page)
    return planned


def session_marker(p: Planned, pk: str, sk: str) -> tuple[visits.Key, str] | None:
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
