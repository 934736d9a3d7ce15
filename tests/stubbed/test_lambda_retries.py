"""Behaviour moto cannot show (everything is instantly ready there): tested with botocore's Stubber."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import ANY

from liveinsight_infra.diff import diff_state
from liveinsight_infra.errors import AwsCallError
from liveinsight_infra.reconcilers.base import Observed
from liveinsight_infra.reconcilers.lambda_ import FunctionReconciler
from tests.stubbed.conftest import stubbed

NAME = "liveinsight-stats-api-dev"
NOT_ASSUMABLE = "The role defined for the function cannot be assumed by Lambda."


@pytest.fixture
def setup() -> Any:
    yield from stubbed(FunctionReconciler, "lambda")


def desired(r: FunctionReconciler) -> dict[str, Any]:
    outputs = {"iam.role": {"liveinsight-stats-api-dev": {
        "arn": "arn:aws:iam::123456789012:role/liveinsight-dev/liveinsight-stats-api-dev"}}}
    return r.desired(NAME, outputs)


def test_create_retries_while_the_role_propagates(setup: Any) -> None:
    r, stub, sleeps, events = setup
    for _ in range(2):
        stub.add_client_error("create_function", "InvalidParameterValueException", NOT_ASSUMABLE)
    stub.add_response("create_function", {"FunctionName": NAME})
    stub.add_response("get_function", {"Configuration": {"State": "Active"}})  # waiter
    stub.add_response("publish_version", {"Version": "1"}, {"FunctionName": NAME, "CodeSha256": ANY})
    stub.add_response("create_alias", {"Name": "live"}, {"FunctionName": NAME, "Name": "live",
                                                         "FunctionVersion": "1", "Description": ANY})
    obs = r.create(NAME, desired(r))
    assert obs.meta["live_version"] == "1"
    assert sleeps == [1.0, 2.0]  # bounded exponential backoff, injectable sleep
    assert [e.type for e in events] == ["retry", "retry"]
    assert "iam-propagation" in events[0].message


def test_create_gives_up_after_the_deadline_with_a_clear_error(setup: Any) -> None:
    r, stub, sleeps, _ = setup
    # Delays 1, 2, 4, 8, then 10 s each while the total stays within the 180 s deadline: 20 sleeps.
    for _ in range(21):
        stub.add_client_error("create_function", "InvalidParameterValueException", NOT_ASSUMABLE)
    with pytest.raises(AwsCallError) as info:
        r.create(NAME, desired(r))
    assert info.value.operation == "CreateFunction"
    assert NAME in str(info.value) and "cannot be assumed" in str(info.value)
    assert sleeps[:5] == [1.0, 2.0, 4.0, 8.0, 10.0] and len(sleeps) == 20
    assert sum(sleeps) <= 180


def test_a_permanent_error_fails_fast(setup: Any) -> None:
    r, stub, sleeps, _ = setup
    stub.add_client_error("create_function", "AccessDeniedException",
                          "User is not authorized to perform: lambda:CreateFunction")
    with pytest.raises(AwsCallError) as info:
        r.create(NAME, desired(r))
    assert sleeps == []
    assert info.value.code == "AccessDeniedException"
    assert "lambda.function liveinsight-stats-api-dev: CreateFunction failed" in str(info.value)
    assert "hint:" in str(info.value)


def test_update_waits_between_code_and_configuration_and_retries_conflicts(setup: Any) -> None:
    r, stub, sleeps, _ = setup
    want = desired(r)
    current = Observed({**want, "code_sha256": "old", "memory_mb": 512, "live_alias": "current"},
                       {"arn": f"arn:aws:lambda:us-east-1:123456789012:function:{NAME}", "live_version": "3"})
    stub.add_response("update_function_code", {"FunctionName": NAME})
    stub.add_response("get_function", {"Configuration": {"LastUpdateStatus": "InProgress"}})
    stub.add_response("get_function", {"Configuration": {"LastUpdateStatus": "Successful"}})
    stub.add_client_error("update_function_configuration", "ResourceConflictException",
                          "The operation cannot be performed at this time. An update is in progress")
    stub.add_response("update_function_configuration", {"FunctionName": NAME},
                      {"FunctionName": NAME, "Runtime": "python3.12", "Role": ANY, "Handler": ANY,
                       "Description": ANY, "Timeout": 10, "MemorySize": 128, "Environment": ANY})
    stub.add_response("get_function", {"Configuration": {"LastUpdateStatus": "Successful"}})
    stub.add_response("publish_version", {"Version": "4"})
    stub.add_response("update_alias", {"Name": "live"}, {"FunctionName": NAME, "Name": "live",
                                                         "FunctionVersion": "4"})
    obs = r.update(NAME, want, current, diff_state(want, current.state))  # as the engine calls it
    assert obs.meta["live_version"] == "4"
    assert sleeps == [1.0]
