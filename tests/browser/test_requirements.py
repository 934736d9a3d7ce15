"""What the browser tests need is installed (a missing piece fails here, by name)."""

from __future__ import annotations

import importlib.util
import os
import shutil

from tests.browser.conftest import CHROMIUM


def test_playwright_chromium_node_and_npm_are_present() -> None:
    assert importlib.util.find_spec("playwright") is not None, "pip install playwright (setup.cfg's test extra)"
    assert os.path.exists(CHROMIUM), f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)"
    assert shutil.which("node") and shutil.which("npm"), "node and npm are needed to bundle Plausible's tracker"
