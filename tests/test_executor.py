"""The plan runs as a dependency graph: what may run together does, what may not waits, failures are all reported."""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

import pytest

from liveinsight_infra import executor
from liveinsight_infra.aws.provider import AwsProvider
from liveinsight_infra.errors import AwsCallError
from liveinsight_infra.executor import ChangesFailed, Limits, closure, dependencies, run_graph
from liveinsight_infra.plan import Action, Change
from liveinsight_infra.reconcilers.registry import ordered_kinds
from tests.conftest import make_engine
from tests.faults import Deny

KINDS = {"a.x": [], "b.y": ["a.x"], "c.z": ["b.y"], "d.w": []}


def ch(kind: str, name: str, action: Action = Action.CREATE) -> Change:
    return Change(action, kind, name)


def test_a_change_waits_for_every_change_of_the_kinds_it_needs_even_through_a_kind_without_changes() -> None:
    changes = [ch("a.x", "1"), ch("a.x", "2"), ch("c.z", "1"), ch("d.w", "1")]
    deps = dependencies(changes, KINDS)
    assert deps == [set(), set(), {0, 1}, set()]  # c.z needs b.y (no change here), which needs a.x


def test_destroy_reverses_the_edges() -> None:
    changes = [ch("c.z", "1", Action.DELETE), ch("b.y", "1", Action.DELETE), ch("a.x", "1", Action.DELETE)]
    assert dependencies(changes, KINDS, reverse=True) == [set(), {0}, {0, 1}]


def test_a_delete_in_an_apply_waits_for_the_changes_of_the_kinds_that_use_it() -> None:
    """A web ACL the spec no longer wants is deleted only after the distribution that names it has
    been updated to let go of it: AWS refuses to delete what is still in use."""
    changes = [ch("a.x", "old", Action.DELETE), ch("a.x", "new"), ch("b.y", "1", Action.UPDATE),
               ch("c.z", "1", Action.UPDATE)]
    deps = dependencies(changes, KINDS)
    assert deps[0] == {2, 3}  # after every change of the kinds that need a.x, directly or not
    assert deps[1] == set() and deps[2] == {1} and deps[3] == {1, 2}  # the others wait for no delete


def test_a_cycle_is_refused() -> None:
    with pytest.raises(RuntimeError, match="cycle"):
        closure({"a": ["b"], "b": ["a"]})


def test_the_registry_kinds_form_no_cycle() -> None:
    needs = closure({k.kind: k.depends_on for k in ordered_kinds()})
    assert "lambda.function" in needs["apigateway.stage"] and "iam.role" in needs["cloudfront.distribution"]


def test_independent_changes_run_at_the_same_time_and_dependants_after() -> None:
    changes = [ch("a.x", "1"), ch("d.w", "1"), ch("b.y", "1")]
    # Breaks (and fails the run) unless both run at once; 30 s only bounds the wait on a loaded machine.
    together = threading.Barrier(2, timeout=30)
    log: list[str] = []

    def run(c: Change) -> None:
        log.append(f"start {c.address}")
        if c.resource != "b.y":
            together.wait()
        log.append(f"done {c.address}")

    run_graph(changes, dependencies(changes, KINDS), run)
    assert log.index("start b.y.1") > log.index("done a.x.1")


def test_concurrency_stays_within_the_per_service_limit() -> None:
    changes = [ch("apigateway.thing", str(i)) for i in range(6)] + [ch("logs.group", str(i)) for i in range(6)]
    lock = threading.Lock()
    now = {"apigateway": 0, "logs": 0, "all": 0}
    peak = dict(now)
    # The first changes hold on until five run at once, so the peaks are reached however slowly the
    # threads start (with a sleep alone, a loaded machine can let one finish before the fifth starts); the
    # wait only bounds a hang: an executor that never runs five at once fails the peak check below.
    five_running = threading.Event()

    def run(c: Change) -> None:
        svc = c.resource.split(".")[0]
        with lock:
            for k in (svc, "all"):
                now[k] += 1
                peak[k] = max(peak[k], now[k])
            if now["all"] == 5:
                five_running.set()
        if not five_running.wait(30):
            five_running.set()  # report the missing peak once, not after every change's wait
        time.sleep(0.05)  # the later changes overlap too: the limits are checked on them as well
        with lock:
            now[svc] -= 1
            now["all"] -= 1

    run_graph(changes, [set() for _ in changes], run, Limits(overall=5, per_service={"apigateway": 2}))
    assert peak["apigateway"] == 2 and peak["logs"] >= 3
    assert peak["all"] == 5


