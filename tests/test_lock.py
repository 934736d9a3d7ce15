"""The stack lock: atomic, a lease, broken when its holder is provably gone; converged applies take none."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest

from liveinsight_infra.aws.provider import AwsProvider
from liveinsight_infra.lock import LEASE_S, StackLock, StackLocked
from tests.cli.test_cli_e2e import run
from tests.conftest import ROOT


def test_a_held_lock_refuses_a_second_holder_and_is_released(provider: AwsProvider) -> None:
    first = StackLock(provider, "liveinsight-dev")
    with first.held("apply"), pytest.raises(StackLocked, match=r"stack is locked: apply by .* pid \d+ since "):
        StackLock(provider, "liveinsight-dev").acquire("destroy")
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
    other = StackLock(provider, "liveinsight-dev", clock=lambda: now[0])
    other.ssm.put_parameter(Name=other.name, Type="String", Value=json.dumps(
        {"host": "elsewhere", "pid": 1, "command": "apply", "since": "then", "expires": now[0] + LEASE_S}))
    with pytest.raises(StackLocked):
        lock.acquire("apply")
    now[0] += LEASE_S + 1  # the holder stopped renewing
    lock.acquire("apply")
    assert "expired" in warnings[-1]
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock.break_lock()
    other.ssm.put_parameter(Name=other.name, Type="String", Value=json.dumps(
        {"host": socket.gethostname(), "pid": dead.pid, "command": "apply", "since": "now",
         "expires": now[0] + LEASE_S}))
    lock.acquire("apply")
    assert "that process is gone" in warnings[-1]


def test_a_converged_apply_takes_no_lock(moto_endpoint: str) -> None:
    assert run("apply", "specs/dev.yaml", endpoint=moto_endpoint).returncode == 0
    ssm = boto3.client("ssm", endpoint_url=moto_endpoint, region_name="us-east-1")
    ssm.put_parameter(Name="/liveinsight/liveinsight-dev/lock", Type="String", Value=json.dumps(
        {"host": "elsewhere", "pid": 1, "command": "apply", "since": "now", "expires": time.time() + 600}))
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
    ssm = boto3.client("ssm", endpoint_url=moto_endpoint, region_name="us-east-1")
    deadline = time.monotonic() + 60
    while True:  # wait until it holds the lock, then kill it mid-apply
        try:
            ssm.get_parameter(Name="/liveinsight/liveinsight-dev/lock")
            break
        except ssm.exceptions.ParameterNotFound:
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
    proc.kill()
    proc.wait()
    fresh = run("apply", "specs/dev.yaml", endpoint=moto_endpoint)
    assert fresh.returncode == 0, fresh.stderr
    assert "that process is gone" in fresh.stderr
    assert run("plan", "specs/dev.yaml", "--detailed-exitcode", endpoint=moto_endpoint).returncode == 0
