"""The reconciler contract, stated once.

A reconciler owns one resource kind (``lambda.function``, ``iam.role``, …). It is level-based: it
never trusts what an earlier run did, only what AWS shows now.

* ``names()``    the resources of this kind the spec wants (deterministic names, no AWS calls).
* ``observe()``  reads AWS: every wanted resource that exists, plus resources of this kind that
                 carry this stack's ownership tag but are no longer wanted. Not found is a normal
                 outcome (absent from the result). Reads only. With ``for_destroy``, ownership is
                 always confirmed from tags.
* ``desired()``  the normalised desired state of one resource, given the outputs of the kinds it
                 depends on (values not known yet are ``UNKNOWN``).
* ``create`` / ``update`` / ``delete``  the writes; each returns the new observed state. Deleting
                 what is already gone succeeds. A create that finds the resource already there
                 (an interrupted earlier apply) adopts it instead of failing.
* ``outputs()``  what dependants need (ARNs, ids), from observed state, or UNKNOWN before create.

Reconcilers never print: progress goes through ``ctx.emit``. AWS errors are translated into
:class:`AwsCallError` naming the resource and the call.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from ..diff import compare_tags, diff_state
from ..errors import LiveInsightError, from_client_error
from ..plan import Action, Change, FieldDiff

if TYPE_CHECKING:
    from ..engine import Context

T = TypeVar("T")
R = TypeVar("R")
Outputs = dict[str, dict[str, dict[str, Any]]]  # kind -> name -> outputs


@dataclass
class Observed:
    """Normalised state to compare (``state``) and facts to keep but not compare (``meta``)."""

    state: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)
    owned: bool | None = None  # carries this stack's ownership tag; None = not read


class Reconciler(ABC):
    kind: ClassVar[str]
    depends_on: ClassVar[tuple[str, ...]] = ()
    # Fields that AWS cannot change in place: a difference there means delete and create.
    replace_fields: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.spec = ctx.spec
        self.observed: dict[str, Observed] = {}
        self.planned: set[str] = set()  # names with a change in the current plan
        self.executed: set[str] = set()  # names written in this run
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

    def outputs(self, name: str, current: Observed | None) -> dict[str, Any]:
        return {}

    # -- planning (pure, from observed state) --------------------------------------------------
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
            if not diffs:
                continue
            forced = tuple(sorted({d.path.split(".")[0] for d in diffs} & self.replace_fields))
            if forced:
                changes.append(Change(Action.REPLACE, self.kind, name, diffs,
                                      f"{', '.join(forced)} cannot change in place", forced))
            else:
                changes.append(Change(Action.UPDATE, self.kind, name, diffs, "differs from the spec"))
        for name, have in sorted(self.observed.items()):
            if name not in wanted and have.owned:
                reason = "stack destroyed" if destroy else "no longer in the spec"
                changes.append(Change(Action.DELETE, self.kind, name, (), reason))
        self.planned = {c.name for c in changes}
        return changes

    def hold_back(self, changes: list[Change], why: Callable[[Observed], str | None]) -> list[Change]:
        """Keep resources that hold data out of a delete: the plan notes them instead, unless
        ``--force``, in which case the delete stays and its reason says so. ``why`` names the
        data a resource holds, or gives None."""
        self.notes = []
        kept = []
        for c in changes:
            current = self.observed.get(c.name)
            reason = why(current) if c.action is Action.DELETE and current is not None else None
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
        self.executed.add(change.name)
        if change.action is Action.DELETE:
            current = self.observed.pop(change.name, None)
            if current is not None:
                self.delete(change.name, current)
            return
        want = self.desired(change.name, outputs)
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
