"""Order the reconcilers, build a plan from live state, execute it; destroy is "reconcile to nothing".

The pipeline: observe every kind (reads only, concurrently: names are deterministic, so no kind
needs another's outputs to find its resources) → plan each kind in dependency order, passing
outputs along → execute the changes as a dependency graph (:mod:`.executor`; reversed for destroy),
each change starting once what it needs is done and recomputing its resource's desired state with
the outputs known then. Nothing is stored locally.

A plan carries everything its execution needs (:class:`~.plan.Basis`): :meth:`Engine.apply` makes
new reconcilers, reads again only the kinds the plan changes (and those whose outputs hold a
secret a change needs), and refuses (:class:`~.plan.PlanStale`) when any resource it reads again,
or any desired state it computes again, differs from what the plan was made against. The outputs
of every other kind come from the plan. So a plan applies the same in this process or, saved to a
file (:mod:`.plan_file`), in another one later.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from .contract import Context, Event, EventSink, Outputs
from .naming import stack_id
from .outputs import StackOutputs, stack_outputs
from .plan import Action, Basis, Change, Plan, PlanStale
from .plan_file import differs, fingerprint, spec_hash
from .reconcilers.base import Reconciler
from .reconcilers.registry import ordered_kinds
from .sensitive import Sensitive
from .version import __version__

__all__ = ["Applied", "Context", "Engine", "Event", "EventSink", "Outputs"]


@dataclass(frozen=True)
class Applied:
    """What an apply, a destroy or a rollback executed, and the stack's outputs afterwards (empty
    after a destroy)."""

    plan: Plan
    outputs: StackOutputs
    elapsed_s: float


def tool_version() -> str:
    return __version__


class Engine:
    def __init__(self, ctx: Context, kinds: Sequence[type[Reconciler]] | None = None):
        self.ctx = ctx
        self.kinds: list[type[Reconciler]] = list(kinds or ordered_kinds())
        self.reconcilers: list[Reconciler] = [cls(ctx) for cls in self.kinds]
        self._outputs: Outputs | None = None  # after apply: every kind's outputs
        self._planned: Plan | None = None  # the last plan this engine's reconcilers made

    def fresh(self) -> Engine:
        """A new engine on a copy of the context that forgets every earlier read (to re-read under a lock)."""
        return Engine(self.ctx.with_fresh_reads(), self.kinds)

    def reconciler(self, kind: str) -> Reconciler:
        return next(r for r in self.reconcilers if r.kind == kind)

    def observe(self, for_destroy: bool = False, build: bool = False) -> None:
        """Read every kind at once. ``build``: also build the functions' packages meanwhile (CPU work
        that the plan needs next, done while the reads wait on AWS)."""
        _observe(self.ctx, self.reconcilers, for_destroy, build)

    def plan(self, destroy: bool = False) -> Plan:
        self.observe(for_destroy=destroy, build=not destroy)
        outputs: Outputs = {}
        changes: list[Change] = []
        per_kind: dict[str, list[Change]] = {}
        desired: dict[str, dict[str, Any]] = {}
        for r in self.reconcilers:
            per_kind[r.kind] = r.plan(outputs, destroy=destroy)
            for c in per_kind[r.kind]:
                if c.action is not Action.DELETE:
                    desired[c.address] = r.desired(c.name, outputs)
            # A resource about to be replaced has the outputs of a new one, not of the one deleted.
            replaced = {c.name for c in per_kind[r.kind] if c.action is Action.REPLACE}
            outputs[r.kind] = {n: r.outputs(n, None if n in replaced else r.observed.get(n))
                               for n in r.output_names()}
        order = reversed(self.reconcilers) if destroy else iter(self.reconcilers)
        for r in order:
            changes.extend(per_kind[r.kind])
        notes = tuple(n for r in self.reconcilers for n in r.notes)
        basis = self._basis(changes, desired, outputs)
        self._planned = Plan(tuple(changes), stack=stack_id(self.ctx.spec), destroy=destroy, notes=notes,
                             desired=desired, basis=basis)
        return self._planned

    def _basis(self, changes: Sequence[Change], desired: Mapping[str, Mapping[str, Any]],
               outputs: Outputs) -> Basis:
        """What an apply of these changes reads again, and what it takes from the plan instead."""
        by_kind = {r.kind: r for r in self.reconcilers}
        touched = {c.resource for c in changes}
        needed = _needs(self.reconcilers)
        inputs = {k for t in touched for k in needed.get(t, ())}
        secret = {k for k in inputs if k in by_kind and _holds_secret(outputs.get(k, {}))}
        reread = [r.kind for r in self.reconcilers if r.kind in touched | secret]
        fingerprints: dict[str, dict[str, str]] = {}
        for c in changes:
            have = by_kind[c.resource].observed.get(c.name)
            fingerprints.setdefault(c.resource, {})[c.name] = fingerprint(
                None if have is None else have.state, None if have is None else have.owned,
                desired.get(c.address) if c.action is not Action.DELETE else {})
        for kind in secret - touched:  # read again for its secret: any change to it counts
            r = by_kind[kind]
            for name in r.names():
                have = r.observed.get(name)
                fingerprints.setdefault(kind, {})[name] = fingerprint(
                    None if have is None else have.state, None if have is None else have.owned, None)
        kept = {k: v for k, v in outputs.items() if k not in reread}
        return Basis(spec_hash=spec_hash(self.ctx.spec), version=tool_version(), reread=tuple(reread),
                     fingerprints=fingerprints, outputs=kept, rotate_origin_secret=self.ctx.rotate_origin_secret,
                     force=self.ctx.force)

    def apply(self, plan: Plan, reread: bool = True) -> Applied:
        """Execute a plan made by :meth:`plan`, here or in another process (see the module doc).

        Changes run as a dependency graph (:mod:`.executor`): each starts when every change of the
        kinds it needs is done, and computes its desired state then, from the outputs known at
        that moment (all of them final, since what it needs is done).

        ``reread=False``: the plan was made by this engine, and nothing can have been written since
        (the caller holds a lock that nobody held before it: ``StackLock.first_holder``). The plan's
        reconcilers execute it with what they read, instead of reading the changed kinds again."""
        from .executor import closure

        basis = plan.basis
        if basis is None:
            raise PlanStale("this plan carries no record of what it was made against: plan again")
        plan.check_adoption(self.ctx.adopt)  # before any write
        start = time.monotonic()
        emit = serialised(self.ctx.emit)
        fresh = reread or plan is not self._planned or self._outputs is not None
        ctx = dataclasses.replace(self.ctx.with_fresh_reads() if fresh else self.ctx, emit=emit, force=basis.force,
                                  rotate_origin_secret=basis.rotate_origin_secret)
        if fresh:
            runners = [cls(ctx) for cls in self.kinds]
        else:
            runners = self.reconcilers
            for r in runners:
                r.ctx = ctx
        by_kind = {r.kind: r for r in runners}
        if fresh:
            live = [r for r in runners if r.kind in basis.reread]
            _observe(ctx, live, for_destroy=plan.destroy, build=False)
        _check_fingerprints(plan, by_kind)
        for r in runners:
            r.planned = {c.name for c in plan.for_kind(r.kind)}
        depends_on = {r.kind: [d for d in r.depends_on if d in by_kind] for r in runners}
        needs = closure(depends_on)

        def outputs_of(kinds: Iterable[str]) -> Outputs:
            return {k: ({n: by_kind[k].outputs(n, by_kind[k].observed.get(n)) for n in by_kind[k].output_names()}
                        if k in basis.reread else {n: dict(o) for n, o in basis.outputs.get(k, {}).items()})
                    for k in kinds}

        if not plan.destroy:
            _check_desired(plan, by_kind, lambda kind: outputs_of(needs[kind]))

        def run(change: Change) -> None:
            r = by_kind[change.resource]
            r.execute(change, {k: {} for k in by_kind} if plan.destroy else outputs_of(needs[r.kind]))

        changes = [c for c in plan.changes if c.resource in by_kind]
        execute(changes, depends_on, run, emit, reverse=plan.destroy)
        self.reconcilers = runners
        self._outputs = {r.kind: {} for r in runners} if plan.destroy else outputs_of(by_kind)
        outs: StackOutputs = {} if plan.destroy else stack_outputs(self.ctx.spec, self.current_outputs())
        return Applied(plan, outs, time.monotonic() - start)

    def current_outputs(self) -> Outputs:
        """Outputs of the stack as it is now (after :meth:`plan` or :meth:`apply`)."""
        if self._outputs is not None:
            live = {r.kind: {n: r.outputs(n, r.observed.get(n)) for n in r.names() if n in r.observed}
                    for r in self.reconcilers if r.observed}
            return {**self._outputs, **live}
        return {r.kind: {n: r.outputs(n, r.observed.get(n)) for n in r.names() if n in r.observed}
                for r in self.reconcilers}


def serialised(sink: EventSink) -> EventSink:
    """``sink`` called one event at a time: changes run on several threads."""
    lock = threading.Lock()

    def emit(event: Event) -> None:
        with lock:
            sink(event)
    return emit


def execute(changes: Sequence[Change], depends_on: Mapping[str, Iterable[str]], run: Callable[[Change], None],
            emit: EventSink, reverse: bool = False) -> None:
    """Run ``changes`` through the executor's dependency graph, announcing each one (``emit`` must be
    safe to call from several threads: :func:`serialised`). Apply, destroy and rollback all go here."""
    from .executor import dependencies, run_graph

    def one(change: Change) -> None:
        t0 = time.monotonic()
        emit(Event("change-start", change=change))
        run(change)
        emit(Event("change-done", change=change, elapsed_s=time.monotonic() - t0))

    run_graph(changes, dependencies(changes, depends_on, reverse=reverse), one)


def _observe(ctx: Context, reconcilers: Sequence[Reconciler], for_destroy: bool, build: bool) -> None:
    if not reconcilers and not build:
        return
    _ = ctx.account_id  # one STS call, before the threads need it

    def read(r: Reconciler) -> None:
        r.observed = r.observe(for_destroy=for_destroy)

    def build_packages() -> None:
        for key in ctx.spec.functions:
            try:
                ctx.package(key)
            except Exception:  # the plan builds it again and reports the error where it always has
                return

    from .executor import slowest_first

    # All kinds at once; the slowest services' reads start first (their clients are made first).
    with ThreadPoolExecutor(max_workers=max(1, len(reconcilers) + build)) as pool:
        reads = [pool.submit(read, r) for r in slowest_first(reconcilers)]
        if build:
            pool.submit(build_packages)
        for done in reads:
            done.result()


def _needs(reconcilers: Sequence[Reconciler]) -> Mapping[str, frozenset[str]]:
    from .executor import closure

    known = {r.kind for r in reconcilers}
    return closure({r.kind: [d for d in r.depends_on if d in known] for r in reconcilers})


def _holds_secret(value: Any) -> bool:
    if isinstance(value, Sensitive):
        return True
    if isinstance(value, Mapping):
        return any(_holds_secret(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_holds_secret(v) for v in value)
    return False


def _check_fingerprints(plan: Plan, by_kind: Mapping[str, Reconciler]) -> None:
    """Refuse, before any write, when a resource the plan reads again is not as the plan saw it."""
    basis = plan.basis
    if basis is None:
        return
    for kind, names in sorted(basis.fingerprints.items()):
        r = by_kind.get(kind)
        if r is None:
            raise PlanStale(f"the saved plan names a resource kind this tool does not have ({kind}): plan again")
        for name, saved in sorted(names.items()):
            have = r.observed.get(name)
            change = next((c for c in plan.for_kind(kind) if c.name == name), None)
            fields: Mapping[str, Any] | None = None  # not a change: a secret's kind, read again in full
            if change is not None:
                fields = {} if change.action is Action.DELETE else plan.desired.get(change.address, {})
                if (have is not None and have.owned is None and change.action is not Action.DELETE
                        and r.adoptable and not have.unfinished):
                    have.owned = r.read_owned(name, have)  # as the plan did for a resource it changes
            now = fingerprint(None if have is None else have.state, None if have is None else have.owned, fields)
            if now != saved:
                raise PlanStale(f"{kind} {name} changed since the plan was made; nothing was changed. "
                                "Run plan again.")


def _check_desired(plan: Plan, by_kind: Mapping[str, Reconciler], outputs_for: Callable[[str], Outputs]) -> None:
    """Refuse, before any write, when a change's desired state, computed again now, is not the one the
    plan shows (the functions' code or the site's files changed on disk, an input the plan read changed)."""
    for c in plan.changes:
        saved = plan.desired.get(c.address)
        if c.action is Action.DELETE or saved is None:
            continue
        path = differs(saved, by_kind[c.resource].desired(c.name, outputs_for(c.resource)))
        if path is not None:
            raise PlanStale(f"{c.resource} {c.name} would now be made with another {path} than the plan shows; "
                            "nothing was changed. Run plan again.")
