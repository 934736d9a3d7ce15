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
request (``ADD``, only while the set stays within the cap). Goals, their props keys and each key's values
share one item, ``goals`` (``_admit_goals``): a custom event with 10 new props costs one update, not 12
(with caps past ``GROUPED_VALUES`` props values, each key's values keep an item of their own).
The stats query never reads these (their partition is not a counter shard). Props keys are admitted
only for an admitted goal, and props values only for an admitted key, so a goal or key past its cap
takes no room. A value once admitted stays admitted for the day, and a set once full never grows, so a
value's fate is the same on every retry, on both ingest paths.
Each container keeps the sets it has seen (bounded); a full set needs no read or write again.
A set of more than ``SHARD_IDS`` digests is kept in shards filled one after the other (``_admit``), so
an update is billed for one item of at most ``SHARD_IDS`` digests whatever the cap.
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
CURRENCY_CAP = 5  # distinct revenue currencies per site and day (admitted in the goals item, as ``c``)
MAX_GOAL_PROPS = 10  # props keys counted per event (breakdowns.MAX_GOAL_PROPS): the first 10 in key order
MAX_PROP_KEY = 100  # characters of a props key kept (breakdowns.MAX_PROP_KEY)
MAX_PROP_VALUE = 100  # characters of a props value kept (breakdowns.MAX_PROP_VALUE)
DEFAULTS = {"pages": 300, "sources": 100, "utm": 100, "goals": 30, "prop_keys": 30, "prop_values": 20}
_ID_BYTES = 8
_CACHE_MAX = 5_000
ADMIT_ATTEMPTS = 4
# (pk, dimension) -> admitted ids, full, the last shard (its index, size, the values before it)
_sets: dict[tuple[str, str], tuple[frozenset[bytes], bool, tuple[int, int, int]]] = {}
SHARD_IDS = 100  # digests per item of a set at most (an update is billed by its item's size)
GOALS = "goals"  # the item admitting a site's goals, props keys and values for a day
GROUPED_VALUES = 600  # props values the goals item holds at most (8 bytes each: the defaults, 30 x 20)
_goal_sets: dict[str, dict[str, frozenset[bytes]]] = {}  # pk -> attribute of its goals item -> ids


def reset_for_tests() -> None:
    _sets.clear()
    _goal_sets.clear()


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


def _wanted(ev: Any) -> list[tuple[str, int, str]]:
    """The (dimension, cap, value) a page view or custom event counts by value, goals and props aside."""
    caps = limits()
    dims = getattr(ev, "dims", None) or {}
    out: list[tuple[str, int, str]] = []
    if ev.kind in ("pageview", "custom"):
        out += [(d, CLIENT_CAP, dims[d]) for d in ("browser", "os") if dims.get(d)]
        # either may start a visit, whose source, referrer and UTM values are its entry's (visits.py)
        if ev.referrer:
            out.append(("ref", caps["sources"], ev.referrer))
        if dims.get("source") and dims["source"] != dimensions.DIRECT:  # not from the request: never capped
            out.append(("source", caps["sources"], dims["source"]))
        out += [(d, caps["utm"], dims[d]) for d in ("utm_medium", "utm_campaign") if dims.get(d)]
    if ev.kind == "pageview":
        out.append(("page", caps["pages"], ev.path))
    return out


def apply(table: Any, events: Iterable[Any], batched: bool = False) -> list[Any]:
    """Each event as it is counted: a value its site's cap for the day has no room for becomes
    ``(other)`` (a goal past its cap keeps none of its props). The events themselves (their ids, raw
    items) are left as they came. ``batched``: the sets not known yet are read with ``BatchGetItem``
    (100 a round trip) rather than one ``GetItem`` each (a role that may call it: the aggregator's)."""
    events = list(events)
    wanted: dict[tuple[str, str], tuple[int, set[str]]] = {}
    goals: dict[str, dict[str, dict[str, set[str]]]] = {}  # pk -> goal -> props key -> values
    currencies: dict[str, set[str]] = {}  # pk -> revenue currencies
    for ev in events:
        for dim, cap, value in _wanted(ev):
            wanted.setdefault((_pk(ev), dim), (cap, set()))[1].add(value)
        if ev.kind == "custom":
            props = goals.setdefault(_pk(ev), {}).setdefault(ev.name, {})
            for key, value in goal_props(ev.props).items():
                props.setdefault(key, set()).add(value)
            if getattr(ev, "revenue", None):
                currencies.setdefault(_pk(ev), set()).add(str(ev.revenue["currency"]))
    unknown: list[tuple[str, str]] = [k for k in wanted if k not in _sets]
    unknown += [(pk, GOALS) for pk in goals if pk not in _goal_sets]
    if batched and unknown:
        found = batch_get.get_items(table, unknown)
        for pk, dim in unknown:
            if dim == GOALS:
                _remember_goals(pk, _sets_of(found.get((pk, dim))))
            else:
                got = _ids_of(found.get((pk, dim)))
                _remember((pk, dim), got, len(got) >= wanted[(pk, dim)][0])  # its first shard
    kept = {key: _admit(table, key, cap, values) for key, (cap, values) in wanted.items()}
    for pk, wanted_goals in goals.items():
        kept.update(_admit_goals(table, pk, wanted_goals, currencies.get(pk, set())))
    return [_capped(ev, kept) for ev in events]


def _capped(ev: Any, kept: dict[tuple[str, str], set[str]]) -> Any:
    pk = _pk(ev)

    def keep(dim: str, value: str) -> str:
        return value if value in kept.get((pk, dim), ()) else OTHER

    changes: dict[str, Any] = {}
    dims = dict(getattr(ev, "dims", None) or {})
    for dim in ("browser", "os", "source", "utm_medium", "utm_campaign"):
        if dims.get(dim) and (pk, dim) in kept and not (dim == "source" and dims[dim] == dimensions.DIRECT):
            dims[dim] = keep(dim, dims[dim])
    if dims != (getattr(ev, "dims", None) or {}):
        changes["dims"] = dims
    if ev.kind in ("pageview", "custom") and ev.referrer:
        changes["referrer"] = keep("ref", ev.referrer)
    if ev.kind == "pageview":
        changes["path"] = keep("page", ev.path)
    if ev.kind == "custom":
        name = keep("goal", ev.name)
        props: dict[str, str] = {}
        if name != OTHER:
            for key, value in goal_props(ev.props).items():
                k = key if keep("pkey", f"{name}#{key}") != OTHER else OTHER
                v = value if k == OTHER else keep(f"pval#{_id(name + '#' + key).hex()}", value)
                props.setdefault(k, OTHER if k == OTHER else v)
        changes.update(name=name, props=props)
        if getattr(ev, "revenue", None) and str(ev.revenue["currency"]) not in kept.get((pk, "cur"), ()):
            changes["revenue"] = None  # a currency past the cap: its amount is not summed (its event counts)
    changes = {k: v for k, v in changes.items() if getattr(ev, k, None) != v}
    return replace(ev, **changes) if changes else ev


def _remember(key: tuple[str, str], ids: frozenset[bytes], full: bool,
              last: tuple[int, int, int] | None = None) -> None:
    """Note a set as read: all its shards, ``last`` the shard values are added to (its index, its size,
    the values of the shards before it); without ``last``, its first shard only (a batched read), kept
    only when that is the whole set."""
    if last is None:
        if len(ids) >= SHARD_IDS and not full:
            _sets.pop(key, None)  # more shards may follow: _admit reads them
            return
        last = (0, len(ids), 0)
    if key not in _sets and len(_sets) >= _CACHE_MAX:
        _sets.pop(next(iter(_sets)))
    _sets[key] = (ids, full, last)


def _ids_of(item: dict[str, Any] | None) -> frozenset[bytes]:
    found = (item or {}).get("ids") or set()
    return frozenset(bytes(getattr(x, "value", x)) for x in found)


def _shard_sk(dim: str, index: int) -> str:
    return dim if index == 0 else f"{dim}#{index}"


def _load(table: Any, key: tuple[str, str], cap: int) -> None:
    """Read a set's shards, from the first to the first that is not closed (fewer than ``SHARD_IDS``)."""
    ids: set[bytes] = set()
    index = before = 0
    while True:
        got = _ids_of(table.get_item(Key={"pk": key[0], "sk": _shard_sk(key[1], index)}, ConsistentRead=True)
                      .get("Item"))
        ids |= got
        if len(got) < SHARD_IDS or before + len(got) >= cap:
            break
        before += len(got)
        index += 1
    _remember(key, frozenset(ids), before + len(got) >= cap, (index, len(got), before))


def _admit(table: Any, key: tuple[str, str], cap: int, values: set[str]) -> set[str]:
    """The values of ``values`` admitted for this site, day and dimension (admitting new ones while
    there is room).

    A set is kept in shards of at most ``SHARD_IDS`` digests (``{dimension}``, ``{dimension}#1``, …),
    filled one after the other, so an update is billed for a small item whatever the cap: a shard once
    holding ``SHARD_IDS`` is closed, and the set's size is the closed shards' and the last one's."""
    ids = {_id(v): v for v in values}
    if key not in _sets:
        _load(table, key, cap)
    known, full, (index, size, before) = _sets[key]
    new = sorted(i for i in ids if i not in known)
    for _ in range(ADMIT_ATTEMPTS + cap // SHARD_IDS):
        room = min(SHARD_IDS, cap - before)  # of the last shard
        if size >= room and before + size < cap:  # closed: the next shard
            index, before, size = index + 1, before + size, 0
            continue
        take = new[:max(0, room - size)]
        if full or not take:
            break
        shard = {"pk": key[0], "sk": _shard_sk(key[1], index)}
        try:
            answer = table.update_item(
                Key=shard, UpdateExpression="ADD ids :new",
                ConditionExpression="attribute_not_exists(ids) OR size(ids) <= :room",
                ExpressionAttributeValues={":new": set(take), ":room": room - len(take)}, ReturnValues="ALL_NEW")
            got = _ids_of(answer.get("Attributes"))
        except table.meta.client.exceptions.ConditionalCheckFailedException:
            got = _ids_of(table.get_item(Key=shard, ConsistentRead=True).get("Item"))
        known, size = known | got, len(got)
        full = before + size >= cap
        _remember(key, known, full, (index, size, before))
        new = [i for i in new if i not in known]
    return {v for i, v in ids.items() if i in known}


def _sets_of(item: dict[str, Any] | None) -> dict[str, frozenset[bytes]]:
    return {a: _ids_of({"ids": v}) for a, v in (item or {}).items() if a not in ("pk", "sk")}


def _remember_goals(pk: str, sets: dict[str, frozenset[bytes]]) -> None:
    if pk not in _goal_sets and len(_goal_sets) >= _CACHE_MAX // 10:
        _goal_sets.pop(next(iter(_goal_sets)))
    _goal_sets[pk] = sets


def _admit_goals(table: Any, pk: str, wanted: dict[str, dict[str, set[str]]],
                 currencies: set[str] | frozenset[str] = frozenset()) -> dict[tuple[str, str], set[str]]:
    """The goals, props keys and props values of ``wanted`` (goal -> key -> values), and the revenue
    currencies of ``currencies``, admitted for this site and day, as ``_capped`` takes them, admitting
    new ones while there is room: all in one item, ``{pk}`` / ``goals`` (``g`` the goals, ``k`` the goal
    and key pairs, ``v{pair}`` each pair's values, ``c`` the currencies), grown by one conditional
    update per request. A key is admitted only under an admitted goal, a value
    only under an admitted key, so a goal or key past its cap takes no room."""
    c = limits()
    # The values' sets join the item while it stays a few KB (an update is billed by the item's size):
    # with larger caps each key's values keep an item of their own, ``pval#{pair}``.
    grouped = c["prop_keys"] * c["prop_values"] <= GROUPED_VALUES
    key = {"pk": pk, "sk": GOALS}
    if pk not in _goal_sets:
        _remember_goals(pk, _sets_of(table.get_item(Key=key, ConsistentRead=True).get("Item")))
    for _ in range(ADMIT_ATTEMPTS):
        sets = _goal_sets[pk]
        add: dict[str, tuple[set[bytes], int]] = {}  # attribute -> ids to add, room it must have

        def take(attr: str, cap: int, ids: Iterable[bytes], sets: dict[str, frozenset[bytes]] = sets,
                 add: dict[str, tuple[set[bytes], int]] = add) -> set[bytes]:
            known = sets.get(attr, frozenset())
            new = sorted(i for i in set(ids) if i not in known)[:max(0, cap - len(known))]
            if new:
                add[attr] = (set(new), cap - len(new))
            return {*known, *new}

        goals_in = take("g", c["goals"], (_id(g) for g in wanted))
        take("c", CURRENCY_CAP, (_id(x) for x in currencies))
        pairs = {f"{g}#{k}": values for g, keys in wanted.items() if _id(g) in goals_in for k, values in keys.items()}
        keys_in = take("k", c["prop_keys"], (_id(p) for p in pairs))
        for pair, values in pairs.items():
            if grouped and _id(pair) in keys_in:
                take(f"v{_id(pair).hex()}", c["prop_values"], (_id(v) for v in values))
        if not add:
            break
        names = {f"#a{i}": attr for i, attr in enumerate(add)}
        values_: dict[str, Any] = {f":n{i}": ids for i, (ids, _) in enumerate(add.values())}
        values_.update({f":r{i}": room for i, (_, room) in enumerate(add.values())})
        try:
            answer = table.update_item(
                Key=key, UpdateExpression="ADD " + ", ".join(f"#a{i} :n{i}" for i in range(len(add))),
                ConditionExpression=" AND ".join(f"(attribute_not_exists(#a{i}) OR size(#a{i}) <= :r{i})"
                                                 for i in range(len(add))),
                ExpressionAttributeNames=names, ExpressionAttributeValues=values_, ReturnValues="ALL_NEW")
            _remember_goals(pk, _sets_of(answer.get("Attributes")))
        except table.meta.client.exceptions.ConditionalCheckFailedException:
            _remember_goals(pk, _sets_of(table.get_item(Key=key, ConsistentRead=True).get("Item")))
    sets = _goal_sets[pk]
    goals = {g for g in wanted if _id(g) in sets.get("g", ())}
    out: dict[tuple[str, str], set[str]] = {(pk, "goal"): goals, (pk, "pkey"): set(),
                                            (pk, "cur"): {x for x in currencies if _id(x) in sets.get("c", ())}}
    for g in goals:
        for k, values in wanted[g].items():
            pair = f"{g}#{k}"
            if _id(pair) in sets.get("k", ()):
                out[(pk, "pkey")].add(pair)
                dim = f"pval#{_id(pair).hex()}"
                if grouped:
                    admitted = sets.get(f"v{_id(pair).hex()}", frozenset())
                    out[(pk, dim)] = {v for v in values if _id(v) in admitted}
                else:
                    out[(pk, dim)] = _admit(table, (pk, dim), c["prop_values"], values)
    return out


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
            + (c["goals"] + 1) * CURRENCY_CAP  # revenue: each goal row (and (other)) per admitted currency
            + c["prop_keys"] * (c["prop_values"] + 1) + c["goals"]  # props values, and each goal's (other) key
            + 2 * (CLIENT_CAP + 1) + len(dimensions.COUNTRIES) + DEVICE_CLASSES)
