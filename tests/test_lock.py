"""The stack lock: every change of hands a conditional write, a lease, broken when its holder is provably
gone or expired (exactly one breaker wins), renewed only while still held; converged applies take none."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest

from liveinsight_infra import lock as lock_module
from liveinsight_infra.aws.provider import AwsProvider
from liveinsight_infra.errors import LiveInsightError
from liveinsight_infra.lock import LEASE_S, TABLE, StackLock, StackLocked, create_table
from tests.cli.test_cli_e2e import run
from tests.conftest import ROOT


def plant(ddb: Any, host: str, pid: int, expires: float, command: str = "apply") -> None:
    """Write a holder into the lock table as another process would have."""
    create_table(ddb)
    ddb.put_item(TableName=TABLE, Item={
        "stack": {"S": "liveinsight-dev"}, "token": {"S": f"{host}-{pid}"}, "host": {"S": host},
        "pid": {"N": str(pid)}, "command": {"S": command}, "since": {"S": "then"}, "expires": {"N": str(expires)}})


def test_a_held_lock_refuses_a_second_holder_and_is_released(provider: AwsProvider) -> None:
    first = StackLock(provider, "liveinsight-dev")
    with first.held("apply"), pytest.raises(StackLocked, match=r"stack is locked: apply by .* pid \d+ since ") as info:
        StackLock(provider, "liveinsight-dev").acquire("destroy")
    # The library is called from Python too: the way out is named for both callers.
    assert "--force-unlock" in str(info.value) and "force_unlock=True" in str(info.value)
    holder = StackLock(provider, "liveinsight-dev").acquire("destroy")  # released on exit
    assert holder.command == "destroy"


def test_the_lock_is_released_when_the_block_fails(provider: AwsProvider) -> None:
    lock = StackLock(provider, "liveinsight-dev")
    with pytest.raises(RuntimeError), lock.held("apply"):
        raise RuntimeError("boom")
    assert lock._read() is None


def test_an_expired_lease_and_a_dead_holder_are_broken_with_a_warning(provider: AwsProvider) -> None:
    warnings: list[str] = []
    now = [1000.0]
    lock = StackLock(provider, "liveinsight-dev", warn=warnings.append, clock=lambda: now[0])
    plant(provider.client("dynamodb"), host="elsewhere", pid=1, expires=now[0] + LEASE_S)
    with pytest.raises(StackLocked):
        lock.acquire("apply")
    now[0] += LEASE_S + 1  # the holder stopped renewing
    lock.acquire("apply")
    assert "expired" in warnings[-1]
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock.break_lock()
    plant(provider.client("dynamodb"), host=socket.gethostname(), pid=dead.pid, expires=now[0] + LEASE_S)
    lock.acquire("apply")
    assert "that process is gone" in warnings[-1]


def test_a_converged_apply_takes_no_lock(moto_endpoint: str) -> None:
    assert run("apply", "specs/dev.yaml", endpoint=moto_endpoint).returncode == 0
    plant(boto3.client("dynamodb", endpoint_url=moto_endpoint, region_name="us-east-1"),
          host="elsewhere", pid=1, expires=time.time() + 600)
    again = run("apply", "specs/dev.yaml", "-v", endpoint=moto_endpoint)
    assert again.returncode == 0 and "0 writes" in again.stderr  # converged: the held lock is not needed
    logs = boto3.client("logs", endpoint_url=moto_endpoint, region_name="us-east-1")
    logs.put_retention_policy(logGroupName="/aws/lambda/liveinsight-stats-api-dev", retentionInDays=30)
    refused = run("apply", "specs/dev.yaml", endpoint=moto_endpoint)
    assert refused.returncode == 1 and "stack is locked: apply by elsewhere pid 1" in refused.stderr
    forced = run("apply", "specs/dev.yaml", "--force-unlock", endpoint=moto_endpoint)
    assert forced.returncode == 0, forced.stderr


def test_two_concurrent_applies_never_duplicate_anything(moto_endpoint: str) -> None:
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda _: run("apply", "specs/dev.yaml", endpoint=moto_endpoint), range(2)))
    codes = sorted(r.returncode for r in results)
    assert codes in ([0, 0], [0, 1]), [r.stderr[-500:] for r in results]
    for r in results:
        if r.returncode == 1:
            assert re.search(r"stack is locked: apply by .* pid \d+ since", r.stderr), r.stderr
    ag = boto3.client("apigateway", endpoint_url=moto_endpoint, region_name="us-east-1")
    cf = boto3.client("cloudfront", endpoint_url=moto_endpoint, region_name="us-east-1")
    assert len(ag.get_rest_apis()["items"]) == 1
    assert len(cf.list_distributions()["DistributionList"]["Items"]) == 1
    assert run("plan", "specs/dev.yaml", "--detailed-exitcode", endpoint=moto_endpoint).returncode == 0


def test_a_holder_killed_with_sigkill_does_not_block_the_next_apply(moto_endpoint: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="t", AWS_SECRET_ACCESS_KEY="t", AWS_DEFAULT_REGION="us-east-1",
               AWS_ENDPOINT_URL=moto_endpoint)
    proc = subprocess.Popen([sys.executable, "-m", "liveinsight_infra", "apply", "specs/dev.yaml"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    ddb = boto3.client("dynamodb", endpoint_url=moto_endpoint, region_name="us-east-1")
    deadline = time.monotonic() + 60
    while True:  # wait until it holds the lock, then kill it mid-apply
        try:
            if "Item" in ddb.get_item(TableName=TABLE, Key={"stack": {"S": "liveinsight-dev"}}):
                break
        except ddb.exceptions.ResourceNotFoundException:
            pass
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    proc.kill()
    proc.wait()
    fresh = run("apply", "specs/dev.yaml", endpoint=moto_endpoint)
    assert fresh.returncode == 0, fresh.stderr
    assert "that process is gone" in fresh.stderr
    assert run("plan", "specs/dev.yaml", "--detailed-exitcode", endpoint=moto_endpoint).returncode == 0


def test_two_processes_breaking_the_same_stale_lock_cannot_both_win(provider: AwsProvider,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Forced interleaving: A reads the stale holder; before A acts, B reads the same stale holder,
    breaks it and takes the lock. A's break must fail: exactly one holder."""
    now = [1000.0]
    StackLock(provider, "liveinsight-dev", clock=lambda: now[0]).acquire("apply")  # a holder that stalls
    now[0] += LEASE_S + 1
    a = StackLock(provider, "liveinsight-dev", clock=lambda: now[0])
    b = StackLock(provider, "liveinsight-dev", clock=lambda: now[0])
    real_read = a._read

    def read_then_b_breaks_in() -> Any:
        seen = real_read()
        monkeypatch.setattr(a, "_read", real_read)
        b.acquire("destroy")  # B read the same stale holder and broke it
        return seen

    monkeypatch.setattr(a, "_read", read_then_b_breaks_in)
    with pytest.raises(StackLocked, match=r"stack is locked: destroy by "):
        a.acquire("apply")
    holder = b._read()
    assert holder is not None and holder.command == "destroy"


