"""The stream ingest path's records (``ingest: stream``, docs/storage.md): what the collector puts
on the Kinesis stream and the aggregator reads back.

One record per valid event: every field of the event (numbers kept exact), its visitor id (the
collector has the IP and the User-Agent; the aggregator does not), its occurrence in the request
and the time the collector received it. From these the aggregator derives the event exactly as the
direct path does (``plan.plan``): the same event id, keys and counters, so a request sent again,
or a record delivered twice, is recognised and counted once. The partition key is a digest of the
site and the visitor id: a site's visitors spread evenly over the shards; the same event always
lands on the same shard, where the aggregator looks for it; and one visitor's events stay in the
order sent, on one shard, so the aggregator folds them into the visitor's visit in that order (events
with the same time, such as a request's events without ``ts``, keep it) and two shards rarely update
the same visit. Within 30 minutes after midnight the key is the visitor's id with the day before's
salt when that day had one (``pv``, visits.py "Across midnight"): those events follow the visit's
events of the day before on their shard.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
import time
from decimal import Decimal
from typing import Any

from .plan import event_id
from .validate import Event

VERSION = 2
PUT_ATTEMPTS = 3  # PutRecords answers which records failed (throttled shards); those are sent again
_FIELDS = {f.name for f in dataclasses.fields(Event)}


@dataclasses.dataclass
class Record:
    """A record as the aggregator reads it back."""

    event: Event
    visitor: str
    occurrence: int
    received_ms: int
    previous: str | None = None  # near midnight, the visitor's id with the day before's salt (visits.py)


def partition_key(site: str, visitor: str) -> str:
    return hashlib.sha256(f"{site}#{visitor}".encode()).hexdigest()[:32]


def tagged(value: Any) -> Any:
    """JSON that gives back the same Python types (Decimal stays Decimal: the event id hashes types)."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, Decimal):
        return {"d": str(value)}
    if isinstance(value, int):
        return value
    if isinstance(value, dict):
        return {"o": [[str(k), tagged(v)] for k, v in value.items()]}
    if isinstance(value, list | tuple):
        return {"l": [tagged(v) for v in value]}
    raise TypeError(f"cannot put a {type(value).__name__} on the stream")


def untagged(value: Any) -> Any:
    if isinstance(value, dict):
        if "d" in value:
            return Decimal(value["d"])
        if "o" in value:
            return {k: untagged(v) for k, v in value["o"]}
        if "l" in value:
            return [untagged(v) for v in value["l"]]
        raise ValueError("an unknown value tag")
    return value


def encode(ev: Event, visitor: str, occurrence: int, received_ms: int, previous: str | None = None) -> bytes:
    fields = {f.name: tagged(getattr(ev, f.name)) for f in dataclasses.fields(Event)}
    return json.dumps({"v": VERSION, "e": fields, "visitor": visitor, "n": occurrence, "at": received_ms,
                       **({"pv": previous} if previous else {})}, separators=(",", ":")).encode()


def decode(data: str) -> Record:
    """A Kinesis record's base64 data, or ValueError (a poison record)."""
    try:
        raw = json.loads(base64.b64decode(data, validate=True))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not a record of this stack: {type(exc).__name__}") from None
    if not isinstance(raw, dict) or raw.get("v") != VERSION:
        raise ValueError("not a record of this stack: unknown version")
    try:
        fields = {k: untagged(v) for k, v in dict(raw["e"]).items() if k in _FIELDS}
        rec = Record(Event(**fields), str(raw["visitor"]), int(raw["n"]), int(raw["at"]),
                     str(raw["pv"]) if raw.get("pv") else None)
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise ValueError(f"a record without its fields: {exc!r}") from None
    if len(rec.visitor) < 8 or rec.occurrence < 0 or (rec.previous is not None and len(rec.previous) < 8):
        raise ValueError("a record without a valid visitor")
    return rec


_kinesis: Any = None


def kinesis() -> Any:
    global _kinesis
    if _kinesis is None:
        import boto3

        _kinesis = boto3.client("kinesis")
    return _kinesis


def reset_for_tests() -> None:
    global _kinesis
    _kinesis = None


def put_events(with_visitors: list[tuple[Event, str]], now_ms: int, sleep: Any = time.sleep,
               previous: dict[str, str] | None = None) -> None:
    """One PutRecords for the request's events (at most 100: under the 500 records a call takes).
    Records that fail (``FailedRecordCount``) are sent again, twice at most; RuntimeError if some
    still fail. A retry of the whole request is safe: the events get the same ids. ``previous``: visitor
id -> its id with the day before's salt, for events near midnight (each record carries it)."""
    stream = os.environ["LIVEINSIGHT_STREAM"]
    seen: dict[str, int] = {}
    records = []
    for ev, visitor in with_visitors:
        first = event_id(ev, visitor, 0)  # occurrences counted as store.store_events counts them
        occurrence = seen[first] = seen.get(first, -1) + 1
        before = (previous or {}).get(visitor)
        # Near midnight, on the shard of the visitor's id of the day before: after its visit's
        # earlier events, so the aggregator finds that visit to go on with (visits.py).
        records.append({"Data": encode(ev, visitor, occurrence, now_ms, before),
                        "PartitionKey": partition_key(ev.domain, before or visitor)})
    for attempt in range(PUT_ATTEMPTS):
        answer = kinesis().put_records(StreamName=stream, Records=records)
        if not answer.get("FailedRecordCount"):
            return
        records = [r for r, res in zip(records, answer["Records"], strict=True) if res.get("ErrorCode")]
        if attempt + 1 < PUT_ATTEMPTS:
            sleep(0.05 * 2 ** attempt)
    raise RuntimeError(f"{len(records)} records could not be put on the stream")
