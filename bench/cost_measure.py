"""The measuring half of bench/cost.py: the real handlers run on moto as Lambda would run them, one
invocation per request or batch, with a meter on their AWS calls; what each used comes back as
``Measured`` (a ``cost_model.Usage`` and the samples it was made of), which ``save`` and ``load``
keep as JSON. No prices here (bench/prices.py, bench/cost_model.py).

What is assumed rather than measured is in ``ASSUMED`` (docs/cost.md says why).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import platform
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

import boto3
from cost_model import COLLECTOR, FunctionUse, Usage, item_read_units, lambda_ms, query_read_units
from item_size import item_size

import handlers as bench  # bench/handlers.py: the environment, the write-unit meter, the traffic's mix

ROOT = bench.ROOT
ASSUMED = {
    "dynamodb_ms": 6.0,  # a DynamoDB call from Lambda in the same region (single-digit ms)
    "transaction_ms": 12.0,  # TransactWriteItems: prepare and commit
    "kinesis_ms": 15.0,  # PutRecords
    "core_ratio": 1.0,  # a second of this machine's core is a second of a Lambda (Graviton2) core
    "request_header_bytes": 900,  # a browser's POST headers, with CloudFront's viewer headers added
    "response_extra_bytes": 250,  # status line, Date, Content-Length, Via, X-Cache, X-Amz-Cf-* headers
    "edge_ms": 5,  # a Lambda@Edge function that hashes the body (url-oac)
}


@dataclass
class Sample:
    """What one function used over a run."""

    invocations: int = 0
    cpu_ms: float = 0.0  # the handler's own CPU time here (moto's answers left out)
    lambda_ms: int = 0  # estimated on Lambda (cost_model.lambda_ms), each rounded up to 1 ms
    log_lines: int = 0
    log_bytes: int = 0


def _guarded(hook: Callable[..., None]) -> Callable[..., None]:
    """A meter hook that never raises into the handler (which would take it for an AWS failure and
    answer 503): its error is kept, and ``Runner.invoke`` raises it after the invocation. Its CPU
    time is kept too, and left out of the handler's."""
    def run(self: CostMeter, *args: Any, **kw: Any) -> None:
        started = time.thread_time()
        try:
            hook(self, *args, **kw)
        except Exception as exc:
            self.errors.append(exc)
        finally:
            if hook.__name__ in ("params", "put_records"):  # before a call's span; the others run in it
                self.overhead.append(time.thread_time() - started)

    return run


