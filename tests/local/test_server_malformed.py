"""The local server answers every malformed request with a 4xx, and keeps answering afterwards."""

from __future__ import annotations

import re
import socket

import pytest

from tests.local.conftest import Site

MALFORMED = {
    "long static path": b"GET /" + b"a" * 300 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "long nested static path": b"GET /" + b"/".join([b"b" * 250] * 3) + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "long api path": b"GET /api/" + b"a" * 300 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "NUL in the path": b"GET /a\x00b HTTP/1.1\r\nHost: x\r\n\r\n",
    "NUL in an api path": b"POST /api/events\x00 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
    "NUL in a header": b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n",
    "Content-Length abc": b"POST /api/events HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}",
    "Content-Length -5": b"POST /api/events HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n{}",
    "Content-Length 1e3": b"POST /api/events HTTP/1.1\r\nHost: x\r\nContent-Length: 1e3\r\n\r\n{}",
    "Content-Length +2": b"POST /api/events HTTP/1.1\r\nHost: x\r\nContent-Length: +2\r\n\r\n{}",
    "two Content-Lengths": (b"POST /api/events HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                            b"Content-Length: 3\r\n\r\n{}"),
    "huge Content-Length": (b"POST /api/events HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n"
                            b"\r\n{}"),
    "static NUL on execute-api": b"GET /dev/\x00 HTTP/1.1\r\nHost: x\r\n\r\n",
}
STATUS = re.compile(rb"^HTTP/1\.[01] (\d{3}) ")


def raw(site: Site, data: bytes) -> bytes:
    host, port = site.server.server_address[:2]
    with socket.create_connection((str(host), int(port)), timeout=10) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_a_malformed_request_gets_a_4xx_and_the_server_stays_up(site: Site, name: str) -> None:
    answer = raw(site, MALFORMED[name])
    match = STATUS.match(answer)
    assert match, f"{name}: no HTTP answer: {answer[:200]!r}"
    assert 400 <= int(match.group(1)) < 500, answer[:200]
    assert not any("Traceback" in line for line in site.logs), site.logs
    assert site.request("GET", "/").status == 200
    assert site.request("OPTIONS", "/api/events").status == 200
