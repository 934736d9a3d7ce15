"""Month rollups: each day counter's increments added again to its month's counter partition, so a
long period reads a month's partition instead of its days' (docs/storage.md, "Month rollups").

``C#{site}#{YYYY-MM-DD}#s`` / ``{sk}`` adds the same increments to ``C#{site}#{YYYY-MM}#s`` / ``{sk}``,
in the same transaction (direct path) or batch item (stream path), so a month's figures are the sum of
its days', exactly. Hours (``h{HH}``) are not rolled up: a long period's series is per month.

Month panels are bounded as a day's are: each panel's values are admitted to a month-level cap set
(``C#caps#{site}#{YYYY-MM}`` / dimension, caps.py's mechanism, the same limits), and a value past the
month's cap counts under ``(other)`` in the month (the day keeps it). A month's partition thus holds
at most ``caps.counter_bound()`` items per shard, less the 24 hours.

A day's props, device, browser, OS and country counters are kept on their month's rows only, each
day's share in an attribute of its own (on_month.py): half the counter items for a new visitor or a
custom event with new props.

The months a site has counters in are listed in ``C#months#{site}`` / ``months`` (a string set, ``ADD``:
idempotent), so ``period=all`` starts at the site's first month with one query.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

from . import batch_get, caps, dimensions, on_month

MONTHS_SK = "months"
_DAY_PREFIX = re.compile(r"C#([^#]+)#(\d{4}-\d{2})-\d{2}#s")
_HOUR = re.compile(r"h\d\d")
# panel head -> (cap set, the limit's name in caps.limits(); None: caps.CLIENT_CAP)
_CAPPED: dict[str, tuple[str, str | None]] = {
    "page": ("page", "pages"), "entry": ("page", "pages"), "exit": ("page", "pages"),
    "ref": ("ref", "sources"), "src": ("source", "sources"),
    "med": ("utm_medium", "utm"), "cmp": ("utm_campaign", "utm"),
    "goal": ("goal", "goals"), "rev": ("goal", "goals"),
    "br": ("browser", None), "os": ("os", None)}
CURRENCIES = "cur"  # the month's cap set of revenue currencies
_UNCAPPED = frozenset({"cty", "dev", "ch"})  # fixed lists: countries, device classes, channels
_months_noted: set[str] = set()  # month list entries this container has written


def reset_for_tests() -> None:
    _months_noted.clear()


def months_pk(site: str) -> str:
    return f"C#months#{site}"


def _cap(name: str | None) -> int:
    if name is None:
        return caps.CLIENT_CAP
    return caps.limits()[name]


def _set_of(head: str) -> tuple[str, int]:
    """The month-level cap set of a panel and its size."""
    if head in _CAPPED:
        name, limit = _CAPPED[head]
        return name, _cap(limit)
    if head == "gp":
        c = caps.limits()
        return "gp", c["prop_keys"] * c["prop_values"]
    return head, caps.limits()["pages"]  # a panel not listed: bounded all the same


def _value(head: str, rest: str) -> str:
    """The part of a sort key that the cap admits (a revenue row's goal, not its currency)."""
    return rest.partition("#")[2] if head == "rev" else rest


def _other(head: str, rest: str) -> str:
    return f"rev#{rest.partition('#')[0]}#{caps.OTHER}" if head == "rev" else f"{head}#{caps.OTHER}"


class Rollup:
    """Maps day counters to their month counters; with a table, admits values to the month cap sets
    (and lists the months), without one (an estimate of the writes) keeps every value."""

    def __init__(self, table: Any | None, batched: bool = False) -> None:
        self.table = table
        self.batched = batched  # cap sets not known yet: one BatchGetItem (the aggregator's role may)
        self._kept: dict[tuple[str, str], set[str]] = {}  # (caps pk, set) -> values admitted

    def map(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], tuple[str, str]]:
        """Day counter key -> month counter key, for the keys that roll up."""
        rolled: dict[tuple[str, str], tuple[str, str, str, str, str]] = {}
        wanted: dict[tuple[str, str], tuple[int, set[str]]] = {}
        for prefix, sk in keys:
            found = _DAY_PREFIX.fullmatch(prefix)
            if not found or _HOUR.fullmatch(sk):
                continue
            site, month = found.group(1), found.group(2)
            head, sep, rest = sk.partition("#")
            rolled[(prefix, sk)] = (site, month, head, rest, sep)
            if sep and head not in _UNCAPPED and rest not in (caps.OTHER, dimensions.DIRECT):
                name, cap = _set_of(head)
                wanted.setdefault((f"C#caps#{site}#{month}", name), (cap, set()))[1].add(_value(head, rest))
            if head == "rev":  # the month's currencies, capped as a day's are (caps.CURRENCY_CAP)
                wanted.setdefault((f"C#caps#{site}#{month}", CURRENCIES), (caps.CURRENCY_CAP, set()))[1].add(
                    rest.partition("#")[0])
        if self.table is not None:
            for site, month in sorted({(r[0], r[1]) for r in rolled.values()}):
                self._note(site, month)
            unknown = [key for key in wanted if key not in caps._sets]
            if self.batched and unknown:  # as caps.apply(batched=True) reads the day's sets
                stored = batch_get.get_items(self.table, unknown)
                for key in unknown:
                    got = caps._ids_of(stored.get(key))
                    caps._remember(key, got, len(got) >= wanted[key][0])
            for key, (cap, values) in wanted.items():
                new = values - self._kept.get(key, set())
                if new:
                    self._kept.setdefault(key, set()).update(caps._admit(self.table, key, cap, new))
        out: dict[tuple[str, str], tuple[str, str]] = {}
        for (prefix, sk), (site, month, head, rest, sep) in rolled.items():
            month_sk = sk
            if head == "rev" and self.table is not None and rest.partition("#")[0] not in self._kept.get(
                    (f"C#caps#{site}#{month}", CURRENCIES), set()):
                continue  # a currency past the month's cap: its amount is not summed for long periods
            if sep and head not in _UNCAPPED and rest not in (caps.OTHER, dimensions.DIRECT) and self.table is not None:
                name, _ = _set_of(head)
                if _value(head, rest) not in self._kept.get((f"C#caps#{site}#{month}", name), set()):
                    month_sk = _other(head, rest)
            out[(prefix, sk)] = (f"C#{site}#{month}#s", month_sk)
        return out

    def _note(self, site: str, month: str) -> None:
        key = f"{site}#{month}"
        if key in _months_noted or self.table is None:
            return
        self.table.update_item(Key={"pk": months_pk(site), "sk": MONTHS_SK}, UpdateExpression="ADD months :m",
                               ExpressionAttributeValues={":m": {month}})
        if len(_months_noted) > 10_000:
            _months_noted.clear()
        _months_noted.add(key)