def test_a_lock_taken_over_after_expiry_is_not_overwritten_by_the_old_holders_renewal(
        provider: AwsProvider, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lock_module, "RENEW_S", 0.02)
    now = [1000.0]
    warnings: list[str] = []
    old = StackLock(provider, "liveinsight-dev", warn=warnings.append, clock=lambda: now[0])
    new = StackLock(provider, "liveinsight-dev", clock=lambda: now[0])
    with pytest.raises(StackLocked, match="taken over by another process"), old.held("apply"):
        now[0] += LEASE_S + 1  # the old holder paused longer than its lease
        new.acquire("destroy")
        # Wait for the old holder's renewal to have run and found the lock gone (a fixed sleep let a
        # loaded machine check before any renewal ran); the deadline only bounds a hang.
        deadline = time.monotonic() + 30
        while not any("lost" in w for w in warnings):
            assert time.monotonic() < deadline, "the old holder never tried to renew"
            time.sleep(0.01)
        holder = new._read()
        assert holder is not None and holder.command == "destroy", "the old holder's renewal overwrote the lock"
    holder = new._read()
    assert holder is not None and holder.command == "destroy", "the old holder's release deleted the new lock"
    assert any("lost" in w for w in warnings), warnings


class DenyAll:
    """Answer every call with AccessDenied (the deployer lacks the lock's permissions)."""

    def __call__(self, request: Any, event_name: str, **kwargs: Any) -> Any:
        from tests.faults import PROTOCOLS, _divert, error_response

        service = event_name.split(".")[1]
        url = request.url
        _divert(request)
        return error_response(PROTOCOLS[service], service, url, "AccessDeniedException", "not authorized")


@pytest.mark.parametrize("step", ["acquire", "release", "break"])
def test_the_locks_aws_errors_are_friendly(provider: AwsProvider, step: str) -> None:
    lock = StackLock(provider, "liveinsight-dev")
    holder = lock.acquire("apply") if step == "release" else None
    provider.register("before-send.*.*", DenyAll(), first=True)
    with pytest.raises(LiveInsightError, match=r"stack lock .*AccessDenied.*\n  hint: .*deployer-policy.json"):
        if step == "acquire":
            lock.acquire("apply")
        elif step == "release":
            assert holder is not None
            lock.release(holder)
        else:
            lock.break_lock()
