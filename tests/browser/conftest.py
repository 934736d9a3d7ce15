"""Browser tests: Debian's Chromium driven by Playwright.

Without Playwright these modules are not imported (so the rest of the suite still collects), and
``test_requirements.py`` fails, saying what is missing: CI installs Playwright (setup.cfg's
``test`` extra), so a missing one is an error, never a skip.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import ROOT, free_port

CHROMIUM = "/usr/bin/chromium"
try:
    from playwright.sync_api import expect

    HAVE_PLAYWRIGHT = True
    # Waits in these tests only bound a hang: each returns as soon as the page shows what it waits for.
    # Playwright's default of 5 s is short for a page on a loaded 2-core machine (the dashboard's own
    # refresh is 5 s, site/dashboard.js); the explicit ones are 60 s for the same reason.
    expect.set_options(timeout=30_000)
except ImportError:
    HAVE_PLAYWRIGHT = False
collect_ignore_glob = [] if HAVE_PLAYWRIGHT else ["test_dashboard*.py", "test_plausible.py"]
# Host names the browser resolves to 127.0.0.1: Plausible's trackers ignore localhost and 127.*.
MAPPED_HOSTS = ("shop.example",)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert os.path.exists(CHROMIUM), f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)"
    rules = ", ".join(f"MAP {h} 127.0.0.1" for h in MAPPED_HOSTS)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", f"--host-resolver-rules={rules}",
            # Plausible sends nothing when navigator.webdriver is true, as it is under automation.
            "--disable-blink-features=AutomationControlled"])
        yield b
        b.close()


@pytest.fixture(scope="session")
def server() -> Iterator[int]:
    """The port of `serve specs/dev.yaml` (the whole stack on an embedded moto), shared by the browser tests."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    proc = subprocess.Popen([sys.executable, "-m", "liveinsight_infra", "serve", "specs/dev.yaml", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    # Only against a hang: serve applies the whole stack first (30 s and more with the 2 cores busy).
    deadline = time.monotonic() + 180
    while True:
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=2).request("HEAD", "/")
            break
        except OSError:
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "serve did not start"
            time.sleep(0.2)
    yield port
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=120)  # generous: a loaded 2-core machine is slow to unwind


def post(port: int, events: list[dict[str, Any]], ua: str, headers: dict[str, str] | None = None) -> None:
    """Posts events to `serve`'s /api/events as one client (its User-Agent and any other headers)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST", "/api/events", body=json.dumps(events),
                 headers={"Content-Type": "application/json", "User-Agent": ua, **(headers or {})})
    response = conn.getresponse()
    body = response.read()
    assert response.status == 202, (response.status, body)
    assert not json.loads(body).get("rejected"), body
