"""The library's entry point, ``Stack``: the CLI's guarantees (lock, plan again under it, outputs) for programs."""

from __future__ import annotations

import time
from pathlib import Path

import boto3
import pytest

from liveinsight_infra import Event, LiveInsightError, Stack, StackLocked, StackNotFound
from liveinsight_infra.lock import TABLE, create_table
from tests.conftest import DEV, PROD

FOREIGN_LOCK = {"host": "elsewhere", "pid": 1, "command": "apply", "since": "now"}


def hold_lock_elsewhere(stack: str = "liveinsight-dev") -> None:
    """A live holder in the lock table, as another machine's apply would leave it."""
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    create_table(ddb)
    ddb.put_item(TableName=TABLE, Item={
        "stack": {"S": stack}, "token": {"S": "elsewhere-1"}, "host": {"S": FOREIGN_LOCK["host"]},
        "pid": {"N": str(FOREIGN_LOCK["pid"])}, "command": {"S": FOREIGN_LOCK["command"]},
        "since": {"S": FOREIGN_LOCK["since"]}, "expires": {"N": str(time.time() + 600)}})


def test_plan_apply_outputs_through_events_and_never_printing(moto_env: None,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    events: list[Event] = []
    stack = Stack.from_file(DEV, events=events.append)
    with pytest.raises(StackNotFound, match="run apply first"):
        stack.outputs()
    plan = stack.plan()
    assert not plan.empty and plan.to_json()["summary"]["create"] == len(plan)
    result = stack.apply()
    assert result.plan.counts()["create"] == len(plan)
    done = [e.change.address for e in events if e.type == "change-done" and e.change is not None]
    assert sorted(done) == sorted(c.address for c in result.plan)  # changes run concurrently: any order
    assert [e.plan for e in events if e.type == "plan"] == [result.plan]
    assert stack.plan().empty
    outputs = stack.outputs()
    assert outputs["stack"] == "liveinsight-dev" and outputs["api_url"] == result.outputs["api_url"]
    assert [r.number for r in stack.releases()] == [1]
    assert capsys.readouterr() == ("", "")


def test_every_writing_method_takes_the_lock_and_names_its_holder(moto_env: None) -> None:
    stack = Stack.from_file(DEV)
    stack.apply()
    hold_lock_elsewhere()
    assert stack.apply().plan.empty  # converged: no write, so the held lock is not needed
    boto3.client("logs", region_name="us-east-1").put_retention_policy(
        logGroupName="/aws/lambda/liveinsight-stats-api-dev", retentionInDays=30)
    for write in (stack.apply, stack.destroy, stack.rollback):
        with pytest.raises(StackLocked, match="stack is locked: apply by elsewhere pid 1"):
            write()
    result = stack.apply(force_unlock=True)
    assert [c.address for c in result.plan] == ["logs.log_group./aws/lambda/liveinsight-stats-api-dev"]


def test_rollback_takes_the_lock_then_rolls_back(moto_env: None, project_copy: Path) -> None:
    spec = project_copy / "specs" / "dev.yaml"
    Stack.from_file(spec).apply()
    handler = project_copy / "handlers" / "stats_api.py"
    handler.write_text(handler.read_text() + "\n# v2\n")
    stack = Stack.from_file(spec)
    stack.apply()
    hold_lock_elsewhere()
    with pytest.raises(StackLocked, match="elsewhere pid 1"):
        stack.rollback()
    assert [r.current for r in stack.releases()] == [False, True]  # nothing was rolled back
    done = stack.rollback(force_unlock=True)
    assert (done.target.number, done.returning) == (1, False)
    assert [r.current for r in stack.releases()] == [True, False]


def test_destroy_asks_the_callers_confirmation_and_keeps_data_unless_forced(moto_env: None) -> None:
    stack = Stack.from_file(DEV)
    stack.apply()
    asked: list[int] = []

    def refuse(plan: object) -> bool:
        asked.append(len(plan))  # type: ignore[arg-type]
        return False

    with pytest.raises(LiveInsightError, match="cancelled"):
        stack.destroy(confirm=refuse)
    assert asked and stack.plan().empty  # nothing was deleted
    stack.destroy()
    with pytest.raises(StackNotFound):
        stack.outputs()


def test_outputs_show_the_api_key_only_when_asked(moto_env: None) -> None:
    stack = Stack.from_file(PROD)
    stack.apply()
    hidden = stack.outputs()
    assert hidden["api_key"].startswith("(hidden")
    shown = stack.outputs(show_secrets=True)
    key_id = shown["api_key_id"]
    value = boto3.client("apigateway", region_name="us-east-1").get_api_key(apiKey=key_id, includeValue=True)["value"]
    assert shown["api_key"] == value
