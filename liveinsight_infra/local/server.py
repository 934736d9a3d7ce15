"""HTTP on 127.0.0.1 for the local gateway: the API at ``/api/...`` (as through CloudFront) and at
``/{stage}/api/...`` (as the execute-api URL), and the files of ``site/`` at ``/``.

It plays CloudFront's part where the handlers depend on it: on ``/api/...`` it sets
``CloudFront-Viewer-Address`` to the peer's ``ip:port``, replacing any value the client sent
(https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/adding-cloudfront-headers.html),
and adds the distribution's origin custom headers (the origin secret, read from the distribution
in moto), replacing any value the client sent; with ``ingest.front: function_url`` it sends
``/api/event*`` to the collector's function URL instead (``function_url.py``), as CloudFront's
event behavior does; a client's ``CloudFront-Viewer-Country`` passes, so
tests and demos can set countries. On ``/{stage}/api/...`` a client can send any header, as on
execute-api, and nothing is added: the functions believe no viewer header there. The site's files carry the
security headers of the dashboard's response headers policy. A malformed request gets a 4xx and
the server keeps serving.

Framing is read strictly (RFC 9112 §6): a body has a Content-Length, a Transfer-Encoding is refused
(411) rather than left for the next request to read, and a request line without a version or a
header line the parser cannot read is a 400. After any of these the connection is closed, so no
bytes of one request are taken for another.

Connections (``connections.py``): one loop reads requests as they come, a pool of ``max_workers``
threads answers complete ones, and a request must arrive whole within ``request_timeout`` seconds
(else 408 and the connection is closed), so slow clients hold no thread and delay no one.
"""

from __future__ import annotations

import io
import mimetypes
import re
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..reconcilers.response_headers import SECURITY_HEADERS
from .connections import AnswerWriter, SelectorServer, request_length
from .connections import Request as Received
from .function_url import handle as handle_function_url
from .function_url import on_event_path
from .gateway import LocalGateway, Request, Response

VIEWER_ADDRESS = "CloudFront-Viewer-Address"  # the viewer's ip:port, set by CloudFront only
MAX_BODY = 10 * 1024 * 1024  # API Gateway's payload limit
_BAD_FIELD = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


class LocalServer(SelectorServer):
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

    def request_length(self, head: bytes) -> int:
        return request_length(head, MAX_BODY, _content_length)

    def handle_request_bytes(self, request: Received, address: Any) -> bytes | None:
        """Answer the first request in ``request.data`` (into ``request.out``); the bytes after it, or
        None to close the connection once the answer is sent."""
        handler = _Handler(request, address, self)  # type: ignore[arg-type]  # our setup() reads it
        return None if handler.close_connection else request.data[handler.consumed:]

    def on_error(self, address: Any, exc: Exception) -> None:
        self.log(f"{address}: {type(exc).__name__}: {exc}")

    def static(self, path: str) -> Response:
        name = path.lstrip("/") or self.root_object
        if name in self.extra_files:
            return Response(200, {"Content-Type": _type(name), "Cache-Control": "no-cache"}, self.extra_files[name])
        if self.site_dir is not None:
            root = self.site_dir.resolve()
            try:
                file = (root / name).resolve()
                if file.is_file() and root in file.parents:
                    return Response(200, {"Content-Type": _type(name)}, file.read_bytes())
            except (OSError, ValueError):  # a name too long for the file system, or with a NUL
                pass
        return _plain(404, "Not Found")


def _plain(status: int, text: str) -> Response:
    return Response(status, {"Content-Type": "text/plain; charset=utf-8"}, text.encode())


def _content_length(values: list[str]) -> int | None:
    """The body's length, or None when the header is not one plain decimal (RFC 9110 §8.6)."""
    if not values:
        return 0
    if len(set(values)) != 1 or not values[0].strip().isascii() or not values[0].strip().isdigit():
        return None
    return int(values[0].strip())


def _type(name: str) -> str:
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return f"{kind}; charset=utf-8" if kind.startswith("text/") or kind.endswith(("javascript", "json")) else kind


