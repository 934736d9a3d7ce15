"""A signal while a plan's changes run: what is in flight finishes (or is abandoned), nothing new starts.

In-process, with real signals sent to this process (the handlers run in the main thread, which waits in
the executor); tests/cli/test_signals.py does the same to a real ``apply`` process.
"""

from __future__ import annotations

import os
import signal
import threading

import pytest

from liveinsight_infra import interrupt
from liveinsight_infra.executor import Limits, dependencies, run_graph
from liveinsight_infra.plan import Action, Change

KINDS: dict[str, list[str]] = {"a.x": [], "b.y": ["a.x"]}


def changes() -> list[Change]:
    return [Change(Action.CREATE, "a.x", "1"), Change(Action.CREATE, "b.y", "1"), Change(Action.CREATE, "b.y", "2")]


def test_the_first_signal_lets_the_change_in_flight_finish_and_starts_nothing_more() -> None:
    ran: list[str] = []

    def run(change: Change) -> None:
        if change.name == "1" and change.resource == "a.x":
            os.kill(os.getpid(), signal.SIGTERM)  # arrives while this change is in flight
        ran.append(change.address)

    cs = changes()
    with interrupt.handlers(), pytest.raises(interrupt.Interrupted) as caught:
        run_graph(cs, dependencies(cs, KINDS), run, Limits(overall=1))
    assert ran == ["a.x.1"]  # finished; b.y never started
    assert caught.value.signame == "SIGTERM" and not caught.value.abandoned and caught.value.exit_code == 143
    text = interrupt.describe(caught.value)
    assert "1 of 3 changes completed: a.x.1." in text and "2 not started" in text and "abandoned" not in text


def test_a_second_signal_abandons_the_change_in_flight() -> None:
    release = threading.Event()

    def run(change: Change) -> None:
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(6000):  # until the main thread has seen it (two pending signals count as one)
            if interrupt.requested():
                break
            release.wait(0.01)
        os.kill(os.getpid(), signal.SIGINT)
        release.wait(60)  # still running when run_graph gives up on it

    cs = changes()[:1]
    try:
        with interrupt.handlers(), pytest.raises(interrupt.Interrupted) as caught:
            run_graph(cs, dependencies(cs, KINDS), run, Limits(overall=1))
    finally:
        release.set()
    assert caught.value.abandoned and caught.value.exit_code == 130
    assert "1 abandoned in flight, their outcome unknown: a.x.1." in interrupt.describe(caught.value)


def test_without_the_handlers_a_run_is_never_stopped_by_an_earlier_signal() -> None:
    """The library outside the CLI: no handlers installed, no leftover request from an earlier run."""
    ran: list[str] = []
    cs = changes()
    run_graph(cs, dependencies(cs, KINDS), lambda c: ran.append(c.address))
    assert len(ran) == 3
