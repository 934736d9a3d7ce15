"""Connections of the local server: one loop reads every request, a bounded pool answers them.

A connection costs no thread while its request arrives. One thread (``serve_forever``) reads the
bytes of every open connection as they come, without blocking, until a request is complete: its
head, then as many body bytes as its ``Content-Length`` announces. Only then does a worker of a
pool of ``max_workers`` threads answer it. So a slow client holds a file descriptor, never a
worker, and cannot keep anyone else from being answered.

A request must be complete within ``request_timeout`` seconds from the moment the connection was
accepted or its previous answer sent: a whole-request deadline, not a per-read timeout, so a client
that trickles a byte at a time (slowloris) is cut off all the same: 408 if it sent anything, then
the connection is closed. At most ``max_connections`` are open at once; past that, new ones wait
in the listen backlog. An answer is written with ``write_timeout`` per send, so a client that does
not read holds a worker that long at most.

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

    def reset(self, data: bytes | bytearray = b"") -> None:
        self.data, self.scanned, self.need = bytearray(data), 0, None


@dataclass(frozen=True)
class Request:
    """What a handler gets: the socket to answer on, and the bytes read so far (one request, maybe more)."""

    sock: socket.socket
    data: bytes


class SocketWriter(io.BufferedIOBase):
    """A file that sends everything it is given (``sendall``), as socketserver's own writer does."""

    def __init__(self, sock: socket.socket):
        self._sock = sock

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        self._sock.sendall(b)
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

    def handle_request_bytes(self, sock: socket.socket, address: Any, data: bytes) -> bytes | None:
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
        sel = selectors.DefaultSelector()
        waiting: dict[socket.socket, Connection] = {}  # reading a request
        busy = 0  # connections a worker has
        self.socket.setblocking(False)
        sel.register(self.socket, selectors.EVENT_READ, "accept")
        sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        accepting = True
        try:
            while not self._stop:
                now = time.monotonic()
                soonest = min((c.deadline for c in waiting.values()), default=now + poll_interval)
                for key, _ in sel.select(timeout=max(0.0, min(poll_interval, soonest - now))):
                    if key.data == "accept":
                        self._accept(sel, waiting, busy)
                    elif key.data == "wake":
                        with contextlib.suppress(BlockingIOError):
                            self._wake_r.recv(4096)
                    else:
                        busy += self._read(sel, waiting, key.data)
                while not self._returned.empty():
                    conn = self._returned.get()
                    busy -= 1
                    if conn.sock.fileno() >= 0:
                        busy += self._resume(sel, waiting, conn)
                self._expire(sel, waiting)
                full = len(waiting) + busy >= self.max_connections
                if full and accepting:
                    sel.unregister(self.socket)
                elif not full and not accepting:
                    sel.register(self.socket, selectors.EVENT_READ, "accept")
                accepting = not full
        finally:
            for conn in waiting.values():
                conn.sock.close()
            sel.close()
            self._stop = False
            self._stopped.set()

    def _accept(self, sel: selectors.BaseSelector, waiting: dict[socket.socket, Connection], busy: int) -> None:
        while len(waiting) + busy < self.max_connections:
            try:
                sock, address = self.socket.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # the client gave up before we took it: nothing to do
                return
            sock.setblocking(False)
            conn = Connection(sock, address, time.monotonic() + self.request_timeout)
            waiting[sock] = conn
            sel.register(sock, selectors.EVENT_READ, conn)

    def _read(self, sel: selectors.BaseSelector, waiting: dict[socket.socket, Connection], conn: Connection) -> int:
        """Read what is there; hand a complete request to a worker (returns 1 then, else 0)."""
        try:
            chunk = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return 0
        except OSError:
            chunk = b""
            conn.data.clear()  # reset by the client: nobody to answer
        if not chunk and not conn.data:
            self._drop(sel, waiting, conn)
            return 0
        conn.data += chunk
        if chunk and not self._ready(conn):
            return 0
        # complete, or the client closed its side: the handler answers what there is
        return self._dispatch(sel, waiting, conn)

    def _resume(self, sel: selectors.BaseSelector, waiting: dict[socket.socket, Connection], conn: Connection) -> int:
        """A connection back from a worker: wait for its next request (or run it, if already here)."""
        conn.deadline = time.monotonic() + self.request_timeout
        waiting[conn.sock] = conn
        sel.register(conn.sock, selectors.EVENT_READ, conn)
        if conn.data and self._ready(conn):
            return self._dispatch(sel, waiting, conn)
        return 0

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

    def _dispatch(self, sel: selectors.BaseSelector, waiting: dict[socket.socket, Connection],
                  conn: Connection) -> int:
        sel.unregister(conn.sock)
        del waiting[conn.sock]
        data = bytes(conn.data)
        conn.reset()
        self._pool.submit(self._work, conn, data)
        return 1

    def _work(self, conn: Connection, data: bytes) -> None:
        rest: bytes | None = None
        try:
            conn.sock.setblocking(True)
            conn.sock.settimeout(self.write_timeout)
            rest = self.handle_request_bytes(conn.sock, conn.address, data)
        except Exception as exc:  # the handler's bug or a client that went away: close, keep serving
            rest = None
            self.on_error(conn.address, exc)
        finally:
            if rest is None:
                with contextlib.suppress(OSError):
                    conn.sock.close()
            else:
                with contextlib.suppress(OSError):
                    conn.sock.setblocking(False)
                conn.reset(rest)
            self._returned.put(conn)
            self._wake()

    def _expire(self, sel: selectors.BaseSelector, waiting: dict[socket.socket, Connection]) -> None:
        now = time.monotonic()
        for conn in [c for c in waiting.values() if c.deadline <= now]:
            if conn.data:  # a request began and did not finish in time
                with contextlib.suppress(OSError):
                    conn.sock.send(_TIMEOUT)
            self._drop(sel, waiting, conn)

    @staticmethod
    def _drop(sel: selectors.BaseSelector, waiting: dict[socket.socket, Connection], conn: Connection) -> None:
        sel.unregister(conn.sock)
        del waiting[conn.sock]
        with contextlib.suppress(OSError):
            conn.sock.close()
