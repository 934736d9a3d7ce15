"""The reconciler contract, stated once.

A reconciler owns one resource kind (``lambda.function``, ``iam.role``, …). It is level-based: it
never trusts what an earlier run did, only what AWS shows now.

* ``names()``    the resources of this kind the spec wants (deterministic names, no AWS calls).
* ``observe()``  reads AWS: every wanted resource that exists, plus resources of this kind that
                 carry this stack's ownership tag but are no longer wanted. Not found is a normal
                 outcome (absent from the result), returned by :meth:`read` as None. Reads only.
                 With ``for_destroy``, ownership is always confirmed from tags.
* ``desired()``  the normalised desired state of one resource, given the outputs of the kinds it
                 depends on (values not known yet are ``UNKNOWN``).
* ``create`` / ``update`` / ``delete``  the writes; each returns the new observed state. Deleting
                 what is already gone succeeds. A create that finds the resource already there
                 (an interrupted earlier apply) adopts it instead of failing.
* ``outputs()``  what dependants need (ARNs, ids), from observed state, or UNKNOWN before create.
                 They are given for ``output_names()``: the wanted names, plus whatever a kind
                 adds so its dependants hear of it (the site objects this run deletes, which the
                 invalidation must cover).
                 ``output_keys`` names them; a dependant reads them with ``upstream()``, which
                 refuses a kind missing from its ``depends_on`` and a key the kind does not give
                 (a misspelt key would otherwise read as "unknown": a diff that never goes away).
* ``read_owned()`` / ``take_ownership()``  for kinds whose observe() does not read tags: read them
                 when a write is planned, and tag a resource that ``apply --adopt`` takes over.

A reconciler lives for one run: planning, or applying. Nothing it holds outlives the plan: an
apply makes new reconcilers, observes again only the kinds its plan changes, and sets ``planned``
from the plan (the engine, ``engine.py``), so a plan applies the same in another process.

Adoption (docs/adoption.md): a wanted resource that exists without this stack's ownership tag is
planned as ``adopt``, never silently updated; apply refuses such a plan unless ``--adopt``.

Reconcilers never print: progress goes through ``ctx.emit``. AWS errors are translated into
:class:`AwsCallError` naming the resource and the call.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from ..contract import Context, Outputs
from ..diff import compare_tags, diff_state, fields_of, mark_forced
from ..errors import LiveInsightError, from_client_error
from ..plan import Action, AdoptionRequired, Change, DataWouldBeLost, FieldDiff, contains_unknown

T = TypeVar("T")
R = TypeVar("R")
__all__ = ["Context", "Observed", "Outputs", "OutputsOf", "Reconciler", "UndeclaredDependency", "error_code"]
_OUTPUT_KEYS: dict[str, frozenset[str]] = {}  # kind -> the outputs it gives (filled as classes are defined)


class UndeclaredDependency(RuntimeError):
    """A reconciler read the outputs of a kind it does not list in ``depends_on`` (a bug)."""


class OutputsOf(dict[str, Any]):
    """One resource's outputs, as a dependant reads them: a key the kind does not give raises KeyError."""

    def __init__(self, kind: str, values: Mapping[str, Any]):
        super().__init__(values)
        self.kind = kind

    def _check(self, key: str) -> None:
        known = _OUTPUT_KEYS.get(self.kind)
        if known is not None and key not in known:
            raise KeyError(f"{self.kind} has no output {key!r}; it has {sorted(known)}")

    def __getitem__(self, key: str) -> Any:
        self._check(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self._check(key)
        return super().get(key, default)


@dataclass
class Observed:
    """Normalised state to compare (``state``) and facts to keep but not compare (``meta``)."""

    state: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)
    owned: bool | None = None  # carries this stack's ownership tag; None = not read
    # Untagged, but recognisably this tool's own interrupted create (the bucket: docs/adoption.md):
    # apply finishes it without --adopt; destroy still never deletes it.
    unfinished: bool = False


ADOPT_REASON = "exists without this stack's ownership tag; apply --adopt takes it over"


