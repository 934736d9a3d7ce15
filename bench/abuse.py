"""The public endpoint under attack, in-process on moto: for each attack shape, the write units each
request costs (against ordinary requests of the same number of events), then the latency and the
size of that site's ``/api/stats`` for the day (docs/security.md, "Threat model").

    python bench/abuse.py                   # a flood of 1,000,000 distinct values through the stream path
    python bench/abuse.py --flood 100000    # a smaller flood
    python bench/abuse.py --quick           # 10,000 distinct values (what CI runs so the script never rots)

Targets: undeclared sites cost 0 writes; the worst request costs at most 2x the write units of the
same number of ordinary events; after every flood the stats answer in under 1 s with under 100 KB.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import boto3  # noqa: E402

from handlers import ORIGIN_DIGEST, ORIGIN_SECRET, PAGES, Meter  # noqa: E402  (sets the handlers' environment)
from liveinsight_infra.aws.provider import AwsProvider  # noqa: E402
from liveinsight_infra.engine import Context, Engine  # noqa: E402
from liveinsight_infra.reconcilers.dynamodb import TableReconciler  # noqa: E402
from liveinsight_infra.spec import load_spec  # noqa: E402

SITES = ["ordinary.example", "unique.example", "props.example", "dupes.example", "flood.example", "first.example",
         "full.example", "money.example",
         *(f"v{i}.example" for i in range(100))]
VALUES_PER_EVENT = 25  # a unique page, referrer, source, medium, campaign; a goal, 10 props keys and values
TARGET_MS, TARGET_BYTES = 1000, 100 * 1024
# A browser and an OS new to the site in each (ua-parser knows their names: a made-up one is "Unknown")
AGENTS = ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
          "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
          "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/17.5 Mobile/15E148 Safari/604.1",
          "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile "
          "Safari/537.36 OPR/82.0",
          "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 "
          "Safari/537.36 Edg/126.0",
          "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 "
          "Safari/537.36 YaBrowser/24.1"]


class Bench:
    def __init__(self, collector: Any, stats_api: Any, meter: Meter) -> None:
        self.collector, self.stats_api, self.meter = collector, stats_api, meter
        self.rows: list[dict[str, Any]] = []
        self.visitor = 0
        self.forget = False  # post as a container that has stored nothing yet
        self.read = 0

    def post(self, body: list[dict[str, Any]], visitor: int | None = None, agent: str | None = None
             ) -> tuple[int, int]:
        """Status and write units of one request."""
        self.visitor += 1
        v = self.visitor if visitor is None else visitor
        headers = {"Content-Type": "application/json",
                   "User-Agent": f"{agent} v{v}" if agent else f"Mozilla/5.0 (X11; Linux x86_64) v{v}",
                   "X-Origin-Verify": ORIGIN_SECRET}
        if self.forget:
            from shared import store

            store._known.clear()
        before = self.meter.units
        result = self.collector.handler({"httpMethod": "POST", "path": "/api/events", "body": json.dumps(body),
                                         "headers": headers,
                                         "requestContext": {"identity": {"sourceIp": f"198.51.{v // 250 % 250}."
                                                                                     f"{v % 250}"}},
                                         "stageVariables": {"liveinsightOriginVerify": ORIGIN_DIGEST}}, None)
        return int(result["statusCode"]), self.meter.units - before

    def stats(self, site: str) -> tuple[float, int]:
        """The median time of 3 answers (the machine's load varies), and the answer's size; the items
        the table returned to the answer's queries in ``self.read``."""
        times = []
        for _ in range(3):
            self.read = 0
            t0 = time.perf_counter()
            answer = self.stats_api.handler({"queryStringParameters": {"site": site, "period": "day"}}, None)
            times.append((time.perf_counter() - t0) * 1000)
            assert answer["statusCode"] == 200, answer
        return sorted(times)[1], len(answer["body"].encode())

    def count_read(self, parsed: dict[str, Any], **_: Any) -> None:
        self.read += len(parsed.get("Items", []))

    def shape(self, name: str, site: str | None, requests: list[list[dict[str, Any]]], ordinary: float,
              visitor: Callable[[int], int | None] = lambda i: None,
              agent: Callable[[int], str | None] = lambda i: None) -> None:
        costs, statuses = [], set()
        for i, body in enumerate(requests):
            status, units = self.post(body, visitor(i), agent(i))
            costs.append(units)
            statuses.add(status)
        ms, size = self.stats(site) if site else (0.0, 0)
        self.rows.append({"shape": name, "requests": len(requests), "events": len(requests[0]),
                          "status": "/".join(str(s) for s in sorted(statuses)), "max": max(costs),
                          "mean": sum(costs) / len(costs), "ordinary": ordinary, "ms": ms, "bytes": size,
                          "items": self.read if site else 0})


def now_ms() -> int:
    return int(time.time() * 1000)


_last_ts = [0]


def stamp() -> int:
    """A time never given before, later than every one before: ordinary events are never identical
    to one another (identical events count once, and a container skips those it stored), and a
    visitor's page views come in time order, as a browser sends them."""
    _last_ts[0] = max(now_ms() - 60_000, _last_ts[0] + 1)
    return _last_ts[0]


def ordinary(site: str, n: int, start: int = 0) -> list[dict[str, Any]]:
    return [{"name": "pageview", "url": f"https://{site}{PAGES[(start + i) % len(PAGES)]}", "domain": site,
             "ts": stamp()} for i in range(n)]


def unique(site: str, n: int, tag: str) -> list[dict[str, Any]]:
    """Events with values never sent before in every dimension: page views, and goals with 10 props."""
    t = now_ms()
    out: list[dict[str, Any]] = []
    for i in range(n):
        u = f"{tag}-{i}"
        if i % 2 == 0:
            out.append({"name": "pageview", "domain": site, "ts": t - i, "referrer": f"https://r{u}.example/",
                        "url": f"https://{site}/p/{u}?utm_source=s{u}&utm_medium=m{u}&utm_campaign=c{u}"})
        else:
            out.append({"name": f"goal {u}", "url": f"https://{site}/", "domain": site, "ts": t - i,
                        "props": {f"k{j} {u}": f"v{j} {u}" for j in range(10)}})
    return out


def max_props(site: str) -> list[dict[str, Any]]:
    return [{"name": "big", "url": f"https://{site}/", "domain": site, "ts": now_ms(),
             "props": {f"k{j}": "v" * 1900 for j in range(30)}}]


def nearly_full(site: str) -> None:
    """Leave one place in each of the site's sets of admitted values for today and its month (and room for
    one goal with 10 new props), as a flood that stopped just short of the caps would: each update of a
    set is then billed for its largest item."""
    from shared import caps, store

    t, c, day = store.table(), caps.limits(), time.strftime("%Y-%m-%d", time.gmtime())
    fill = {"page": c["pages"], "ref": c["sources"], "source": c["sources"], "utm_medium": c["utm"],
            "utm_campaign": c["utm"], "browser": caps.CLIENT_CAP, "os": caps.CLIENT_CAP}
    for pk in (f"C#caps#{site}#{day}", f"C#caps#{site}#{day[:7]}"):
        for dim, cap in fill.items():
            caps._admit(t, (pk, dim), cap, {f"fill {dim} {i}" for i in range(cap - 1)})
    month = f"C#caps#{site}#{day[:7]}"
    caps._admit(t, (month, "goal"), c["goals"], {f"fill goal {i}" for i in range(c["goals"] - 1)})
    room = c["prop_keys"] * c["prop_values"]
    caps._admit(t, (month, "gp"), room, {f"fill gp {i}" for i in range(room - 10)})
    keys = c["prop_keys"] - 10  # of the day: 10 places left for one goal's 10 new props keys
    caps._admit_goals(t, f"C#caps#{site}#{day}", {f"fill goal {g}": {
        f"k{k}": {f"v{v}" for v in range(c["prop_values"] - 1)} for k in range(g * 10, min(keys, g * 10 + 10))}
        for g in range(c["goals"] - 1)})


def flood(bench: Bench, values: int) -> dict[str, Any]:
    """``values`` distinct values through the local stream path: one event per request (what a request
    may cost lets through), then the aggregator drains the stream; write units per event."""
    import aggregator

    from liveinsight_infra.local.stream import MappingSettings, StreamPoller
    from shared import stream

    provider = AwsProvider("us-east-1", session=boto3.Session())
    provider.client("kinesis").create_stream(StreamName="abuse", ShardCount=4)
    os.environ.update(LIVEINSIGHT_INGEST="stream", LIVEINSIGHT_STREAM="abuse")
    stream.reset_for_tests()
    aggregator.reset_for_tests()
    events = -(-values // VALUES_PER_EVENT) * 2  # a page view (5 values) and a goal (21) per pair
    t0 = time.perf_counter()
    refused = 0
    try:
        for i in range(0, events):
            status, _ = bench.post(unique("flood.example", 2, f"f{i}")[i % 2:i % 2 + 1])
            refused += status != 202
    finally:
        os.environ.pop("LIVEINSIGHT_INGEST")
    posted_s = time.perf_counter() - t0
    bench.meter.reset()
    settings = MappingSettings(f"arn:aws:kinesis:us-east-1:{provider.account_id()}:stream/abuse", 1000, 1, 10,
                               True, None)
    StreamPoller(provider, settings, lambda e: aggregator.handler(e, None)).drain(max_rounds=1_000_000)
    ms, size = bench.stats("flood.example")
    return {"values": values, "events": events, "refused": refused, "units_per_event": bench.meter.units / events,
            "posted_s": posted_s, "ms": ms, "bytes": size, "items": bench.read}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--flood", type=int, default=1_000_000, help="distinct values of the stream flood")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "BENCHMARKS.md")
    args = ap.parse_args()
    values = 10_000 if args.quick else args.flood
    rounds = 20 if args.quick else 200
    from moto import mock_aws

    from liveinsight_infra_moto.fidelity import apply_fidelity_patches

    apply_fidelity_patches()
    os.environ["LIVEINSIGHT_SITES"] = json.dumps({s: s for s in SITES})
    with mock_aws(), open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
        engine = Engine(Context(load_spec(ROOT / "specs" / "dev.yaml"),
                                AwsProvider("us-east-1", session=boto3.Session())), kinds=[TableReconciler])
        engine.apply(engine.plan())
        import event_collector
        import stats_api

        from shared import store

        meter = Meter()
        hooks = store.table().meta.client.meta.events
        hooks.register("before-call.dynamodb.*", meter.call)
        hooks.register("before-parameter-build.dynamodb.*", meter.params)

        from boto3.dynamodb.types import TypeDeserializer
        from item_size import item_size

        def sized_update(parsed: dict[str, Any], **_: Any) -> None:
            """An update is billed by the item's size (the larger of before and after, per started KB):
            the caps' sets of admitted values return the item they grew (its size as DynamoDB bills it)."""
            if parsed.get("Attributes"):
                size = item_size({k: TypeDeserializer().deserialize(v) for k, v in parsed["Attributes"].items()})
                meter.units += max(1, -(-size // 1024)) - 1

        hooks.register("after-call.dynamodb.UpdateItem", sized_update)
        b = Bench(event_collector, stats_api, meter)
        hooks.register("after-call.dynamodb.Query", b.count_read)
        # The baseline: a known visitor's ordinary page views (its salt and session exist).
        b.post(ordinary("ordinary.example", 5), visitor=0)
        one = sum(b.post(ordinary("ordinary.example", 1, i), visitor=0)[1] for i in range(1, 11)) / 10
        hundred = sum(b.post(ordinary("ordinary.example", 100, 100 * i), visitor=0)[1] for i in range(1, 4)) / 3
        b.shape("ordinary page views, 1 per request", "ordinary.example",
                [ordinary("ordinary.example", 1, 1000 + i) for i in range(10)], one, lambda i: 0)
        b.shape("ordinary page views, 100 per request", "ordinary.example",
                [ordinary("ordinary.example", 100, 2000 + 100 * i) for i in range(3)], hundred, lambda i: 0)
        b.shape("invented domains: 100 per request", None,
                [[{"name": "pageview", "url": f"https://x{r}-{i}.example/", "domain": f"x{r}-{i}.example"}
                  for i in range(100)] for r in range(10)], hundred)
        b.shape("new values in every dimension, 1 event per request", "unique.example",
                [unique("unique.example", 2, f"u{r}")[r % 2:r % 2 + 1] for r in range(rounds)], one)
        b.shape("a site's first requests of the day: new values in every dimension, a new browser and OS",
                "first.example", [unique("first.example", 2, f"n{r}")[r % 2:r % 2 + 1] for r in range(6)], one,
                agent=lambda i: AGENTS[i % len(AGENTS)])
        nearly_full("full.example")
        b.shape("new values in every dimension, a new browser and OS, sets nearly full", "full.example",
                [unique("full.example", 2, f"x{r}")[r % 2:r % 2 + 1] for r in range(2)], one,
                agent=lambda i: AGENTS[i % len(AGENTS)])
        b.shape("new values in every dimension, 100 per request", "unique.example",
                [unique("unique.example", 100, f"b{r}") for r in range(3)], hundred)
        b.shape("maximum-size props (30 x 1,900 characters)", "props.example",
                [max_props("props.example") for _ in range(3)], one)
        b.shape("revenue in a new currency each event, 100 per request", "money.example",
                [[{"name": "Purchase", "url": "https://money.example/", "domain": "money.example", "ts": now_ms(),
                   "revenue": {"amount": "9.99", "currency": f"{chr(65 + r)}{chr(65 + i // 26)}{chr(65 + i % 26)}"}}
                  for i in range(100)] for r in range(3)], hundred)
        dup = ordinary("dupes.example", 100, 5000)
        b.shape("the same 100 events again", "dupes.example", [dup] * 10, hundred, lambda i: 7)
        b.forget = True  # each copy to a container that did not store it
        b.shape("the same 100 events again, to another container", "dupes.example", [dup] * 10, hundred,
                lambda i: 7)
        b.forget = False
        b.shape("100 visitors in one request (100 sites)", "v0.example",
                [[{"name": "pageview", "url": f"https://v{i}.example/", "domain": f"v{i}.example",
                   "ts": now_ms()} for i in range(100)] for _ in range(3)], hundred)
        flooded = flood(b, values)
    lines = ["## Abuse: `python bench/abuse.py`", "",
             f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, {os.cpu_count()} cores, "
             f"Python {platform.python_version()}, moto in-process, 4 counter shards, the default caps "
             "(docs/analytics.md, \"Caps\"). Write units as bench/handlers.py counts them (2 per item of a "
             "transaction), an update of a set of admitted values by its item's size; the ordinary column: the "
             "same number of ordinary page views of a known visitor. "
             "Stats: `/api/stats?period=day` for the shape's site afterwards (the median of 3 answers; the items "
             "the table returned to its queries).", "",
             "| attack shape | requests | events per request | status | write units per request, worst "
             "| mean | ordinary | worst / ordinary | stats items read | stats ms | stats bytes |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in b.rows:
        ratio = r["max"] / r["ordinary"] if r["ordinary"] else 0
        stats = (f"{r['items']:,} | {r['ms']:.0f} | {r['bytes']:,}" if r["bytes"] else "- | - | -")
        lines.append(f"| {r['shape']} | {r['requests']} | {r['events']} | {r['status']} | {r['max']} | "
                     f"{r['mean']:.1f} | {r['ordinary']:.1f} | {ratio:.2f} | {stats} |")
    f = flooded
    lines += ["", f"Flood through the local stream path: {f['values']:,} distinct values in {f['events']:,} events "
              f"(one per request; {f['refused']} refused), {f['units_per_event']:.2f} write units per event in the "
              f"aggregator; then stats in {f['ms']:.0f} ms, {f['bytes']:,} bytes, {f['items']:,} items read."]
    worst = max((r["max"] / r["ordinary"] for r in b.rows if r["ordinary"]), default=0)
    undeclared = [r["max"] for r in b.rows if r["shape"].startswith("invented")]
    slow = [r for r in b.rows if r["ms"] >= TARGET_MS or r["bytes"] >= TARGET_BYTES]
    lines += ["", f"Targets: undeclared sites {undeclared[0]} writes (0); worst request {worst:.2f}x ordinary "
              f"(at most 2x); stats after every flood under 1 s and 100 KB: "
              f"{'met' if not slow and f['ms'] < TARGET_MS and f['bytes'] < TARGET_BYTES else 'NOT met'}."]
    body = "\n".join(lines)
    print(body)
    from provision import write_section

    write_section(args.out, "abuse", body)


if __name__ == "__main__":
    main()
