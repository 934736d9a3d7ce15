"""The aggregator of the stream ingest path (``ingest: stream``, docs/storage.md): fed batches of
the Kinesis stream by an event source mapping, it sums the batch's events per counter in memory and
writes each distinct counter once per batch (against one write per event and counter on the
direct path). Each event is derived by the direct path's own function (``plan.plan``): the same
event id, raw item, counters, distinct-visitor values and active-page entry, so whatever the direct path
counts, this path counts too, into the same table the read functions query.

Exactly once, for every way a record comes twice:
* a request sent again by the browser puts the same events again, under the same event ids, on
  the same shard (the partition key is derived from the id). An event's raw key, and for an event
  without ``ts`` its retry guard's key (``plan.plan``), are kept in the batch item; an event whose
  raw key is among this shard's recent batches' keys (``DEDUPE_WINDOW_S``) is skipped;
* a batch delivered again (the function failed, timed out, or the batch was bisected) starts at
  the same record: the batch item already written under that record's key (``B#{stream}#{shard}`` /
  its sequence number) is taken as it is, and its counters are applied again, each guarded by the
  shard's mark on the counter (``attribute_not_exists(mark) OR mark < :last``), so a counter that
  was written before the failure is not written twice;
* a visitor's session item, which keeps its visit and the distinct values it was counted for
  (visits.py), is put with the batch's name and the session it replaced, so a retry of the batch
  folds from the same state and finds the same increments. (A visitor whose session item has the
  earlier layout keeps marker items: each remembers the record that created it, so the same
  record finds it "new" again on a retry, and any other record does not.)

The order of the writes makes a crash at any point safe: sessions (and markers), then the batch
item (raw events, keys and the counters' increments), then the counters. Records that cannot be read are reported in
``batchItemFailures``: the mapping retries them, bisects, and finally sends them to the failure queue,
while the other records of the batch are written.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
import zlib
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any, NamedTuple, cast

from shared import batch_get, caps, keys, months, plan, store, visits
from shared.db import table
from shared.stream import decode, tagged, untagged
from shared.writes import counter_update

DEDUPE_WINDOW_S = 600  # a browser's retries of one request arrive within minutes
MAX_ITEM_BYTES = 300_000  # a batch item stays well under DynamoDB's 400 KB
MAX_ACTIVE_BYTES = 300_000
_recent: dict[str, dict[str, Any]] = {}  # shard -> {"keys": {raw or guard key: arrival ms}, "last": newest batch key}
_markers: dict[str, str] = {}  # markers known to be in the table -> the record that created them
_MARKERS_MAX = 50_000


class Marker(NamedTuple):
    """A distinct-visitor marker item, for a visitor whose session item has the earlier layout."""

    pk: str
    sk: str
    cprefix: str
    csk: str
    ttl: int
    creator: str


class Rec(NamedTuple):  # not a dataclass: Lambda-style loaders run the module outside sys.modules
    seq: str
    planned: Any  # writes.Planned

    @property
    def key(self) -> str:
        return str(self.planned.raw["sk"])

    @property
    def guard(self) -> str | None:
        return str(self.planned.guard["sk"]) if self.planned.guard else None


def seq_key(seq: str) -> str:
    """A sequence number as a string that sorts like the number (length first)."""
    return f"{len(seq):03d}{seq}"


def reset_for_tests() -> None:
    _recent.clear()
    _markers.clear()
    caps.reset_for_tests()
    months.reset_for_tests()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if not event.get("Records"):  # never from Lambda; serve's poller warms the function up with it
        table()
        return {"batchItemFailures": []}
    started = time.monotonic()
    raw_ttl = keys.expiry(days=int(os.environ.get("LIVEINSIGHT_EVENT_TTL_DAYS", "30")))
    by_shard: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in event.get("Records") or []:
        # A shard id is unique within its stream only: a stream deleted and made again reuses it.
        stream_name = str(r.get("eventSourceARN", "")).rsplit("/", 1)[-1]
        by_shard[f"{stream_name}#{str(r.get('eventID', ':')).split(':')[0]}"].append(r)
    failures: list[str] = []
    counted = skipped = 0
    for shard, records in by_shard.items():
        decoded = []
        for r in records:
            seq = str(r["kinesis"]["sequenceNumber"])
            try:
                decoded.append((seq, decode(r["kinesis"]["data"])))
            except (ValueError, TypeError, KeyError, ArithmeticError) as exc:
                failures.append(seq)
                _log("poison-record", shard=shard, sequence=seq, error=str(exc))
        try:  # the values each site's caps still admit today (caps.py), as the direct path counts them
            as_counted = caps.apply(table(), [rec.event for _, rec in decoded], batched=True)
        except Exception as exc:
            _log("batch-failed", shard=shard, error=type(exc).__name__)
            failures.append(decoded[0][0] if decoded else records[0]["kinesis"]["sequenceNumber"])
            continue
        good: list[Rec] = []
        for (seq, rec), counted_as in zip(decoded, as_counted, strict=True):
            try:
                planned = plan.plan(rec.event, rec.visitor, rec.occurrence, rec.received_ms, raw_ttl, counted_as)
                planned.visit = (counted_as, rec.visitor)
                planned.previous = rec.previous
            except (ValueError, TypeError, KeyError, ArithmeticError) as exc:
                failures.append(seq)
                _log("poison-record", shard=shard, sequence=seq, error=str(exc))
                continue
            good.append(Rec(seq, planned))
        try:
            c, s = _process(shard, good)
            counted, skipped = counted + c, skipped + s
        except Exception as exc:  # the mapping retries from the first record of this shard's part
            _log("batch-failed", shard=shard, error=type(exc).__name__)
            failures.append(good[0].seq if good else records[0]["kinesis"]["sequenceNumber"])
    _log("batch", records=sum(len(v) for v in by_shard.values()), counted=counted, duplicates=skipped,
         failed=len(failures), ms=round((time.monotonic() - started) * 1000, 1))
    return {"batchItemFailures": [{"itemIdentifier": s} for s in failures]}


def _log(what: str, **fields: Any) -> None:
    print(json.dumps({"function": "aggregator", "event": what, **fields}, separators=(",", ":")), flush=True)


def _size(r: Rec) -> int:
    return len(json.dumps(r.planned.raw, default=str)) + 60


def pack_events(raw: list[dict[str, Any]]) -> bytes:
    """A batch's raw events as one compressed attribute: DynamoDB bills a write by the item's size
    (1 KB units), and a batch's events repeat their site, paths and field names, so compressed they
    cost a fraction of the units. Numbers stay exact (``unpack_events`` gives back the same values)."""
    return zlib.compress(json.dumps([tagged(e) for e in raw], separators=(",", ":")).encode(), 6)


def unpack_events(packed: Any) -> list[dict[str, Any]]:
    """The raw events of a batch item's ``raw`` attribute."""
    data = packed.value if hasattr(packed, "value") else packed  # boto3's Binary, or bytes
    return [untagged(e) for e in json.loads(zlib.decompress(bytes(data)))]


