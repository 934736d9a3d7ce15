"""Order the reconcilers, build a plan from live state, execute it; destroy is "reconcile to nothing".

The pipeline: observe every kind (reads only, concurrently: names are deterministic, so no kind
needs another's outputs to find its resources) → plan each kind in dependency order, passing
outputs along → execute the changes as a dependency graph (:mod:`.executor`; reversed for destroy),
each change starting once what it needs is done and recomputing its resource's desired state with
the outputs known then. Nothing is stored locally.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from .contract import Context, Event, EventSink, Outputs
from .naming import stack_id
from .plan import Action, Change, Plan
from .reconcilers.base import Reconciler
from .reconcilers.registry import ordered_kinds, wire

__all__ = ["ApplyResult", "Context", "Engine", "Event", "EventSink", "Outputs"]


@dataclass(frozen=True)
class ApplyResult:
    plan: Plan
    outputs: Outputs
    elapsed_s: float


class Engine:
    def __init__(self, ctx: Context, kinds: Sequence[type[Reconciler]] | None = None):
        self.ctx = ctx
        self.reconcilers: list[Reconciler] = [cls(ctx) for cls in (kinds or ordered_kinds())]
        wire(self.reconcilers)

    def fresh(self) -> Engine:
        """A new engine on the same context that forgets every earlier read (to re-read under a lock)."""
        self.ctx.forget()
        return Engine(self.ctx, [type(r) for r in self.reconcilers])

    def reconciler(self, kind: str) -> Reconciler:
        return next(r for r in self.reconcilers if r.kind == kind)

    def observe(self, for_destroy: bool = False) -> None:
        _ = self.ctx.account_id  # one STS call, before the threads need it

        def read(r: Reconciler) -> None:
            r.observed = r.observe(for_destroy=for_destroy)

        from .executor import slowest_first

        # All kinds at once; the slowest services' reads start first (their clients are made first).
        with ThreadPoolExecutor(max_workers=max(1, len(self.reconcilers))) as pool:
            list(pool.map(read, slowest_first(self.reconcilers)))

    def plan(self, destroy: bool = False) -> Plan:
        self.observe(for_destroy=destroy)
        outputs: Outputs = {}
        changes: list[Change] = []
        per_kind: dict[str, list[Change]] = {}
        for r in self.reconcilers:
            per_kind[r.kind] = r.plan(outputs, destroy=destroy)
            # A resource about to be replaced has the outputs of a new one, not of the one deleted.
            replaced = {c.name for c in per_kind[r.kind] if c.action is Action.REPLACE}
            outputs[r.kind] = {n: r.outputs(n, None if n in replaced else r.observed.get(n)) for n in r.names()}
        order = reversed(self.reconcilers) if destroy else iter(self.reconcilers)
        for r in order:
            changes.extend(per_kind[r.kind])
        notes = tuple(n for r in self.reconcilers for n in r.notes)
        return Plan(tuple(changes), stack=stack_id(self.ctx.spec), destroy=destroy, notes=notes)

    def apply(self, plan: Plan) -> ApplyResult:
        """Execute a plan made by :meth:`plan` on this engine (its observed state is reused).

        Changes run as a dependency graph (:mod:`.executor`): each starts when every change of the
        kinds it needs is done, and computes its desired state then, from the outputs known at
        that moment (all of them final, since what it needs is done)."""
        from .executor import closure, dependencies, run_graph

        plan.check_adoption(self.ctx.adopt)  # before any write
        start = time.monotonic()
        by_kind = {r.kind: r for r in self.reconcilers}
        depends_on = {r.kind: [d for d in r.depends_on if d in by_kind] for r in self.reconcilers}
        needs = closure(depends_on)
        sink, lock = self.ctx.emit, threading.Lock()

        def emit(event: Event) -> None:  # changes run on several threads; one line at a time
            with lock:
                sink(event)

        def run(change: Change) -> None:
            r = by_kind[change.resource]
            outputs: Outputs = {k: {} for k in by_kind} if plan.destroy else {
                k: {n: by_kind[k].outputs(n, by_kind[k].observed.get(n)) for n in by_kind[k].names()}
                for k in needs[r.kind]}
            t0 = time.monotonic()
            emit(Event("change-start", change=change))
            r.execute(change, outputs)
            emit(Event("change-done", change=change, elapsed_s=time.monotonic() - t0))

        changes = [c for c in plan.changes if c.resource in by_kind]
        self.ctx.emit = emit
        try:
            run_graph(changes, dependencies(changes, depends_on, reverse=plan.destroy), run)
        finally:
            self.ctx.emit = sink
        outputs: Outputs = {r.kind: {} for r in self.reconcilers} if plan.destroy else {
            r.kind: {n: r.outputs(n, r.observed.get(n)) for n in r.names()} for r in self.reconcilers}
        return ApplyResult(plan, outputs, time.monotonic() - start)

    def current_outputs(self) -> Outputs:
        """Outputs of the stack as it is now (after :meth:`plan` or :meth:`apply`)."""
        return {r.kind: {n: r.outputs(n, r.observed.get(n)) for n in r.names() if n in r.observed}
                for r in self.reconcilers}

