"""The library's entry point: one stack, with the guarantees the command line gives.

``Stack`` loads a spec and talks to AWS through the standard credential chain (``profile``, the
environment, ``AWS_ENDPOINT_URL``), or to an embedded moto. Every method that writes takes the
stack lock (``lock.py``) and plans again under it; a converged ``apply`` takes no lock at all.
Progress goes to the ``events`` callback; nothing here prints.

    from liveinsight_infra import Stack
    with Stack.from_file("specs/dev.yaml", moto=True) as stack:
        plan = stack.plan()      # reads only
        result = stack.apply()   # plans again under the lock, then executes that plan
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from . import naming
from .aws.provider import AwsProvider
from .contract import Context, Event, EventSink
from .engine import Engine
from .errors import LiveInsightError, StackNotFound
from .lock import StackLock
from .outputs import stack_outputs
from .plan import Plan
from .releases import Release, Releases, Rollback
from .spec.loader import LoadedSpec, load_spec

Confirm = Callable[[Plan], bool]

PUBLIC_WEBSITE_WARNING = ("WARNING: bucket.public_website is on: the site bucket is publicly readable over plain "
                          "HTTP, and two Block Public Access flags are off. Turn it off once CloudFront serves "
                          "the site.")


class Cancelled(LiveInsightError):
    """The caller's ``confirm`` said no; nothing was changed."""


@dataclass(frozen=True)
class Applied:
    """What an apply or a destroy executed, and the stack's outputs afterwards (empty after destroy)."""

    plan: Plan
    outputs: dict[str, Any]
    elapsed_s: float


@dataclass(frozen=True)
class RolledBack:
    rollback: Rollback
    returning: bool  # True: this ended an earlier rollback (the stage serves the release it left)

    @property
    def target(self) -> Release:
        return self.rollback.target


def _ignore(_event: Event) -> None:
    return None


