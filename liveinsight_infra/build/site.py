"""The dashboard's files as they are uploaded: content type, cache policy, MD5, and ``config.json``.

HTML and ``config.json`` are ``no-cache`` (a deploy shows at once); other assets are long-lived.
``config.json`` is generated from the spec: the API base path (same origin, through CloudFront's
``/api/*`` behaviour), and the refresh intervals the dashboard uses.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from ..spec.model import StackSpec

NO_CACHE = "no-cache"
LONG_LIVED = "public, max-age=86400"
CONFIG_KEY = "config.json"


@dataclass(frozen=True)
class SiteFile:
    key: str
    data: bytes
    content_type: str
    cache_control: str

    @property
    def md5(self) -> str:
        return hashlib.md5(self.data, usedforsecurity=False).hexdigest()


def content_type(key: str) -> str:
    kind = mimetypes.guess_type(key)[0] or "application/octet-stream"
    if kind.startswith("text/") or kind in ("application/javascript", "application/json", "image/svg+xml"):
        return f"{kind}; charset=utf-8"
    return kind


def cache_control(key: str) -> str:
    return NO_CACHE if key.endswith((".html", ".json")) or key == CONFIG_KEY else LONG_LIVED


def site_config(spec: StackSpec) -> bytes:
    config = {"apiBase": "/api", "stack": f"{spec.project}-{spec.environment}",
              "realtimeRefreshSeconds": 5}
    return (json.dumps(config, indent=2, sort_keys=True) + "\n").encode()


def site_files(site_dir: Path, spec: StackSpec) -> dict[str, SiteFile]:
    files: dict[str, SiteFile] = {}
    if site_dir.is_dir():
        for path in sorted(site_dir.rglob("*")):
            rel = path.relative_to(site_dir).as_posix()
            if path.is_file() and not any(part.startswith(".") for part in rel.split("/")) and rel != CONFIG_KEY:
                files[rel] = SiteFile(rel, path.read_bytes(), content_type(rel), cache_control(rel))
    files[CONFIG_KEY] = SiteFile(CONFIG_KEY, site_config(spec), content_type(CONFIG_KEY), NO_CACHE)
    return files
