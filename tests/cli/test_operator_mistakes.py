"""Operator mistakes, through a real ``python -m liveinsight_infra`` process: each gets one ``error:`` line
that says what to do, exit 1, no traceback, and quickly (no endless retries against a dead endpoint)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT


def run(*args: str, env: dict[str, str] | None = None, home: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    """The CLI with no AWS configuration at all, except what ``env`` adds."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    base.update(HOME=str(home), NO_COLOR="1", AWS_CONFIG_FILE=str(home / "config"),
                AWS_SHARED_CREDENTIALS_FILE=str(home / "credentials"), AWS_EC2_METADATA_DISABLED="true")
    base.update(env or {})
    t0 = time.monotonic()
    res = subprocess.run([sys.executable, "-m", "liveinsight_infra", *args], cwd=ROOT, env=base,
                         capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    return res, time.monotonic() - t0


KEYS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when the block ends: nothing listens there


def one_line(res: subprocess.CompletedProcess[str]) -> str:
    assert res.returncode == 1, (res.returncode, res.stdout, res.stderr)
    assert "Traceback" not in res.stdout + res.stderr, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("error: "), lines
    return lines[0]


@pytest.mark.parametrize(("name", "args", "env", "words"), [
    ("no credentials", ("plan", "specs/dev.yaml"), {}, ("no AWS credentials", "--profile", "--moto")),
    ("unknown profile", ("plan", "specs/dev.yaml", "--profile", "nosuch"), {},
     ("profile 'nosuch'", "aws configure")),
    ("bad --region", ("plan", "specs/dev.yaml", "--region", "moon"), KEYS, ("region", "--region", "moon")),
    ("unknown --region", ("plan", "specs/dev.yaml", "--region", "xx-moon-1"), KEYS,
     ("region", "xx-moon-1", "us-east-1")),
    ("serve on port 99999", ("serve", "specs/dev.yaml", "--port", "99999"), {}, ("--port 99999", "65535")),
])
def test_operator_mistake_gets_one_line(tmp_path: Path, name: str, args: tuple[str, ...], env: dict[str, str],
                                        words: tuple[str, ...]) -> None:
    res, elapsed = run(*args, env=env, home=tmp_path)
    line = one_line(res)
    for word in words:
        assert word in line, line
    assert elapsed < 15, elapsed


def test_an_endpoint_that_does_not_answer_fails_fast(tmp_path: Path) -> None:
    # What is timed is the time spent on the endpoint: the whole run less the start-up of a run that
    # stops before any call, measured just before. A loaded machine takes seconds to start Python and
    # import botocore (3-4 s measured with the 2 cores busy), which is not what this test is about.
    baseline, started_up = run("plan", "specs/dev.yaml", home=tmp_path)
    assert "no AWS credentials" in one_line(baseline)
    endpoint = f"http://127.0.0.1:{closed_port()}"
    res, elapsed = run("plan", "specs/dev.yaml", env={**KEYS, "AWS_ENDPOINT_URL": endpoint}, home=tmp_path)
    line = one_line(res)
    assert endpoint in line and "AWS_ENDPOINT_URL" in line, line
    assert elapsed - started_up < 10, (elapsed, started_up)


def test_an_unknown_region_in_the_spec(tmp_path: Path) -> None:
    for folder in ("specs", "handlers", "site"):
        subprocess.run(["cp", "-r", str(ROOT / folder), str(tmp_path / folder)], check=True)
    spec = tmp_path / "specs" / "dev.yaml"
    spec.write_text(spec.read_text().replace("region: us-east-1", "region: xx-moon-1"))
    res, _ = run("plan", str(spec), env=KEYS, home=tmp_path)
    line = one_line(res)
    assert f"{spec}:" in line and ": region: " in line and "xx-moon-1" in line, line


def test_a_missing_site_dir_stops_apply_before_any_call(tmp_path: Path) -> None:
    for folder in ("specs", "handlers"):
        subprocess.run(["cp", "-r", str(ROOT / folder), str(tmp_path / folder)], check=True)
    # An endpoint that does not answer: had apply made any call, the message would be about it.
    res, _ = run("apply", str(tmp_path / "specs" / "dev.yaml"),
                 env={**KEYS, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{closed_port()}"}, home=tmp_path)
    line = one_line(res)
    assert ": site_dir: " in line and "does not exist" in line, line


def test_an_endpoint_that_accepts_but_never_answers_fails_fast(tmp_path: Path) -> None:
    import threading

    # Timed from the first connection, not from the start: a loaded machine takes seconds to start
    # Python and import botocore (3-4 s measured with the 2 cores busy), which would eat the margin.
    first_connection: list[float] = []
    held: list[socket.socket] = []

    def accept(server: socket.socket) -> None:
        with contextlib.suppress(OSError):  # the listening socket is closed when the run is over
            while True:
                conn, _ = server.accept()  # accepted, never read from nor answered
                if not first_connection:
                    first_connection.append(time.monotonic())
                held.append(conn)

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        threading.Thread(target=accept, args=(silent,), daemon=True).start()
        endpoint = f"http://127.0.0.1:{silent.getsockname()[1]}"
        res, _ = run("plan", "specs/dev.yaml", env={**KEYS, "AWS_ENDPOINT_URL": endpoint}, home=tmp_path)
        ended = time.monotonic()
        with contextlib.suppress(OSError):
            silent.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
    for conn in held:
        conn.close()
    line = one_line(res)
    assert endpoint in line and "AWS_ENDPOINT_URL" in line, line
    assert first_connection, "the endpoint was never called"
    assert ended - first_connection[0] < 15, ended - first_connection[0]


def test_refused_credentials_get_one_line(tmp_path: Path) -> None:
    import http.server
    import threading

    body = (b'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
            b"<Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid."
            b"</Message></Error><RequestId>1</RequestId></ErrorResponse>")

    class Refuse(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(403)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        endpoint = f"http://127.0.0.1:{server.server_address[1]}"
        res, _ = run("plan", "specs/dev.yaml", env={**KEYS, "AWS_ENDPOINT_URL": endpoint}, home=tmp_path)
    finally:
        server.shutdown()
        server.server_close()
    line = one_line(res)
    assert "InvalidClientTokenId" in line and "--profile" in line, line


@pytest.mark.parametrize("url", ["garbage", "http://[::1", "http://127.0.0.1:99999"])
def test_an_endpoint_url_botocore_cannot_use_gets_one_line(tmp_path: Path, url: str) -> None:
    res, _ = run("plan", "specs/dev.yaml", env={**KEYS, "AWS_ENDPOINT_URL": url}, home=tmp_path)
    line = one_line(res)
    assert "AWS_ENDPOINT_URL" in line and url in line


def test_an_endpoint_that_is_not_aws_gets_one_line(tmp_path: Path) -> None:
    """Say AWS_ENDPOINT_URL names serve's port or any web server: it answers, but not as AWS does."""
    server = subprocess.Popen([sys.executable, "-m", "http.server", "0", "--bind", "127.0.0.1"], cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert server.stdout is not None
        port = server.stdout.readline().split("port ")[1].split()[0]
        res, _ = run("plan", "specs/dev.yaml", env={**KEYS, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"},
                     home=tmp_path)
        assert "not as AWS does" in one_line(res)
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.parametrize("args", [("plan", "specs/dev.yaml", "--detailed-exitcode", "--jsno"),
                                  ("plan", "specs/dev.yaml", "--detailed-exitcode", "--region"), ("plan",)])
def test_a_usage_mistake_exits_1_never_2_which_means_changes(tmp_path: Path, args: tuple[str, ...]) -> None:
    res, _ = run(*args, home=tmp_path)
    assert res.returncode == 1, (res.returncode, res.stderr)
    assert "usage:" in res.stderr and "Traceback" not in res.stderr
