"""Browser tests: Debian's Chromium driven by Playwright.

Without Playwright these modules are not imported (so the rest of the suite still collects), and
``test_requirements.py`` fails, saying what is missing: CI installs Playwright (setup.cfg's
``test`` extra), so a missing one is an error, never a skip.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
try:
    import playwright  # noqa: F401
    HAVE_PLAYWRIGHT = True
except ImportError:
    HAVE_PLAYWRIGHT = False
collect_ignore_glob = [] if HAVE_PLAYWRIGHT else ["test_dashboard.py", "test_plausible.py"]
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
