"""Connections of the local server: one loop reads every request, a bounded pool answers them.

A connection costs no thread while its request arrives. One thread (``serve_forever``) reads the
bytes of every open connection as they come, without blocking, until a request is complete: its
head, then as many body bytes as its ``Content-Length`` announces. Only then does a worker of a
pool of ``max_workers`` threads answer it. So a slow client holds a file descriptor, never a
worker, and cannot keep anyone else from being answered.

A request must be complete within ``request_timeout`` seconds from the moment the connection was
accepted or its previous answer sent: a whole-request deadline, not a per-read timeout, so a client
that trickles a byte at a time (slowloris) is cut off all the same: 408 if it sent anything, then
the connection is closed. The head's end is looked for only in the bytes not yet searched, so a
long head trickling in costs linear time, not quadratic.

At most ``max_connections`` are open at once; past that, new ones wait in the listen backlog. At
most ``max_per_address`` are open from one client address: a new one past that closes the oldest
of that address's connections waiting for a request (one that sent nothing first), or is refused
if none is waiting. So one address cannot fill the table, and a client that sends its request as
soon as it connects gets in even beside a flood from its own address. Many addresses can still
fill it together (each within its cap).

A worker writes its answer into memory; the loop sends it as the client takes it (non-blocking),
and reads that connection's next request only once it is all sent. So a client that pipelines many
requests and reads none holds no worker, only its one pending answer; it must take some of that
answer every ``write_timeout`` seconds, or the connection is closed.

What cannot be framed (a ``Transfer-Encoding``, a ``Content-Length`` that is not one number or is
too large, a head past ``MAX_HEAD`` bytes) is handed over at once: the handler answers 4xx and
closes. Bytes after a request (pipelining) stay for the next one. This module knows nothing of HTTP
beyond that framing; the handler class does the rest.
"""

from __future__ import annotations

import contextlib
import io
import queue
import re
import selectors
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import HTTPServer
from typing import Any

MAX_HEAD = 64 * 1024 + 8 * 1024  # http.server's longest request line and header line, and a margin
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_TIMEOUT = b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


@dataclass
class Connection:
    sock: socket.socket
    address: Any
    deadline: float
    data: bytearray = field(default_factory=bytearray)
    scanned: int = 0  # bytes of data already searched for the head's end
    need: int | None = None  # the request's whole length, once its head is here
    out: bytes = b""  # an answer being sent (by the loop, as the client takes it)
    sent: int = 0  # bytes of it sent
    close_after: bool = False  # close once the answer is sent

    @property
    def host(self) -> Any:
        return self.address[0] if isinstance(self.address, tuple) else self.address

    def reset(self, data: bytes | bytearray = b"") -> None:
        self.data, self.scanned, self.need = bytearray(data), 0, None


@dataclass(frozen=True)
class Request:
    """What a handler gets: the connection's socket, the bytes read so far (one request, maybe more),
    and where to write its answer (the loop sends it: a worker never waits for a client)."""

    sock: socket.socket
    data: bytes
    out: bytearray = field(default_factory=bytearray)


class AnswerWriter(io.BufferedIOBase):
    """A file that keeps what it is given for the loop to send; closing it keeps it too."""

    def __init__(self, out: bytearray):
        self._out = out

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        self._out += b
        return len(memoryview(b))


def request_length(head: bytes, max_body: int, length_of: Callable[[list[str]], int | None]) -> int:
    """The whole length of a request with this ``head`` (its end included): the head's own length
    when the request cannot be framed, so that the handler can refuse it at once."""
    lines = head.decode("iso-8859-1").split("\n")[1:]
    fields = [(k.strip().lower(), v.strip()) for k, sep, v in (line.partition(":") for line in lines) if sep]
    if any(k == "transfer-encoding" for k, _ in fields):
        return len(head)
    length = length_of([v for k, v in fields if k == "content-length"])
    if length is None or length > max_body:
        return len(head)
    return len(head) + length


