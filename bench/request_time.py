"""The handlers' time per request, in-process on moto, with each DynamoDB call held back by a fixed
time (a round trip to DynamoDB takes several milliseconds; moto answers in about one).

``python bench/handlers.py --latency MS [--before REV]`` runs ``measure`` in a fresh interpreter for
each of: the handlers of REV and of this tree, locally and held back MS ms, and writes the table
(``compare``). Run alone, this script prints one run's figures as JSON:

    python bench/request_time.py --handlers handlers --hold-ms 10
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EVENTS_PER_S = 1_000
STREAM_SHARDS = 4
WINDOW_S = 1
AGGREGATED = 1_000  # page views through the stream path, each of its own visitor (the worst case for reads)
REQUESTS = {  # name: what the table says
    "collector": "event-collector, one page view (as the tracker sends it)",
    "aggregator": f"aggregator, one batch of {EVENTS_PER_S * WINDOW_S // STREAM_SHARDS} page views of as many visitors "
                  f"({EVENTS_PER_S:,} events/s, {WINDOW_S} s window, {STREAM_SHARDS} shards)",
    "stats_day": "stats-api, period=day",
    "stats_30d": "stats-api, period=30d",
    "stats_compare": "stats-api, period=30d&compare=previous_period",
    "stats_day_compare": "stats-api, period=day&compare=previous_period",
    "realtime": "realtime-api",
}


class Hold:
    """Holds back each DynamoDB call by ``ms`` while on, and counts the calls."""

    def __init__(self, ms: float) -> None:
        self.ms, self.on, self.calls = ms, False, 0

    def __call__(self, **_: Any) -> None:
        self.calls += 1
        if self.on and self.ms:
            time.sleep(self.ms / 1000)


def _timed(hold: Hold, fn: Callable[[], Any], runs: int) -> dict[str, float]:
    samples, calls = [], []
    for _ in range(runs):
        hold.calls, hold.on = 0, True
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
        hold.on = False
        calls.append(hold.calls)
    return {"ms": statistics.median(samples), "calls": statistics.median(calls)}


def measure(handlers: Path, hold_ms: float, runs: int) -> dict[str, dict[str, float]]:
    """Each request's median time and DynamoDB calls, with the handlers of ``handlers``."""
    sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
    # bench/handlers.py's request builders (it sets the environment, and puts this tree's handlers on
    # the path: taken off again, so that the handlers measured are those of ``handlers``)
    found = importlib.util.spec_from_file_location("bench_handlers", ROOT / "bench" / "handlers.py")
    if found is None or found.loader is None:
        raise RuntimeError("bench/handlers.py not found")
    bench = importlib.util.module_from_spec(found)
    found.loader.exec_module(bench)
    sys.path[:] = [str(handlers), *(p for p in sys.path if p != str(ROOT / "handlers"))]
    import boto3
    from moto import mock_aws

    from liveinsight_infra.aws.provider import AwsProvider
    from liveinsight_infra.engine import Context, Engine
    from liveinsight_infra.local.stream import MappingSettings, StreamPoller
    from liveinsight_infra.reconcilers.dynamodb import TableReconciler
    from liveinsight_infra.spec import load_spec
    from liveinsight_infra_moto.fidelity import apply_fidelity_patches

    apply_fidelity_patches()
    out: dict[str, dict[str, float]] = {}
    with mock_aws(), open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):  # the handlers' log lines
        provider = AwsProvider("us-east-1", session=boto3.Session())
        engine = Engine(Context(load_spec(ROOT / "specs" / "dev.yaml"), provider), kinds=[TableReconciler])
        engine.apply(engine.plan())
        import aggregator
        import event_collector
        import realtime_api
        import stats_api
        events, mixed_events, post = bench.events, bench.mixed_events, bench.post
        from shared import store, stream

        hold = Hold(hold_ms)
        store.table().meta.client.meta.events.register("before-call.dynamodb.*", hold)
        site = "time.example"
        for i in range(0, 1_000, 10):  # a day's counters to read: the breakdowns' mix, 100 visitors
            post(event_collector, mixed_events(10, i, site), visitor=i // 10, mixed=True)
        visitor = iter(range(10_000, 10**9))

        def track() -> None:
            post(event_collector, [{"name": "pageview", "url": f"https://{site}/", "domain": site}], next(visitor))

        out["collector"] = _timed(hold, track, runs)

        def get(fn: Callable[..., Any], **params: str) -> Callable[[], Any]:
            def call() -> None:
                answer = fn({"queryStringParameters": {"site": site, **params}}, None)
                if answer["statusCode"] != 200:
                    raise RuntimeError(answer["body"])
            return call

        out["stats_day"] = _timed(hold, get(stats_api.handler, period="day"), runs)
        out["stats_30d"] = _timed(hold, get(stats_api.handler, period="30d"), runs)
        out["stats_day_compare"] = _timed(hold, get(stats_api.handler, period="day", compare="previous_period"), runs)
        out["stats_compare"] = _timed(hold, get(stats_api.handler, period="30d", compare="previous_period"), runs)
        out["realtime"] = _timed(hold, get(realtime_api.handler), runs)

        name = "request-time"
        provider.client("kinesis").create_stream(StreamName=name, ShardCount=STREAM_SHARDS)
        os.environ.update(LIVEINSIGHT_INGEST="stream", LIVEINSIGHT_STREAM=name)
        stream.reset_for_tests()
        aggregator.reset_for_tests()
        for i in range(AGGREGATED):
            post(event_collector, events(1, i, f"stream.{site}", EVENTS_PER_S, AGGREGATED), visitor=20_000 + i,
                 mixed=True)
        os.environ.pop("LIVEINSIGHT_INGEST")
        batches: list[dict[str, float]] = []

        def invoke(event: dict[str, Any]) -> Any:
            answer: dict[str, Any] = {}
            batches.append(_timed(hold, lambda: answer.update(aggregator.handler(event, None)), 1))
            return answer

        settings = MappingSettings(f"arn:aws:kinesis:us-east-1:{provider.account_id()}:stream/{name}",
                                   EVENTS_PER_S * WINDOW_S // STREAM_SHARDS, WINDOW_S, 10, True, None)
        StreamPoller(provider, settings, invoke).drain(max_rounds=10_000)
        full = [b for b in batches if b["calls"] > 0]
        out["aggregator"] = {"ms": statistics.median(b["ms"] for b in full),
                             "calls": statistics.median(b["calls"] for b in full)}
    return out


def _run(handlers: Path, hold_ms: float, runs: int) -> dict[str, dict[str, float]]:
    done = subprocess.run([sys.executable, __file__, "--handlers", str(handlers), "--hold-ms", str(hold_ms),
                           "--runs", str(runs)], capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def compare(before: str, hold_ms: float, runs: int) -> str:
    """The table: each request's time before (the handlers of git revision ``before``) and after (this
    tree's), locally and with each DynamoDB call held back ``hold_ms``."""
    load = os.getloadavg()
    started = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "before.tar"
        with archive.open("wb") as f:
            subprocess.run(["git", "-C", str(ROOT), "archive", before, "handlers"], stdout=f, check=True)
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
        runs_of = {(code, ms): _run(path, ms, runs)
                   for code, path in (("before", Path(tmp) / "handlers"), ("after", ROOT / "handlers"))
                   for ms in (0.0, hold_ms)}
    rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", before], capture_output=True, text=True,
                         check=True).stdout.strip()
    end_load = os.getloadavg()
    lines = [f"## Handlers: time per request, `python bench/handlers.py --latency {hold_ms:g} --before {before}`", "",
             f"Measured {started:%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores shared with other work (load average "
             f"{load[0]:.1f} at the start, {end_load[0]:.1f} at the end: one run's figures, CPU-bound rows vary "
             f"by tens of percent between runs). In-process on moto (a DynamoDB call costs about 1 ms of CPU "
             f"here); \"held back\": each DynamoDB call waits {hold_ms:g} ms more, as a round trip to DynamoDB "
             f"does. Before: the handlers of `{rev}`; after: this tree's. Median of {runs} requests "
             f"(the aggregator: of its batches). 4 counter shards; the stats read a day of the breakdowns' mix.",
             "", f"| request | DynamoDB calls, before / after | local ms, before / after | held back "
             f"{hold_ms:g} ms, before / after |", "|---|---|---|---|"]
    for key, label in REQUESTS.items():
        b0, b1 = runs_of[("before", 0.0)][key], runs_of[("before", hold_ms)][key]
        a0, a1 = runs_of[("after", 0.0)][key], runs_of[("after", hold_ms)][key]
        lines.append(f"| {label} | {b0['calls']:g} / {a0['calls']:g} | {b0['ms']:.0f} / {a0['ms']:.0f} "
                     f"| {b1['ms']:.0f} / {a1['ms']:.0f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--handlers", type=Path, default=ROOT / "handlers")
    ap.add_argument("--hold-ms", type=float, default=0.0)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    print(json.dumps(measure(args.handlers.resolve(), args.hold_ms, args.runs)))


if __name__ == "__main__":
    main()