class Stack:
    def __init__(self, loaded: LoadedSpec, aws: AwsProvider, events: EventSink | None = None, wait: bool = True,
                 resources: contextlib.ExitStack | None = None):
        self.context = Context(loaded, aws, emit=events or _ignore, wait=wait)
        self._resources = resources or contextlib.ExitStack()
        if loaded.spec.bucket.public_website:
            self.context.emit(Event("warning", PUBLIC_WEBSITE_WARNING))

    @classmethod
    def from_file(cls, path: str | Path, region: str | None = None, profile: str | None = None,
                  moto: bool = False, events: EventSink | None = None, wait: bool = True) -> Stack:
        """Load a spec. ``region`` overrides the spec's; ``moto`` runs on an embedded, in-process moto
        (a dry run: touches nothing real) until :meth:`close`."""
        loaded = load_spec(path, region=region)  # a region override is validated like the spec's
        resources = contextlib.ExitStack()
        if moto:
            from .aws.moto_backend import embedded_moto
            resources.enter_context(embedded_moto())
        try:
            aws = AwsProvider(loaded.spec.region, profile=None if moto else profile)
            aws.check_access()  # credentials, profile and endpoint mistakes: one line, in seconds
            return cls(loaded, aws, events, wait=wait, resources=resources)
        except BaseException:
            resources.close()
            raise

    # -- lifetime (the embedded moto lives as long as the stack) ------------------------------
    def close(self) -> None:
        self._resources.close()

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @property
    def loaded(self) -> LoadedSpec:
        return self.context.loaded

    @property
    def name(self) -> str:
        return naming.stack_id(self.context.spec)

    # -- reads --------------------------------------------------------------------------------
    def _engine(self) -> Engine:
        """An engine that reads AWS afresh (nothing from an earlier call is trusted)."""
        self.context.forget()
        return Engine(self.context)

    def plan(self, destroy: bool = False) -> Plan:
        """What apply (or destroy) would change. Reads only."""
        return self._engine().plan(destroy=destroy)

    def outputs(self, show_secrets: bool = False) -> dict[str, Any]:
        """Names, URLs and ids read from AWS; the API key's value only with ``show_secrets``."""
        engine = self._engine()
        engine.observe()
        # Account setup (owned=False) exists without any stack: only the stack's own resources count.
        if not any(o.owned is not False for r in engine.reconcilers for o in r.observed.values()):
            raise StackNotFound(f"stack {self.name} does not exist in {self.context.region}: run apply first")
        outs = stack_outputs(self.context.spec, engine.current_outputs())
        if show_secrets and outs.get("api_key_id"):
            outs["api_key"] = self._api_key(engine, str(outs["api_key_id"]))
        return outs

    @staticmethod
    def _api_key(engine: Engine, key_id: str) -> str:
        from .reconcilers.usage_plan import UsagePlanReconciler

        plan = next(r for r in engine.reconcilers if isinstance(r, UsagePlanReconciler))
        return plan.api_key_value(key_id)

    def releases(self) -> list[Release]:
        """The API deployments with the function versions each served, oldest first."""
        _, releases, _ = Releases(self._engine()).list()
        return releases

    # -- writes (each under the stack lock) ---------------------------------------------------
    def _lock(self, force_unlock: bool) -> StackLock:
        lock = StackLock(self.context.aws, self.name, lambda m: self.context.emit(Event("warning", m)))
        if force_unlock:
            lock.break_lock()
        return lock

    def apply(self, force_unlock: bool = False, adopt: bool = False) -> Applied:
        """Make AWS match the spec. Takes the lock only when there is something to write, and plans
        again under it (another apply may have finished meanwhile). Resources under the stack's names
        without its ownership tag are refused (:class:`AdoptionRequired`) unless ``adopt``
        (docs/adoption.md)."""
        start = time.monotonic()
        self.context.adopt = adopt
        engine = self._engine()
        plan = engine.plan()
        if plan.empty:
            self.context.emit(Event("plan", plan=plan))
        else:
            with self._lock(force_unlock).held("apply"):
                engine = engine.fresh()
                plan = engine.plan()
                self.context.emit(Event("plan", plan=plan))
                engine.apply(plan)
        outputs = stack_outputs(self.context.spec, engine.current_outputs())
        return Applied(plan, outputs, time.monotonic() - start)

    def destroy(self, force: bool = False, confirm: Confirm | None = None, force_unlock: bool = False) -> Applied:
        """Remove every resource this stack owns. A table that holds data (or is protected) is kept
        unless ``force``. ``confirm`` sees the plan first and may refuse (:class:`Cancelled`)."""
        start = time.monotonic()
        with self._lock(force_unlock).held("destroy"):
            self.context.force = force
            try:
                engine = self._engine()
                plan = engine.plan(destroy=True)
                self.context.emit(Event("plan", plan=plan))
                if not plan.empty:
                    if confirm is not None and not confirm(plan):
                        raise Cancelled("destroy cancelled; nothing was changed")
                    engine.apply(plan)
            finally:
                self.context.force = False
        return Applied(plan, {}, time.monotonic() - start)

    def rollback(self, to: str | None = None, confirm: Confirm | None = None,
                 force_unlock: bool = False) -> RolledBack:
        """Make the stage and the functions serve an earlier release (``to``: a release number or a
        deployment id; default: the previous one, or back to where the last rollback left)."""
        with self._lock(force_unlock).held("rollback"):
            releases = Releases(self._engine())
            rollback = releases.plan_rollback(to)
            _, _, stage = releases.list()
            returning = releases.is_return(rollback, stage.get("variables") or {})
            verb = "Return to" if returning else "Roll back to"
            self.context.emit(Event("plan", f"{verb} release {rollback.target.number} "
                                            f"(from release {rollback.left.number}):", plan=rollback.plan))
            if confirm is not None and not confirm(rollback.plan):
                raise Cancelled("rollback cancelled; nothing was changed")
            releases.execute(rollback, returning)
        return RolledBack(rollback, returning)
