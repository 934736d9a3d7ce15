"""The stack lock: one writer at a time, as a lease on an item of a small DynamoDB table.

Every change of hands is one conditional write, so two processes can never both hold the lock
(the way Terraform's S3 backend uses a DynamoDB lock table:
https://developer.hashicorp.com/terraform/language/backend/s3#dynamodb-state-locking):

* take a free lock:   ``PutItem`` if no item exists for the stack;
* break a stale lock: ``PutItem`` if the item still carries the token of the holder read as stale,
  so of two processes that read the same stale holder exactly one wins;
* renew the lease:    ``UpdateItem`` if the item still carries our token; when it does not, the
  lease had expired and another process took the lock: the renewal stops and the holder is told;
* release:            ``DeleteItem`` if the item still carries our token.

(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html)

The table (``liveinsight-infra-locks``, one item per stack, on demand) is account setup in the
region, created on first use so the lock works before any stack exists, and shared by every stack:
destroy keeps it and leaves no item behind. A holder on this host whose process is gone is broken at
once, with a warning; an expired lease is broken with a warning; ``--force-unlock`` breaks any
lock. A converged apply takes no lock at all: plan with reads, lock only when there is something
to write, then read again under the lock. AWS errors become :class:`AwsCallError` (no traceback).
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from . import interrupt, naming
from .aws.provider import AwsProvider
from .errors import LiveInsightError, from_client_error
from .errors import LockLost as LockLost  # raised here; defined with the other errors (a light import)
from .errors import StackLocked as StackLocked

LEASE_S = 120.0
RENEW_S = 30.0
TABLE = "liveinsight-infra-locks"
KEY = "stack"


@dataclass(frozen=True)
class Holder:
    host: str
    pid: int
    command: str
    since: str
    expires: float
    token: str = ""

    def describe(self) -> str:
        return f"{self.command} by {self.host} pid {self.pid} since {self.since}"


def _me(command: str, now: float) -> Holder:
    return Holder(socket.gethostname(), os.getpid(), command, datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
                  now + LEASE_S, uuid.uuid4().hex)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def create_table(ddb: Any) -> bool:
    """Create the lock table if it is missing, and wait until it is ACTIVE (first use only). True when
    this call created it and its answer already said ACTIVE (then no wait, no read)."""
    try:
        made = ddb.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                                AttributeDefinitions=[{"AttributeName": KEY, "AttributeType": "S"}],
                                KeySchema=[{"AttributeName": KEY, "KeyType": "HASH"}],
                                Tags=[{"Key": naming.TAG_MANAGED_BY, "Value": naming.MANAGED_BY}])
    except ClientError as exc:
        if _code(exc) != "ResourceInUseException":  # another process created it meanwhile
            raise
    else:
        if made.get("TableDescription", {}).get("TableStatus") == "ACTIVE":
            return True
    ddb.get_waiter("table_exists").wait(TableName=TABLE, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    return False


class StackLock:
    def __init__(self, aws: AwsProvider, stack: str, warn: Callable[[str], None] = lambda _m: None,
                 clock: Callable[[], float] = time.time, renew_s: float | None = None):
        self.ddb = aws.client("dynamodb")
        self.stack = stack
        self.warn, self.clock, self.renew_s = warn, clock, renew_s
        self.lost = threading.Event()  # set when a renewal finds that another process holds the lock
        # Set by acquire: the lock table did not exist, this process created it (ACTIVE in its answer)
        # and took the lock with its very next call. No other process can have held the lock before,
        # so nothing was written since a plan made before acquire (``Stack.apply`` reads no more).
        self.first_holder = False

    # -- AWS calls, each translated into a friendly error ------------------------------------
    @contextlib.contextmanager
    def _calling(self, operation: str, expected: tuple[str, ...] = ()) -> Iterator[None]:
        """AWS errors become AwsCallError; codes in ``expected`` are re-raised for the caller."""
        try:
            yield
        except ClientError as exc:
            if _code(exc) in expected:
                raise
            raise from_client_error(f"stack lock {TABLE}[{self.stack}]", operation, exc) from exc
        except BotoCoreError as exc:
            raise LiveInsightError(f"stack lock {TABLE}[{self.stack}]: {operation} failed: {exc}") from exc

    def _key(self) -> dict[str, Any]:
        return {KEY: {"S": self.stack}}

    def _item(self, h: Holder) -> dict[str, Any]:
        return {KEY: {"S": self.stack}, "token": {"S": h.token}, "host": {"S": h.host}, "pid": {"N": str(h.pid)},
                "command": {"S": h.command}, "since": {"S": h.since}, "expires": {"N": repr(h.expires)}}

    def holder(self) -> Holder | None:
        """Who holds the lock (live or not), read without taking it; None when nobody does."""
        return self._read()

    def _read(self) -> Holder | None:
        try:
            with self._calling("GetItem", expected=("ResourceNotFoundException",)):
                item = self.ddb.get_item(TableName=TABLE, Key=self._key(), ConsistentRead=True).get("Item")
        except ClientError:
            return None  # no table yet: nobody holds the lock
        if not item:
            return None
        try:
            return Holder(item["host"]["S"], int(item["pid"]["N"]), item["command"]["S"], item["since"]["S"],
                          float(item["expires"]["N"]), item["token"]["S"])
        except (KeyError, ValueError):  # unreadable: treat as expired, but keep its token to break it
            return Holder("?", 0, "?", "?", 0.0, str(item.get("token", {}).get("S", "")))

    def _put(self, me: Holder, replacing: Holder | None, first_try: bool = True) -> bool:
        """One conditional write: take the lock if free (``replacing`` None) or if it still carries
        the token of ``replacing``. False when the condition fails (somebody else was first)."""
        if replacing is None:
            cond: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(#k)",
                                    "ExpressionAttributeNames": {"#k": KEY}}
        else:
            cond = {"ConditionExpression": "#t = :seen", "ExpressionAttributeNames": {"#t": "token"},
                    "ExpressionAttributeValues": {":seen": {"S": replacing.token}}}
        missing = ("ResourceNotFoundException",) if first_try else ()
        try:
            with self._calling("PutItem", expected=("ConditionalCheckFailedException", *missing)):
                self.ddb.put_item(TableName=TABLE, Item=self._item(me), **cond)
            return True
        except ClientError as exc:
            if _code(exc) == "ResourceNotFoundException":  # first use in this account and region
                with self._calling("CreateTable"):
                    created = create_table(self.ddb)
                taken = self._put(me, replacing, first_try=False)
                self.first_holder = created and taken and replacing is None
                return taken
            return False

    # -- the lock --------------------------------------------------------------------------------
    def acquire(self, command: str) -> Holder:
        self.first_holder = False
        for _ in range(3):
            me = _me(command, self.clock())
            if self._put(me, None):
                return me
            held = self._read()
            if held is None:
                continue  # released meanwhile
            if held.host == socket.gethostname() and held.pid and not _alive(held.pid):
                why = f"warning: breaking the lock of {held.describe()}: that process is gone"
            elif held.expires < self.clock():
                why = f"warning: breaking the expired lock of {held.describe()}"
            else:
                raise StackLocked(f"stack is locked: {held.describe()}. Wait for it to finish; if it crashed, the "
                                  f"lock expires by itself within {LEASE_S:.0f}s, or break it: "
                                  "--force-unlock on the command line, force_unlock=True from Python.")
            if self._put(me, held):  # only if nobody broke it first
                self.warn(why)
                return me
        raise StackLocked("could not take the stack lock (it changed hands three times); try again")

    def renew(self, me: Holder) -> bool:
        """Extend our lease, only while the lock is still ours; False (and ``lost`` set) otherwise."""
        try:
            with self._calling("UpdateItem", expected=("ConditionalCheckFailedException",)):
                self.ddb.update_item(TableName=TABLE, Key=self._key(), UpdateExpression="SET #e = :e",
                                     ConditionExpression="#t = :mine",
                                     ExpressionAttributeNames={"#e": "expires", "#t": "token"},
                                     ExpressionAttributeValues={":e": {"N": repr(self.clock() + LEASE_S)},
                                                                ":mine": {"S": me.token}})
            return True
        except ClientError:
            self.lost.set()
            return False

    def break_lock(self) -> None:
        """Delete the lock whoever holds it (``--force-unlock``)."""
        try:
            with self._calling("DeleteItem", expected=("ResourceNotFoundException",)):
                self.ddb.delete_item(TableName=TABLE, Key=self._key())
        except ClientError:
            pass  # no table: no lock

    def release(self, me: Holder) -> None:
        try:
            with self._calling("DeleteItem", expected=("ConditionalCheckFailedException",
                                                       "ResourceNotFoundException")):
                self.ddb.delete_item(TableName=TABLE, Key=self._key(), ConditionExpression="#t = :mine",
                                     ExpressionAttributeNames={"#t": "token"},
                                     ExpressionAttributeValues={":mine": {"S": me.token}})
        except ClientError:
            self.lost.set()  # somebody else holds it now: theirs is left alone

    @contextmanager
    def held(self, command: str) -> Iterator[Holder]:
        """Hold the lock for the block, renewing the lease; released on every exit path. When the
        lease was lost to another process meanwhile, the block's end raises :class:`LockLost`."""
        me = self.acquire(command)
        self.lost.clear()
        stop = threading.Event()

        def renew() -> None:
            while not stop.wait(RENEW_S if self.renew_s is None else self.renew_s):
                try:
                    if not self.renew(me):
                        taken = self._read()
                        by = taken.describe() if taken else "nobody (it was broken)"
                        self.warn(f"warning: the stack lock was lost (its lease expired); now held by {by}")
                        return
                except LiveInsightError as exc:  # renewal trouble shows, but does not stop the apply
                    self.warn(f"warning: could not renew the stack lock: {exc}")

        thread = threading.Thread(target=renew, name="liveinsight-lock-renewal", daemon=True)
        thread.start()
        failed = True
        try:
            yield me
            failed = False
        finally:
            stop.set()
            thread.join(timeout=5)
            self.release(me)
            if not self.lost.is_set():
                interrupt.note_lock_released()  # reported if a signal stopped the run
        if self.lost.is_set() and not failed:
            raise LockLost("the stack lock was taken over by another process while this command ran (its lease "
                           f"of {LEASE_S:.0f}s expired without renewal): run plan to see where the stack stands")
