"""SIGINT and SIGTERM during a run: finish or abandon the calls in flight, release the lock, say what was done.

:func:`handlers` (the CLI wraps each command in it) turns both signals into :class:`Interrupted`, a
``KeyboardInterrupt``, so it unwinds through every ``finally`` (the stack lock's release among them)
and no ``except Exception`` swallows it. While a plan's changes run (:func:`deferred`, around the
executor's loop), the first signal does not raise: no further change starts, the changes in flight
finish, then the executor raises :class:`Interrupted` with what was done. A second signal abandons the
changes still in flight: it raises at once, the lock is released while they run on, and their
outcome is unknown until the next ``plan``. Outside a plan's changes a signal raises at once (reads
only, or waiting for the lock: nothing is half-done).

:func:`describe` is what the CLI reports: changes completed, failed, in flight, not started, and
whether the lock was released. Nothing here prints.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from types import FrameType

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """A signal stopped the run. ``abandoned``: changes were still in flight when it stopped."""

    def __init__(self, signame: str, abandoned: bool = False):
        super().__init__(signame)
        self.signame, self.abandoned = signame, abandoned

    @property
    def exit_code(self) -> int:
        return 128 + int(signal.Signals[self.signame]) if self.signame in signal.Signals.__members__ else 130


@dataclass
class Progress:
    """What a run's changes came to (addresses as the plan shows them)."""

    total: int = 0
    completed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    in_flight: list[str] = field(default_factory=list)

    @property
    def not_started(self) -> int:
        return self.total - len(self.completed) - len(self.failed) - len(self.in_flight)


@dataclass
class _State:
    installed: bool = False  # inside handlers(): only then do signals stop a run
    requested: str | None = None  # the first signal's name
    count: int = 0
    deferring: int = 0
    progress: Progress | None = None
    lock_released: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


_state = _State()


def requested() -> str | None:
    """The name of the signal that asked this run to stop, if any."""
    return _state.requested if _state.installed else None


def progress() -> Progress | None:
    return _state.progress


def _handler(signum: int, _frame: FrameType | None) -> None:
    name = signal.Signals(signum).name
    with _state.lock:
        _state.requested = _state.requested or name
        _state.count += 1
        if _state.deferring and _state.count == 1:
            return  # the executor lets the changes in flight finish, then raises
    raise Interrupted(name, abandoned=bool(_state.deferring))


@contextlib.contextmanager
def handlers() -> Iterator[None]:
    """Catch SIGINT and SIGTERM for the block (main thread only; elsewhere Python cannot)."""
    global _state
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _state = _State(installed=True)
    previous = {s: signal.signal(s, _handler) for s in SIGNALS}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        _state.installed = False  # what was done stays readable (describe)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """While a plan's changes run, the first signal only asks them to stop (see the module docstring)."""
    with _state.lock:
        _state.deferring += 1
    try:
        yield
    finally:
        with _state.lock:
            _state.deferring -= 1


def track(total: int) -> Progress:
    """A new record of a plan's changes, reported when the run is interrupted."""
    _state.progress = Progress(total=total)
    return _state.progress


def update(p: Progress, completed: Sequence[str], failed: Sequence[str], in_flight: Sequence[str]) -> None:
    p.completed, p.failed, p.in_flight = list(completed), list(failed), list(in_flight)


def note_lock_released() -> None:
    _state.lock_released = True


def describe(exc: Interrupted, verb: str = "apply") -> str:
    """One paragraph: which signal, what was done, what was left, what to do."""
    p = _state.progress
    lines = [f"interrupted by {exc.signame}."]
    if p is None or p.total == 0:
        lines.append("No change had started: nothing was changed.")
    else:
        lines.append(f"{len(p.completed)} of {p.total} changes completed"
                     + (f": {', '.join(p.completed)}." if p.completed else "."))
        if p.failed:
            lines.append(f"{len(p.failed)} failed: {', '.join(p.failed)}.")
        if exc.abandoned and p.in_flight:
            lines.append(f"{len(p.in_flight)} abandoned in flight, their outcome unknown: {', '.join(p.in_flight)}.")
        if p.not_started:
            lines.append(f"{p.not_started} not started.")
    if _state.lock_released:
        lines.append("The stack lock was released.")
    lines.append(f"Run {verb} again to finish: it plans from what AWS shows.")
    return " ".join(lines)


def abandoned_work() -> bool:
    """Whether calls abandoned by a second signal may still be running in other threads."""
    return any(t.name.startswith("change") and t.is_alive() for t in threading.enumerate())

