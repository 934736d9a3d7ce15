"""Regenerate docs/dashboard.png: `serve --demo-traffic`, wait for data, screenshot in Chromium.

    python scripts/dashboard_screenshot.py [--seconds 45]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=45, help="how long demo traffic runs before the screenshot")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "dashboard.png")
    args = ap.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    proc = subprocess.Popen([sys.executable, "-m", "liveinsight_infra", "serve", "specs/dev.yaml", "--port",
                             str(port), "--demo-traffic"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    try:
        time.sleep(args.seconds)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"http://127.0.0.1:{port}/?site=demo.liveinsight.dev")
            page.wait_for_function("document.getElementById('active').textContent !== '\u2013'", timeout=20000)
            page.wait_for_timeout(1500)
            page.screenshot(path=str(args.out), full_page=True)
            browser.close()
        print(f"wrote {args.out}")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)


if __name__ == "__main__":
    main()
