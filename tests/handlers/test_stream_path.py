"""The stream ingest path end to end on moto: collector → Kinesis → the local event source mapping
(liveinsight_infra/local/stream.py) → aggregator → the same counters the read functions query.

No event lost or counted twice: a request sent again, a batch that fails at any write and is
delivered again, a poison record, PutRecords answering that some records failed."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import aggregator
import pytest

from liveinsight_infra.aws.provider import AwsProvider
from liveinsight_infra.local.stream import MappingSettings, StreamPoller
from liveinsight_infra.reconcilers.dynamodb import TableReconciler
from liveinsight_infra.reconcilers.kinesis import StreamReconciler
from liveinsight_infra.reconcilers.sqs import QueueReconciler
from shared import keys, plan, store, stream, visitors
from tests.conftest import ROOT, make_engine
from tests.handlers.conftest import Api

SPEC = ROOT / "specs" / "stream.yaml"
STREAM = "liveinsight-ingest-stream"
QUEUE = "liveinsight-ingest-failures-stream"
ACCOUNT = "123456789012"
WRITES = ("PutItem", "UpdateItem", "BatchWriteItem", "DeleteItem", "TransactWriteItems")


class Path:
    def __init__(self, provider: AwsProvider, api: Api):
        self.provider, self.api = provider, api
        self.fail_at: int | None = None  # make the aggregator fail at its n-th table write, once
        self.writes = 0
        self.settings = MappingSettings(f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/{STREAM}", batch_size=1000,
                                        window_s=1, max_retries=10, bisect=True,
                                        on_failure=f"arn:aws:sqs:us-east-1:{ACCOUNT}:{QUEUE}")
        self.poller = StreamPoller(provider, self.settings, self.invoke)
        self.delivered = []
        store.table().meta.client.meta.events.register("before-call.dynamodb.*", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        if model.name in WRITES and self.in_aggregator:
            self.writes += 1
            if self.fail_at is not None and self.writes == self.fail_at:
                self.fail_at = None
                raise ConnectionError(f"the aggregator lost DynamoDB at write {self.writes}")

    in_aggregator = False
    delivered: list[dict[str, Any]]

    def invoke(self, event: dict[str, Any]) -> Any:
        self.delivered.append(event)
        self.in_aggregator = True
        try:
            return aggregator.handler(event, None)
        finally:
            self.in_aggregator = False

    def stats(self, site: str) -> dict[str, Any]:
        return self.api.stats(site, period="day", date=datetime.now(UTC).strftime("%Y-%m-%d"))

    def failure_messages(self) -> list[str]:
        sqs = self.provider.client("sqs")
        url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
        return [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])]


@pytest.fixture
def path(provider: AwsProvider, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    engine = make_engine(provider, SPEC)
    engine.reconcilers = [cls(engine.ctx) for cls in (TableReconciler, StreamReconciler, QueueReconciler)]
    engine.apply(engine.plan())
    for k, v in {"LIVEINSIGHT_TABLE": "liveinsight-events-stream", "LIVEINSIGHT_COUNTER_SHARDS": "4",
                 "AWS_DEFAULT_REGION": "us-east-1", "LIVEINSIGHT_INGEST": "stream",
                 "LIVEINSIGHT_STREAM": STREAM}.items():
        monkeypatch.setenv(k, v)
    store.reset_for_tests()
    stream.reset_for_tests()
    aggregator.reset_for_tests()
    visitors._salts.clear()
    yield Path(provider, Api(provider, []))
    store.reset_for_tests()
    stream.reset_for_tests()
    aggregator.reset_for_tests()


def pageviews(site: str, n: int, ips: int = 1) -> list[tuple[dict[str, Any], str]]:
    now = int(time.time() * 1000)
    return [({"name": "pageview", "url": f"https://{site}/p{i % 5}", "domain": site, "ts": now - i},
             f"203.0.113.{i % ips + 1}") for i in range(n)]


def post_all(path: Path, events: list[tuple[dict[str, Any], str]]) -> None:
    for body, ip in events:
        status, answer, _ = path.api.post(body, ip=ip)
        assert status == 202 and answer["accepted"] == 1, answer


def test_events_go_through_the_stream_to_the_counters(path: Path) -> None:
    post_all(path, pageviews("a.example", 6, ips=2))
    status, _, _ = path.api.post({"name": "signup", "url": "https://a.example/join", "domain": "a.example"})
    assert status == 202
    assert path.stats("a.example")["pageviews"] == 0, "the collector must not write counters in stream mode"
    path.poller.drain()
    s = path.stats("a.example")
    assert (s["pageviews"], s["visitors"]) == (6, 3)  # the goal's sender is a third visitor (another address)
    assert sorted((p["path"], p["pageviews"]) for p in s["top_pages"]) == [
        ("/p0", 2), ("/p1", 1), ("/p2", 1), ("/p3", 1), ("/p4", 1)]
    assert path.api.realtime("a.example")["active_visitors"] == 2


def test_a_request_sent_again_is_counted_once(path: Path) -> None:
    events = pageviews("b.example", 3)
    bodies = [e for e, _ in events]
    for _ in range(2):  # the browser did not get the answer and sends the same request again
        status, answer, _ = path.api.post(bodies)
        assert status == 202 and answer["accepted"] == 3
    path.poller.drain()
    path.api.post(bodies)  # and once more, after the first ones were written
    path.poller.drain()
    s = path.stats("b.example")
    assert (s["pageviews"], s["visitors"]) == (3, 1)


def test_a_batch_failing_at_any_write_is_redelivered_without_loss_or_double_count(path: Path) -> None:
    # How many table writes one clean batch takes, then a failure at each of them in turn.
    post_all(path, pageviews("clean.example", 12, ips=3))
    path.writes = 0
    path.poller.drain()
    total = path.writes
    assert total >= 5
    expected = path.stats("clean.example")
    assert (expected["pageviews"], expected["visitors"]) == (12, 3)
    # The writes of a batch depend on how the records spread over the shards: go on until a run
    # has fewer writes than k.
    covered = 0
    for k in range(1, 3 * total):
        site = f"k{k}.example"
        post_all(path, pageviews(site, 12, ips=3))
        path.writes, path.fail_at = 0, k
        invocations = path.poller.invocations
        path.poller.drain()
        got = path.stats(site)
        assert (got["pageviews"], got["visitors"], got["top_pages"]) == (
            12, 3, expected["top_pages"]), f"after a failure at write {k}"
        if path.fail_at is not None:  # this run had fewer than k writes: every point was covered
            break
        assert path.poller.invocations > invocations + 1, "the failed batch was delivered again"
        covered += 1
    assert covered >= min(10, total), (covered, total)
    assert path.failure_messages() == []


def test_a_poison_record_goes_to_the_failure_queue_without_blocking_the_others(path: Path) -> None:
    kinesis = path.provider.client("kinesis")
    post_all(path, pageviews("c.example", 3))
    for i in range(8):  # garbage on every shard, between good records
        kinesis.put_record(StreamName=STREAM, Data=b"not an event", PartitionKey=f"poison-{i}")
    post_all(path, pageviews("c.example", 9, ips=3)[3:])
    path.poller.drain()
    s = path.stats("c.example")
    assert (s["pageviews"], s["visitors"]) == (9, 3)
    import json

    messages = [json.loads(m) for m in path.failure_messages()]
    assert messages and all(m["KinesisBatchInfo"]["batchSize"] == 1 for m in messages)
    assert sum(m["KinesisBatchInfo"]["batchSize"] for m in messages) <= 8


class FlakyKinesis:
    """PutRecords whose first call stores every other record and refuses the rest; the following
    ``failures - 1`` calls refuse everything."""

    def __init__(self, real: Any, failures: int):
        self.real, self.failures, self.calls = real, failures, []

    def put_records(self, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append(len(Records))
        if self.failures > 0:
            self.failures -= 1
            keep = Records[::2] if len(self.calls) == 1 else []
            answer = self.real.put_records(StreamName=StreamName, Records=keep) if keep else {"Records": []}
            results: list[dict[str, Any]] = []
            it = iter(answer["Records"])
            for i in range(len(Records)):
                refused = {"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "Rate exceeded"}
                results.append(next(it) if keep and i % 2 == 0 else refused)
            return {"FailedRecordCount": sum(1 for r in results if "ErrorCode" in r), "Records": results}
        return dict(self.real.put_records(StreamName=StreamName, Records=Records))


def test_records_that_put_records_refused_are_sent_again(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    flaky = FlakyKinesis(path.provider.client("kinesis"), failures=1)
    monkeypatch.setattr(stream, "kinesis", lambda: flaky)
    monkeypatch.setattr(stream.time, "sleep", lambda _s: None)
    status, answer, _ = path.api.post([e for e, _ in pageviews("d.example", 6)])
    assert status == 202 and answer["accepted"] == 6
    assert flaky.calls == [6, 3], "one PutRecords, then only the refused records"
    path.poller.drain()
    assert path.stats("d.example")["pageviews"] == 6


def test_records_still_refused_answer_503_and_a_retry_counts_once(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    flaky = FlakyKinesis(path.provider.client("kinesis"), failures=3)
    monkeypatch.setattr(stream, "kinesis", lambda: flaky)
    monkeypatch.setattr(stream.time, "sleep", lambda _s: None)
    bodies = [e for e, _ in pageviews("e.example", 4)]
    status, answer, _ = path.api.post(bodies)
    assert status == 503 and "retry" in answer["error"]
    status, _, _ = path.api.post(bodies)  # the browser retries the whole request
    assert status == 202
    path.poller.drain()
    assert path.stats("e.example")["pageviews"] == 4, "the half that went through the first time counts once"


def mixed(site: str) -> list[dict[str, Any]]:
    """Page views with and without ts, a referrer, a path too long for a key, a custom event with props
    and revenue: everything the direct path derives counters and markers from."""
    now = int(time.time() * 1000)
    long_path = "/" + "x" * 700
    return [{"name": "pageview", "url": f"https://{site}/a", "domain": site, "ts": now - 5},
            {"name": "pageview", "url": f"https://{site}/a", "domain": site, "referrer": "https://news.example/x"},
            {"name": "pageview", "url": f"https://{site}{long_path}", "domain": site, "ts": now - 7},
            {"name": "pageview", "url": f"https://{site}/b", "domain": site, "referrer": "https://news.example/y"},
            {"name": "signup", "url": f"https://{site}/join", "domain": site, "props": {"plan": "pro", "seats": 3.5},
             "revenue": {"amount": "9.90", "currency": "EUR"}}]


def items(pk: str) -> list[dict[str, Any]]:
    return list(store.table().query(KeyConditionExpression="pk = :pk",
                                    ExpressionAttributeValues={":pk": pk}).get("Items", []))


def counters_of(path: Path, site: str) -> dict[str, dict[str, int]]:
    """Every counter of ``site`` today, summed over its shards, without the per-shard marks."""
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    out: dict[str, dict[str, int]] = {}
    for prefix in ("C", "M"):
        for k in range(4):
            for item in items(f"{prefix}#{site}#{day}#s{k}"):
                values = out.setdefault(f"{prefix}/{item['sk']}", {})
                for attr, v in item.items():
                    if attr in ("pv", "uv", "events", "visits", "bounces", "visit_pv", "visit_ms"):
                        values[attr] = values.get(attr, 0) + int(v)
    # the direct path may leave an item whose counts came to zero (an exit page moved on: -1 after +1)
    return {k: {a: n for a, n in v.items() if n} for k, v in out.items() if any(v.values())}


def test_the_stream_path_counts_what_the_direct_path_counts(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LIVEINSIGHT_INGEST")
    for ip in ("203.0.113.1", "203.0.113.2"):
        assert path.api.post(mixed("direct.example"), ip=ip)[0] == 202
    monkeypatch.setenv("LIVEINSIGHT_INGEST", "stream")
    for ip in ("203.0.113.1", "203.0.113.2"):
        assert path.api.post(mixed("streamed.example"), ip=ip)[0] == 202
    path.poller.drain()
    direct, streamed = counters_of(path, "direct.example"), counters_of(path, "streamed.example")
    for counts in (direct, streamed):  # the events without ts take the time each request arrived
        counts["C/day"].pop("visit_ms")
    assert direct and streamed == direct
    d, s = path.stats("direct.example"), path.stats("streamed.example")
    assert {k: v for k, v in s.items() if k != "site"} == {k: v for k, v in d.items() if k != "site"}
    assert s["pageviews"] == 8 and s["visitors"] == 2
    rd, rs = path.api.realtime("direct.example"), path.api.realtime("streamed.example")
    assert {k: v for k, v in rs.items() if k != "site"} == {k: v for k, v in rd.items() if k != "site"}
    assert any(len(p["path"]) > 700 for p in rs["top_pages"]), "a cut page key reads as its whole path"


def test_whatever_the_direct_path_derives_flows_into_the_stream_path(path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A counter or marker added to the per-event derivation (plan.plan) is written by the aggregator too."""
    real = plan.plan

    def plan_with_a_dimension(ev: Any, visitor: str, *args: Any) -> Any:
        planned = real(ev, visitor, *args)
        c = f"C#{ev.domain}#{keys.day_of(ev.ts_ms)}#s"
        planned.counters.append((c, "dim#test", "hits", None))
        planned.markers.append((f"V#{ev.domain}#{keys.day_of(ev.ts_ms)}#s0", f"dim#test#{visitor}", c, "dim#test",
                                keys.expiry(days=2)))
        return planned

    monkeypatch.setattr(plan, "plan", plan_with_a_dimension)
    post_all(path, pageviews("dim.example", 7, ips=3))
    path.poller.drain()
    assert counters_of_dim(path, "dim.example") == (7, 3)