def _process(shard: str, recs: list[Rec]) -> tuple[int, int]:
    """Write ``recs`` (one shard's, in order) in batch items that fit; (counted, duplicates)."""
    counted = skipped = 0
    while recs:
        existing = table().get_item(Key={"pk": f"B#{shard}", "sk": seq_key(recs[0].seq)},
                                          ConsistentRead=True).get("Item")
        if existing is not None:  # written by an earlier try of this batch: finish it as it was
            _apply_counters(existing)
            _remember_batch(shard, existing)
            last = str(existing["last"])
            done = [r for r in recs if seq_key(r.seq) <= last]
            skipped += len(done)
            recs = recs[len(done):]
            continue
        recent = _recent_keys(shard)
        chunk: list[Rec] = []
        new: list[Rec] = []
        size = 0
        here: set[str] = set()
        for r in recs:
            size += _size(r)
            if chunk and size > MAX_ITEM_BYTES:
                break
            chunk.append(r)
            if r.key in recent or r.key in here:
                skipped += 1
                continue
            here.add(r.key)
            if r.guard:
                here.add(r.guard)
            new.append(r)
        item = _write_batch(shard, chunk, new)
        _remember_batch(shard, item)
        counted += len(new)
        recs = recs[len(chunk):]
    return counted, skipped


