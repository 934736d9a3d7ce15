"""SIGTERM and SIGINT sent to a real ``apply`` process, against a moto server behind a latency proxy.

The proxy holds Lambda's CreateFunction requests until the test lets them go, so a signal arrives
while a change is in flight. First signal: the call in flight finishes, nothing new starts, the lock
is released, the exit is 128 + the signal with a line that says what was done. Second signal: the
change in flight is abandoned, the exit is immediate, the lock is still released. Waits bound only a
hang (each returns as soon as what it waits for happens).
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import pytest

from liveinsight_infra.lock import TABLE
from tests.conftest import ROOT, free_port

HANG_S = 120.0  # bounds a hang only
KEYS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def wait_for(predicate: object, what: str, timeout: float = HANG_S) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting after {timeout:.0f}s for {what}")
        time.sleep(0.05)


@dataclass
class Gate:
    """Which requests the proxy holds, and the switch that lets them through."""

    held: threading.Event = field(default_factory=threading.Event)
    opened: threading.Event = field(default_factory=threading.Event)
    count: int = 0


def proxy(upstream_port: int, gate: Gate) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_: object) -> None:
            pass

        def _forward(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.command == "POST" and self.path.rstrip("/").endswith("/2015-03-31/functions"):
                gate.count += 1
                gate.held.set()
                gate.opened.wait(HANG_S)  # Lambda's CreateFunction: held until the test opens the gate
            conn = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=HANG_S)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "keep-alive")}
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            self.send_response(resp.status)
            for k, v in resp.getheaders():
                if k.lower() not in ("transfer-encoding", "connection", "content-length", "date", "server"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            conn.close()

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _forward

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def moto_process() -> Iterator[int]:
    """``python -m liveinsight_infra_moto.server`` in its own process (the fidelity-patched moto)."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "liveinsight_infra_moto.server", "-H", "127.0.0.1",
                             "-p", str(port)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def up() -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0

    try:
        wait_for(up, "the moto server to listen")
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@dataclass
class Run:
    proc: subprocess.Popen[str]
    gate: Gate
    endpoint: str

    def finish(self) -> tuple[int, str, str]:
        out, err = self.proc.communicate(timeout=HANG_S)
        return self.proc.returncode, out, err

    def lock_item(self) -> dict[str, object] | None:
        ddb = boto3.client("dynamodb", endpoint_url=self.endpoint, region_name="us-east-1")
        return ddb.get_item(TableName=TABLE, Key={"stack": {"S": "liveinsight-dev"}}).get("Item")


@pytest.fixture
def apply_run(moto_process: int, tmp_path: Path) -> Iterator[Run]:
    gate = Gate()
    server = proxy(moto_process, gate)
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("AWS_")}, **KEYS,
           "AWS_ENDPOINT_URL": endpoint, "HOME": str(tmp_path), "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "liveinsight_infra", "apply", "specs/dev.yaml", "--no-wait"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    run = Run(proc, gate, f"http://127.0.0.1:{moto_process}")
    try:
        yield run
    finally:
        gate.opened.set()
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=30)
        server.shutdown()


def test_sigterm_finishes_the_call_in_flight_releases_the_lock_and_says_what_was_done(apply_run: Run) -> None:
    wait_for(apply_run.gate.held.is_set, "a CreateFunction in flight")
    assert apply_run.lock_item() is not None  # apply holds the lock while it writes
    apply_run.proc.send_signal(signal.SIGTERM)
    time.sleep(1.0)  # the signal is in; the held call now finishes
    apply_run.gate.opened.set()
    code, out, err = apply_run.finish()
    assert code == 128 + signal.SIGTERM, (out, err)
    (line,) = [line for line in err.splitlines() if line.startswith("error:")]
    assert "interrupted by SIGTERM" in line and "changes completed" in line and "not started" in line, line
    assert "The stack lock was released" in line and "abandoned" not in line, line
    # The functions whose create was in flight were finished, not cut off.
    assert "lambda.function.liveinsight-" in line, line
    assert apply_run.lock_item() is None
    # Nothing new started after the signal: at most the held creates reached Lambda.
    lam = boto3.client("lambda", endpoint_url=apply_run.endpoint, region_name="us-east-1")
    assert len(lam.list_functions()["Functions"]) == apply_run.gate.count


def test_a_second_sigint_abandons_the_call_in_flight_and_still_releases_the_lock(apply_run: Run) -> None:
    wait_for(apply_run.gate.held.is_set, "a CreateFunction in flight")
    apply_run.proc.send_signal(signal.SIGINT)
    time.sleep(0.5)
    assert apply_run.proc.poll() is None  # the first signal waits for the call in flight
    apply_run.proc.send_signal(signal.SIGINT)
    code, out, err = apply_run.finish()  # returns with the CreateFunction still held by the proxy
    assert not apply_run.gate.opened.is_set()
    assert code == 128 + signal.SIGINT, (out, err)
    (line,) = [line for line in err.splitlines() if line.startswith("error:")]
    assert "interrupted by SIGINT" in line and "abandoned in flight" in line, line
    assert "lambda.function.liveinsight-" in line.split("abandoned in flight", 1)[1], line
    assert "The stack lock was released" in line, line
    assert apply_run.lock_item() is None