class _Handler(BaseHTTPRequestHandler):
    server: LocalServer
    protocol_version = "HTTP/1.1"
    default_request_version = "HTTP/1.1"  # an error before the version is read still gets a status line

    raw_requestline: bytes  # set by BaseHTTPRequestHandler.handle_one_request
    request: Received
    consumed = 0  # bytes of the received data this request took

    def setup(self) -> None:  # the request is already read (connections.py); the loop sends the answer
        self.connection = self.request.sock
        self.rfile = io.BytesIO(self.request.data)
        self.wfile = AnswerWriter(self.request.out)

    def handle(self) -> None:
        """One request per call: the connection goes back to the loop between requests."""
        self.close_connection = True
        self.handle_one_request()
        self.consumed = self.rfile.tell()

    def parse_request(self) -> bool:
        # http.server takes "GET /path" for HTTP/0.9 and answers without a status line: refused here.
        self.command, self.request_version, self.close_connection = "", self.default_request_version, True
        self.requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        if len(self.requestline.split()) != 3:
            self.send_error(400, "Bad Request: the request line must be METHOD PATH HTTP/1.1")
            return False
        if not super().parse_request():
            return False
        if self.headers.defects or self.headers.get_payload():
            # A header line the parser could not read ("Name : value"): it stopped there, so the
            # later headers, Content-Length among them, would be lost.
            self.send_error(400, "Bad Request: a malformed header line")
            return False
        if self.headers.get_all("Transfer-Encoding"):
            self.send_error(411, "Length Required: send the body with a Content-Length, not a Transfer-Encoding")
            return False
        return True

    def log_message(self, format: str, *args: Any) -> None:
        self.server.log(f"{self.address_string()} {format % args}")

    def _dispatch(self) -> None:
        try:
            resp = self._answer()
        except Exception as exc:  # a bug here must cost one answer, never the server
            self.server.log(f"{self.command} {self.path!r}: {type(exc).__name__}: {exc}")
            resp = _plain(500, "Internal Server Error")
        self._send(resp)

    def _answer(self) -> Response:
        length = _content_length(self.headers.get_all("Content-Length") or [])
        if length is None:
            self.close_connection = True  # the body's end is unknown: the connection cannot be reused
            return _plain(400, "Bad Request: Content-Length must be one non-negative integer")
        if length > MAX_BODY:
            self.close_connection = True
            return _plain(413, "Request Entity Too Large")
        body = self.rfile.read(length) if length else b""
        if len(body) < length:  # the client closed its side before sending the whole body
            self.close_connection = True
            return _plain(400, "Bad Request: the body is shorter than its Content-Length")
        if "\x00" in self.path:
            return _plain(400, "Bad Request: NUL in the path")
        if any(_BAD_FIELD.search(k) or _BAD_FIELD.search(v) for k, v in self.headers.items()):
            return _plain(400, "Bad Request: a control character in a header")  # RFC 9110 §5.5
        parts = urlsplit(self.path)
        stage = self.server.gateway.d.stage
        path = parts.path
        headers = list(self.headers.items())
        peer_ip, peer_port = self.client_address[:2]
        staged = path.startswith(f"/{stage}/")
        if staged:  # the execute-api URL: a client may send any header
            path = path[len(stage) + 1:]
            api = True
        else:
            api = path == "/api" or path.startswith("/api/")
            if api:  # through CloudFront, which sets the viewer's address and its origin headers itself
                added = {VIEWER_ADDRESS: f"{peer_ip}:{peer_port}", **self.server.gateway.d.origin_headers}
                names = {k.lower() for k in added}
                headers = [(k, v) for k, v in headers if k.lower() not in names] + list(added.items())
        url = self.server.gateway.d.function_url
        if api and url is not None and not staged and on_event_path(path):
            # ingest.front: function_url: CloudFront's event behavior, with the event origin's headers.
            added = {VIEWER_ADDRESS: f"{peer_ip}:{peer_port}", **url.origin_headers}
            names = {k.lower() for k in added}
            headers = [(k, v) for k, v in self.headers.items() if k.lower() not in names] + list(added.items())
            req = Request(self.command, path, headers, parts.query, body, str(peer_ip))
            return handle_function_url(self.server.gateway, url, req, self.server.log)
        if api:
            req = Request(self.command, path, headers, parts.query, body, str(peer_ip), stage,
                          port=int(self.server.server_address[1]))
            return self.server.gateway.handle(req)
        resp = self.server.static(path) if self.command in ("GET", "HEAD") else _plain(405, "Method Not Allowed")
        # As CloudFront's response headers policy on the default behavior does, errors included.
        return Response(resp.status, {**resp.headers, **SECURITY_HEADERS}, resp.body)

    def _send(self, resp: Response) -> None:
        self.send_response(resp.status)
        for k, v in resp.headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(resp.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(resp.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _dispatch
