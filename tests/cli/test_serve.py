"""`serve` as a user runs it: a subprocess that applies to an embedded moto and serves on 127.0.0.1."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time

from tests.conftest import ROOT, free_port


def test_serve_answers_a_preflight_and_stops_cleanly_on_ctrl_c() -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    proc = subprocess.Popen([sys.executable, "-m", "liveinsight_infra", "serve", "specs/dev.yaml", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # Generous bounds, only against a hang: serve applies the whole stack before it answers (30 s
        # with the 2 cores busy), and it listens a moment before it answers.
        deadline = time.monotonic() + 180
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                conn.request("OPTIONS", "/api/events", headers={"Origin": "https://example.com",
                                                                "Access-Control-Request-Method": "POST"})
                resp = conn.getresponse()
                break
            except ConnectionRefusedError:
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < deadline, "serve did not start in 180 s"
                time.sleep(0.2)
        assert resp.status == 200
        assert resp.getheader("Access-Control-Allow-Origin") == "*"
        assert resp.getheader("Access-Control-Max-Age") == "86400"
        conn.close()
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)  # generous: a loaded 2-core machine is slow to unwind
    assert proc.returncode == 0, err
    assert f"LiveInsight is serving at http://127.0.0.1:{port}/" in out
    assert "Stopped." in out


def test_serve_of_a_spec_that_requires_a_key_prints_the_local_key_and_it_opens_realtime() -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    proc = subprocess.Popen([sys.executable, "-m", "liveinsight_infra", "serve", "specs/prod.yaml",
                             "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 180  # only against a hang (see above)
        while not lines or not lines[-1].startswith("Press Ctrl-C"):
            line = proc.stdout.readline()
            assert line, (lines, proc.poll())
            assert time.monotonic() < deadline, "serve did not start in 180 s"
            lines.append(line.strip())
        keys = [line.split()[2] for line in lines if line.startswith("API key")]
        assert len(keys) == 1, lines

        def realtime(headers: dict[str, str]) -> int:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            conn.request("GET", "/api/realtime?site=example.com", headers=headers)
            status = conn.getresponse().status
            conn.close()
            return status

        assert realtime({}) == 403
        assert realtime({"X-API-Key": keys[0]}) == 200
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=120)
