"""The handlers' cost, in-process on moto: ingest throughput, DynamoDB calls and write units per
event, query calls against the number of stored events (must be flat), package size, cold import;
write units per event of the direct and the stream ingest paths at 1, 10, 100 and 1,000 events/s.

    python bench/handlers.py            # stored events at 10^2, 10^4, 10^5
    python bench/handlers.py --quick    # 10^2 and 10^3 (what CI runs so the script never rots)
    python bench/handlers.py --latency 10 --before REV   # time per request, each DynamoDB call held back 10 ms
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "handlers"))
os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1",
                  LIVEINSIGHT_TABLE="liveinsight-events-dev", LIVEINSIGHT_COUNTER_SHARDS="4")
os.environ.pop("AWS_ENDPOINT_URL", None)

import boto3  # noqa: E402
import moto  # noqa: E402, F401

from liveinsight_infra.aws.provider import AwsProvider  # noqa: E402
from liveinsight_infra.build.package import build_function  # noqa: E402
from liveinsight_infra.engine import Context, Engine  # noqa: E402
from liveinsight_infra.reconcilers.dynamodb import TableReconciler  # noqa: E402
from liveinsight_infra.spec import load_spec  # noqa: E402

PAGES = ["/", "/pricing", "/docs", "/blog", "/about"]
# The breakdowns' mix: real User-Agents (device, browser, OS), a country, a tagged campaign on one
# page view in three, a referrer on one in three, and a goal with two props as one event in five.
AGENTS = ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 "
          "Safari/537.36",
          "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/17.5 Mobile/15E148 Safari/604.1",
          "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
          "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile "
          "Safari/537.36"]
COUNTRIES = ["DE", "US", "FR", "GB", "JP"]
ORIGIN_SECRET = "origin-secret-of-the-benchmark"  # what CloudFront adds to each request (docs/security.md)
ORIGIN_DIGEST = hashlib.sha256(ORIGIN_SECRET.encode()).hexdigest()


class Meter:
    """Counts DynamoDB calls and the write units they cost (1 per item under 1 KB)."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.units = 0

    def call(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def params(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        """API parameters (before serialisation): the write units of the items this call writes, one
        per started KB of a put item (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/
        read-write-operations.html); an update of a small counter is one."""
        if model.name == "BatchWriteItem":
            self.units += sum(_units(r.get("PutRequest", {}).get("Item"))
                              for v in params.get("RequestItems", {}).values() for r in v)
        elif model.name == "PutItem":
            self.units += _units(params.get("Item"))
        elif model.name in ("UpdateItem", "DeleteItem"):
            self.units += 1
        elif model.name == "TransactWriteItems":  # 2 units per item: prepare and commit
            self.units += 2 * len(params.get("TransactItems", []))

    def reset(self) -> None:
        self.calls.clear()
        self.units = 0

    @property
    def reads(self) -> int:
        return sum(n for op, n in self.calls.items() if op in ("Query", "GetItem", "BatchGetItem", "Scan"))


def _units(item: Any) -> int:
    """Write units of putting ``item``: one per started KB of its size (DynamoDB bills the larger of
    the item before and after; here items are written whole and the one replaced is of the same size
    class: a session, or a new item)."""
    from item_size import item_size  # bench/ is on the path when this script runs

    size = item_size(item) if item else 0
    return max(1, -(-size // 1024))


def post(collector: Any, events: list[dict[str, Any]], visitor: int, mixed: bool = False) -> None:
    headers = {"Content-Type": "application/json", "User-Agent": f"Mozilla/5.0 v{visitor}"}
    if mixed:  # a real User-Agent per visitor (the address still tells visitors apart) and a country
        headers.update({"User-Agent": AGENTS[visitor % len(AGENTS)],
                        "CloudFront-Viewer-Country": COUNTRIES[visitor % len(COUNTRIES)]})
    address = f"198.51.{visitor // 250 % 250}.{visitor % 250}"  # up to 62,500 visitors with distinct addresses
    # As CloudFront sends it: with the origin secret the stage accepts, so the country counts (docs/security.md).
    headers["X-Origin-Verify"] = ORIGIN_SECRET
    result = collector.handler({"httpMethod": "POST", "path": "/api/events", "body": json.dumps(events),
                                "headers": headers, "requestContext": {"identity": {"sourceIp": address}},
                                "stageVariables": {"liveinsightOriginVerify": ORIGIN_DIGEST}}, None)
    assert result["statusCode"] == 202, result


def events(n: int, start: int, site: str, rate: float | None = None, total: int = 0) -> list[dict[str, Any]]:
    """Page views over 10 minutes, or, with ``rate``, the ``total`` events of that many seconds."""
    now = int(time.time() * 1000)

    def ts(i: int) -> int:
        if rate is None:  # distinct: the same event (visitor, page, ts) again is a retry and is not counted twice
            return now - ((start + i) % 600) * 1000 - ((start + i) // 600) % 1000
        return now - int((total - start - i) / rate * 1000)

    return [{"name": "pageview", "url": f"https://{site}{PAGES[(start + i) % len(PAGES)]}", "domain": site,
             "ts": ts(i)} for i in range(n)]


def mixed_events(n: int, start: int, site: str) -> list[dict[str, Any]]:
    out = events(n, start, site)
    for i, e in enumerate(out, start):
        if i % 5 == 4:
            e.update(name="signup", props={"plan": ["free", "pro"][i % 2], "seats": i % 7})
        elif i % 3 == 0:
            e["url"] += f"?utm_source=newsletter&utm_medium=email&utm_campaign=c{i % 4}"
        elif i % 3 == 1:
            e["referrer"] = ["https://www.google.com/", "https://news.ycombinator.com/item"][i % 2]
    return out


def ingest(collector: Any, meter: Meter, batch: int, total: int, visitors: int, site: str,
           mixed: bool = False) -> dict[str, float]:
    meter.reset()
    t0 = time.perf_counter()
    sent = 0
    while sent < total:
        make = mixed_events if mixed else events
        post(collector, make(batch, sent, site), visitor=(sent // batch) % visitors, mixed=mixed)
        sent += batch
    seconds = time.perf_counter() - t0
    return {"events_per_s": sent / seconds, "calls_per_event": sum(meter.calls.values()) / sent,
            "units_per_event": meter.units / sent}


def tracker(collector: Any, meter: Meter, visitors: int, site: str) -> dict[str, float]:
    """As site/tracker.js sends them: one event per request, no ``ts``; each visitor views 3 pages
    and leaves each with an ``engagement`` event (visits: docs/storage.md)."""
    meter.reset()
    t0 = time.perf_counter()
    sent = 0
    for v in range(visitors):
        for path in PAGES[:3]:
            post(collector, [{"name": "pageview", "url": f"https://{site}{path}", "domain": site}], visitor=v)
            post(collector, [{"n": "engagement", "u": f"https://{site}{path}", "d": site, "e": 12_000, "sd": 60}],
                 visitor=v)
            sent += 2
    seconds = time.perf_counter() - t0
    return {"events_per_s": sent / seconds, "calls_per_event": sum(meter.calls.values()) / sent,
            "units_per_event": meter.units / sent}


WINDOW_S = 1  # specs/stream.yaml: ingest.batching_window_s
STREAM_SHARDS = 4  # an on-demand stream starts with 4 shards
RATES = (1, 10, 100, 1_000)


def ingest_paths(collector: Any, meter: Meter, total: int, visitors: int = 50, rates: tuple[int, ...] = RATES,
                 tag: str = "") -> dict[int, tuple[int, float, float]]:
    """Write units per event of both paths at each rate: the direct path writes each request's
    event at once (its cost does not depend on the rate); the stream path writes per aggregator
    batch, and a batch holds what one shard receives in the batching window. ``visitors`` share
    the ``total`` events evenly (a visitor's state is written once per batch it has events in)."""
    import aggregator

    from liveinsight_infra.local.stream import MappingSettings, StreamPoller
    from shared import stream

    out: dict[int, tuple[int, float, float]] = {}
    provider = AwsProvider("us-east-1", session=boto3.Session())
    kinesis = provider.client("kinesis")
    for rate in rates:
        site = f"direct{tag}{rate}.example"
        meter.reset()
        for i in range(total):  # real User-Agents and a country: the breakdowns' counters are on
            post(collector, events(1, i, site, rate, total), visitor=i % visitors, mixed=True)
        direct = meter.units / total
        name = f"bench{tag}-{rate}"
        kinesis.create_stream(StreamName=name, ShardCount=STREAM_SHARDS)
        os.environ.update(LIVEINSIGHT_INGEST="stream", LIVEINSIGHT_STREAM=name)
        stream.reset_for_tests()
        aggregator.reset_for_tests()
        try:
            for i in range(total):
                post(collector, events(1, i, f"stream{tag}{rate}.example", rate, total), visitor=i % visitors,
                     mixed=True)
        finally:
            os.environ.pop("LIVEINSIGHT_INGEST")
        per_batch = max(1, rate * WINDOW_S // STREAM_SHARDS)
        settings = MappingSettings(f"arn:aws:kinesis:us-east-1:{provider.account_id()}:stream/{name}",
                                   per_batch, WINDOW_S, 10, True, None)
        meter.reset()
        StreamPoller(provider, settings, lambda e: aggregator.handler(e, None)).drain(max_rounds=100_000)
        out[rate] = (per_batch, direct, meter.units / total)
    return out


def cold_import(module: str, package_dir: Path, runs: int = 7) -> float:
    code = ("import sys, time; sys.path.insert(0, sys.argv[1]); t = time.perf_counter(); "
            f"import {module}; print(time.perf_counter() - t)")
    samples = [float(subprocess.run([sys.executable, "-c", code, str(package_dir)], capture_output=True, text=True,
                                    check=True).stdout) for _ in range(runs)]
    return statistics.median(samples) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "BENCHMARKS.md")
    ap.add_argument("--latency", type=float, metavar="MS",
                    help="only the time per request (bench/request_time.py): locally and with each DynamoDB call "
                         "held back MS ms, for the handlers of --before and of this tree")
    ap.add_argument("--before", default="HEAD", metavar="REV", help="with --latency: the git revision to compare with")
    ap.add_argument("--runs", type=int, default=5, help="with --latency: requests per figure (the median)")
    args = ap.parse_args()
    if args.latency is not None:
        sys.path.insert(0, str(ROOT / "bench"))
        from provision import write_section
        from request_time import compare

        body = compare(args.before, args.latency, args.runs)
        print(body)
        write_section(args.out, "handlers-latency", body)
        return
    sizes = [100, 1_000] if args.quick else [100, 10_000, 100_000]
    import contextlib

    from moto import mock_aws

    from liveinsight_infra_moto.fidelity import apply_fidelity_patches

    apply_fidelity_patches()  # includes one table backup per transaction instead of one per action
    with mock_aws(), open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):  # the handlers' log lines
        loaded = load_spec(ROOT / "specs" / "dev.yaml")
        engine = Engine(Context(loaded, AwsProvider("us-east-1", session=boto3.Session())), kinds=[TableReconciler])
        engine.apply(engine.plan())
        import event_collector
        import realtime_api
        import stats_api

        from shared import store

        meter = Meter()
        events_ = store.table().meta.client.meta.events
        events_.register("before-call.dynamodb.*", meter.call)
        events_.register("before-parameter-build.dynamodb.*", meter.params)
        per_batch = {b: ingest(event_collector, meter, b, 300 if args.quick else 2_000, 50, f"ingest{b}.example")
                     for b in (1, 10, 100)}
        mixed = {b: ingest(event_collector, meter, b, 300 if args.quick else 2_000, 50, f"mixed{b}.example", True)
                 for b in (1, 10, 100)}
        tracked = tracker(event_collector, meter, 20 if args.quick else 100, "tracker.example")


        total_events = 400 if args.quick else 4_000
        paths = ingest_paths(event_collector, meter, total_events)
        # Fewer events per visitor in a batch: a visitor's session item is written once per batch it
        # has events in, so this is what decides the stream path's cost at a given rate.
        brief = {each: ingest_paths(event_collector, meter, total_events, visitors=total_events // each,
                                    rates=(1_000,), tag=f"brief{each}")[1_000] for each in (4, 1)}
        queries = {}
        stored = 0
        for size in sizes:
            while stored < size:
                chunk = min(100, size - stored)
                post(event_collector, events(chunk, stored, "query.example"), visitor=(stored // 100) % 50)
                stored += chunk
            meter.reset()
            realtime_api.handler({"queryStringParameters": {"site": "query.example"}}, None)
            rt = meter.reads
            meter.reset()
            stats_api.handler({"queryStringParameters": {"site": "query.example", "period": "30d"}}, None)
            queries[size] = (rt, meter.reads)
    packages = {}
    with tempfile.TemporaryDirectory() as tmp:
        for key, fn in loaded.spec.functions.items():
            pkg = build_function(loaded.code_dir, key, fn)
            folder = Path(tmp) / key
            zipfile.ZipFile(__import__("io").BytesIO(pkg.data)).extractall(folder)
            packages[key] = (pkg.size, cold_import(fn.handler.split(".")[0], folder, runs=3 if args.quick else 7))
    flat = len({q for q in queries.values()}) == 1
    lines = ["## Handlers: `python bench/handlers.py`", "",
             f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, {os.cpu_count()} cores, "
             f"Python {platform.python_version()}, moto in-process (DynamoDB answers in about a millisecond; "
             "AWS takes several), 4 counter shards.", "",
             "| ingest, events per request | events/s (moto) | DynamoDB calls per event | write units per event |",
             "|---|---|---|---|"]
    for b, r in per_batch.items():
        lines.append(f"| {b} | {r['events_per_s']:.0f} | {r['calls_per_event']:.2f} | {r['units_per_event']:.2f} |")
    t = tracked
    lines.append(f"| 1, as the tracker sends them: page views and `engagement` events, no `ts` | "
                 f"{t['events_per_s']:.0f} | {t['calls_per_event']:.2f} | {t['units_per_event']:.2f} |")
    lines += ["", "With the breakdowns' mix (real User-Agents, a country, UTM tags on a third of the page views, "
              "a referrer on a third, a goal with two props as one event in five):", "",
              "| ingest, events per request | events/s (moto) | DynamoDB calls per event | write units per event |",
              "|---|---|---|---|"]
    for b, r in mixed.items():
        lines.append(f"| {b} | {r['events_per_s']:.0f} | {r['calls_per_event']:.2f} | {r['units_per_event']:.2f} |")


    lines += ["", f"Ingest paths, one event per request (a browser tracker), {WINDOW_S} s batching window, "
              f"{STREAM_SHARDS} stream shards, {total_events:,} page views per rate, timestamped as sent at that "
              f"rate, 50 visitors over {len(PAGES)} pages; events per aggregator batch = "
              "rate x window / shards. Cost per million events: write units x $0.625 per million "
              "(DynamoDB on-demand, us-east-1); Kinesis and Lambda in docs/storage.md.", "",
              "| events/s | events per batch | direct: write units per event | stream: write units per event "
              "| stream: DynamoDB writes per million events, $ |", "|---|---|---|---|---|"]
    for rate, (per_batch_n, direct_u, stream_u) in paths.items():
        lines.append(f"| {rate:,} | {per_batch_n} | {direct_u:.2f} | {stream_u:.2f} | {stream_u * 0.625:.2f} |")
    for each, (per_batch_n, direct_u, stream_u) in brief.items():
        lines.append(f"| 1,000, with {total_events // each:,} visitors of {each} page view{'s' if each > 1 else ''} "
                     f"each | {per_batch_n} | {direct_u:.2f} | {stream_u:.2f} | {stream_u * 0.625:.2f} |")
    lines += ["", "| stored events | realtime: DynamoDB calls | stats (30 days): DynamoDB calls |", "|---|---|---|"]
    lines += [f"| {size:,} | {rt} | {st} |" for size, (rt, st) in queries.items()]
    lines += ["", f"Query cost is {'flat' if flat else 'NOT flat'} in the number of stored events.", "",
              "| function | package bytes | cold import of the handler module, ms (median) |", "|---|---|---|"]
    lines += [f"| {k} | {size:,} | {ms:.1f} |" for k, (size, ms) in packages.items()]
    lines += ["", "boto3 is imported on a function's first request, not at import time (lazily, once per container)."]
    body = "\n".join(lines)
    print(body)
    sys.path.insert(0, str(ROOT / "bench"))
    from provision import write_section

    write_section(args.out, "handlers", body)
    if not flat:
        raise SystemExit("query cost grows with stored events")


if __name__ == "__main__":
    main()