Counters = dict[tuple[str, str], tuple[Counter[str], str | None]]  # (pk prefix, sk) -> increments, whole


def with_rollups(counters: Counters, rollup: Rollup | None) -> Counters:
    """``counters`` and their month counters (increments merged where two map to one month row)."""
    if rollup is None:
        return counters
    out: Counters = dict(counters)
    mapped = rollup.map(list(dict.fromkeys((p, sk.removeprefix(CARRIED)) for p, sk in counters)))
    for (prefix, sk), (values, whole) in counters.items():
        day_key = (prefix, sk.removeprefix(CARRIED))
        if day_key not in mapped:
            continue
        # Some rows carry their days (on_month.py); a carried counter keeps its own day row.
        month_key, day = on_month.month_key(day_key, mapped[day_key])
        sign = 1
        if sk.startswith(CARRIED):
            (month_key, sign), day = _carried_in_month(prefix, sk, month_key), None
        if month_key not in out:
            row = on_month.row_key(month_key[1].removeprefix(CARRIED))
            out[month_key] = (Counter(), whole if row == day_key[1] else None)
        out[month_key][0].update({attr: sign * n for attr, n in values.items()})
        if day:
            on_month.fold(out, day_key, month_key, day)
    return out


# -- visits across midnight ------------------------------------------------------------------------
CARRIED = "~"  # visits.CARRIED: a visit's counters on the day after midnight, copied under ``~{sk}``
_FIRST_DAY = re.compile(r"C#[^#]+#\d{4}-\d{2}-01#s")


def _carried_in_month(prefix: str, sk: str, month_key: tuple[str, str]) -> tuple[tuple[str, str], int]:
    """The month row a day counter adds to, and with which sign. A carried counter (visits.py, "Across
    midnight") of a day whose day before is in the same month is taken off its month row at once (the
    month counts the visit once); one of a month's first day stays carried in the month
    (``~{sk}``), taken off when a query reads the month before too (visits.net_of_carried)."""
    if not sk.startswith(CARRIED):
        return month_key, 1
    if _FIRST_DAY.fullmatch(prefix):
        return (month_key[0], f"{CARRIED}{month_key[1]}"), 1
    return month_key, -1