class SelectorServer(HTTPServer):
    """An HTTP server whose connections wait on one selector and whose requests run on a bounded pool.

    Subclasses give ``handle_request_bytes`` (answer one request; return the bytes it did not read, or
    None to close the connection) and ``request_length`` (``request_length`` with their limits)."""

    request_queue_size = 128  # the listen backlog; socketserver's default of 5 refuses bursts
    request_timeout = 10.0  # seconds for a whole request to arrive (also how long an idle connection lasts)
    write_timeout = 10.0  # seconds a client may take to accept each part of an answer
    max_workers = 16
    max_connections = 512
    max_per_address = 32  # connections open from one client address

    def __init__(self, address: tuple[str, int], handler: Any):
        super().__init__(address, handler)
        self._pool = ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="liveinsight-local")
        self._returned: queue.SimpleQueue[Connection] = queue.SimpleQueue()  # from workers, for the loop
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._stop = False
        self._stopped = threading.Event()
        self._stopped.set()

    # -- to be given by the subclass ---------------------------------------------------------------
    def request_length(self, head: bytes) -> int:
        raise NotImplementedError

    def handle_request_bytes(self, request: Request, address: Any) -> bytes | None:
        raise NotImplementedError

    def on_error(self, address: Any, exc: Exception) -> None:
        """A request whose answer failed (a bug, or a client that went away): its connection is closed."""

    # -- lifetime ----------------------------------------------------------------------------------
    def start_in_thread(self) -> threading.Thread:
        self._stopped.clear()  # before the thread runs: a shutdown() right away waits for it
        thread = threading.Thread(target=self.serve_forever, name="liveinsight-local", daemon=True)
        thread.start()
        return thread

    def shutdown(self) -> None:
        self._stop = True
        self._wake()
        self._stopped.wait()

    def server_close(self) -> None:
        super().server_close()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._wake_r.close()
        self._wake_w.close()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")

    # -- the loop ------------------------------------------------------------------------------------
    def serve_forever(self, poll_interval: float = 0.5) -> None:
        self._stopped.clear()
        self._sel = sel = selectors.DefaultSelector()
        self._waiting: dict[socket.socket, Connection] = {}  # reading a request
        self._writing: dict[socket.socket, Connection] = {}  # sending an answer
        self._busy = 0  # connections a worker has
        self._per_host: dict[Any, int] = {}  # open connections by client address
        self.socket.setblocking(False)
        sel.register(self.socket, selectors.EVENT_READ, "accept")
        sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        accepting = True
        try:
            while not self._stop:
                now = time.monotonic()
                soonest = min((c.deadline for c in (*self._waiting.values(), *self._writing.values())),
                              default=now + poll_interval)
                for key, _ in sel.select(timeout=max(0.0, min(poll_interval, soonest - now))):
                    if key.data == "accept":
                        self._accept()
                    elif key.data == "wake":
                        with contextlib.suppress(BlockingIOError):
                            self._wake_r.recv(4096)
                    elif key.fileobj.fileno() < 0:  # type: ignore[union-attr]
                        continue  # closed earlier in this round (an eviction for a new connection)
                    elif key.fileobj in self._writing:
                        self._write(key.data)
                    else:
                        self._read(key.data)
                while not self._returned.empty():
                    self._busy -= 1
                    self._answered(self._returned.get())
                self._expire()
                full = self._open() >= self.max_connections
                if full and accepting:
                    sel.unregister(self.socket)
                elif not full and not accepting:
                    sel.register(self.socket, selectors.EVENT_READ, "accept")
                accepting = not full
        finally:
            for conn in (*self._waiting.values(), *self._writing.values()):
                conn.sock.close()
            self._waiting.clear()
            self._writing.clear()
            self._per_host.clear()
            sel.close()
            self._stop = False
            self._stopped.set()

    def _open(self) -> int:
        return len(self._waiting) + len(self._writing) + self._busy

    def _accept(self) -> None:
        while self._open() < self.max_connections:
            try:
                sock, address = self.socket.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # the client gave up before we took it: nothing to do
                return
            conn = Connection(sock, address, time.monotonic() + self.request_timeout)
            if self._per_host.get(conn.host, 0) >= self.max_per_address:
                oldest = self._idlest(conn.host)
                if oldest is None:  # all of that address's connections are being answered: refused
                    with contextlib.suppress(OSError):
                        sock.close()
                    continue
                self._close(oldest)
            sock.setblocking(False)
            self._per_host[conn.host] = self._per_host.get(conn.host, 0) + 1
            self._waiting[sock] = conn
            self._sel.register(sock, selectors.EVENT_READ, conn)

    def _idlest(self, host: Any) -> Connection | None:
        """The connection of ``host`` to close for a new one: the oldest of those waiting for a request,
        one that has sent nothing of it first. So one address holds at most ``max_per_address`` of the
        ``max_connections``, and a client that connects and sends its request at once still gets in,
        even from the address that floods."""
        mine = [c for c in self._waiting.values() if c.host == host]
        return min(mine, key=lambda c: (bool(c.data), c.deadline), default=None)

    def _read(self, conn: Connection) -> None:
        """Read what is there; hand a complete request to a worker."""
        try:
            chunk = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
            conn.data.clear()  # reset by the client: nobody to answer
        if not chunk and not conn.data:
            self._close(conn)
            return
        conn.data += chunk
        if chunk and not self._ready(conn):
            return
        # complete, or the client closed its side: the handler answers what there is
        self._dispatch(conn)

    def _answered(self, conn: Connection) -> None:
        """A connection back from a worker: send its answer, then wait for its next request."""
        if conn.out:
            conn.deadline = time.monotonic() + self.write_timeout
            self._writing[conn.sock] = conn
            self._sel.register(conn.sock, selectors.EVENT_WRITE, conn)
            self._write(conn)
        elif conn.close_after:
            self._close(conn, registered=False)
        else:
            self._resume(conn)

    def _write(self, conn: Connection) -> None:
        """Send what the client takes now; it has ``write_timeout`` seconds to take each part."""
        view = memoryview(conn.out)
        while conn.sent < len(view):
            try:
                sent = conn.sock.send(view[conn.sent:conn.sent + 262144])
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # the client went away
                self._close(conn)
                return
            conn.sent += sent
            conn.deadline = time.monotonic() + self.write_timeout
        self._sel.unregister(conn.sock)
        del self._writing[conn.sock]
        conn.out, conn.sent = b"", 0
        if conn.close_after:
            self._close(conn, registered=False)
        else:
            self._resume(conn)

    def _resume(self, conn: Connection) -> None:
        """Wait for the connection's next request (or run it, if already here)."""
        conn.deadline = time.monotonic() + self.request_timeout
        self._waiting[conn.sock] = conn
        self._sel.register(conn.sock, selectors.EVENT_READ, conn)
        if conn.data and self._ready(conn):
            self._dispatch(conn)

    def _ready(self, conn: Connection) -> bool:
        """Whether the first request in ``conn.data`` is all there (or cannot be framed, so the handler
        can refuse it). The head's end is looked for in the bytes not yet searched (and the 3 before
        them, where an end may begin), so a head that trickles in is scanned once, not once a read."""
        if conn.need is None:
            end = _HEAD_END.search(conn.data, max(0, conn.scanned - 3))
            conn.scanned = len(conn.data)
            if end is None:
                return len(conn.data) > MAX_HEAD
            conn.need = self.request_length(bytes(conn.data[:end.end()]))
        return len(conn.data) >= conn.need

    def _dispatch(self, conn: Connection) -> None:
        """One request to a worker. The connection's next one waits until this answer is sent, so a
        client that pipelines many and reads none gets one answer at a time, written by the loop."""
        self._sel.unregister(conn.sock)
        del self._waiting[conn.sock]
        data = bytes(conn.data)
        conn.reset()
        self._busy += 1
        self._pool.submit(self._work, conn, data)

    def _work(self, conn: Connection, data: bytes) -> None:
        request = Request(conn.sock, data)
        rest: bytes | None = None
        try:
            rest = self.handle_request_bytes(request, conn.address)
        except Exception as exc:  # the handler's bug: close, keep serving
            rest = None
            request.out.clear()  # a part of an answer is not sent
            self.on_error(conn.address, exc)
        finally:
            conn.out, conn.sent = bytes(request.out), 0
            conn.close_after = rest is None
            conn.reset(rest or b"")
            self._returned.put(conn)
            self._wake()

    def _expire(self) -> None:
        now = time.monotonic()
        for conn in [c for c in self._writing.values() if c.deadline <= now]:
            self._close(conn)  # a client that does not take its answer
        for conn in [c for c in self._waiting.values() if c.deadline <= now]:
            if conn.data:  # a request began and did not finish in time
                with contextlib.suppress(OSError):
                    conn.sock.send(_TIMEOUT)
            self._close(conn)

    def _close(self, conn: Connection, registered: bool = True) -> None:
        if conn.sock.fileno() < 0:
            return  # closed already: evicted (``_accept``) earlier in the same round of events
        if registered:
            self._sel.unregister(conn.sock)
        self._waiting.pop(conn.sock, None)
        self._writing.pop(conn.sock, None)
        left = self._per_host.pop(conn.host, 1) - 1
        if left:
            self._per_host[conn.host] = left
        with contextlib.suppress(OSError):
            conn.sock.close()
