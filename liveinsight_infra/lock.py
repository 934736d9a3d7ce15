"""The stack lock: one writer at a time, as a lease on an SSM parameter.

``put_parameter`` without ``Overwrite`` is atomic (``ParameterAlreadyExists`` when held). The
holder renews the lease while it works, so a crashed holder's lock expires by itself. A holder on
this host whose process is gone is broken at once, with a warning; ``--force-unlock`` breaks any
lock. A converged apply takes no lock at all: plan with reads, and lock only when there is
something to write, then read again under the lock.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from . import naming
from .aws.provider import AwsProvider
from .errors import LiveInsightError

LEASE_S = 120.0
RENEW_S = 30.0


class StackLocked(LiveInsightError):
    pass


@dataclass(frozen=True)
class Holder:
    host: str
    pid: int
    command: str
    since: str
    expires: float

    def describe(self) -> str:
        return f"{self.command} by {self.host} pid {self.pid} since {self.since}"


def _me(command: str, now: float) -> Holder:
    return Holder(socket.gethostname(), os.getpid(), command, datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
                  now + LEASE_S)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class StackLock:
    def __init__(self, aws: AwsProvider, stack: str, warn: Callable[[str], None] = lambda _m: None,
                 clock: Callable[[], float] = time.time):
        self.ssm = aws.client("ssm")
        self.name = f"/liveinsight/{stack}/lock"
        self.warn, self.clock = warn, clock

    def _read(self) -> Holder | None:
        try:
            value = self.ssm.get_parameter(Name=self.name)["Parameter"]["Value"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ParameterNotFound":
                return None
            raise
        try:
            return Holder(**json.loads(value))
        except (TypeError, ValueError):
            return Holder("?", 0, "?", "?", 0.0)  # unreadable: treat as expired

    def _put(self, holder: Holder, overwrite: bool) -> None:
        self.ssm.put_parameter(Name=self.name, Type="String", Overwrite=overwrite,
                               Value=json.dumps(holder.__dict__),
                               Description="liveinsight-infra stack lock (a lease; safe to delete if stale)")

    def acquire(self, command: str) -> Holder:
        for _ in range(3):
            me = _me(command, self.clock())
            try:
                self._put(me, overwrite=False)
                return me
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ParameterAlreadyExists":
                    raise
            held = self._read()
            if held is None:
                continue  # released meanwhile
            if held.host == socket.gethostname() and held.pid and not _alive(held.pid):
                self.warn(f"warning: breaking the lock of {held.describe()}: that process is gone")
            elif held.expires < self.clock():
                self.warn(f"warning: breaking the expired lock of {held.describe()}")
            else:
                raise StackLocked(f"stack is locked: {held.describe()}. Wait for it to finish; if it crashed, the "
                                  f"lock expires by itself within {LEASE_S:.0f}s, or pass --force-unlock.")
            self.break_lock()
        raise StackLocked("could not take the stack lock (it changed hands three times); try again")

    def break_lock(self) -> None:
        try:
            self.ssm.delete_parameter(Name=self.name)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ParameterNotFound":
                raise

    def release(self, me: Holder) -> None:
        held = self._read()
        if held is not None and (held.host, held.pid) == (me.host, me.pid):
            self.break_lock()

    @contextmanager
    def held(self, command: str) -> Iterator[Holder]:
        """Hold the lock for the block, renewing the lease; released on every exit path."""
        me = self.acquire(command)
        stop = threading.Event()

        def renew() -> None:
            while not stop.wait(RENEW_S):
                try:
                    self._put(Holder(**{**me.__dict__, "expires": self.clock() + LEASE_S}), overwrite=True)
                except Exception as exc:  # renewal trouble shows, but does not stop the apply
                    self.warn(f"warning: could not renew the stack lock: {exc}")

        thread = threading.Thread(target=renew, name="liveinsight-lock-renewal", daemon=True)
        thread.start()
        try:
            yield me
        finally:
            stop.set()
            self.release(me)


def lock_for(engine: Any, warn: Callable[[str], None]) -> StackLock:
    return StackLock(engine.ctx.aws, naming.stack_id(engine.ctx.spec), warn)