def _recent_keys(shard: str) -> dict[str, int]:
    """The event keys of this shard's batches of the last DEDUPE_WINDOW_S: from memory, plus what
    other containers wrote since (a Query of the newer batch items, usually empty)."""
    t = table()
    now_ms = int(time.time() * 1000)
    cutoff = now_ms - DEDUPE_WINDOW_S * 1000
    state = _recent.setdefault(shard, {"keys": {}, "last": None})
    kwargs: dict[str, Any] = {"ConsistentRead": True, "ProjectionExpression": "sk, #keys, guards, #at, #last",
                              "ExpressionAttributeNames": {"#at": "at", "#last": "last", "#keys": "keys"}}
    if state["last"] is None:
        kwargs.update(KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": f"B#{shard}"},
                      ScanIndexForward=False)
    else:
        kwargs.update(KeyConditionExpression="pk = :pk AND sk > :sk",
                      ExpressionAttributeValues={":pk": f"B#{shard}", ":sk": state["last"]})
    while True:
        page = t.query(**kwargs)
        old = False
        for item in page.get("Items", []):
            if int(item.get("at", 0)) < cutoff:
                old = True
                break
            _remember_batch(shard, item)
        if old or "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    keys: dict[str, int] = state["keys"]
    for k in [k for k, at in keys.items() if at < cutoff]:
        del keys[k]
    return keys


def _remember_batch(shard: str, item: dict[str, Any]) -> None:
    state = _recent.setdefault(shard, {"keys": {}, "last": None})
    at = int(item.get("at", 0))
    for key in [*item.get("keys", []), *item.get("guards", [])]:
        state["keys"][str(key)] = at
    if state["last"] is None or str(item["sk"]) > state["last"]:
        state["last"] = str(item["sk"])


def _known(key: str, creator: str) -> None:
    if len(_markers) >= _MARKERS_MAX:
        _markers.pop(next(iter(_markers)))
    _markers[key] = creator


def _new_marker(t: Any, pk: str, sk: str, creator: str, ttl: int) -> bool:
    """A conditional put; True when this record created the marker (now, or on an earlier try).
    A marker the direct path wrote has no ``by``: it counts as there."""
    key = f"{pk}|{sk}"
    if key in _markers:
        return _markers[key] == creator
    try:
        t.put_item(Item={"pk": pk, "sk": sk, "expires_at": ttl, "by": creator},
                   ConditionExpression="attribute_not_exists(pk) OR #by = :me",
                   ExpressionAttributeNames={"#by": "by"}, ExpressionAttributeValues={":me": creator})
        _known(key, creator)
        return True
    except t.meta.client.exceptions.ConditionalCheckFailedException:
        _known(key, "")
        return False


def _write_batch(shard: str, chunk: list[Rec], new: list[Rec]) -> dict[str, Any]:
    """Markers, then the who-is-on-which-page items, then the batch item, then the counters; the
    batch item as written."""
    t = table()
    counters: dict[tuple[str, str], tuple[Counter[str], str | None]] = {}
    active: dict[str, set[str]] = defaultdict(set)

    def count(prefix: str, sk: str, attr: str, whole: str | None, n: int | Decimal = 1) -> None:
        values, had = counters.setdefault((prefix, sk), (Counter(), whole))
        values[attr] += cast(int, n)  # or a Decimal amount (revenue)
        if whole and not had:
            counters[(prefix, sk)] = (values, whole)

    marks: Marks = defaultdict(list)
    for i, r in enumerate(new):
        p = r.planned
        for prefix, sk, attr, whole in p.counters:
            count(prefix, sk, attr, whole)
        for prefix, sk, attr, amount, whole in p.amounts:
            count(prefix, sk, attr, whole, amount)
        creator = f"{shard}#{r.seq}"
        for pk, sk, cprefix, csk, ttl in p.markers:
            kept = plan.session_marker(p, pk, sk)
            if kept:  # kept in the visitor's session item (unless it has the earlier layout)
                marks[kept[0]].append(((kept[1], cprefix, csk, i), Marker(pk, sk, cprefix, csk, ttl, creator)))
            elif _new_marker(t, pk, sk, creator, ttl):
                count(cprefix, csk, "uv", None)
        if p.active:
            pk, sk, whole = p.active
            visitor, _, page = str(sk).partition("#")
            active[pk].add(f"{visitor}#{whole or page}")
    key = seq_key(chunk[0].seq)
    # Visits: the sessions are written before the batch item, each marked with this batch, so a
    # retry of the batch folds its events into the same sessions as before and finds the same deltas.
    for prefix, sk, attr, n, whole in _visit_deltas(t, new, shard, f"{shard}#{key}", marks):
        count(prefix, sk, attr, whole, n)
    if active:
        # Who was on which page: one item per minute partition and batch, listing the batch's
        # visitor#path pairs (one item per pair would cost a write unit per page view). A retry
        # writes the same items again.
        with t.batch_writer() as batch:
            for pk, entries in sorted(active.items()):
                part: list[str] = []
                size = n = 0
                for entry in sorted(entries):
                    if part and size + len(entry) > MAX_ACTIVE_BYTES:
                        batch.put_item(Item={"pk": pk, "sk": f"b#{shard}#{key}#{n}", "vp": part,
                                             "expires_at": keys.expiry(hours=1)})
                        part, size, n = [], 0, n + 1
                    part.append(entry)
                    size += len(entry.encode()) + 3
                batch.put_item(Item={"pk": pk, "sk": f"b#{shard}#{key}#{n}", "vp": part,
                                     "expires_at": keys.expiry(hours=1)})
    shards = keys.shards()
    planned = []
    # Each day counter's month counter too (months.py), recorded with the batch: a retry adds the same.
    for (prefix, sk), (all_values, whole) in months.with_rollups(counters, months.Rollup(t, batched=True)).items():
        values = Counter({a: n for a, n in all_values.items() if n})
        if not values:
            continue
        # The counter's shard is fixed by the batch, so a retry updates the same item.
        n = int(hashlib.sha256(f"{key}|{prefix}|{sk}".encode()).hexdigest()[:8], 16) % shards
        planned.append({"prefix": prefix, "pk": f"{prefix}{n}", "sk": sk, "add": dict(values),
                        **({"whole": whole} if whole else {})})
    raw = [{k: v for k, v in r.planned.raw.items() if k not in ("pk", "expires_at")} for r in new]
    item = {"pk": f"B#{shard}", "sk": key, "last": seq_key(chunk[-1].seq), "at": int(time.time() * 1000),
            "keys": [e["sk"] for e in raw], "raw": pack_events(raw),
            "guards": [r.guard for r in new if r.guard], "counters": planned,
            "expires_at": keys.expiry(days=int(os.environ.get("LIVEINSIGHT_EVENT_TTL_DAYS", "30")))}
    t.put_item(Item=item)
    _apply_counters(item)
    return item


