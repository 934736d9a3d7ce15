"""Round trips: the aggregator reads its sessions and cap sets 100 keys a call (BatchGetItem), not one
GetItem each, unprocessed keys asked again; a stats view reads its independent partitions side by side."""

from __future__ import annotations

import math
import threading
import time
from typing import Any

import pytest

from shared import batch_get, store
from tests.handlers.conftest import Api
from tests.handlers.test_stream_path import Path, pageviews, path, post_all  # noqa: F401  (path: a fixture)


def test_the_aggregator_reads_sessions_and_cap_sets_100_keys_a_call(path: Path) -> None:  # noqa: F811
    visitors = 600  # some 150 per stream shard, so a batch holds more sessions than one call asks for
    gets: list[str] = []
    batches: dict[int, list[list[str]]] = {}  # per aggregator invocation: the keys of each BatchGetItem

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:  # as the table resource's client takes them
        if not path.in_aggregator:
            return
        if model.name == "GetItem":
            gets.append(str(params["Key"]["pk"]))
        elif model.name == "BatchGetItem":
            keys = [str(k["pk"]) for r in params["RequestItems"].values() for k in r["Keys"]]
            batches.setdefault(len(path.delivered), []).append(keys)

    store.table().meta.client.meta.events.register("provide-client-params.dynamodb.*", record)
    for i, (body, _) in enumerate(pageviews("r.example", visitors)):
        status, _, _ = path.api.post(body, ip=f"203.0.113.{i % 200 + 1}", ua=f"Mozilla/5.0 agent-{i // 200}")
        assert status == 202
    path.poller.drain()
    assert path.stats("r.example")["visitors"] == visitors
    assert [pk for pk in gets if pk.startswith(("V#", "C#caps#"))] == []
    sessions = {n: [b for b in calls if any(pk.startswith("V#") for pk in b)] for n, calls in batches.items()}
    read = {n: sum(pk.startswith("V#") for b in calls for pk in b) for n, calls in sessions.items()}
    assert sum(read.values()) == visitors and max(read.values()) > batch_get.MAX_KEYS
    assert all(len(sessions[n]) == math.ceil(read[n] / batch_get.MAX_KEYS) for n in sessions)
    assert all(len(b) <= batch_get.MAX_KEYS for calls in batches.values() for b in calls)
    assert any(pk.startswith("C#caps#") for calls in batches.values() for b in calls for pk in b)


class FakeClient:
    """BatchGetItem that answers one key only for its first ``refusals`` answers (``stuck``: none ever)."""

    def __init__(self, refusals: int, stuck: bool = False) -> None:
        self.refusals, self.stuck = refusals, stuck
        self.calls: list[int] = []

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        keys = RequestItems["t"]["Keys"]
        self.calls.append(len(keys))
        done, left = (keys[:1], keys[1:]) if self.refusals > 0 else (keys, [])
        if self.stuck:
            done, left = [], keys
        self.refusals -= 1
        return {"Responses": {"t": [{**k, "n": 1} for k in done]},
                "UnprocessedKeys": {"t": {"Keys": left}} if left else {}}


class FakeTable:
    name = "t"

    def __init__(self, client: FakeClient) -> None:
        self.meta = type("Meta", (), {"client": client})()


def test_unprocessed_keys_are_asked_again_after_a_growing_pause() -> None:
    client = FakeClient(refusals=2)
    pauses: list[float] = []
    keys = [(f"V#{i}", "visit") for i in range(250)]
    found = batch_get.get_items(FakeTable(client), keys, pause=pauses.append)
    assert set(found) == set(keys) and found[keys[0]]["n"] == 1
    assert client.calls == [100, 99, 98, 100, 50]
    assert len(pauses) == 2 and pauses[1] > pauses[0] > 0


def test_keys_unprocessed_every_time_are_an_error_not_a_loss() -> None:
    client = FakeClient(refusals=0, stuck=True)
    with pytest.raises(RuntimeError, match="unprocessed"):
        batch_get.get_items(FakeTable(client), [("V#1", "visit"), ("V#2", "visit")], pause=lambda _: None)
    assert len(client.calls) == batch_get.ATTEMPTS


def test_a_stats_view_reads_its_period_and_the_one_before_side_by_side(api: Api) -> None:
    """Each DynamoDB call held back 50 ms: the queries of the period and of the period before are in
    flight at the same time (read one period after the other, none of the first would be)."""
    spans: dict[str, list[tuple[str, float, float]]] = {}
    started: dict[int, tuple[str, float]] = {}
    lock = threading.Lock()

    def asked(params: dict[str, Any], **_: Any) -> None:  # the call's parameters, as the handler gave them
        with lock:
            started[threading.get_ident()] = (str(params["ExpressionAttributeValues"][":pk"]), time.monotonic())

    def hold(**_: Any) -> None:
        time.sleep(0.05)  # a round trip's latency, so that calls can overlap at all

    def after(**_: Any) -> None:
        with lock:
            pk, start = started.pop(threading.get_ident())
            spans.setdefault(pk.split("#")[2], []).append((pk, start, time.monotonic()))

    events = store.table().meta.client.meta.events
    events.register("provide-client-params.dynamodb.Query", asked)
    events.register("before-call.dynamodb.Query", hold)
    events.register("after-call.dynamodb.Query", after)
    api.stats("example.com", period="day", compare="previous_period")
    spans = {d: s for d, s in spans.items() if len(d) == len("YYYY-MM-DD")}  # not their months' f# rows
    today, yesterday = sorted(spans, reverse=True)
    assert len(spans[today]) == len(spans[yesterday]) == 4  # one query per counter shard and day

    def overlap(a: tuple[str, float, float], b: tuple[str, float, float]) -> bool:
        return a[1] < b[2] and b[1] < a[2]

    assert any(overlap(a, b) for a in spans[today] for b in spans[yesterday])
