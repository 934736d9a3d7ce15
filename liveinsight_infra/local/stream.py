"""The event source mapping, locally: a poller that reads the stack's Kinesis stream on the embedded
moto and invokes the aggregator in-process, with the mapping's settings read back from moto.

What it reproduces of Lambda's polling (https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html):
one batch per shard at a time, in order, from TRIM_HORIZON; a batch is sent when it holds
``BatchSize`` records or ``MaximumBatchingWindowInSeconds`` has passed since its first record;
``batchItemFailures`` checkpoint before the first failed record and retry from it; an invocation
that raises retries the whole batch; with ``BisectBatchOnFunctionError`` a failing batch is split in
two; after ``MaximumRetryAttempts`` retries the batch's description goes to the on-failure
queue and the shard moves on. moto does none of this itself (docs/moto-gaps.md).
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .. import naming
from ..aws.provider import AwsProvider
from ..spec.model import StackSpec

Invoke = Callable[[dict[str, Any]], Any]
DISCOVER_EVERY_S = 5.0  # new shards (an on-demand stream scales) are looked for this often


@dataclass
class MappingSettings:
    stream_arn: str
    batch_size: int
    window_s: float
    max_retries: int
    bisect: bool
    on_failure: str | None

    @classmethod
    def read(cls, aws: AwsProvider, spec: StackSpec) -> MappingSettings:
        stream_arn = (f"arn:aws:kinesis:{spec.region}:{aws.account_id()}:stream/"
                      f"{naming.stream_name(spec)}")
        found = aws.client("lambda").list_event_source_mappings(EventSourceArn=stream_arn)["EventSourceMappings"]
        if not found:
            raise LookupError(f"no event source mapping on {stream_arn}: run apply first")
        m = found[0]
        return cls(stream_arn, int(m.get("BatchSize", 100)), float(m.get("MaximumBatchingWindowInSeconds", 0)),
                   int(m.get("MaximumRetryAttempts", -1)), bool(m.get("BisectBatchOnFunctionError")),
                   ((m.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination"))


@dataclass
class _Shard:
    shard_id: str
    iterator: str | None
    pending: list[dict[str, Any]] = field(default_factory=list)
    first_seen: float | None = None
    attempts: int = 0
    limit: int | None = None  # a bisected batch's size


class StreamPoller:
    """Poll every shard, hand batches to ``invoke``; ``drain()`` for tests, ``start()`` for serve."""

    def __init__(self, aws: AwsProvider, settings: MappingSettings, invoke: Invoke,
                 log: Callable[[str], None] = lambda _m: None, clock: Callable[[], float] = time.time,
                 warm: Callable[[], None] | None = None):
        # ``clock`` is wall time: a batch's window counts from its first record's arrival on the stream.
        self.aws, self.settings, self.invoke, self.log, self.clock = aws, settings, invoke, log, clock
        self.warm = warm
        self._discovered_at: float | None = None
        self.kinesis = aws.client("kinesis")
        self.shards: dict[str, _Shard] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.invocations = 0

    def _discover(self) -> None:
        now = self.clock()
        if self._discovered_at is not None and now - self._discovered_at < DISCOVER_EVERY_S:
            return
        self._discovered_at = now
        name = self.settings.stream_arn.rsplit("/", 1)[-1]
        for s in self.kinesis.list_shards(StreamName=name)["Shards"]:
            if s["ShardId"] not in self.shards:
                it = self.kinesis.get_shard_iterator(StreamName=name, ShardId=s["ShardId"],
                                                     ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
                self.shards[s["ShardId"]] = _Shard(s["ShardId"], it)

    def poll_once(self, force: bool = False) -> int:
        """Read every shard once and send the batches that are due (all of them with ``force``);
        the number of records sent."""
        self._discover()
        sent = 0
        for shard in self.shards.values():
            if shard.iterator is not None and len(shard.pending) < self.settings.batch_size:
                page = self.kinesis.get_records(ShardIterator=shard.iterator, Limit=10000)
                shard.iterator = page.get("NextShardIterator")
                if page["Records"] and shard.first_seen is None:
                    arrived = page["Records"][0].get("ApproximateArrivalTimestamp")
                    shard.first_seen = arrived.timestamp() if arrived is not None else self.clock()
                shard.pending += page["Records"]
            while shard.pending:
                full = len(shard.pending) >= self.settings.batch_size
                waited = shard.first_seen is not None and self.clock() - shard.first_seen >= self.settings.window_s
                if not (force or full or waited):
                    break
                sent += self._send(shard)
            if not shard.pending:
                shard.first_seen = None
        return sent

    def next_due_s(self) -> float | None:
        """Seconds until the oldest pending batch's window closes, or None when nothing waits."""
        firsts = [s.first_seen for s in self.shards.values() if s.pending and s.first_seen is not None]
        return min(firsts) + self.settings.window_s - self.clock() if firsts else None

    def drain(self, max_rounds: int = 1000) -> None:
        """Send everything on the stream now, retries and failures included (tests)."""
        self._discovered_at = None
        for _ in range(max_rounds):
            if not self.poll_once(force=True) and not any(s.pending for s in self.shards.values()):
                return
        raise RuntimeError("the stream did not drain")

    def _send(self, shard: _Shard) -> int:
        size = min(self.settings.batch_size, shard.limit or self.settings.batch_size)
        batch = shard.pending[:size]
        self.invocations += 1
        try:
            result = self.invoke(self._event(shard.shard_id, batch))
            failed = [f.get("itemIdentifier") for f in (result or {}).get("batchItemFailures", [])]
            seqs = [r["SequenceNumber"] for r in batch]
            firsts = [seqs.index(f) for f in failed if f in seqs]
            if len(firsts) != len(failed):  # an identifier that is not in the batch: all of it failed
                firsts = [0]
        except Exception as exc:  # the function failed: the whole batch is retried
            self.log(f"aggregator failed on a batch of {len(batch)}: {exc!r}")
            firsts = [0]
        if not firsts:
            del shard.pending[:len(batch)]
            shard.attempts, shard.limit = 0, None
            return len(batch)
        done = min(firsts)
        del shard.pending[:done]  # checkpointed before the first failed record
        shard.attempts += 1
        remaining = len(batch) - done
        if self.settings.max_retries >= 0 and shard.attempts > self.settings.max_retries:
            failed_batch = shard.pending[:remaining]
            self._to_failure_queue(shard.shard_id, failed_batch)
            del shard.pending[:remaining]
            shard.attempts, shard.limit = 0, None
            return done + remaining
        if self.settings.bisect and remaining > 1:
            shard.limit = max(1, remaining // 2)
        return done

    def _event(self, shard_id: str, batch: list[dict[str, Any]]) -> dict[str, Any]:
        records = []
        for r in batch:
            records.append({
                "kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": r["PartitionKey"],
                            "sequenceNumber": r["SequenceNumber"],
                            "data": base64.b64encode(r["Data"]).decode(),
                            "approximateArrivalTimestamp": r["ApproximateArrivalTimestamp"].timestamp()},
                "eventSource": "aws:kinesis", "eventVersion": "1.0",
                "eventID": f"{shard_id}:{r['SequenceNumber']}", "eventName": "aws:kinesis:record",
                "awsRegion": self.aws.region, "eventSourceARN": self.settings.stream_arn})
        return {"Records": records}

    def _to_failure_queue(self, shard_id: str, batch: list[dict[str, Any]]) -> None:
        """What Lambda sends to an on-failure destination: the batch's place, not its records."""
        self.log(f"{len(batch)} records of {shard_id} went to the failure queue")
        if not self.settings.on_failure or not batch:
            return
        sqs = self.aws.client("sqs")
        url = sqs.get_queue_url(QueueName=self.settings.on_failure.rsplit(":", 1)[-1])["QueueUrl"]
        body = {"requestContext": {"condition": "RetryAttemptsExhausted",
                                   "approximateInvokeCount": self.settings.max_retries + 1},
                "KinesisBatchInfo": {"shardId": shard_id, "startSequenceNumber": batch[0]["SequenceNumber"],
                                     "endSequenceNumber": batch[-1]["SequenceNumber"], "batchSize": len(batch),
                                     "streamArn": self.settings.stream_arn}}
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body))

    # -- serve -------------------------------------------------------------------------------
    def start(self, interval_s: float = 0.2) -> None:
        """Poll every ``interval_s``, and at the moment a pending batch's window closes."""
        def run() -> None:
            if self.warm is not None:
                try:
                    self.warm()  # load the function before the first batch, not while it waits
                except Exception as exc:
                    self.log(f"stream poller: the aggregator did not load: {exc!r}")
            while not self._stop.is_set():
                try:
                    self.poll_once()
                except Exception as exc:  # keep polling: serve must not die with the stream
                    self.log(f"stream poller: {exc!r}")
                due = self.next_due_s()
                self._stop.wait(interval_s if due is None else min(interval_s, max(0.0, due)))

        self._thread = threading.Thread(target=run, name="stream-poller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def serve_poller(aws: AwsProvider, loaded: Any, gateway: Any, log: Callable[[str], None]) -> StreamPoller | None:
    """For ``serve`` on a stream stack: a poller that runs the deployed aggregator in-process, in its
    own package and environment, as the local gateway runs the API's functions; None on a direct stack."""
    from types import SimpleNamespace

    from .gateway import FunctionTarget, _attach_package

    spec = loaded.spec
    if not spec.streamed:
        return None
    name = naming.function_name(spec, spec.ingest.aggregator)
    cfg = aws.client("lambda").get_function_configuration(FunctionName=name)
    target = FunctionTarget(cfg["FunctionArn"], name, cfg["Handler"],
                            dict((cfg.get("Environment") or {}).get("Variables") or {}), cfg["CodeSha256"],
                            cfg.get("Timeout", 3), cfg.get("MemorySize", 128))
    _attach_package(target, loaded)
    if target.problem:
        raise RuntimeError(target.problem)

    def invoke(event: dict[str, Any]) -> Any:
        fn = gateway._load(target)
        context = SimpleNamespace(function_name=name, aws_request_id="local", invoked_function_arn=target.arn,
                                  memory_limit_in_mb=target.memory_mb,
                                  get_remaining_time_in_millis=lambda: target.timeout_s * 1000)
        with gateway._environment(target), gateway._package(target):
            return fn(event, context)

    def warm() -> None:
        invoke({"Records": []})  # Lambda never sends an empty batch: the aggregator only makes its client

    return StreamPoller(aws, MappingSettings.read(aws, spec), invoke, log=log, warm=warm)
