"""Cardinality caps: how many distinct values of each dimension a site keeps per day (docs/analytics.md,
"Caps"). Past a cap, a new value counts under ``(other)``, as GA4 does; headline totals (visitors,
visits, page views, events) are counted as before, so they stay exact.

Capped, per site and day: pages (the page, entry and exit page panels), referrers, sources, UTM
mediums and campaigns, goal names, props keys (goal and key pairs) and the values of each props key;
browsers and operating systems (names a User-Agent can make up) at ``CLIENT_CAP``. Countries and
device classes are fixed lists. Caps come from the spec (``caps``, the functions' variable
``LIVEINSIGHT_CAPS``), with the defaults of ``DEFAULTS``.

The values a site admitted for a day are kept in one item per dimension, ``C#caps#{site}#{day}`` /
``{dimension}``: a set of 8-byte digests (``ids``), grown with one conditional update per dimension and
request (``ADD``, only while the set stays within the cap). The stats query never reads it (its
partition is not a counter shard). Props keys are admitted only for an admitted goal, and props values
only for an admitted key, so a goal or key past its cap takes no room and writes no set. A value
once admitted stays admitted for the day, and a set once full never grows, so a value's fate is
the same on every retry, on both ingest paths.
Each container keeps the sets it has seen (bounded); a full set needs no read or write again.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import replace
from functools import lru_cache
from typing import Any

from . import batch_get, dimensions
from .keys import day_of

OTHER = "(other)"
CLIENT_CAP = 100  # distinct browsers, and operating systems, per site and day
MAX_GOAL_PROPS = 10  # props keys counted per event (breakdowns.MAX_GOAL_PROPS): the first 10 in key order
MAX_PROP_KEY = 100  # characters of a props key kept (breakdowns.MAX_PROP_KEY)
MAX_PROP_VALUE = 100  # characters of a props value kept (breakdowns.MAX_PROP_VALUE)
DEFAULTS = {"pages": 300, "sources": 100, "utm": 100, "goals": 30, "prop_keys": 30, "prop_values": 20}
_ID_BYTES = 8
_CACHE_MAX = 5_000
ADMIT_ATTEMPTS = 4
_sets: dict[tuple[str, str], tuple[frozenset[bytes], bool]] = {}  # (pk, dimension) -> admitted ids, full


def reset_for_tests() -> None:
    _sets.clear()


@lru_cache(maxsize=4)
def _limits(raw: str) -> dict[str, int]:
    try:
        given = json.loads(raw)
    except ValueError:
        given = {}
    found = {k: int(v) for k, v in given.items() if k in DEFAULTS} if isinstance(given, dict) else {}
    return {**DEFAULTS, **found}


def limits() -> dict[str, int]:
    return _limits(os.environ.get("LIVEINSIGHT_CAPS", "{}"))


def _id(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8")).digest()[:_ID_BYTES]


def prop_value(value: Any) -> str:
    """A props value as the breakdown keeps it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return dimensions.clean(str(value), MAX_PROP_VALUE)


def goal_props(props: dict[str, Any]) -> dict[str, str]:
    """The props keys and values a goal counts (cleaned, the first ``MAX_GOAL_PROPS`` keys)."""
    out: dict[str, str] = {}
    for prop in sorted(props)[:MAX_GOAL_PROPS]:
        key = dimensions.clean(prop, MAX_PROP_KEY)
        if key not in out:
            out[key] = prop_value(props[prop])
    return out


def _pk(ev: Any) -> str:
    return f"C#caps#{ev.domain}#{day_of(ev.ts_ms)}"


def _wanted(ev: Any, kept: dict[tuple[str, str], set[str]], stage: int) -> list[tuple[str, int, str]]:
    """The (dimension, cap, value) an event counts by value, in three stages: its goal and the
    other dimensions; then the props keys of an admitted goal; then the values of an admitted key
    (``kept``: what the earlier stages admitted). A goal or key past its cap counts under ``(other)``
    and takes no room in the next stage's sets."""
    caps = limits()
    dims = getattr(ev, "dims", None) or {}
    out: list[tuple[str, int, str]] = []
    if stage == 0 and ev.kind in ("pageview", "custom"):
        out += [(d, CLIENT_CAP, dims[d]) for d in ("browser", "os") if dims.get(d)]
    if stage == 0 and ev.kind == "pageview":
        out.append(("page", caps["pages"], ev.path))
        if ev.referrer:
            out.append(("ref", caps["sources"], ev.referrer))
        if dims.get("source"):
            out.append(("source", caps["sources"], dims["source"]))
        out += [(d, caps["utm"], dims[d]) for d in ("utm_medium", "utm_campaign") if dims.get(d)]
    if ev.kind != "custom":
        return out
    if stage == 0:
        return [*out, ("goal", caps["goals"], ev.name)]
    pk = _pk(ev)
    if ev.name not in kept.get((pk, "goal"), ()):
        return out
    for key, value in goal_props(ev.props).items():
        pair = f"{ev.name}#{key}"
        if stage == 1:
            out.append(("pkey", caps["prop_keys"], pair))
        elif pair in kept.get((pk, "pkey"), ()):
            out.append((f"pval#{_id(pair).hex()}", caps["prop_values"], value))
    return out