class CostMeter(bench.Meter):
    """bench/handlers.py's write-unit meter, plus read units, the time spent in AWS calls and the
    Kinesis records the collector puts."""

    def __init__(self, raw: Any, table_name: str) -> None:
        super().__init__()
        self.raw, self.table_name = raw, table_name  # an unmetered client: the whole size of projected items
        self.read_units = 0.0
        # (start, end, assumed round trip ms, CPU seconds of the calling thread): one per AWS call
        self.spans: list[tuple[float, float, float, float]] = []
        self.records = self.record_kb = self.record_bytes = self.put_units = 0
        self.errors: list[Exception] = []
        self.overhead: list[float] = []  # CPU seconds the meter's hooks spend outside the calls' spans
        self._local = threading.local()

    def reset(self) -> None:
        super().reset()
        self.read_units = 0.0
        self.spans.clear()
        self.records = self.record_kb = self.record_bytes = self.put_units = 0

    @_guarded
    def params(self, params: dict[str, Any], model: Any, **kw: Any) -> None:
        super().params(params, model, **kw)
        # what the read units need, before boto3's own handlers turn the values into wire types in place
        key = (params.get("ExpressionAttributeValues") or {}).get(":pk")
        self._local.read = {"consistent": bool(params.get("ConsistentRead")), "pk": key,
                            "projected": bool(params.get("ProjectionExpression")),
                            "strong": {name: bool(r.get("ConsistentRead"))
                                       for name, r in (params.get("RequestItems") or {}).items()
                                       if model.name == "BatchGetItem"}}

    @_guarded
    def put_records(self, params: dict[str, Any], **_: Any) -> None:
        for r in params.get("Records", []):
            size = len(r["Data"]) + len(str(r["PartitionKey"]).encode())
            self.records += 1
            self.record_bytes += size
            self.record_kb += math.ceil(size / 1024)
            self.put_units += math.ceil(size / (25 * 1024))

    @_guarded
    def started(self, **_: Any) -> None:
        self._local.start = time.perf_counter(), time.thread_time()

    @_guarded
    def ended(self, model: Any, **_: Any) -> None:
        rtt = ASSUMED["transaction_ms"] if model.name == "TransactWriteItems" else (
            ASSUMED["kinesis_ms"] if model.service_model.service_name == "kinesis" else ASSUMED["dynamodb_ms"])
        wall, cpu = self._local.start
        self.spans.append((wall, time.perf_counter(), rtt, time.thread_time() - cpu))

    @_guarded
    def read(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        asked = self._local.read
        consistent = asked["consistent"]
        if model.name == "Query":
            items = parsed.get("Items", [])
            if asked["projected"]:  # billed on the whole items, not the projection
                key = {"pk": {"S": asked["pk"]}}
                items = [self.raw.get_item(TableName=self.table_name, Key={**key, "sk": i["sk"]})["Item"]
                         for i in items]
            self.read_units += query_read_units([_size(i) for i in items], consistent)
        elif model.name == "GetItem":
            self.read_units += item_read_units(_size(parsed["Item"]) if parsed.get("Item") else None, consistent)
        elif model.name == "BatchGetItem":
            for name, items in parsed.get("Responses", {}).items():
                self.read_units += sum(item_read_units(_size(i), asked["strong"].get(name, False)) for i in items)


def _size(wire_item: dict[str, Any]) -> int:
    from boto3.dynamodb.types import TypeDeserializer

    d = TypeDeserializer()
    return item_size({k: d.deserialize(v) for k, v in wire_item.items()})


def _union_ms(spans: list[tuple[float, float, float, float]]) -> float:
    total, end = 0.0, -math.inf
    for s, e, *_ in sorted(spans):
        if e > end:
            total += e - max(s, end)
            end = e
    return total * 1000


class Runner:
    """Invokes a handler as Lambda would, once per request or batch, and keeps its Sample."""

    def __init__(self, meter: CostMeter) -> None:
        self.meter = meter
        self.samples: dict[str, Sample] = defaultdict(Sample)

    def invoke(self, name: str, memory_mb: int, fn: Callable[[dict[str, Any], Any], Any],
               event: dict[str, Any]) -> Any:
        """``fn(event)``, measured: the CPU time the handler spends itself (CPU time, not wall time,
        so that a loaded machine does not inflate it; the CPU moto spends answering is left out),
        and the AWS calls it waits for."""
        self.meter.spans.clear()
        self.meter.overhead.clear()
        out = io.StringIO()
        started = time.process_time()
        with contextlib.redirect_stdout(out):
            result = fn(event, None)
        cpu_ms = (time.process_time() - started) * 1000
        if self.meter.errors:
            raise RuntimeError(f"the meter failed during {name}") from self.meter.errors[0]
        spans = list(self.meter.spans)
        own_ms = max(0.0, cpu_ms - (sum(c for *_, c in spans) + sum(self.meter.overhead)) * 1000)
        union = _union_ms(spans)
        busy = sum(e - s for s, e, *_ in spans) * 1000
        # the calls' round trips, overlapping as much as the handler's calls overlapped here
        waits = sum(rtt for _, _, rtt, _ in spans) * (union / busy if busy else 1.0)
        lines = out.getvalue().splitlines()
        s = self.samples[name]
        s.invocations += 1
        s.cpu_ms += own_ms
        s.lambda_ms += lambda_ms(own_ms, waits, memory_mb, ASSUMED["core_ratio"])
        s.log_lines += len(lines)
        s.log_bytes += sum(len(line.encode()) + 1 for line in lines)
        return result


# -- the traffic ------------------------------------------------------------------------------------
def visits(visitors: int, site: str) -> list[list[dict[str, Any]]]:
    """Each visitor's events as Plausible's tracker posts them: three page views, each followed by
    an ``engagement`` event when it is left; the entry comes from a campaign for one visitor in
    three and from a referrer for one in three; one in five signs up (a goal with two props)."""
    out = []
    for v in range(visitors):
        events: list[dict[str, Any]] = []
        for k in range(3):
            url = f"https://{site}{bench.PAGES[(v + k) % len(bench.PAGES)]}"
            view: dict[str, Any] = {"n": "pageview", "u": url, "d": site, "r": None, "w": 1440}
            if k == 0 and v % 3 == 0:
                view["u"] = f"{url}?utm_source=newsletter&utm_medium=email&utm_campaign=c{v % 4}"
            elif k == 0 and v % 3 == 1:
                view["r"] = ["https://www.google.com/", "https://news.ycombinator.com/item"][v % 2]
            events.append(view)
            if k == 2 and v % 5 == 4:
                events.append({"n": "signup", "u": url, "d": site, "w": 1440,
                               "p": {"plan": ["free", "pro"][v % 2], "seats": v % 7}})
            events.append({"n": "engagement", "u": url, "d": site, "e": 12_000 + v % 5_000, "sd": 60, "w": 1440})
        out.append(events)
    return out


def interleaved(per_visitor: list[list[dict[str, Any]]]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Round by round: a visitor's next event comes after every other visitor's, as on a site whose
    visitors' events are tens of seconds apart."""
    for k in range(max(len(e) for e in per_visitor)):
        for v, events in enumerate(per_visitor):
            if k < len(events):
                yield v, events[k]


def paired(per_visitor: list[list[dict[str, Any]]]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Round by round, two events of a visitor together (a page view and the engagement event that
    ends it): what a batch of about 40 s holds of a visitor who views a page every 30 s."""
    for k in range(0, max(len(e) for e in per_visitor), 2):
        for v, events in enumerate(per_visitor):
            for e in events[k:k + 2]:
                yield v, e


def whole_visits(per_visitor: list[list[dict[str, Any]]]) -> Iterator[tuple[int, dict[str, Any]]]:
    for v, events in enumerate(per_visitor):
        for e in events:
            yield v, e


def request(body: Any, visitor: int) -> dict[str, Any]:
    agent = bench.AGENTS[visitor % len(bench.AGENTS)].replace("126.0.0.0", f"126.0.{visitor % 40}.{visitor % 7}")
    ip = f"198.51.{visitor // 250 % 250}.{visitor % 250}"
    headers = {"Content-Type": "text/plain", "User-Agent": agent, "CloudFront-Viewer-Address": f"{ip}:51234",
               "CloudFront-Viewer-Country": bench.COUNTRIES[visitor % len(bench.COUNTRIES)],
               "Origin": "https://www.example.com"}
    return {"httpMethod": "POST", "path": "/api/event", "body": json.dumps(body, separators=(",", ":")),
            "headers": headers, "requestContext": {"identity": {"sourceIp": "130.176.0.1"}}}


@dataclass
class Traffic:
    events: int = 0
    pageviews: int = 0
    request_bytes: int = 0
    response_bytes: int = 0


def answer_bytes(result: dict[str, Any]) -> int:
    headers = sum(len(k) + len(str(v)) + 4 for k, v in (result.get("headers") or {}).items())
    return len(str(result.get("body", "")).encode()) + headers + int(ASSUMED["response_extra_bytes"])


def post_all(runner: Runner, collector: Any, memory_mb: int,
             ordered: Iterator[tuple[int, dict[str, Any]]]) -> Traffic:
    t = Traffic()
    for v, event in ordered:
        req = request(event, v)
        result = runner.invoke(COLLECTOR, memory_mb, collector.handler, req)
        assert result["statusCode"] == 202, result
        t.events += 1
        t.pageviews += event["n"] == "pageview"
        t.request_bytes += len(req["body"].encode()) + int(ASSUMED["request_header_bytes"])
        t.response_bytes += answer_bytes(result)
    return t


# -- the measurements -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Setting:
    key: str
    title: str
    per_batch: int  # records per aggregator batch (per shard)
    rate: float  # the events per second that fill such batches with a 1 s window and 4 shards
    order: str = "interleaved"  # or "paired" (two events of a visitor in a batch), "whole" (its whole visit)
    visitors: int = 200  # enough for the batches (a full run): each of a batch's events from another visitor



@dataclass
class Measured:
    title: str
    usage: Usage
    rate: float
    samples: dict[str, Sample]
    memory: dict[str, int]
    kept_bytes: int  # items without an expiry (counters): kept for good
    per_batch: int = 0
    stream: bool = False
    pageviews: int = 0
    visitors: int = 0
    note: str = ""
    order: str = "interleaved"


@dataclass
class Context:
    specs: dict[str, Any]
    meter: CostMeter
    raw: Any
    base_table: str
    table_name: str = ""


def _functions(samples: dict[str, Sample], memory: dict[str, int], arch: dict[str, str]) -> dict[str, FunctionUse]:
    return {k: FunctionUse(s.invocations, s.lambda_ms / s.invocations, memory[k], arch[k], s.log_lines, s.log_bytes)
            for k, s in samples.items() if s.invocations}


def fresh_table(ctx: Context, key: str) -> None:
    """A table of its own for the next measurement, with the stack table's keys: moto's Query reads
    every item of a table, so one shared table would slow each run down as the runs fill it (the
    counts do not change)."""
    from shared import store

    base = ctx.raw.describe_table(TableName=ctx.base_table)["Table"]
    name = f"{ctx.base_table}-{key}"
    ctx.raw.create_table(TableName=name, KeySchema=base["KeySchema"],
                         AttributeDefinitions=base["AttributeDefinitions"], BillingMode="PAY_PER_REQUEST")
    os.environ["LIVEINSIGHT_TABLE"] = name
    store.reset_for_tests()
    ctx.table_name = ctx.meter.table_name = name


def stored(ctx: Context, marker: str, ttl_days: int) -> tuple[int, int]:
    """(bytes kept until the event TTL, weighted by each item's own expiry; bytes kept for good) of
    the items whose key holds ``marker``; 100 bytes of overhead per item."""
    now = time.time()
    weighted, kept = 0.0, 0
    for page in ctx.raw.get_paginator("scan").paginate(TableName=ctx.table_name):
        for item in page["Items"]:
            if marker not in item["pk"]["S"]:
                continue
            size = _size(item) + 100
            if "expires_at" in item:
                days = max(0.0, (float(item["expires_at"]["N"]) - now) / 86400)
                weighted += size * min(1.0, days / ttl_days)
            else:
                kept += size
    return int(weighted), kept


def measure_direct(ctx: Context, visitors: int, site: str = "direct.example") -> Measured:
    import event_collector

    spec = ctx.specs["direct"]
    memory = {k: f.memory_mb for k, f in spec.functions.items()}
    arch = {k: f.architecture for k, f in spec.functions.items()}
    runner = Runner(ctx.meter)
    ctx.meter.reset()
    t = post_all(runner, event_collector, memory[COLLECTOR], interleaved(visits(visitors, site)))
    m = ctx.meter
    weighted, kept = stored(ctx, f"#{site}#", spec.table.event_ttl_days)
    usage = Usage(t.events, t.events, _functions(runner.samples, memory, arch), m.units, m.read_units,
                  request_bytes=t.request_bytes, response_bytes=t.response_bytes, stored_bytes=weighted)
    return Measured("direct", usage, 0.0, dict(runner.samples), memory, kept, pageviews=t.pageviews,
                    visitors=visitors)


def measure_stream(ctx: Context, visitors: int, setting: Setting) -> Measured:
    import aggregator
    import event_collector

    from liveinsight_infra.aws.provider import AwsProvider
    from liveinsight_infra.local.stream import MappingSettings, StreamPoller
    from shared import stream

    spec = ctx.specs["stream"]
    memory = {k: f.memory_mb for k, f in spec.functions.items()}
    arch = {k: f.architecture for k, f in spec.functions.items()}
    provider = AwsProvider("us-east-1", session=boto3.Session())
    name = f"cost-{setting.key}"
    provider.client("kinesis").create_stream(StreamName=name, ShardCount=bench.STREAM_SHARDS)
    site = f"{setting.key}.example"
    runner = Runner(ctx.meter)
    os.environ.update(LIVEINSIGHT_INGEST="stream", LIVEINSIGHT_STREAM=name)
    stream.reset_for_tests()
    aggregator.reset_for_tests()
    ctx.meter.reset()
    per_visitor = visits(visitors, site)
    try:
        order = {"interleaved": interleaved, "paired": paired, "whole": whole_visits}[setting.order]
        t = post_all(runner, event_collector, memory[COLLECTOR], order(per_visitor))
    finally:
        os.environ.pop("LIVEINSIGHT_INGEST")
    m = ctx.meter
    settings = MappingSettings(f"arn:aws:kinesis:us-east-1:{provider.account_id()}:stream/{name}",
                               setting.per_batch, 1, 10, True, None)
    failed: list[Any] = []

    def aggregate(event: dict[str, Any]) -> Any:
        result = runner.invoke("aggregator", memory["aggregator"], aggregator.handler, event)
        failed.extend(result["batchItemFailures"])
        return result

    StreamPoller(provider, settings, aggregate).drain(max_rounds=1_000_000)
    if failed:  # the bench prices batches that work the first time; a retry would be counted as use
        raise SystemExit(f"the aggregator failed {len(failed)} record(s) of {name}: see its log lines")
    weighted, kept = stored(ctx, f"#{site}#", spec.table.event_ttl_days)
    batches, _ = stored(ctx, f"B#{name}#", spec.table.event_ttl_days)
    usage = Usage(t.events, t.events, _functions(runner.samples, memory, arch), m.units, m.read_units,
                  m.records, m.record_kb, m.record_bytes, m.put_units, t.request_bytes, t.response_bytes,
                  weighted + batches)
    return Measured(setting.title, usage, setting.rate, dict(runner.samples), memory, kept, setting.per_batch, True,
                    t.pageviews, visitors, order=setting.order)


def fill_days(ctx: Context, site: str, days: int, visitors_per_day: int) -> None:
    """Earlier days of ``site``, for the dashboard's 30 days and their comparison: each visitor's
    visit posted in one request, on a collector whose clock says that day."""
    import event_collector

    now = time.time()
    for d in range(1, days + 1):
        clock = SimpleNamespace(time=lambda d=d: now - d * 86400, monotonic=time.monotonic)
        with mock.patch.object(event_collector, "time", clock), contextlib.redirect_stdout(io.StringIO()):
            for v, events in enumerate(visits(visitors_per_day, site)):
                assert event_collector.handler(request(events, v), None)["statusCode"] == 202


def measure_dashboard(ctx: Context, site: str, repeat: int, note: str) -> dict[str, Measured]:
    """The read functions' use for one request of each kind a dashboard makes."""
    import realtime_api
    import stats_api

    spec = ctx.specs["direct"]
    memory = {k: f.memory_mb for k, f in spec.functions.items()}
    arch = {k: f.architecture for k, f in spec.functions.items()}
    kinds = {"realtime": ("realtime-api", realtime_api.handler, {"site": site}),
             "stats, today": ("stats-api", stats_api.handler, {"site": site, "period": "day",
                                                               "compare": "previous_period"}),
             "stats, 30 days": ("stats-api", stats_api.handler, {"site": site, "period": "30d",
                                                                 "compare": "previous_period"})}
    out = {}
    for kind, (fn_name, handler, query) in kinds.items():
        runner = Runner(ctx.meter)
        ctx.meter.reset()
        answered = 0
        for _ in range(repeat):
            result = runner.invoke(fn_name, memory[fn_name], handler,
                                   {"httpMethod": "GET", "path": f"/api/{fn_name.split('-')[0]}",
                                    "queryStringParameters": query, "headers": {}})
            assert result["statusCode"] == 200, result
            answered += answer_bytes(result)
        usage = Usage(repeat, repeat, _functions(runner.samples, memory, arch), 0, ctx.meter.read_units,
                      request_bytes=repeat * int(ASSUMED["request_header_bytes"]), response_bytes=answered)
        out[kind] = Measured(kind, usage, 0.0, dict(runner.samples), memory, 0, note=note)
    return out



SETTINGS = (Setting("b1", "stream, 1 event per batch (up to 4 events/s)", 1, 4),
            Setting("b20", "stream, 20 per batch (80 events/s)", 20, 80),
            # 4 shards x 250 distinct visitors a batch, and some to spare
            Setting("b250", "stream, 250 per batch (1,000 events/s)", 250, 1_000, visitors=1_200),
            Setting("b250p", "stream, 250 per batch, two events of a visitor in a batch (1,000 events/s, "
                    "a window of about 40 s)", 250, 1_000, "paired", visitors=800),
            Setting("b250v", "stream, 250 per batch, each visit in one batch (1,000 events/s)", 250, 1_000, "whole",
                    visitors=400))
DIRECT_VISITORS = 400
DASHBOARD_VISITORS = 100  # today's, and a fifth of them on each of the 60 days before
QUICK_VISITORS = 30


def measure_all(quick: bool) -> tuple[Measured, list[Measured], dict[str, Measured]]:
    from moto import mock_aws

    from liveinsight_infra.aws.provider import AwsProvider
    from liveinsight_infra.engine import Context as EngineContext
    from liveinsight_infra.engine import Engine
    from liveinsight_infra.reconcilers.dynamodb import TableReconciler
    from liveinsight_infra.spec import load_spec
    from liveinsight_infra_moto.fidelity import apply_fidelity_patches

    apply_fidelity_patches()
    with mock_aws():
        loaded = load_spec(ROOT / "specs" / "dev.yaml")
        engine = Engine(EngineContext(loaded, AwsProvider("us-east-1", session=boto3.Session())),
                        kinds=[TableReconciler])
        engine.apply(engine.plan())
        table_name = os.environ["LIVEINSIGHT_TABLE"]
        raw = boto3.Session().client("dynamodb")
        meter = CostMeter(raw, table_name)
        session = boto3.DEFAULT_SESSION or boto3.setup_default_session() or boto3.DEFAULT_SESSION
        assert session is not None
        # on the default session, before the handlers make their clients from it
        session.events.register("before-parameter-build.dynamodb.*", meter.params)
        session.events.register("before-call.dynamodb.*", meter.call)
        session.events.register("after-call.dynamodb.*", meter.read)
        session.events.register("before-parameter-build.kinesis.PutRecords", meter.put_records)
        for service in ("dynamodb", "kinesis"):
            session.events.register(f"before-call.{service}.*", meter.started)
            session.events.register(f"after-call.{service}.*", meter.ended)
        ctx = Context(specs(), meter, raw, table_name, table_name)
        with contextlib.redirect_stdout(io.StringIO()):  # warm up: imports, the day's salt, ua-parser's rules
            measure_direct(ctx, 8)
        fresh_table(ctx, "direct")
        direct = measure_direct(ctx, QUICK_VISITORS if quick else DIRECT_VISITORS)
        streams = []
        for s in SETTINGS:
            fresh_table(ctx, s.key)
            streams.append(measure_stream(ctx, QUICK_VISITORS if quick else s.visitors, s))
        fresh_table(ctx, "dashboard")  # today's traffic and 60 days before it
        today, before = (QUICK_VISITORS, 1) if quick else (DASHBOARD_VISITORS, DASHBOARD_VISITORS // 5)
        with contextlib.redirect_stdout(io.StringIO()):
            measure_direct(ctx, today, "dashboard.example")
        fill_days(ctx, "dashboard.example", 60, before)
        board = measure_dashboard(ctx, "dashboard.example", 2 if quick else 3,
                                  f"a site of {today} visitors today and {before} on each of the 60 days before")
    return direct, streams, board


def specs() -> dict[str, Any]:
    from liveinsight_infra.spec import load_spec

    return {"direct": load_spec(ROOT / "specs" / "dev.yaml").spec,
            "stream": load_spec(ROOT / "specs" / "stream.yaml").spec}


def when() -> str:
    return (f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}")


def save(path: Path, direct: Measured, streams: list[Measured], board: dict[str, Measured], quick: bool) -> None:
    data = {"quick": quick, "measured": when(), "direct": asdict(direct),
            "streams": [asdict(s) for s in streams], "board": {k: asdict(m) for k, m in board.items()}}
    path.write_text(json.dumps(data, indent=1))


def load(path: Path) -> tuple[Measured, list[Measured], dict[str, Measured], bool, str]:
    def measured(d: dict[str, Any]) -> Measured:
        u = dict(d["usage"])
        u["functions"] = {k: FunctionUse(**f) for k, f in u["functions"].items()}
        return Measured(**{**d, "usage": Usage(**u), "samples": {k: Sample(**x) for k, x in d["samples"].items()}})

    data = json.loads(path.read_text())
    return (measured(data["direct"]), [measured(s) for s in data["streams"]],
            {k: measured(m) for k, m in data["board"].items()}, bool(data["quick"]), str(data["measured"]))
