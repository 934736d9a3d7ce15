"""What the browser tests need is installed (a missing piece fails here, by name)."""

from __future__ import annotations

import os
import shutil

from tests.browser.conftest import CHROMIUM, HAVE_PLAYWRIGHT


def test_playwright_chromium_node_and_npm_are_present() -> None:
    assert HAVE_PLAYWRIGHT, "pip install playwright (setup.cfg's test extra)"
    assert os.path.exists(CHROMIUM), f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)"
    assert shutil.which("node") and shutil.which("npm"), "node and npm are needed to bundle Plausible's tracker"