def counters_of_dim(path: Path, site: str) -> tuple[int, int]:
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    found = [i for k in range(4) for i in items(f"C#{site}#{day}#s{k}") if i["sk"] == "dim#test"]
    return sum(int(i.get("hits", 0)) for i in found), sum(int(i.get("uv", 0)) for i in found)


def test_a_batch_delivered_again_to_a_new_container_counts_once(path: Path) -> None:
    post_all(path, pageviews("again.example", 9, ips=3))
    path.poller.drain()
    before = counters_of(path, "again.example")
    # 3 visitors, each 3 views 3 ms apart: 3 visits of 6 ms
    assert before["C/day"] == {"pv": 9, "uv": 3, "visits": 3, "visit_pv": 9, "visit_ms": 18}
    aggregator.reset_for_tests()  # another container: nothing in memory
    for event in list(path.delivered):  # the same batches once more (a checkpoint that was lost)
        assert aggregator.handler(event, None) == {"batchItemFailures": []}
    assert counters_of(path, "again.example") == before


def test_an_event_without_ts_is_a_retry_within_the_window_and_a_new_view_after_it(
        path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As on the direct path (plan.plan's retry guard): the same request again 31 s later counts
    once; the same page view 5 minutes later is a new page view."""
    body = {"name": "pageview", "url": "https://nots.example/a", "domain": "nots.example"}
    real = time.time
    start = (real() // 30) * 30 + 1  # early in a retry window
    for offset, expected in ((0, 1), (31, 1), (300, 2)):
        monkeypatch.setattr(time, "time", lambda o=offset: start + o)
        assert path.api.post(body)[0] == 202
        monkeypatch.setattr(time, "time", real)
        path.poller.drain()
        assert path.stats("nots.example")["pageviews"] == expected, f"after the post at +{offset} s"


def test_each_role_and_the_boundary_allow_what_the_stream_path_calls_and_no_more(path: Path) -> None:
    """Every table and stream call the collector and the aggregator make, and what the event source
    mapping does with the aggregator's role, is allowed by the role's policy and by the stack's
    permissions boundary (tests/iam_sim.py); the boundary allows nothing else of Kinesis and SQS."""
    from liveinsight_infra.reconcilers.iam import RoleReconciler
    from liveinsight_infra.reconcilers.iam_boundary import boundary_document
    from tests.iam_actions import Recorder
    from tests.iam_sim import Request, allowed, refused

    table_arn = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/liveinsight-events-stream"
    stream_arn = f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/{STREAM}"
    queue_arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:{QUEUE}"
    recorder = Recorder()
    recorder.attach(store.table().meta.client)
    recorder.attach(stream.kinesis())
    post_all(path, pageviews("roles.example", 6, ips=2))
    assert path.api.post({"name": "pageview", "url": "https://roles.example/", "domain": "roles.example"},
                         ua="curl/8.0")[0] == 202  # a bot: counted on the collector
    collected = list(recorder.calls)
    recorder.calls.clear()
    path.poller.drain()
    aggregated = [c for c in recorder.calls if c.service == "dynamodb"]

    def requests(calls: list[Any]) -> list[Request]:
        out = []
        for c in calls:
            p = c.params
            if c.service == "kinesis":
                out.append(Request(f"kinesis:{c.operation}", stream_arn))
                continue
            if c.operation == "BatchWriteItem":
                pks = [str(r["PutRequest"]["Item"]["pk"]) for v in p["RequestItems"].values() for r in v]
            elif c.operation == "Query":
                pks = [str(p["ExpressionAttributeValues"][":pk"])]
            elif c.operation == "BatchGetItem":
                pks = [str(k["pk"]) for v in p["RequestItems"].values() for k in v["Keys"]]
            else:
                pks = [str((p.get("Item") or p.get("Key"))["pk"])]
            out.append(Request(f"dynamodb:{c.operation}", table_arn, {"dynamodb:LeadingKeys": pks}))
        return out

    ctx = make_engine(path.provider, SPEC).ctx
    boundary = boundary_document(ctx.spec, "us-east-1", ACCOUNT)
    mapping = [Request(f"kinesis:{a}", stream_arn) for a in
               ("DescribeStream", "DescribeStreamSummary", "GetRecords", "GetShardIterator", "ListShards")]
    mapping.append(Request("sqs:SendMessage", queue_arn))
    assert {c.operation for c in aggregated} >= {"GetItem", "PutItem", "UpdateItem", "Query", "BatchWriteItem",
                                                 "BatchGetItem"}
    assert "PutRecords" in {c.operation for c in collected}
    for key, reqs in (("event-collector", requests(collected)), ("aggregator", requests(aggregated) + mapping)):
        policy = RoleReconciler(ctx).policy_for(key)
        assert refused(policy, reqs) == [], key
        assert refused(boundary, reqs) == [], key
    # The collector cannot read the stream or write counters' neighbours; nobody may manage the stream.
    collector = RoleReconciler(ctx).policy_for("event-collector")
    assert not allowed(collector, Request("kinesis:GetRecords", stream_arn))
    assert not allowed(collector, Request("dynamodb:PutItem", table_arn, {"dynamodb:LeadingKeys": ["B#x"]}))
    for request in (Request("kinesis:DeleteStream", stream_arn), Request("kinesis:PutRecords", stream_arn + "x"),
                    Request("sqs:ReceiveMessage", queue_arn), Request("sqs:SendMessage", queue_arn + "x"),
                    Request("kinesis:CreateStream", stream_arn)):
        assert not allowed(boundary, request), request


def test_a_batch_keeps_its_raw_events_exactly_and_compressed(path: Path) -> None:
    for ip in ("203.0.113.1", "203.0.113.2"):
        assert path.api.post(mixed("raw.example"), ip=ip)[0] == 202
    path.poller.drain()
    batches = [i for i in store.table().scan()["Items"] if str(i["pk"]).startswith("B#")]
    raw = [e for b in batches for e in aggregator.unpack_events(b["raw"])]
    assert sorted(e["sk"] for e in raw) == sorted(k for b in batches for k in b["keys"])
    assert len(raw) == 10 and all(e["visitor"] and e["name"] for e in raw)
    (signup, *_) = [e for e in raw if e["name"] == "signup"]
    assert signup["props"] == {"plan": "pro", "seats": Decimal("3.5")}
    assert signup["revenue"] == {"amount": Decimal("9.90"), "currency": "EUR"}
    packed = sum(len(bytes(b["raw"].value)) for b in batches)
    assert packed < len(json.dumps(raw, default=str)) / 2, "the raw events are stored compressed"


# -- a visitor's distinct values: one item per visitor and day, whatever the path -----------------------
def v_items(site: str) -> list[dict[str, Any]]:
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    return [i for k in range(4) for i in items(f"V#{site}#{day}#s{k}")]


def visitor_traffic(site: str) -> list[tuple[dict[str, Any], str]]:
    """Two visitors: A views /a, /b, /a (from a campaign) and signs up; B views /a."""
    now = int(time.time() * 1000)
    a, b = "203.0.113.1", "203.0.113.2"
    tagged = f"https://{site}/a?utm_source=news&utm_medium=email&utm_campaign=fall"
    return [({"name": "pageview", "url": tagged, "domain": site, "ts": now - 50}, a),
            ({"name": "pageview", "url": f"https://{site}/b", "domain": site, "ts": now - 40}, a),
            ({"name": "pageview", "url": f"https://{site}/a", "domain": site, "ts": now - 30}, a),
            ({"name": "signup", "url": f"https://{site}/b", "domain": site, "ts": now - 20}, a),
            ({"name": "pageview", "url": f"https://{site}/a", "domain": site, "ts": now - 10}, b)]


def check_visitor_counts(path: Path, site: str) -> None:
    s = path.stats(site)
    assert (s["visitors"], s["pageviews"]) == (2, 4)
    assert sorted((p["path"], p["visitors"], p["pageviews"]) for p in s["pages"]) == [("/a", 2, 3), ("/b", 1, 1)]
    assert [(g["goal"], g["visitors"], g["events"]) for g in s["goals"]] == [("signup", 1, 1)]
    assert [(r["value"], r["visitors"]) for r in s["utm_campaigns"]] == [("fall", 1)]
    assert sum(r["visitors"] for r in s["browsers"]) == 2


@pytest.mark.parametrize("ingest", ["direct", "stream"])
def test_a_visitors_distinct_values_are_kept_in_its_session_item_not_one_item_each(
        path: Path, monkeypatch: pytest.MonkeyPatch, ingest: str) -> None:
    monkeypatch.setenv("LIVEINSIGHT_INGEST", ingest)
    post_all(path, visitor_traffic(f"{ingest}.example"))
    path.poller.drain()
    check_visitor_counts(path, f"{ingest}.example")
    assert sorted(str(i["sk"]).split("#")[0] for i in v_items(f"{ingest}.example")) == ["visit", "visit"]


def test_the_aggregator_writes_one_item_per_visitor_and_batch_for_its_distinct_values(path: Path) -> None:
    puts: list[str] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        if path.in_aggregator:
            puts.append(str(params["Item"]["pk"]))  # as the table resource gave it: plain values

    store.table().meta.client.meta.events.register("provide-client-params.dynamodb.PutItem", record)
    events = [(body, f"203.0.113.{i % 5 + 1}") for i, (body, _) in enumerate(pageviews("w.example", 100))]
    post_all(path, events)
    path.poller.drain()
    assert path.stats("w.example")["visitors"] == 5
    assert len([pk for pk in puts if pk.startswith("V#")]) == 5, puts


@pytest.mark.parametrize("ingest", ["direct", "stream"])
def test_visitors_counted_by_marker_items_are_not_counted_again(
        path: Path, monkeypatch: pytest.MonkeyPatch, ingest: str) -> None:
    """Marker items (one per visitor and value) are how a visitor's distinct values were kept before
    they moved into the session item: a visitor counted that way today is not counted again."""
    site = f"legacy-{ingest}.example"
    traffic = visitor_traffic(site)
    as_earlier_layout(path, monkeypatch, traffic[:2])  # A's first two page views
    monkeypatch.setenv("LIVEINSIGHT_INGEST", ingest)
    post_all(path, traffic[2:])
    path.poller.drain()
    check_visitor_counts(path, site)


def test_switching_the_ingest_path_within_a_day_counts_a_visitor_once(
        path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    traffic = visitor_traffic("switch.example")
    for i, pair in enumerate(traffic):  # each event by the other path than the one before
        monkeypatch.setenv("LIVEINSIGHT_INGEST", ("direct", "stream")[i % 2])
        post_all(path, [pair])
        path.poller.drain()
    check_visitor_counts(path, "switch.example")


def test_a_batch_bisected_after_its_session_puts_still_counts_the_visitors_of_its_second_half(
        path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The aggregator fails after the sessions' puts, before the batch item; the mapping bisects the
    batch, so the retry of the first half has the same first record and the second half is a batch
    of its own: the visitor whose events are all in the second half still counts, once."""
    monkeypatch.setattr(stream, "partition_key", lambda site, visitor: "one-shard")  # both on one shard
    site = "halves.example"
    now = int(time.time() * 1000)
    post_all(path, [({"name": "pageview", "url": f"https://{site}/{p}", "domain": site, "ts": now - 50 + i}, ip)
                    for i, (p, ip) in enumerate([("a", "203.0.113.1"), ("b", "203.0.113.1"),
                                                 ("c", "203.0.113.2"), ("d", "203.0.113.2")])])
    failed: list[str] = []

    def fail_at_the_batch_item(params: dict[str, Any], **_: Any) -> None:
        if path.in_aggregator and not failed and str(params["Item"]["pk"]).startswith("B#"):
            failed.append(str(params["Item"]["sk"]))
            raise ConnectionError("the aggregator lost DynamoDB before its batch item")

    store.table().meta.client.meta.events.register("provide-client-params.dynamodb.PutItem", fail_at_the_batch_item)
    path.poller.drain()
    assert failed and len(path.delivered) >= 3, "one batch of four, then its halves"
    s = path.stats(site)
    assert (s["visitors"], s["pageviews"], s["visits"]) == (2, 4, 2)
    assert sorted((p["path"], p["visitors"]) for p in s["pages"]) == [("/a", 1), ("/b", 1), ("/c", 1), ("/d", 1)]


@pytest.mark.parametrize("ingest", ["direct", "stream"])
def test_a_visitor_with_tens_of_thousands_of_distinct_values_still_counts_its_views_and_values(
        path: Path, monkeypatch: pytest.MonkeyPatch, ingest: str) -> None:
    """A client that sends 34,000 distinct pages in a day (a crawler running the tracker, or anyone
    posting events) fills its session's ``seen`` with 204 KB of digests; the stream path's put
    carries them twice (``seen`` and ``prev``), over DynamoDB's 400 KB item limit. Its later page
    views must still count, and its new values once."""
    from shared import visits

    monkeypatch.setenv("LIVEINSIGHT_INGEST", ingest)
    site = f"crawl-{ingest}.example"
    now = int(time.time() * 1000)

    def view(page: str, ms: int) -> tuple[dict[str, Any], str]:
        return {"name": "pageview", "url": f"https://{site}{page}", "domain": site, "ts": now - 100 + ms}, "203.0.113.9"

    post_all(path, [view("/first", 0)])
    path.poller.drain()
    # The state its earlier 34,000 distinct pages left (page views of /p0 ... /p33999).
    (session,) = [i for i in v_items(site) if str(i["sk"]).startswith("visit#")]
    digests = b"".join(sorted({visits.seen_id(f"p#/p{i}") for i in range(34_000)}
                              | set(visits.session_of(session).seen or ())))
    store.table().update_item(Key={"pk": session["pk"], "sk": session["sk"]}, UpdateExpression="SET seen = :s",
                              ExpressionAttributeValues={":s": visits.SEEN_FORMAT + digests})
    post_all(path, [view("/new", 10), view("/p7", 20), view("/new", 30)])
    path.poller.drain()
    s = path.stats(site)
    assert s["pageviews"] == 4 and s["visitors"] == 1
    assert sorted((p["path"], p["visitors"], p["pageviews"]) for p in s["pages"]) == [
        ("/first", 1, 1), ("/new", 1, 2), ("/p7", 0, 1)], "/p7 was counted with the earlier views"
    assert path.failure_messages() == []


@pytest.mark.parametrize("ingest", ["direct", "stream"])
def test_a_visitor_with_many_distinct_pages_keeps_a_small_session_item_and_counts_each_page_once(
        path: Path, monkeypatch: pytest.MonkeyPatch, ingest: str) -> None:
    """DynamoDB bills a put per KB of the item: a session item that grew with each of a visitor's
    distinct values would make each of its later events cost more. Past a bound its values are
    marker items; each page still counts the visitor once, a retry of everything counts nothing."""
    monkeypatch.setenv("LIVEINSIGHT_INGEST", ingest)
    monkeypatch.setenv("LIVEINSIGHT_CAPS", json.dumps({"pages": 2_000}))  # a site with many pages (caps.py)
    site = f"many-{ingest}.example"
    now = int(time.time() * 1000)
    bodies = [{"name": "pageview", "url": f"https://{site}/p{i}", "domain": site, "ts": now - 3_000 + i}
              for i in range(1_500)]
    for _ in range(2):  # and every request once more
        for i in range(0, len(bodies), 100):
            status, answer, _ = path.api.post(bodies[i:i + 100], ip="203.0.113.9")
            assert status == 202 and answer["accepted"] == 100, answer
        path.poller.drain()
    counts = counters_of(path, site)
    pages = {k: v for k, v in counts.items() if k.startswith("C/page#")}
    assert len(pages) == 1_500 and all(v == {"pv": 1, "uv": 1} for v in pages.values())
    assert counts["C/day"]["uv"] == 1 and counts["C/day"]["pv"] == 1_500
    (session,) = [i for i in v_items(site) if str(i["sk"]).startswith("visit#")]
    assert len(bytes(session["seen"].value)) < 8 * 1024, "the session item stays a few KB"


def as_earlier_layout(path: Path, monkeypatch: pytest.MonkeyPatch, traffic: list[tuple[dict[str, Any], str]]) -> None:
    """Post ``traffic`` on the direct path, then leave its visitors as the earlier layout kept them:
    a marker item per value, sessions without ``seen``."""
    planned: list[Any] = []
    real = plan.plan

    def keep(*args: Any) -> Any:
        planned.append(real(*args))
        return planned[-1]

    monkeypatch.setenv("LIVEINSIGHT_INGEST", "direct")
    monkeypatch.setattr(plan, "plan", keep)
    post_all(path, traffic)
    monkeypatch.setattr(plan, "plan", real)
    t = store.table()
    for p in planned:
        for pk, sk, _c, _csk, ttl in p.markers:
            t.put_item(Item={"pk": pk, "sk": sk, "expires_at": ttl})
    sites = {body["domain"] for body, _ in traffic}
    for item in [i for site in sites for i in v_items(site)]:
        if str(item["sk"]).startswith("visit#"):
            t.update_item(Key={"pk": item["pk"], "sk": item["sk"]}, UpdateExpression="REMOVE seen")
    store._known.clear()


def page_visitors(path: Path, site: str) -> tuple[int, int, dict[str, int]]:
    c = counters_of(path, site)
    return c["C/day"]["uv"], c["C/day"]["pv"], {k[7:]: v.get("uv", 0) for k, v in c.items() if k.startswith("C/page#")}


def test_a_visitor_of_the_earlier_layout_meets_a_failure_at_each_write_of_a_batch(
        path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch with a visitor of the earlier layout (marker items) and a new one, failing at each of
    its writes in turn and delivered again: each visitor and page counts once."""
    now = int(time.time() * 1000)
    a, b = "203.0.113.1", "203.0.113.2"
    for k in range(1, 40):
        site = f"layout{k}.example"

        def view(page: str, ms: int, ip: str, s: str = site) -> tuple[dict[str, Any], str]:
            return {"name": "pageview", "url": f"https://{s}{page}", "domain": s, "ts": now - 100 + ms}, ip

        as_earlier_layout(path, monkeypatch, [view("/a", 0, a), view("/b", 1, a)])
        monkeypatch.setenv("LIVEINSIGHT_INGEST", "stream")
        post_all(path, [view("/a", 10, a), view("/c", 11, a), view("/a", 12, b), view("/d", 13, a)])
        path.writes, path.fail_at = 0, k
        path.poller.drain()
        assert page_visitors(path, site) == (2, 6, {"/a": 2, "/b": 1, "/c": 1, "/d": 1}), f"failed at write {k}"
        if path.fail_at is not None:  # fewer than k writes: every one was covered
            break
    assert k > 3
    assert path.failure_messages() == []


@pytest.mark.parametrize("mode", ["before", "after"])
def test_a_visitor_of_the_earlier_layout_meets_a_fault_at_each_write_of_a_request(
        path: Path, monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    """The direct path: a request failing at each of its writes (before it applies, or after), then
    sent again."""
    from tests.handlers.test_exactly_once import Faults

    now = int(time.time() * 1000)
    faults = Faults()
    for n in range(1, 20):
        site = f"layout{n}-{mode}.example"
        bodies = [{"name": "pageview", "url": f"https://{site}{p}", "domain": site, "ts": now - 100 + i}
                  for i, p in enumerate(["/a", "/b", "/a", "/c", "/b", "/d"])]
        as_earlier_layout(path, monkeypatch, [(body, "203.0.113.5") for body in bodies[:2]])
        faults.arm(n, mode)
        path.api.post(bodies[2:], ip="203.0.113.5")
        reached = faults.writes >= n
        faults.arm(None)
        assert path.api.post(bodies[2:], ip="203.0.113.5")[0] == 202
        assert page_visitors(path, site) == (1, 6, {"/a": 1, "/b": 1, "/c": 1, "/d": 1}), f"fault at write {n}"
        if not reached:
            break
    assert n > 2


@pytest.mark.parametrize("earlier", [False, True], ids=["seen", "marker items"])
def test_a_request_of_the_same_visitor_in_between_counts_shared_values_once(
        path: Path, monkeypatch: pytest.MonkeyPatch, earlier: bool) -> None:
    """Another request of the visitor, with values in common, commits between this request's read
    of the session and its transaction."""
    site = "between.example"
    now = int(time.time() * 1000)

    def view(page: str, ms: int) -> dict[str, Any]:
        return {"name": "pageview", "url": f"https://{site}{page}", "domain": site, "ts": now - 1_000 + ms}

    if earlier:
        as_earlier_layout(path, monkeypatch, [(view("/a", 0), "203.0.113.5")])
    else:
        monkeypatch.setenv("LIVEINSIGHT_INGEST", "direct")
        post_all(path, [(view("/a", 0), "203.0.113.5")])
    done: list[bool] = []

    def meanwhile(model: Any, **_: Any) -> None:
        if model.name == "TransactWriteItems" and not done:
            done.append(True)
            assert path.api.post([view("/y", 500), view("/shared", 600), view("/a", 700)], ip="203.0.113.5")[0] == 202

    store.table().meta.client.meta.events.register("before-call.dynamodb.TransactWriteItems", meanwhile)
    assert path.api.post([view("/x", 550), view("/shared", 650)], ip="203.0.113.5")[0] == 202
    assert done
    assert page_visitors(path, site) == (1, 6, {"/a": 1, "/x": 1, "/y": 1, "/shared": 1})
    assert path.stats(site)["visits"] == 1
