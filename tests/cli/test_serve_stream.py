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


def request(port: int, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Content-Type": "application/json", "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"}
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, json.loads(data) if data else None


def test_serve_runs_the_stream_path_and_the_figures_follow_within_the_window() -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    proc = subprocess.Popen([sys.executable, "-m", "liveinsight_infra", "serve", "specs/stream.yaml", "--port",
                             str(port)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lags = []
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                request(port, "OPTIONS", "/api/events")
                break
            except ConnectionRefusedError:
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < deadline, "serve did not start in 90 s"
                time.sleep(0.2)
        for n in range(1, 4):
            status, answer = request(port, "POST", "/api/events",
                                     {"name": "pageview", "url": f"https://s.example/p{n}", "domain": "s.example"})
            assert status == 202 and answer["accepted"] == 1, answer
            posted = time.monotonic()
            while True:
                status, rt = request(port, "GET", "/api/realtime?site=s.example")
                assert status == 200, rt
                if sum(m["pageviews"] for m in rt["pageviews_per_minute"]) == n:
                    lags.append(time.monotonic() - posted)
                    break
                assert time.monotonic() - posted < 15, f"page view {n} never reached the realtime figures"
                time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "aggregator failed" not in err and "failure queue" not in err, err
    # The batching window plus a second.
    assert max(lags) <= WINDOW_S + 1, lags
    print(f"realtime lag after a post: {', '.join(f'{x:.2f}' for x in lags)} s")
