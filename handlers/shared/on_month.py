"""Day counters that ride on their month's rows (docs/storage.md, "Month rollups").

Every day counter is added to its month's row again (months.py), so a new visitor's device, browser
and OS (and country) are six to eight counter items, and a custom event with ten new props twenty.
These counters instead live on the month's row only, keyed ``f#{sk}`` in the month's partition
(``f#br#Firefox``, ``f#gp#{goal}#{key}#{value}``): the month's sums as before, and each day's share
in an attribute of its own, the counter's name and the day of the month (``uv07``, ``events07``).
Device classes and countries are fixed lists; a browser, OS or props value the month's cap has no
room for (the month counts it under ``(other)``) keeps its day row, as before, so a day's panels
stay what the day admitted.

A day's read takes its month's folded rows too: one more query per month and shard
(``begins_with(sk, "f#")``), bounded as the month's partition is (months.py, caps.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

PREFIX = "f#"
HEADS = frozenset({"gp", "br", "os", "dev", "cty"})  # goal props; the visitor-fixed dimensions

Counters = dict[tuple[str, str], tuple[Counter[str], str | None]]


def month_key(day_key: tuple[str, str], month: tuple[str, str]) -> tuple[tuple[str, str], str | None]:
    """The month row a day counter's increments go to (``month``, or its ``f#`` row), and the day's
    attribute suffix (``DD``) when the day's own row is folded into it (None: the day keeps its row)."""
    head = month[1].partition("#")[0]
    if head not in HEADS:
        return month, None
    row = (month[0], PREFIX + month[1])
    return row, (day_key[0].split("#")[2][8:10] if month[1] == day_key[1] else None)


def fold(out: Counters, day_key: tuple[str, str], month: tuple[str, str], day: str) -> None:
    """Move a day counter's increments onto its month row as the day's attributes (``{name}{DD}``)."""
    values, _ = out.pop(day_key)
    for attr, n in values.items():
        out[month][0][f"{attr}{day}"] += n


def queries(site: str, days: Iterable[str], shards: int) -> list[dict[str, Any]]:
    """The month queries a read of ``days`` (``YYYY-MM-DD``; months are left out) needs: per month and shard."""
    months = sorted({d[:7] for d in days if len(d) == 10})
    return [{"KeyConditionExpression": "pk = :pk AND begins_with(sk, :f)",
             "ExpressionAttributeValues": {":pk": f"C#{site}#{m}#s{k}", ":f": PREFIX}}
            for m in months for k in range(shards)]


def day_items(items: list[dict[str, Any]], days: Iterable[str]) -> list[dict[str, Any]]:
    """A month's folded rows as the days of ``days`` (of that month) count them: the day row's key
    and counters (their sum over the days)."""
    suffixes = [d[8:10] for d in days]
    out = []
    for item in items:
        values: Counter[str] = Counter()
        for name, n in item.items():
            if len(name) > 2 and name[-2:] in suffixes and name[:-2] in ("uv", "pv", "events"):
                values[name[:-2]] += int(n)
        if values:
            out.append({"sk": str(item["sk"])[len(PREFIX):], **values,
                        **({"whole": item["whole"]} if "whole" in item else {})})
    return out


def row_key(sk: str) -> str:
    """A counter row's key as the day's partition has it (a month's folded row: without ``f#``)."""
    return sk[len(PREFIX):] if sk.startswith(PREFIX) else sk
