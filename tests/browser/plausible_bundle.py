"""Plausible's npm tracker, bundled for a browser with esbuild: installed on first use.

Both come from the npm registry (https://www.npmjs.com/package/@plausible-analytics/tracker,
https://www.npmjs.com/package/esbuild) into ``tests/browser/.cache`` (git-ignored), so a fresh
CI machine needs only node and npm. Versions are pinned so a run is repeatable.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

CACHE = Path(__file__).resolve().parent / ".cache"
PACKAGES = ("@plausible-analytics/tracker@0.4.6", "esbuild@0.28.2")
# The package exports init() and track(); the test page calls them through window.
ENTRY = ('import { init, track } from "@plausible-analytics/tracker";\n'
         "window.plausibleInit = init;\nwindow.plausibleTrack = track;\n")


def plausible_bundle() -> Path:
    """The path of an IIFE bundle of the tracker (built once per cache)."""
    bundle = CACHE / f"plausible-{PACKAGES[0].rsplit('@', 1)[1]}.js"
    if bundle.is_file():
        return bundle
    npm = shutil.which("npm")
    assert npm, "npm is needed to install Plausible's tracker and esbuild"
    CACHE.mkdir(exist_ok=True)
    esbuild = CACHE / "node_modules" / ".bin" / "esbuild"
    tracker = CACHE / "node_modules" / "@plausible-analytics" / "tracker"
    if not (esbuild.exists() and tracker.is_dir()):
        run([npm, "install", "--prefix", str(CACHE), "--no-audit", "--no-fund", "--no-save", *PACKAGES])
    entry = CACHE / "entry.js"
    entry.write_text(ENTRY)
    partial = bundle.with_suffix(".partial.js")
    run([str(esbuild), str(entry), "--bundle", "--format=iife", f"--outfile={partial}"])
    partial.replace(bundle)  # only a whole bundle is ever found by the check above
    return bundle


def run(argv: list[str]) -> None:
    done = subprocess.run(argv, cwd=CACHE, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{' '.join(argv[:3])} failed:\n{done.stdout}\n{done.stderr}"
