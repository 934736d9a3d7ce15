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
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType

from . import home_region, naming
from .aws.provider import AwsProvider
from .contract import Context, Event, EventSink
from .engine import Applied, Engine
from .errors import Cancelled, LiveInsightError, StackBusy, StackClosed, StackNotFound
from .lock import StackLock
from .outputs import StackOutputs, stack_outputs
from .plan import Action, Plan, PlanStale
from .plan_file import spec_hash
from .releases import Release, Releases, Rollback
from .spec.loader import LoadedSpec, load_spec

__all__ = ["Applied", "Cancelled", "Confirm", "RolledBack", "Stack", "StackBusy", "StackClosed"]

Confirm = Callable[[Plan], bool]

PUBLIC_WEBSITE_WARNING = ("WARNING: bucket.public_website is on: the site bucket is publicly readable over plain "
                          "HTTP, and two Block Public Access flags are off. Turn it off once CloudFront serves "
                          "the site.")


@dataclass(frozen=True)
class RolledBack:
    rollback: Rollback
    returning: bool  # True: this ended an earlier rollback (the stage serves the release it left)

    @property
    def target(self) -> Release:
        return self.rollback.target


class _Callback:
    """The caller's ``events`` callback, kept from changing the run: an exception it raises is held
    (the first one) and raised by the method once its run is done, and the callback gets no further
    events in that call. Changes that succeeded are never reported failed because of it, and a half-run
    apply is never left behind by it. Events come from the engine's worker threads (one at a time)
    and from the lock's renewal thread."""

    def __init__(self, events: EventSink | None):
        self.events = events
        self.error: Exception | None = None
        self._lock = threading.RLock()

    def __call__(self, event: Event) -> None:
        with self._lock:  # one event at a time, whichever thread it comes from
            if self.events is None or self.error is not None:
                return
            try:
                self.events(event)
            except Exception as exc:  # the caller's bug: raised to the caller, after the run
                self.error = exc

    def take_error(self) -> Exception | None:
        with self._lock:
            error, self.error = self.error, None
        return error


def services() -> list[str]:
    """The AWS services the stack's kinds read, the slowest first (``executor.slowest_first``)."""
    from .executor import slowest_first
    from .reconcilers.registry import ordered_kinds

    names = list(dict.fromkeys(k.kind.split(".", 1)[0] for k in slowest_first(ordered_kinds())))
    # The distribution's lookup starts with the bucket policy (the distribution id it names:
    # reconcilers/bucket_policy_read.py), so S3's client is wanted right after CloudFront's.
    if "cloudfront" in names and "s3" in names:
        names.remove("s3")
        names.insert(names.index("cloudfront") + 1, "s3")
    return names



def _retirement_pending(plan: Plan) -> bool:
    """Whether the plan leaves a previous origin secret accepted (a rotation: origin_secret.py)."""
    return not plan.destroy and any(c.resource == "ssm.parameter" and (plan.desired.get(c.address) or {}).get(
        "previous") is not None for c in plan.changes if c.action is not Action.DELETE)


