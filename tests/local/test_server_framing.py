"""The local server reads each request's framing strictly: what it cannot frame is a 4xx and the
connection is closed, so no bytes of one request are ever read as another (request smuggling)."""

from __future__ import annotations

import re
import socket
import time

import pytest

from tests.local.conftest import Site
from tests.local.test_server_malformed import raw

STATUS = re.compile(rb"HTTP/1\.[01] (\d{3}) ")
HIDDEN = b"GET /api/realtime?site=example.com HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"


def statuses(answer: bytes) -> list[int]:
    return [int(s) for s in STATUS.findall(answer)]


def test_a_chunked_body_is_never_read_as_a_second_request(site: Site) -> None:
    body = hex(len(HIDDEN))[2:].encode() + b"\r\n" + HIDDEN + b"\r\n0\r\n\r\n"
    answer = raw(site, b"POST /api/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + body)
    assert len(statuses(answer)) == 1 and answer.startswith(b"HTTP/1.1 4"), answer[:300]
    assert site.request("GET", "/").status == 200


def test_transfer_encoding_with_content_length_is_refused(site: Site) -> None:
    answer = raw(site, b"POST /api/events HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                       b"Transfer-Encoding: chunked\r\n\r\n" + b"0\r\n\r\n" + HIDDEN)
    assert len(statuses(answer)) == 1 and answer.startswith(b"HTTP/1.1 4"), answer[:300]


def test_a_space_before_the_colon_is_a_400_not_lost_headers(site: Site) -> None:
    answer = raw(site, b"POST /api/events HTTP/1.1\r\nHost: x\r\nCloudFront-Viewer-Address : 7.7.7.0:1\r\n"
                       b"Content-Length: 2\r\n\r\n{}" + HIDDEN)
    assert statuses(answer)[:1] == [400] and len(statuses(answer)) == 1, answer[:300]


def test_a_body_shorter_than_its_content_length_is_a_400(site: Site) -> None:
    answer = raw(site, b"POST /api/events HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{}")
    assert statuses(answer) == [400], answer[:300]


@pytest.mark.parametrize("line", [b"GET /path\r\n\r\n", b"GET /\r\nHost: x\r\n\r\n", b"hello\r\n\r\n",
                                  b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n"])
def test_a_request_without_an_http_version_gets_an_http_1_1_4xx(site: Site, line: bytes) -> None:
    answer = raw(site, line)
    assert answer.startswith(b"HTTP/1.1 4"), answer[:300]
    assert site.request("GET", "/").status == 200


def test_an_idle_connection_is_closed(site: Site) -> None:
    site.server.request_timeout = 0.5
    host, port = site.server.server_address[:2]
    with socket.create_connection((str(host), int(port)), timeout=10) as s:
        s.sendall(b"POST /api/events HTTP/1.1\r\nHost: x\r\n")  # and nothing more, as slowloris does
        started = time.monotonic()
        while s.recv(65536):
            pass
        assert time.monotonic() - started < 5


def test_the_listen_backlog_is_larger_than_the_default() -> None:
    from liveinsight_infra.local.server import LocalServer
    assert LocalServer.request_queue_size >= 128