def test_after_a_failure_nothing_new_starts_running_ones_finish_and_every_failure_is_reported(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # d.w.2 needs nothing, but only three changes may run at once: it would start once a slot frees.
    changes = [ch("a.x", "1"), ch("a.x", "2"), ch("d.w", "1"), ch("b.y", "1"), ch("d.w", "2")]
    both_running = threading.Barrier(3, timeout=30)  # 30 s only bounds the wait on a loaded machine
    finished: list[str] = []
    # d.w.1 finishes only once the executor has been handed a failure. A fixed sleep here could lose the
    # race when a loaded machine stalled a.x: d.w.1 finished first, and d.w.2 rightly took its slot.
    failure_seen = threading.Event()
    real_wait = executor.wait

    def wait_noting_failures(fs: Any, **kwargs: Any) -> Any:
        finished_futures, rest = real_wait(fs, **kwargs)
        if any(f.exception() is not None for f in finished_futures):
            failure_seen.set()
        return finished_futures, rest

    monkeypatch.setattr(executor, "wait", wait_noting_failures)

    def run(c: Change) -> None:
        if c.address in ("b.y.1", "d.w.2"):
            finished.append(c.address)
            return
        both_running.wait()
        if c.resource == "a.x":
            raise ValueError(f"{c.name} broke")
        assert failure_seen.wait(30)  # still running when the failures arrive: it must be let finish
        finished.append(c.address)

    with pytest.raises(ChangesFailed) as info:
        run_graph(changes, dependencies(changes, KINDS), run, Limits(overall=3))
    assert [c.address for c, _ in info.value.failures] == ["a.x.1", "a.x.2"]
    assert "a.x.1: 1 broke" in str(info.value) and "a.x.2: 2 broke" in str(info.value)
    assert finished == ["d.w.1"]  # b.y needed a.x; d.w.2 was not started after the failure


def test_a_single_failure_is_raised_as_itself() -> None:
    def run(c: Change) -> None:
        raise KeyError(c.name)

    with pytest.raises(KeyError):
        run_graph([ch("a.x", "1")], [set()], run)


def test_two_concurrent_changes_fail_both_are_reported_and_the_next_apply_finishes(moto_endpoint: str) -> None:
    # Against the moto server calls really overlap (the embedded moto takes them one at a time).
    provider = AwsProvider("us-east-1", endpoint_url=moto_endpoint)
    deny = Deny("CreateRole")  # the functions' three roles and the API's log role: all fail
    # The functions' roles wait for their permissions boundary; the API's log role does not. Hold
    # each CreateRole until all four are in flight, so the failures are concurrent on a loaded
    # machine too (otherwise the first may fail before the others start, and stop them starting).
    together = threading.Barrier(4, timeout=30)

    def deny_together(request: Any, event_name: str, **kwargs: Any) -> Any:
        if event_name.endswith(".CreateRole") and deny.operation == "CreateRole":
            with contextlib.suppress(threading.BrokenBarrierError):  # then the assertions below fail
                together.wait()
        return deny(request, event_name, **kwargs)

    provider.register("before-send.*.*", deny_together, first=True)
    events: list[Any] = []
    engine = make_engine(provider, emit=events.append)
    with pytest.raises(ChangesFailed) as info:
        engine.apply(engine.plan())
    failed = sorted(c.address for c, _ in info.value.failures)
    assert failed == ["apigateway.account.cloudwatch-role", "iam.role.liveinsight-event-collector-dev",
                      "iam.role.liveinsight-realtime-api-dev", "iam.role.liveinsight-stats-api-dev"]
    assert all(isinstance(e, AwsCallError) and e.operation == "CreateRole" for _, e in info.value.failures)
    started = {e.change.address for e in events if e.type == "change-start"}
    done = {e.change.address for e in events if e.type == "change-done"}
    assert not any(a.startswith("lambda.function") for a in started)  # they need the roles
    assert "logs.log_group./aws/lambda/liveinsight-stats-api-dev" in done  # ran alongside, and finished
    assert started - done == set(failed)
    deny.operation = "-"  # permission granted: the next apply finishes the stack
    engine = make_engine(provider)
    plan = engine.plan()
    assert {c.resource for c in plan} >= {"iam.role", "lambda.function"}
    assert "logs.log_group" not in {c.resource for c in plan}
    engine.apply(plan)
    assert make_engine(provider).plan().empty


def test_progress_has_a_line_per_start_and_per_finish_naming_the_change_and_its_time(
        provider: AwsProvider) -> None:
    from liveinsight_infra.engine import Event
    from liveinsight_infra.render import Style, render_event

    events: list[Any] = []
    engine = make_engine(provider, emit=events.append)
    plan = engine.plan()
    engine.apply(plan)
    started = [e.change for e in events if e.type == "change-start"]
    done = [e for e in events if e.type == "change-done"]
    assert sorted(c.address for c in started) == sorted(c.address for c in plan) == \
        sorted(e.change.address for e in done)
    for event in done:
        start_line = render_event(Event("change-start", change=event.change), Style(colour=False))
        done_line = render_event(event, Style(colour=False))
        assert start_line is not None and done_line is not None and start_line != done_line
        for line in (start_line, done_line):
            assert "\n" not in line and f" {event.change.resource} {event.change.name} " in line
        assert f"{event.elapsed_s:.1f}s" in done_line
    # The line says what happened: each action reads differently.
    lines = {render_event(Event("change-done", change=ch("a.b", "n", a), elapsed_s=1.0), Style(colour=False))
             for a in Action}
    assert len(lines) == len(Action)


def test_events_from_concurrent_changes_reach_the_sink_one_at_a_time(provider: AwsProvider) -> None:
    inside = {"now": 0, "peak": 0}

    def sink(event: Any) -> None:
        inside["now"] += 1
        inside["peak"] = max(inside["peak"], inside["now"])
        time.sleep(0.002)  # a slow terminal: overlapping calls would show here
        inside["now"] -= 1

    engine = make_engine(provider, emit=sink)
    plan = engine.plan()
    engine.apply(plan)
    assert inside["peak"] == 1
