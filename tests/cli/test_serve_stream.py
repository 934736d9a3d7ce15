"""`serve` on the stream path: events posted to the local API reach the dashboard's figures through
the embedded Kinesis stream and the local event source mapping, within the batching window plus
a second."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

from tests.conftest import ROOT, free_port

WINDOW_S = 1  # specs/stream.yaml: ingest.batching_window_s
# The product's target: the figures follow a post within the batching window plus a second.
LAG_BOUND_S = WINDOW_S + 1
# A page view's lag is the window (wall-clock time, counted by the poller from the record's arrival)
# plus work: reading the stream, running the aggregator, writing the counters. It is observed through
# realtime queries, which on a loaded machine take up to 3 s each (2 cores with 8 busy processes),
# so a query's answer can come back well after the figures changed. What is measured is therefore the
# last moment the figures were seen without the page view: the sending of the last query that did not
# count it. That is a lower bound of the lag, within one query interval (below 0.1 s idle) of it.
# The work after the window is CPU time too, which a loaded machine can stretch past the second:
# a page view seen late is measured again with a new one, up to this many times. A poller that waits
# too long (a window counted from the wrong moment, a wake-up that misses the window's close) is seen
# late every time and still fails.
TRIES = 3


def request(port: int, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)  # only against a hang
    headers = {"Content-Type": "application/json", "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"}
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, json.loads(data) if data else None


def post_and_wait(port: int, url: str, total: int) -> tuple[float, float]:
    """Post a page view of ``url``; the seconds after the post at which the last realtime query that
    did not yet count it (the ``total``-th page view) was sent, and at which the first that did answered."""
    status, answer = request(port, "POST", "/api/events", {"name": "pageview", "url": url, "domain": "s.example"})
    assert status == 202 and answer["accepted"] == 1, answer
    posted = time.monotonic()
    missing_at = 0.0
    while True:
        sent = time.monotonic() - posted
        status, rt = request(port, "GET", "/api/realtime?site=s.example")
        assert status == 200, rt
        if sum(m["pageviews"] for m in rt["pageviews_per_minute"]) == total:
            return missing_at, time.monotonic() - posted
        missing_at = sent
        assert time.monotonic() - posted < 60, f"page view {total} never reached the realtime figures"
        time.sleep(0.05)


def test_serve_runs_the_stream_path_and_the_figures_follow_within_the_window() -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    proc = subprocess.Popen([sys.executable, "-m", "liveinsight_infra", "serve", "specs/stream.yaml", "--port",
                             str(port)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lags: list[float] = []  # each page view's lag, its last try's
    measured: list[tuple[float, float]] = []  # every try's, the last query without it and the first with it
    try:
        # Only against a hang: serve applies the whole stack first (30 s and more with the 2 cores busy).
        deadline = time.monotonic() + 180
        while True:
            try:
                request(port, "OPTIONS", "/api/events")
                break
            except ConnectionRefusedError:
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < deadline, "serve did not start in 180 s"
                time.sleep(0.2)
        total = 0
        for n in range(1, 4):
            for attempt in range(TRIES):
                total += 1
                measured.append(post_and_wait(port, f"https://s.example/p{n}-{attempt}", total))
                lag = measured[-1][0]
                if lag <= LAG_BOUND_S:
                    break
            lags.append(lag)
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "aggregator failed" not in err and "failure queue" not in err, err
    assert max(lags) <= LAG_BOUND_S, measured
    print(f"realtime lag after a post: {', '.join(f'{a:.2f}-{b:.2f}' for a, b in measured)} s")
