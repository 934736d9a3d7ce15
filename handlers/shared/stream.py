"""The stream ingest path's records (``ingest: stream``, docs/storage.md): what the collector puts
on the Kinesis stream and the aggregator reads back.

One record per valid event: the event's fields, its visitor id (the collector has the IP and the
User-Agent; the aggregator does not) and a deterministic event id, so that a request sent again,
or a record delivered twice, is recognised and counted once. The partition key is a digest of the
site and the event id: a site's events spread evenly over the shards, and the same event always
lands on the same shard, where the aggregator looks for it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from typing import Any

from .validate import Event

VERSION = 1
PUT_ATTEMPTS = 3  # PutRecords answers which records failed (throttled shards); those are sent again


def event_id(ev: Event, visitor: str, occurrence: int) -> str:
    """The same event from the same visitor always gets the same id. ``occurrence`` tells identical
    events of one request apart, so each of them counts."""
    content = [ev.domain, visitor, ev.name, ev.url, ev.path, ev.referrer, sorted(ev.props.items()), ev.ts_ms,
               occurrence]
    return hashlib.sha256(json.dumps(content, separators=(",", ":"), default=str).encode()).hexdigest()[:32]


def partition_key(site: str, eid: str) -> str:
    return hashlib.sha256(f"{site}#{eid}".encode()).hexdigest()[:32]


def encode(ev: Event, visitor: str, eid: str) -> bytes:
    return json.dumps({"v": VERSION, "id": eid, "visitor": visitor, "name": ev.name, "url": ev.url,
                       "path": ev.path, "domain": ev.domain, "referrer": ev.referrer, "props": ev.props,
                       "ts": ev.ts_ms}, separators=(",", ":")).encode()


def decode(data: str) -> tuple[str, Event, str]:
    """(event id, event, visitor) of a Kinesis record's base64 data, or ValueError (a poison record)."""
    try:
        raw = json.loads(base64.b64decode(data, validate=True))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not a record of this stack: {type(exc).__name__}") from None
    if not isinstance(raw, dict) or raw.get("v") != VERSION:
        raise ValueError("not a record of this stack: unknown version")
    try:
        ev = Event(str(raw["name"]), str(raw["url"]), str(raw["path"]), str(raw["domain"]), str(raw["referrer"]),
                   dict(raw["props"]), int(raw["ts"]))
        eid, visitor = str(raw["id"]), str(raw["visitor"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"a record without its fields: {exc!r}") from None
    if len(eid) != 32 or len(visitor) < 8:
        raise ValueError("a record without a valid id or visitor")
    return eid, ev, visitor


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


def put_events(with_visitors: list[tuple[Event, str]], now_ms: int = 0, sleep: Any = time.sleep) -> None:
    """One PutRecords for the request's events (at most 100: under the 500 records a call takes).
    Records that fail (``FailedRecordCount``) are sent again, twice at most; RuntimeError if some
    still fail. A retry of the whole request is safe: the aggregator dedupes by event id."""
    stream = os.environ["LIVEINSIGHT_STREAM"]
    seen: dict[str, int] = {}
    records = []
    for ev, visitor in with_visitors:
        first = event_id(ev, visitor, 0)
        occurrence = seen[first] = seen.get(first, -1) + 1
        eid = event_id(ev, visitor, occurrence)
        records.append({"Data": encode(ev, visitor, eid), "PartitionKey": partition_key(ev.domain, eid)})
    for attempt in range(PUT_ATTEMPTS):
        answer = kinesis().put_records(StreamName=stream, Records=records)
        if not answer.get("FailedRecordCount"):
            return
        records = [r for r, res in zip(records, answer["Records"], strict=True) if res.get("ErrorCode")]
        if attempt + 1 < PUT_ATTEMPTS:
            sleep(0.05 * 2 ** attempt)
    raise RuntimeError(f"{len(records)} records could not be put on the stream")