def apply(table: Any, events: Iterable[Any], batched: bool = False) -> list[Any]:
    """Each event as it is counted: a value its site's cap for the day has no room for becomes
    ``(other)`` (a goal past its cap keeps none of its props). The events themselves (their ids, raw
    items) are left as they came. ``batched``: the sets not known yet are read with ``BatchGetItem``
    (100 a round trip) rather than one ``GetItem`` each (a role that may call it: the aggregator's)."""
    events = list(events)
    kept: dict[tuple[str, str], set[str]] = {}
    for stage in range(3):
        wanted: dict[tuple[str, str], tuple[int, set[str]]] = {}
        for ev in events:
            for dim, cap, value in _wanted(ev, kept, stage):
                wanted.setdefault((_pk(ev), dim), (cap, set()))[1].add(value)
        unknown = [key for key in wanted if key not in _sets]
        if batched and unknown:
            found = batch_get.get_items(table, unknown)
            for key in unknown:
                got = _ids_of(found.get(key))
                _remember(key, got, len(got) >= wanted[key][0])
        kept.update({key: _admit(table, key, cap, values) for key, (cap, values) in wanted.items()})
    return [_capped(ev, kept) for ev in events]


def _capped(ev: Any, kept: dict[tuple[str, str], set[str]]) -> Any:
    pk = _pk(ev)

    def keep(dim: str, value: str) -> str:
        return value if value in kept.get((pk, dim), ()) else OTHER

    changes: dict[str, Any] = {}
    dims = dict(getattr(ev, "dims", None) or {})
    for dim in ("browser", "os", "source", "utm_medium", "utm_campaign"):
        if dims.get(dim) and (pk, dim) in kept:
            dims[dim] = keep(dim, dims[dim])
    if dims != (getattr(ev, "dims", None) or {}):
        changes["dims"] = dims
    if ev.kind == "pageview":
        changes["path"] = keep("page", ev.path)
        if ev.referrer:
            changes["referrer"] = keep("ref", ev.referrer)
    if ev.kind == "custom":
        name = keep("goal", ev.name)
        props: dict[str, str] = {}
        if name != OTHER:
            for key, value in goal_props(ev.props).items():
                k = key if keep("pkey", f"{name}#{key}") != OTHER else OTHER
                v = value if k == OTHER else keep(f"pval#{_id(name + '#' + key).hex()}", value)
                props.setdefault(k, OTHER if k == OTHER else v)
        changes.update(name=name, props=props)
    changes = {k: v for k, v in changes.items() if getattr(ev, k, None) != v}
    return replace(ev, **changes) if changes else ev


def _remember(key: tuple[str, str], ids: frozenset[bytes], full: bool) -> None:
    if key not in _sets and len(_sets) >= _CACHE_MAX:
        _sets.pop(next(iter(_sets)))
    _sets[key] = (ids, full)


def _ids_of(item: dict[str, Any] | None) -> frozenset[bytes]:
    found = (item or {}).get("ids") or set()
    return frozenset(bytes(getattr(x, "value", x)) for x in found)


def _admit(table: Any, key: tuple[str, str], cap: int, values: set[str]) -> set[str]:
    """The values of ``values`` admitted for this site, day and dimension (admitting new ones while
    there is room)."""
    ids = {_id(v): v for v in values}
    if key not in _sets:
        item = table.get_item(Key={"pk": key[0], "sk": key[1]}, ConsistentRead=True).get("Item")
        got = _ids_of(item)
        _remember(key, got, len(got) >= cap)
    known, full = _sets[key]
    new = sorted(i for i in ids if i not in known)
    for _ in range(ADMIT_ATTEMPTS):
        take = new[:max(0, cap - len(known))]
        if full or not take:
            break
        try:
            answer = table.update_item(
                Key={"pk": key[0], "sk": key[1]}, UpdateExpression="ADD ids :new",
                ConditionExpression="attribute_not_exists(ids) OR size(ids) <= :room",
                ExpressionAttributeValues={":new": set(take), ":room": cap - len(take)}, ReturnValues="ALL_NEW")
            known = _ids_of(answer.get("Attributes"))
        except table.meta.client.exceptions.ConditionalCheckFailedException:
            known = _ids_of(table.get_item(Key={"pk": key[0], "sk": key[1]}, ConsistentRead=True).get("Item"))
        full = len(known) >= cap
        _remember(key, known, full)
        new = [i for i in new if i not in known]
    return {v for i, v in ids.items() if i in known}


DEVICE_CLASSES = 4  # desktop, mobile, tablet, bot (dimensions.client)


def counter_bound() -> int:
    """The counter items one shard of a site's day can hold at most, whatever was sent: what a stats
    query reads per day and shard (docs/analytics.md, "Caps"). ``(other)`` is one more row per cap."""
    c = limits()
    return (1 + 24  # the day, its hours
            + (c["pages"] + 1)  # pages (their entry and exit visits ride on the page's item)
            + 2 * (c["sources"] + 1)  # referrers, sources
            + 2 * (c["utm"] + 1)  # UTM mediums, campaigns
            + (c["goals"] + 1)
            + c["prop_keys"] * (c["prop_values"] + 1) + c["goals"]  # props values, and each goal's (other) key
            + 2 * (CLIENT_CAP + 1) + len(dimensions.COUNTRIES) + DEVICE_CLASSES)