Marks = dict[visits.Key, list[tuple[visits.Mark, "Marker"]]]  # per session key: each value, and its marker item


def _visit_deltas(t: Any, recs: list[Rec], shard: str, batch: str,
                  marks: Marks) -> list[tuple[str, str, str, int, str | None]]:
    """Fold the batch's events and distinct values into their visitors' sessions
    (``visits.visit_updates``, as the direct path does) and put the sessions; the deltas of the visit
    counters and of the distinct-visitor counters (``uv``). A visitor whose session item has the
    earlier layout keeps marker items (``visits.marks_item``).

    Each session put is conditional on the version read, so a batch of another shard that changed
    the same visitor's session meanwhile makes this one read it again and fold again. A session
    put carries this batch's name (``by``) and the state it replaced (``prev``): a retry of the
    batch that finds its own put folds from ``prev`` again, so it finds the same deltas, and the
    batch item (written after the sessions) records them once. A put also says the last record it
    folded (``upto``): a batch bisected after a failure delivers the records of the failed try under
    other first records, so any later batch of this shard that brings a record up to ``upto`` again
    folds from ``prev`` too (the records of a shard are written in order: a put that folded a record
    this batch brings as new was never followed by its batch item).
    """
    pairs = [r.planned.visit for r in recs if r.planned.visit]
    # near midnight, the visitors' sessions of the day before: a visit open then goes on (visits.py)
    yesterday = visits.previous_keys(pairs, {r.planned.visit[1]: r.planned.previous for r in recs
                                          if r.planned.visit and r.planned.previous})
    spans: dict[visits.Key, tuple[str, str]] = {}  # per session: the first and last record folded into it
    for r in recs:
        if r.planned.visit:
            k, at = visits.session_key(*r.planned.visit), seq_key(r.seq)
            spans[k] = (spans[k][0], at) if k in spans else (at, at)

    def unwritten(item: dict[str, Any], key: visits.Key) -> bool:
        """Whether ``item`` is a put of a try whose batch item was not written (this batch's, or
        one of this shard that folded records this batch brings again)."""
        by = str(item.get("by", ""))
        return by == batch or (by.startswith(f"{shard}#") and key in spans
                               and str(item.get("upto", "")) >= spans[key][0])

    for _ in range(store.CONFLICT_RETRIES + 1):
        sessions: dict[visits.Key, visits.Session] = {}
        wanted = [*visits.keys_of(pairs), *marks, *yesterday.values()]
        found = batch_get.get_items(t, wanted)  # 100 sessions a round trip
        for pk, sk in dict.fromkeys(wanted):
            item = found.get((pk, sk))
            if item is not None and unwritten(item, (pk, sk)):
                # Fold from the state before that put; the new put replaces it (its version).
                was = _prev_session(item)
                sessions[(pk, sk)] = visits.Session(was.visit, int(item["ver"]), was.seen)
            elif item is not None:
                sessions[(pk, sk)] = visits.session_of(item)
        in_sessions: dict[visits.Key, list[visits.Mark]] = {}
        uv: Counter[tuple[str, str]] = Counter()
        for key, listed in marks.items():
            for mark, m in listed:
                if not visits.marks_item(sessions, key, mark[0]):
                    in_sessions.setdefault(key, []).append(mark)
                elif _new_marker(t, m.pk, m.sk, m.creator, m.ttl):  # a marker item per value
                    uv[(m.cprefix, m.csk)] += 1
        writes = visits.visit_updates(pairs, sessions, in_sessions, yesterday)
        writes.counters += [(cprefix, csk, "uv", n, None) for (cprefix, csk), n in uv.items()]
        try:
            for key, session in writes.sessions.items():
                put = visits.session_put(key, session, t.name)["Put"]
                before = sessions.get(key)
                item = {**put["Item"], "by": batch, "upto": spans[key][1],
                        **({"prev": _prev_fields(before, session)} if before else {})}
                again = "(#by = :me AND ver = :next)"
                values = {**put.get("ExpressionAttributeValues", {}), ":me": batch, ":next": session.version + 1}
                t.put_item(Item=item, ConditionExpression=f"{put['ConditionExpression']} OR {again}",
                           ExpressionAttributeNames={"#by": "by"}, ExpressionAttributeValues=values)
        except t.meta.client.exceptions.ConditionalCheckFailedException:
            continue  # another shard's batch changed a session: read again
        return writes.counters
    raise RuntimeError("sessions kept changing under this batch")  # the mapping retries the batch