class Reconciler(ABC):
    kind: ClassVar[str]
    depends_on: ClassVar[tuple[str, ...]] = ()
    # False for account-level setup (shared, never a stack's) and for parts found through a parent
    # the stack owns: those are never planned as ``adopt``.
    adoptable: ClassVar[bool] = True
    # Fields that AWS cannot change in place: a difference there means delete and create.
    replace_fields: ClassVar[frozenset[str]] = frozenset()
    # The keys outputs() gives (some are UNKNOWN before the resource exists).
    output_keys: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "kind" in cls.__dict__:
            _OUTPUT_KEYS[cls.kind] = cls.output_keys

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.spec = ctx.spec
        self.observed: dict[str, Observed] = {}
        self.planned: set[str] = set()  # names with a change in this run's plan (set from it at apply)
        self.executed: set[str] = set()  # names written in this apply
        self.notes: list[str] = []  # what the plan leaves alone on purpose (shown with the plan)

    # -- the contract -------------------------------------------------------------------------
    @abstractmethod
    def names(self) -> list[str]: ...

    @abstractmethod
    def observe(self, for_destroy: bool = False) -> dict[str, Observed]: ...

    @abstractmethod
    def desired(self, name: str, outputs: Outputs) -> dict[str, Any]: ...

    @abstractmethod
    def create(self, name: str, desired: dict[str, Any]) -> Observed: ...

    @abstractmethod
    def update(self, name: str, desired: dict[str, Any], current: Observed,
               diffs: tuple[FieldDiff, ...]) -> Observed: ...

    @abstractmethod
    def delete(self, name: str, current: Observed) -> None: ...

    def outputs(self, name: str, current: Observed | None) -> Mapping[str, Any]:
        """What dependants may read; one TypedDict per kind (``kind_outputs.py``)."""
        return {}

    def output_names(self) -> list[str]:
        """The names whose outputs dependants read during plan and apply: :meth:`names` unless a kind
        must also tell them of resources this run deletes (no kind adds names it does not plan)."""
        return self.names()

    def read_owned(self, name: str, current: Observed) -> bool | None:
        """Whether ``current`` carries this stack's ownership tag, for kinds whose observe() leaves
        ``owned`` unread (None) to save a read per resource; called only when a write is planned."""
        return current.owned

    def take_ownership(self, name: str, current: Observed) -> Observed:
        """Tag a resource that ``apply --adopt`` takes over. The default suits kinds whose desired
        state holds ``tags``: the update that follows sets the ownership tags with the others."""
        return current

    def explain(self, diffs: tuple[FieldDiff, ...], desired: dict[str, Any]) -> tuple[FieldDiff, ...]:
        """``diffs`` with the reason a field matters where the kind knows one the shared diff cannot
        (how the change is written, e.g. "the method is deleted and put back whole")."""
        return diffs

    def keep_on_delete(self, current: Observed) -> str | None:
        """Why a resource that holds data is kept out of a delete (e.g. "holds data"), or None."""
        return None

    def upstream(self, outputs: Outputs, kind: str) -> dict[str, dict[str, Any]]:
        """The outputs of ``kind``'s resources by name; ``kind`` must be in ``depends_on``."""
        if kind not in self.depends_on:
            raise UndeclaredDependency(f"{self.kind} reads {kind} outputs without declaring it in depends_on")
        return {name: OutputsOf(kind, values) for name, values in outputs.get(kind, {}).items()}

    # -- planning (from observed state; reads only ownership tags, where a write is planned) ---
    def plan(self, outputs: Outputs, destroy: bool = False) -> list[Change]:
        wanted = [] if destroy else self.names()
        changes: list[Change] = []
        for name in wanted:
            want = self.desired(name, outputs)
            have = self.observed.get(name)
            if have is None:
                diffs = tuple(FieldDiff(k, None, v) for k, v in sorted(want.items()))
                changes.append(Change(Action.CREATE, self.kind, name, diffs, "not found"))
                continue
            diffs = diff_state(want, have.state)
            forced = tuple(sorted(fields_of(diffs) & self.replace_fields))
            diffs = self.explain(mark_forced(diffs, forced), want)
            if self.adoptable and not have.unfinished:
                if have.owned is None and diffs:
                    have.owned = self.read_owned(name, have)
                if have.owned is False:
                    changes.append(Change(Action.ADOPT, self.kind, name, diffs, ADOPT_REASON, forced))
                    continue
            if not diffs:
                continue
            if forced:
                changes.append(Change(Action.REPLACE, self.kind, name, diffs,
                                      f"{', '.join(forced)} cannot change in place", forced))
            else:
                changes.append(Change(Action.UPDATE, self.kind, name, diffs, "differs from the spec"))
        for name, have in sorted(self.observed.items()):
            if name not in wanted and have.owned:
                reason = "stack destroyed" if destroy else "no longer in the spec"
                changes.append(Change(Action.DELETE, self.kind, name, (), reason))
        return self.hold_back(changes)

    def hold_back(self, changes: list[Change]) -> list[Change]:
        """Keep resources that hold data (:meth:`keep_on_delete`) out of a delete: the plan notes them
        instead, unless ``--force``, in which case the delete stays and its reason says so."""
        self.notes = []
        kept = []
        for c in changes:
            current = self.observed.get(c.name)
            recreates = c.action is Action.REPLACE or (c.action is Action.ADOPT and bool(c.forces_replace))
            if recreates and current is not None and not self.ctx.force:
                held = self.keep_on_delete(current)
                if held:  # a replace deletes first: never for data, whatever else differs
                    raise DataWouldBeLost(
                        f"{self.kind} {c.name} {held}, and {', '.join(c.forces_replace)} differs from the spec, "
                        "which cannot change in place: replacing it would delete it. Nothing was changed. Back up "
                        "what it holds and delete it yourself (or `destroy --force`), or make the spec match it.")
            reason = self.keep_on_delete(current) if c.action is Action.DELETE and current is not None else None
            if reason and self.ctx.force:
                kept.append(Change(c.action, c.resource, c.name, c.diffs, f"{reason}: deleted (--force)"))
            elif reason:
                self.notes.append(f"{self.kind} {c.name} {reason}, so it is kept; destroy --force deletes it")
            else:
                kept.append(c)
        self.planned = {c.name for c in kept}
        return kept

    # -- execution of one planned change ------------------------------------------------------
    def execute(self, change: Change, outputs: Outputs) -> None:
        if change.action is Action.ADOPT:
            if not self.ctx.adopt:  # the engine refuses such a plan before any write; a last guard
                raise AdoptionRequired(f"{self.kind} {change.name} {ADOPT_REASON}")
            current = self.observed.get(change.name)
            if current is not None:
                self.observed[change.name] = self.take_ownership(change.name, current)
            action = Action.REPLACE if change.forces_replace else Action.UPDATE
            change = Change(action, change.resource, change.name, change.diffs, change.reason)
        self.executed.add(change.name)
        if change.action is Action.DELETE:
            current = self.observed.pop(change.name, None)
            if current is not None:
                self.delete(change.name, current)
            return
        want = self.desired(change.name, outputs)
        if contains_unknown(want):  # the engine executes in dependency order, so this is a bug
            raise RuntimeError(f"{self.kind} {change.name}: desired state still unknown at apply time")
        current = self.observed.get(change.name)
        if change.action is Action.REPLACE and current is not None:
            self.delete(change.name, current)
            current = None
        if current is None:
            self.observed[change.name] = self.create(change.name, want)
        else:
            diffs = diff_state(want, current.state)
            if diffs:
                self.observed[change.name] = self.update(change.name, want, current, diffs)

    # -- helpers for subclasses ---------------------------------------------------------------
    def refuse_foreign(self, name: str, owned: bool) -> None:
        """A create met an existing resource: finish it only when it is this stack's (an interrupted
        apply, a lost answer), never one that appeared meanwhile without the ownership tag."""
        if not owned and not self.ctx.adopt:
            raise AdoptionRequired(f"{self.kind} {name} appeared after the plan, without this stack's ownership "
                                   "tag; nothing of it was changed. Run plan, then apply --adopt if it is meant to "
                                   "be this stack's.")

    def converge(self, name: str, desired: dict[str, Any], current: Observed) -> Observed:
        """Bring a resource found during a create (an interrupted apply's, a lost answer's) to
        ``desired`` through :meth:`update`, with the same shared diff a plan uses."""
        diffs = diff_state(desired, current.state)
        return self.update(name, desired, current, diffs) if diffs else current

    def client(self, service: str) -> Any:
        return self.ctx.aws.client(service)

    @contextlib.contextmanager
    def calling(self, name: str, operation: str, ignore: tuple[str, ...] = ()) -> Iterator[None]:
        """Translate AWS errors raised inside into AwsCallError naming this resource and call.

        Error codes in ``ignore`` are expected outcomes (deleting what is gone, creating what an
        interrupted run already made) and are swallowed.
        """
        try:
            yield
        except ClientError as exc:
            if error_code(exc) in ignore:
                return
            raise from_client_error(f"{self.kind} {name}", operation, exc) from exc
        except BotoCoreError as exc:
            raise LiveInsightError(f"{self.kind} {name}: {operation} failed: {exc}") from exc

    def read(self, name: str, operation: str, call: Callable[[], R], absent: tuple[str, ...] = ()) -> R | None:
        """The answer of one read, or None when AWS answers with an error code in ``absent`` (the
        thing is not there): "not found" is a result of the observe step, not an exception."""
        try:
            return call()
        except ClientError as exc:
            if error_code(exc) in absent:
                return None
            raise from_client_error(f"{self.kind} {name}", operation, exc) from exc
        except BotoCoreError as exc:
            raise LiveInsightError(f"{self.kind} {name}: {operation} failed: {exc}") from exc

    def sync_tags(self, name: str, current: dict[str, str], desired: dict[str, str],
                  tag: Callable[[dict[str, str]], Any], untag: Callable[[list[str]], Any]) -> None:
        """Set the tags that differ and remove the ones no longer wanted (never ``aws:`` tags)."""
        to_set, to_unset = compare_tags(current, desired)
        if to_set:
            with self.calling(name, "TagResource"):
                tag(to_set)
        if to_unset:
            with self.calling(name, "UntagResource"):
                untag(to_unset)

    def parallel(self, fn: Callable[[T], R], items: Iterable[T], limit: int = 8) -> list[R]:
        """Run independent calls concurrently, at most ``limit`` at a time (order of results = order
        of items). Every call finishes before the first error, if any, is raised."""
        items = list(items)
        if len(items) <= 1 or limit <= 1:
            return [fn(i) for i in items]
        with ThreadPoolExecutor(max_workers=min(limit, len(items))) as pool:
            futures = [pool.submit(fn, i) for i in items]
        return [f.result() for f in futures]

    def concurrently(self, calls: Iterable[Callable[[], Any]], limit: int = 8) -> list[Any]:
        """Call each of ``calls`` (no arguments) concurrently; their results in the same order."""
        return self.parallel(_call, calls, limit)


def _call(fn: Callable[[], R]) -> R:
    return fn()


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
