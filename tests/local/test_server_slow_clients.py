"""Slow clients cannot hold ``serve``: a bounded worker pool, and a deadline for a whole request.

A slow client (slowloris: a request sent a few bytes at a time, each in time for a per-read
timeout) must neither cost a thread for as long as it likes nor keep others from being answered.
Only hangs are bounded here (generous timeouts); no success is timed.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from liveinsight_infra.local import connections
from tests.local.conftest import Site

SLOW = 30  # far more than the worker pool, within what one address may hold open (32)


def connect(site: Site) -> socket.socket:
    host, port = site.server.server_address[:2]
    return socket.create_connection((str(host), int(port)), timeout=30)


@contextlib.contextmanager
def slow_clients(site: Site, n: int) -> Iterator[list[socket.socket]]:
    """``n`` connections, each with an unfinished request (a request line and one header)."""
    socks = []
    try:
        for _ in range(n):
            s = connect(site)
            s.sendall(b"POST /api/events HTTP/1.1\r\nHost: x\r\n")
            socks.append(s)
        yield socks
    finally:
        for s in socks:
            s.close()


def test_a_normal_client_is_answered_while_many_slow_ones_hold_connections(site: Site) -> None:
    site.server.request_timeout = 120.0  # the slow ones stay within it for the whole test
    baseline = threading.active_count()
    with slow_clients(site, SLOW) as slow:
        answer = site.request("GET", "/")  # bounded by the client's own 10 s timeout: a hang fails
        assert answer.status == 200
        # Answered after the server had accepted all of them (the listen queue is first in, first out):
        # they hold no thread each.
        assert threading.active_count() - baseline <= site.server.max_workers + 2
        for s in slow:  # still open: nobody was cut off to make room (nothing to read, no end of stream)
            s.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                assert s.recv(1) != b""


def test_a_request_trickling_in_is_cut_off_at_the_deadline(site: Site) -> None:
    """Each byte comes well within any per-read timeout; the whole request never does."""
    site.server.request_timeout = 1.0
    with connect(site) as s:
        s.sendall(b"POST /api/events HTTP/1.1\r\nX-Slow: ")
        s.settimeout(0.2)
        closed = False
        until = time.monotonic() + 60  # a bound on a hang, far above the 1 s deadline
        while time.monotonic() < until and not closed:
            try:
                s.sendall(b"a")  # one byte of one header line at a time
                data = s.recv(65536)
                closed = data == b"" or data.startswith(b"HTTP/1.1 408")
            except TimeoutError:
                continue
            except OSError:  # reset by the server
                closed = True
        assert closed, "the server kept a trickling request open"
    assert site.request("GET", "/").status == 200


def test_a_flood_of_idle_connections_from_one_address_locks_no_one_out(site: Site) -> None:
    """Bare connects that send nothing, more than the server keeps open: one address cannot fill
    the connection table (the attacker and this test's client share 127.0.0.1 here)."""
    site.server.request_timeout = 120.0  # the idle ones outlive the test unless the server closes them
    site.server.max_connections = 64  # full sooner; the bound under test is per address, below this
    socks = []
    try:
        for _ in range(100):
            socks.append(connect(site))
        assert site.request("GET", "/").status == 200  # a hang until the idle ones expire fails at 10 s
        still_open = 0
        for s in socks:  # the server closed the oldest of them to make room: the end of their streams
            s.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                still_open += s.recv(1) != b""
                continue
            still_open += 1
        assert still_open < site.server.max_per_address
    finally:
        for s in socks:
            s.close()


def test_clients_that_never_read_their_answers_hold_no_worker(site: Site) -> None:
    """More connections than workers, each pipelining many requests and reading nothing (a small
    receive buffer): an answer waits for such a reader in the loop, not in a worker."""
    site.server.write_timeout = 120.0  # a worker held per send would be held for the whole test
    host, port = site.server.server_address[:2]
    pipelined = b"GET /dashboard.js HTTP/1.1\r\nHost: x\r\n\r\n" * 300
    socks = []
    try:
        for _ in range(site.server.max_workers + 4):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(s)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
            s.settimeout(30)
            s.connect((str(host), int(port)))
            s.sendall(pipelined)
        for _ in range(3):  # while their answers fill the socket buffers, and once they are full
            time.sleep(1.0)  # not a bound: gives the attack time to take hold
            assert site.request("GET", "/").status == 200  # held behind them, it fails at 10 s
    finally:
        for s in socks:
            s.close()


class _CountingScan:
    """Stands in for the head-end pattern: counts the bytes each search looks at."""

    def __init__(self, pattern: re.Pattern[bytes]):
        self.pattern, self.scanned, self.calls = pattern, 0, 0

    def search(self, data: bytes | bytearray, pos: int = 0) -> re.Match[bytes] | None:
        self.calls += 1
        self.scanned += len(data) - pos
        return self.pattern.search(data, pos)


def test_a_long_head_trickling_in_is_scanned_once(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    """A head of ~66 KB, then one byte at a time: each read looks for the head's end in the new
    bytes only (and the 3 before them), not in the whole head again (quadratic)."""
    scan = _CountingScan(connections._HEAD_END)
    monkeypatch.setattr(connections, "_HEAD_END", scan)
    head = b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-Pad-%02d: %s\r\n" % (i, b"a" * 1000) for i in range(66))
    trickle = b"X-Slow: " + b"b" * 40
    with connect(site) as s:
        s.sendall(head)
        time.sleep(0.2)
        for byte in trickle:
            s.sendall(bytes([byte]))
            time.sleep(0.005)
        s.sendall(b"\r\n\r\n")
        assert s.recv(12) == b"HTTP/1.1 200"
    sent = len(head) + len(trickle) + 4
    assert scan.calls >= 2, "the head arrived in one read: nothing was trickled"
    assert scan.scanned <= sent + 4 * scan.calls, f"{scan.scanned} bytes scanned for {sent} received"


def test_a_connection_closed_earlier_in_a_round_of_events_is_skipped() -> None:
    """An eviction (``_accept`` closing an address's oldest connection for a new one) may close a
    socket that has an event later in the same ``select`` round: reading it, or closing it again,
    must not raise (an outside test saw ``unregister`` of fd -1 kill the server)."""
    import selectors

    server = connections.SelectorServer(("127.0.0.1", 0), object)
    a, b = socket.socketpair()
    try:
        server._sel = selectors.DefaultSelector()
        server._waiting, server._writing, server._per_host = {}, {}, {"127.0.0.1": 1}
        conn = connections.Connection(a, ("127.0.0.1", 1), time.monotonic() + 10)
        server._waiting[a] = conn
        server._sel.register(a, selectors.EVENT_READ, conn)
        b.sendall(b"GET / HTTP/1.1\r\n")  # an event pending on it
        server._close(conn)  # the eviction
        server._read(conn)  # its event, later in the same round
        server._close(conn)
        assert server._per_host == {} and server._waiting == {}
    finally:
        b.close()
        server.server_close()
