"""The account setting's reads: the setting and our role's two reads go out together."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from liveinsight_infra.aws.provider import AwsProvider
from liveinsight_infra.errors import LiveInsightError
from tests.conftest import apply_spec, make_engine

READS = {"GetAccount", "GetRole", "GetRolePolicy"}


def hold_until_all_in_flight(provider: AwsProvider, operations: set[str]) -> list[str]:
    """Every call of ``operations`` waits until one of each is in flight (sequential reads break it)."""
    seen: list[str] = []
    barrier = threading.Barrier(len(operations), timeout=20)

    def hold(model: Any, **_: Any) -> None:
        if model.name in operations:
            seen.append(model.name)
            barrier.wait()
    provider.register("before-call.*.*", hold)
    return seen


def test_the_setting_and_our_role_are_read_in_one_round(provider: AwsProvider) -> None:
    apply_spec(provider)
    assert "apigateway.account" not in {c.resource for c in make_engine(provider).plan()}  # converged
    seen = hold_until_all_in_flight(provider, READS)
    observed = make_engine(provider).reconciler("apigateway.account").observe()["cloudwatch-role"]
    assert sorted(seen) == sorted(READS)
    assert observed.meta["ours"] is True
    assert observed.state["policy"] is not None and observed.state["trust"] is not None


def test_someone_else_s_setting_ignores_what_our_role_s_reads_say(provider: AwsProvider) -> None:
    ag = provider.client("apigateway")
    theirs = "arn:aws:iam::123456789012:role/platform-apigw-logs"
    ag.update_account(patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": theirs}])

    def refuse(model: Any, **_: Any) -> None:
        if model.name in ("GetRole", "GetRolePolicy"):
            raise LiveInsightError("not allowed")
    provider.register("before-call.iam.*", refuse)
    observed = make_engine(provider).reconciler("apigateway.account").observe()
    assert observed["cloudwatch-role"].meta == {"arn": theirs, "ours": False}


def test_our_setting_reports_our_role_s_read_error(provider: AwsProvider) -> None:
    apply_spec(provider)

    def refuse(model: Any, **_: Any) -> None:
        if model.name == "GetRole":
            raise LiveInsightError("GetRole refused")
    provider.register("before-call.iam.*", refuse)
    with pytest.raises(LiveInsightError, match="GetRole refused"):
        make_engine(provider).reconciler("apigateway.account").observe()
