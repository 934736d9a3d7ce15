"""The table's key layout: its shard count, days, expiry times and key parts (docs/storage.md).

A leaf: every other module of the store imports it, and it imports none of them.

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
"""

from __future__ import annotations

import hashlib
import os
import time
from datetime import UTC, datetime

SALT_PK = "SALT"
KEY_PART_BYTES = 400  # longer paths and hosts are keyed by a prefix and a digest (sort keys: 1,024 bytes)


def shards() -> int:
    return max(1, int(os.environ.get("LIVEINSIGHT_COUNTER_SHARDS", "4")))


def expiry(days: float = 0, hours: float = 0) -> int:
    return int(time.time() + days * 86400 + hours * 3600)


def day_of(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, UTC).strftime("%Y-%m-%d")


def stamp(ts_ms: int) -> datetime:
    return datetime.fromtimestamp(ts_ms / 1000, UTC)


def marker_shard(visitor: str) -> int:
    return int(visitor[:8], 16) % shards()


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
