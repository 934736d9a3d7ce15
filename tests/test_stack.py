"""The library's entry point, ``Stack``: the CLI's guarantees (lock, plan again under it, outputs) for programs."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest

from liveinsight_infra import Event, LiveInsightError, Stack, StackBusy, StackClosed, StackLocked, StackNotFound
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


def test_a_closed_moto_stack_refuses_every_call_and_never_reaches_the_environments_aws(
        moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """After close, the embedded moto is gone: a call must not fall through to the AWS the
    environment points at (here a moto server standing in for a real account)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    stack = Stack.from_file(DEV, moto=True)
    stack.close()
    calls: list[Callable[[], object]] = [stack.plan, stack.apply, stack.destroy, stack.rollback, stack.outputs,
                                         stack.releases, stack.__enter__]
    for call in calls:
        with pytest.raises(StackClosed, match="closed"):
            call()
    real = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=moto_endpoint)
    assert real.list_tables()["TableNames"] == []
    stack.close()  # closing twice is harmless, as for a file


def test_a_raising_progress_callback_neither_fails_changes_nor_stops_the_run(
        moto_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    """The callback's exception reaches the caller as raised, once the run is done: changes that
    succeeded are not reported failed, and the stack is not left half-applied."""
    seen: list[str] = []

    def broken(event: Event) -> None:
        seen.append(event.type)
        if event.type == "change-done":
            raise KeyError("the caller's bug")

    stack = Stack.from_file(DEV, events=broken)
    with pytest.raises(KeyError, match="the caller's bug"):
        stack.apply()
    assert seen.count("change-done") == 1  # a broken callback gets no further events
    assert Stack.from_file(DEV).plan().empty  # every change ran
    assert capsys.readouterr() == ("", "")
    seen.clear()
    assert stack.plan().empty and seen == []  # the next call delivers events again (none for a plan)
    with pytest.raises(KeyError, match="the caller's bug"):
        stack.destroy(force=True)
    assert seen.count("change-done") == 1
    with pytest.raises(StackNotFound):  # and the destroy went through to the end
        stack.outputs()


def test_rollback_takes_a_release_number_as_releases_gives_it(moto_env: None, project_copy: Path) -> None:
    spec = project_copy / "specs" / "dev.yaml"
    stack = Stack.from_file(spec)
    stack.apply()
    handler = project_copy / "handlers" / "stats_api.py"
    handler.write_text(handler.read_text() + "\n# v2\n")
    stack.apply()
    first = stack.releases()[0]
    assert stack.rollback(to=first.number).target == first
    with pytest.raises(LiveInsightError, match="no release '0'"):
        stack.rollback(to=0)
    with pytest.raises(LiveInsightError, match="no release ''"):
        stack.rollback(to="")  # never read as "the previous one"


def test_one_stack_runs_one_call_at_a_time(moto_env: None) -> None:
    """A second thread using the same Stack mid-apply is refused, not interleaved with it."""
    started, release = threading.Event(), threading.Event()

    def pause(event: Event) -> None:
        if event.type == "change-start" and not started.is_set():
            started.set()
            # Released in the test's finally, so this never hangs; a short timeout would let the apply
            # go on while a slow (loaded) machine is still checking that the second call is refused.
            release.wait(600)

    stack = Stack.from_file(DEV, events=pause)
    worker = threading.Thread(target=stack.apply)
    worker.start()
    try:
        assert started.wait(60)
        with pytest.raises(StackBusy, match="apply"):
            stack.plan()
    finally:
        release.set()
        worker.join(120)
    assert stack.plan().empty


def test_each_call_builds_the_code_and_the_site_afresh(moto_env: None, project_copy: Path) -> None:
    """One Stack kept across edits (a watcher, a notebook) deploys what is on disk now."""
    stack = Stack.from_file(project_copy / "specs" / "dev.yaml")
    stack.apply()
    handler = project_copy / "handlers" / "stats_api.py"
    handler.write_text(handler.read_text() + "\n# v2\n")
    page = project_copy / "site" / "dashboard.html"
    page.write_text(page.read_text() + "\n<!-- v2 -->\n")
    changed = {c.address for c in stack.plan()}
    assert {"lambda.function.liveinsight-stats-api-dev", "s3.object.dashboard.html"} <= changed


def test_destroy_and_rollback_of_a_stack_that_does_not_exist_write_nothing(moto_env: None) -> None:
    """A typo in the region must not leave a lock table behind in that region."""
    stack = Stack.from_file(DEV)
    assert stack.destroy().plan.empty
    with pytest.raises(StackNotFound):
        stack.rollback()
    assert boto3.client("dynamodb", region_name="us-east-1").list_tables()["TableNames"] == []


def test_moto_stacks_open_together_leave_the_environment_as_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    """The embedded moto patches the process (AWS_* variables, botocore): stacks that overlap share it,
    and closing them in any order gives the process back its own endpoint and credentials."""
    import os

    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "mine")
    first = Stack.from_file(DEV, moto=True)
    second = Stack.from_file(DEV, moto=True)
    first.apply()
    first.close()
    assert "AWS_ENDPOINT_URL" not in os.environ  # the second still runs on the embedded moto
    assert second.plan().empty  # the same moto, still there
    second.close()
    assert (os.environ.get("AWS_ENDPOINT_URL"), os.environ.get("AWS_ACCESS_KEY_ID")) == ("http://127.0.0.1:9", "mine")


def test_two_stacks_applying_at_once_the_second_is_refused_naming_the_first(moto_env: None) -> None:
    import os
    import socket

    started, release = threading.Event(), threading.Event()

    def pause(event: Event) -> None:
        if event.type == "change-start" and not started.is_set():
            started.set()
            # Released in the test's finally, so this never hangs; a short timeout would let the apply
            # go on while a slow (loaded) machine is still checking that the second call is refused.
            release.wait(600)

    first, second = Stack.from_file(DEV, events=pause), Stack.from_file(DEV)
    done: list[object] = []
    worker = threading.Thread(target=lambda: done.append(first.apply()))
    worker.start()
    try:
        assert started.wait(60)
        for write in (second.apply, second.destroy):
            with pytest.raises(StackLocked, match=f"apply by {socket.gethostname()} pid {os.getpid()} since"):
                write()
    finally:
        release.set()
        worker.join(120)
    assert len(done) == 1 and second.plan().empty  # the first ran to the end, untouched by the second


def test_an_apply_that_creates_the_lock_table_does_not_read_the_stack_again_under_it(moto_env: None) -> None:
    """The lock table did not exist, this apply made it (ACTIVE at once, as moto answers) and took the
    lock with its next call: no other apply can have held the lock, so the plan's reads still hold."""
    stack = Stack.from_file(DEV)
    counter = stack.context.aws.counter
    plan = stack.plan()
    planned = counter.reads
    counter.reset()
    applied = stack.apply()
    assert applied.plan.counts()["create"] == len(plan)
    assert counter.reads <= planned + 15, counter.calls  # one round of reads, not two (with the creates' own)
    assert stack.plan().empty


def test_an_apply_that_finds_the_lock_table_reads_the_stack_again_under_the_lock(moto_env: None) -> None:
    create_table(boto3.client("dynamodb", region_name="us-east-1"))
    stack = Stack.from_file(DEV)
    counter = stack.context.aws.counter
    stack.plan()
    planned = counter.reads
    counter.reset()
    stack.apply()
    assert counter.reads >= 2 * planned, counter.calls  # the plan's reads, then again under the lock