class Stack:
    """One stack, from one thread at a time (another thread's call raises :class:`StackBusy`)."""

    move_region = False  # may this run repoint the stack's global resources to its region (home_region.py)

    def __init__(self, loaded: LoadedSpec, aws: AwsProvider, events: EventSink | None = None, wait: bool = True,
                 resources: contextlib.ExitStack | None = None):
        self._callback = _Callback(events)
        self.context = Context(loaded, aws, emit=self._callback, wait=wait)
        self._resources = resources or contextlib.ExitStack()
        self._closed = False
        self._busy = threading.Lock()
        self._running = ""
        if loaded.spec.bucket.public_website:
            self.context.emit(Event("warning", PUBLIC_WEBSITE_WARNING))
        error = self._callback.take_error()
        if error is not None:
            raise error

    @classmethod
    def from_file(cls, path: str | Path, region: str | None = None, profile: str | None = None,
                  moto: bool = False, events: EventSink | None = None, wait: bool = True,
                  move_region: bool = False) -> Stack:
        """Load a spec. ``region`` overrides the spec's; ``moto`` runs on an embedded, in-process moto
        (a dry run: touches nothing real) until :meth:`close`. A region other than the stack's home
        raises :class:`~liveinsight_infra.errors.WrongRegion` unless ``move_region``."""
        loaded = load_spec(path, region=region)  # a region override is validated like the spec's
        if region is not None and not move_region:  # before any AWS call: the spec names the home region
            home_region.check_override(naming.stack_id(loaded.spec), load_spec(path).spec.region, region,
                                       move_region)
        resources = contextlib.ExitStack()
        if moto:
            from liveinsight_infra_moto.backend import SharedMoto  # the one door to moto (.importlinter)

            resources.enter_context(SharedMoto.use())
        try:
            aws = AwsProvider(loaded.spec.region, profile=None if moto else profile)
            # Credentials, profile and endpoint mistakes: one line, in seconds. The reads' clients are
            # made while that first call is in flight, the slowest services' first.
            aws.check_access(prepare=services())
            stack = cls(loaded, aws, events, wait=wait, resources=resources)
            stack.move_region = move_region
            return stack
        except BaseException:
            resources.close()
            raise

    # -- lifetime (the embedded moto lives as long as the stack) ------------------------------
    def close(self) -> None:
        """Stop the embedded moto (``moto=True``). Every call afterwards raises :class:`StackClosed`:
        the clients would otherwise reach whatever AWS the environment points at."""
        self._closed = True
        self._resources.close()

    def __enter__(self) -> Stack:
        self._check_open()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise StackClosed(f"stack {self.name} is closed (its embedded moto, if any, is gone): "
                              "make a new Stack with Stack.from_file")

    @contextlib.contextmanager
    def _call(self, verb: str) -> Iterator[None]:
        """One public call: the stack must be open and not in use by another thread; the callback's
        exception, if any, is raised once the call is done (see :class:`_Callback`)."""
        self._check_open()
        if not self._busy.acquire(blocking=False):
            raise StackBusy(f"this Stack is running {self._running} in another thread: a Stack runs one call at "
                            "a time (wait for it, or give each thread its own Stack; the stack lock keeps them "
                            "apart)")
        self._running = verb
        self._callback.take_error()
        try:
            yield
        except BaseException as exc:
            error = self._callback.take_error()
            if error is not None:
                exc.add_note(f"the events callback also raised {error!r}")
            raise
        else:
            error = self._callback.take_error()
            if error is not None:
                raise error
        finally:
            self._running = ""
            self._busy.release()

    @property
    def loaded(self) -> LoadedSpec:
        return self.context.loaded

    @property
    def name(self) -> str:
        return naming.stack_id(self.context.spec)

    # -- reads --------------------------------------------------------------------------------
    def _engine(self, force: bool = False, adopt: bool = False, rotate_origin_secret: bool = False) -> Engine:
        """An engine that reads AWS afresh, and builds the functions' packages and the site's files
        from what is on disk now: nothing from an earlier call is trusted. (The spec itself is read
        once, by :meth:`from_file`.) The flags are this call's settings (:class:`Context`)."""
        return Engine(replace(self.context.with_fresh_builds(), force=force, adopt=adopt,
                              rotate_origin_secret=rotate_origin_secret))

    def plan(self, destroy: bool = False, rotate_origin_secret: bool = False, force: bool = False) -> Plan:
        """What apply (or destroy) would change. Reads only. The plan can be saved
        (:func:`~liveinsight_infra.plan_file.save`) and applied later, here or elsewhere, by
        :meth:`apply` (docs/saved-plans.md)."""
        with self._call("plan"):
            engine = self._engine(rotate_origin_secret=rotate_origin_secret, force=force)
            plan = engine.plan(destroy=destroy)
            self._check_home(engine)
            return plan

    def outputs(self, show_secrets: bool = False) -> StackOutputs:
        """Names, URLs and ids read from AWS; the API key's value only with ``show_secrets``."""
        with self._call("outputs"):
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
        with self._call("releases"):
            _, releases, _ = Releases(self._engine()).list()
            return releases

    def _check_home(self, engine: Engine) -> None:
        """Before anything is written: the stack's global resources point at this run's region."""
        home_region.check_observed(self.name, self.context.region, engine.reconcilers, self.move_region)

    # -- writes (each under the stack lock) ---------------------------------------------------
    def _lock(self, force_unlock: bool) -> StackLock:
        lock = StackLock(self.context.aws, self.name, lambda m: self.context.emit(Event("warning", m)))
        if force_unlock:
            lock.break_lock()
        return lock

    def apply(self, plan: Plan | None = None, force_unlock: bool = False, adopt: bool = False,
              rotate_origin_secret: bool = False) -> Applied:
        """Make AWS match the spec. Takes the lock only when there is something to write.
        Resources under the stack's names without its ownership tag are refused
        (:class:`AdoptionRequired`) unless ``adopt`` (docs/adoption.md).

        ``plan``: a plan made earlier by :meth:`plan` (perhaps read back from a file). It is executed
        exactly, or refused (:class:`~liveinsight_infra.plan.PlanStale`) when the spec, the tool's
        version or a resource it changes is no longer what it was made against; it is never planned
        again. Without it, apply plans, then executes that plan under the lock (planning again
        there only when another apply changed what it touches meanwhile).

        ``rotate_origin_secret``: a new secret for CloudFront to send the API; the old one stays
        accepted until CloudFront has deployed the new one, which this apply waits for (unless
        ``wait`` is off), then retires it (docs/security.md, "Rotating the origin secret")."""
        with self._call("apply"):
            start = time.monotonic()
            if plan is not None:
                return self._apply_saved(plan, force_unlock, adopt, start)
            engine = self._engine(adopt=adopt, rotate_origin_secret=rotate_origin_secret)
            plan = engine.plan()
            self._check_home(engine)
            if plan.empty:
                self.context.emit(Event("plan", plan=plan))
                return Applied(plan, stack_outputs(self.context.spec, engine.current_outputs()),
                               time.monotonic() - start)
            lock = self._lock(force_unlock)
            with lock.held("apply"):
                try:
                    self.context.emit(Event("plan", plan=plan))
                    # Under a lock nobody held before (this apply made its table): the plan's reads hold.
                    applied = engine.apply(plan, reread=not lock.first_holder)
                except PlanStale:  # another apply changed what this plan touches, before any write
                    engine = engine.fresh()
                    plan = engine.plan()
                    self.context.emit(Event("plan", "Planned again: another apply changed the stack meanwhile.",
                                            plan=plan))
                    applied = engine.apply(plan)
                if _retirement_pending(plan):
                    applied = self._retire_previous_secret(applied)
            return Applied(applied.plan, applied.outputs, time.monotonic() - start)

    def _apply_saved(self, plan: Plan, force_unlock: bool, adopt: bool, start: float) -> Applied:
        """Execute a plan made earlier, exactly, or refuse it (see :meth:`apply`)."""
        from .engine import tool_version

        basis = plan.basis
        if basis is None:
            raise PlanStale("this plan carries no record of what it was made against: plan again")
        if basis.version != tool_version():
            raise PlanStale(f"the plan was made by liveinsight-infra {basis.version}, this is {tool_version()}; "
                            "nothing was changed. Run plan again.")
        if plan.stack != self.name or basis.spec_hash != spec_hash(self.context.spec):
            raise PlanStale("the spec changed since the plan was made; nothing was changed. Run plan again.")
        engine = self._engine(adopt=adopt)
        self.context.emit(Event("plan", plan=plan))
        if plan.empty:
            return Applied(plan, {}, time.monotonic() - start)
        with self._lock(force_unlock).held("destroy" if plan.destroy else "apply"):
            applied = engine.apply(plan)
        return Applied(plan, applied.outputs, time.monotonic() - start)

    def _retire_previous_secret(self, applied: Applied) -> Applied:
        """After an apply that left a previous origin secret accepted: plan again from what AWS shows
        now and apply that (it retires the previous secret once the distribution is deployed with the
        current one; otherwise it is empty and the plan's note says so). Under the caller's lock."""
        engine = self._engine()
        plan = engine.plan()
        done = applied.plan
        if plan.empty:
            for note in plan.notes:
                self.context.emit(Event("note", note))
            return Applied(Plan(done.changes, done.stack, done.destroy, done.notes + plan.notes),
                           applied.outputs, applied.elapsed_s)
        self.context.emit(Event("plan", "\nRetiring the previous origin secret:", plan=plan))
        retired = engine.apply(plan)
        return Applied(Plan(done.changes + plan.changes, done.stack, done.destroy, plan.notes),
                       retired.outputs, applied.elapsed_s)

    def destroy(self, force: bool = False, confirm: Confirm | None = None, force_unlock: bool = False) -> Applied:
        """Remove every resource this stack owns. A table that holds data (or is protected) is kept
        unless ``force``. ``confirm`` sees the plan first and may refuse (:class:`Cancelled`)."""
        with self._call("destroy"):
            start = time.monotonic()
            # Nothing to delete and nobody holding the lock (a stack that does not exist, a mistyped
            # region): done without writing anything, not even the lock table. With a holder, an
            # apply may be creating the stack right now: take the lock, which names it.
            engine = self._engine(force=force)
            plan = engine.plan(destroy=True)
            self._check_home(engine)
            lock = self._lock(force_unlock)
            if plan.empty and lock.holder() is None:
                self.context.emit(Event("plan", plan=plan))
                return Applied(plan, {}, time.monotonic() - start)
            with lock.held("destroy"):
                engine = engine.fresh()
                plan = engine.plan(destroy=True)
                self.context.emit(Event("plan", plan=plan))
                if not plan.empty:
                    if confirm is not None and not confirm(plan):
                        raise Cancelled("destroy cancelled; nothing was changed")
                    engine.apply(plan)
            return Applied(plan, {}, time.monotonic() - start)

    def rollback(self, to: int | str | None = None, confirm: Confirm | None = None,
                 force_unlock: bool = False) -> RolledBack:
        """Make the stage and the functions serve an earlier release (``to``: a release number, as
        :attr:`Release.number` or as text, or a deployment id; None: the previous one, or back to
        where the last rollback left)."""
        with self._call("rollback"):
            wanted = None if to is None else str(to)
            if wanted is not None and not wanted.strip():  # never read as "the previous one"
                raise LiveInsightError(f"no release {wanted!r}: give a release number or a deployment id")
            Releases(self._engine()).list()  # reads only: no stack (StackNotFound), no lock table made
            with self._lock(force_unlock).held("rollback"):
                releases = Releases(self._engine())
                rollback = releases.plan_rollback(wanted)
                returning = rollback.returning
                verb = "Return to" if returning else "Roll back to"
                self.context.emit(Event("plan", f"{verb} release {rollback.target.number} "
                                                f"(from release {rollback.left.number}):", plan=rollback.plan))
                if confirm is not None and not confirm(rollback.plan):
                    raise Cancelled("rollback cancelled; nothing was changed")
                releases.execute(rollback)
            return RolledBack(rollback, returning)