def _prev_fields(before: visits.Session, after: visits.Session) -> dict[str, Any]:
    """The session a put replaces, as the put keeps it (``prev``). Its distinct values are the
    item's ``seen`` without those the put added (``fresh``): ``seen`` twice would double the item,
    which DynamoDB bills per KB and refuses over 400 KB."""
    fields = visits.session_fields(visits.Session(before.visit, before.version, None))
    if before.seen is not None:
        fields["fresh"] = visits.SEEN_FORMAT + b"".join(sorted((after.seen or frozenset()) - before.seen))
    return fields


def _prev_session(item: dict[str, Any]) -> visits.Session:
    """The session the put ``item`` replaced (``_prev_fields``; an empty one where it made the item)."""
    before = item.get("prev")
    if not before:
        return visits.Session(None, 0)
    was = visits.session_of(before)
    if "fresh" in before:
        seen, fresh = visits.seen_of(item.get("seen")), visits.seen_of(before["fresh"])
        return visits.Session(was.visit, was.version, (seen or frozenset()) - (fresh or frozenset()))
    return was  # written with its whole seen, or of the earlier layout (no seen)


def _apply_counters(item: dict[str, Any]) -> None:
    """Each counter once, guarded by this shard's mark: a counter already written for this batch
    (or a later one) refuses the update."""
    t = table()
    shard = str(item["pk"])[2:]
    mark_name = "q" + hashlib.sha256(shard.encode()).hexdigest()[:8]
    last = str(item["last"])

    def apply(c: dict[str, Any]) -> None:
        expr, names, vals = counter_update(str(c["prefix"]), c["add"], c.get("whole"))
        names["#q"] = mark_name
        vals[":last"] = last
        expr += (", " if " SET " in expr else " SET ") + "#q = :last"
        # A refused update: already counted by an earlier try of this batch.
        with contextlib.suppress(t.meta.client.exceptions.ConditionalCheckFailedException):
            t.update_item(Key={"pk": c["pk"], "sk": c["sk"]}, UpdateExpression=expr,
                          ConditionExpression="attribute_not_exists(#q) OR #q < :last",
                          ExpressionAttributeNames=names, ExpressionAttributeValues=vals)

    # Independent updates: side by side, so a batch's latency is not the sum of its counters'.
    counters = list(item.get("counters", []))
    with ThreadPoolExecutor(max_workers=min(8, max(1, len(counters)))) as pool:
        list(pool.map(apply, counters))
