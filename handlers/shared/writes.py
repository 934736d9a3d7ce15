"""What one event writes (``Planned``), and the update that adds to a counter: shared by the plan
of an event (plan.py), the direct path's transactions (store.py) and the stream path's aggregator."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .keys import expiry


@dataclass
class Planned:
    """One event's share of a transaction."""

    raw: dict[str, Any]
    guard: dict[str, Any] | None
    counters: list[tuple[str, str, str, str | None]] = field(default_factory=list)  # pk prefix, sk, attr, whole
    # pk, sk, counter pk prefix / sk, ttl. A marker may be listed more than once with different
    # counters (the day marker counts the visitor's country, device, …): each of them gets ``uv``
    # once, when this event creates the marker.
    markers: list[tuple[str, str, str, str, int]] = field(default_factory=list)
    # pk prefix, sk, attr, amount, whole: counters that add an amount (revenue), not 1
    amounts: list[tuple[str, str, str, Decimal, str | None]] = field(default_factory=list)
    active: tuple[str, str, str | None] | None = None  # pk, sk, whole path
    visit: tuple[Any, str] | None = None  # the event and its visitor, for visits.py
    previous: str | None = None  # near midnight, the visitor's id with the day before's salt (visits.py)


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
