"""HTTP on 127.0.0.1 for the local gateway: the API at ``/api/...`` (as through CloudFront) and at
``/{stage}/api/...`` (as the execute-api URL), and the files of ``site/`` at ``/``."""

from __future__ import annotations

import mimetypes
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .gateway import LocalGateway, Request, Response


class LocalServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, gateway: LocalGateway, site_dir: Path | None, host: str = "127.0.0.1", port: int = 0,
                 root_object: str = "dashboard.html", log: Callable[[str], None] = lambda _m: None,
                 extra_files: dict[str, bytes] | None = None):
        self.gateway, self.site_dir, self.root_object, self.log = gateway, site_dir, root_object, log
        self.extra_files = extra_files or {}
        super().__init__((host, port), _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def start_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="liveinsight-local", daemon=True)
        thread.start()
        return thread

    def static(self, path: str) -> Response:
        name = path.lstrip("/") or self.root_object
        if name in self.extra_files:
            return Response(200, {"Content-Type": _type(name), "Cache-Control": "no-cache"}, self.extra_files[name])
        if self.site_dir is not None:
            root = self.site_dir.resolve()
            file = (root / name).resolve()
            if file.is_file() and root in file.parents:
                return Response(200, {"Content-Type": _type(name)}, file.read_bytes())
        return Response(404, {"Content-Type": "text/plain"}, b"Not Found")


def _type(name: str) -> str:
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return f"{kind}; charset=utf-8" if kind.startswith("text/") or kind.endswith(("javascript", "json")) else kind


class _Handler(BaseHTTPRequestHandler):
    server: LocalServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        self.server.log(f"{self.address_string()} {format % args}")

    def _dispatch(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        stage = self.server.gateway.d.stage
        path = parts.path
        if path.startswith(f"/{stage}/"):
            path = path[len(stage) + 1:]
            api = True
        else:
            api = path == "/api" or path.startswith("/api/")
        if api:
            req = Request(self.command, path, list(self.headers.items()), parts.query, body,
                          self.client_address[0], stage)
            resp = self.server.gateway.handle(req)
        elif self.command in ("GET", "HEAD"):
            resp = self.server.static(path)
        else:
            resp = Response(405, {"Content-Type": "text/plain"}, b"Method Not Allowed")
        self.send_response(resp.status)
        for k, v in resp.headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(resp.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(resp.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _dispatch
