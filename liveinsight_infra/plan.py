"""A plan is data: an ordered tuple of frozen changes. Nothing here talks to AWS or prints."""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NotRequired, TypedDict

from .errors import LiveInsightError
from .sensitive import Sensitive


class _Unknown:
    """A value that only exists once an earlier change has been applied."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "(known after apply)"

    def __reduce__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()


class _Redacted:
    """A sensitive value read back from a saved plan: the file never holds the value itself."""

    _instance: _Redacted | None = None

    def __new__(cls) -> _Redacted:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "(sensitive value)"

    def __reduce__(self) -> str:
        return "REDACTED"


REDACTED: Any = _Redacted()


def contains_unknown(value: Any) -> bool:
    if value is UNKNOWN:
        return True
    if isinstance(value, dict):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(contains_unknown(v) for v in value)
    return False


class Action(enum.StrEnum):
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    ADOPT = "adopt"  # exists under the stack's name without its ownership tag (docs/adoption.md)


ActionName = Literal["create", "update", "replace", "delete", "adopt"]  # Action's values, for JSON readers


class FieldDiffJson(TypedDict):
    path: str
    before: Any  # a JSON value; "(known after apply)" for one only known once earlier changes ran
    after: Any
    why: NotRequired[str]  # why this field matters, e.g. "forces replacement"


class ChangeJson(TypedDict):
    action: ActionName
    resource: str
    name: str
    diffs: list[FieldDiffJson]
    reason: NotRequired[str]
    forces_replace: NotRequired[list[str]]


class SummaryJson(TypedDict):
    create: int
    update: int
    replace: int
    delete: int
    adopt: int


class PlanJson(TypedDict):
    """``Plan.to_json()``: what ``plan --json`` writes."""

    stack: str
    destroy: bool
    summary: SummaryJson
    changes: list[ChangeJson]
    notes: list[str]


class AdoptionRequired(LiveInsightError):
    """The plan would take over resources that this stack does not own: refused before any write."""


class DataWouldBeLost(LiveInsightError):
    """A change must delete and recreate a resource that holds data (a replace, or an adoption that
    needs one): refused while planning, as Terraform's ``prevent_destroy`` does, before any write."""


@dataclass(frozen=True)
class FieldDiff:
    path: str  # dotted: "environment.STAGE"
    before: Any
    after: Any
    why: str = ""  # why this field matters: "forces replacement", "not declared in the spec", ...

    @property
    def field(self) -> str:
        """The top-level field the difference is in ("environment" for "environment.STAGE")."""
        return self.path.split(".", 1)[0]

    def to_json(self) -> FieldDiffJson:
        out: FieldDiffJson = {"path": self.path, "before": _jsonable(self.before), "after": _jsonable(self.after)}
        if self.why:
            out["why"] = self.why
        return out

    def because(self, why: str) -> FieldDiff:
        """The same difference, with the reason it matters."""
        return FieldDiff(self.path, self.before, self.after, why)


@dataclass(frozen=True)
class Change:
    action: Action
    resource: str  # the kind, e.g. "lambda.function"
    name: str
    diffs: tuple[FieldDiff, ...] = ()
    reason: str = ""
    forces_replace: tuple[str, ...] = field(default=())

    @property
    def address(self) -> str:
        return f"{self.resource}.{self.name}"

    def to_json(self) -> ChangeJson:
        out: ChangeJson = {"action": self.action.value, "resource": self.resource,
                           "name": self.name, "diffs": [d.to_json() for d in self.diffs]}
        if self.reason:
            out["reason"] = self.reason
        if self.forces_replace:
            out["forces_replace"] = list(self.forces_replace)
        return out


class PlanStale(LiveInsightError):
    """A saved plan no longer matches the spec, the tool or the resources it was made against."""

    exit_code = 3


Fingerprints = Mapping[str, Mapping[str, str]]  # kind -> name -> fingerprint of the observed state
KindOutputs = Mapping[str, Mapping[str, Mapping[str, Any]]]  # kind -> name -> outputs


@dataclass(frozen=True)
class Basis:
    """What a plan was made against, checked again before it is executed (docs/saved-plans.md).

    ``reread``: the kinds an apply reads again (those with a change, and those whose outputs hold a
    secret a change needs); ``fingerprints``: their resources as the plan saw them; ``outputs``: the
    outputs of every other kind, as planned, so an apply needs no read of them."""

    spec_hash: str = ""
    version: str = ""
    reread: tuple[str, ...] = ()
    fingerprints: Fingerprints = field(default_factory=dict)
    outputs: KindOutputs = field(default_factory=dict)
    rotate_origin_secret: bool = False
    force: bool = False


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...] = ()
    stack: str = ""
    destroy: bool = False
    notes: tuple[str, ...] = ()  # what the plan deliberately leaves alone, and why
    # Each change's full desired state (by address; UNKNOWN where only known after an earlier change).
    desired: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, compare=False)
    basis: Basis | None = field(default=None, compare=False)

    def __iter__(self) -> Iterator[Change]:
        return iter(self.changes)

    def __len__(self) -> int:
        return len(self.changes)

    @property
    def empty(self) -> bool:
        return not self.changes

    def for_kind(self, kind: str) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.resource == kind)

    def counts(self) -> dict[str, int]:
        counts = {a.value: 0 for a in Action}
        for c in self.changes:
            counts[c.action.value] += 1
        return counts

    @property
    def adoptions(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.action is Action.ADOPT)

    def check_adoption(self, allowed: bool) -> None:
        """Refuse, before any write, a plan that takes over resources the stack does not own."""
        found = self.adoptions
        if not found or allowed:
            return
        listed = "\n".join(f"  {c.resource} {c.name}" for c in found)
        raise AdoptionRequired(
            f"apply would take over {len(found)} resource{'s' if len(found) > 1 else ''} that exist under this "
            f"stack's names without this stack's ownership tag:\n{listed}\n"
            "They may belong to something else (another tool, another stack, a person): nothing was changed. "
            "If they are meant to become this stack's (moving from another tool), run apply --adopt: it tags "
            "them as this stack's, then makes them match the spec, and destroy deletes them afterwards.")

    def to_json(self) -> PlanJson:
        counts = self.counts()
        summary: SummaryJson = {"create": counts["create"], "update": counts["update"], "replace": counts["replace"],
                                "delete": counts["delete"], "adopt": counts["adopt"]}
        return {"stack": self.stack, "destroy": self.destroy, "summary": summary,
                "changes": [c.to_json() for c in self.changes], "notes": list(self.notes)}


def _jsonable(value: Any) -> Any:
    if value is UNKNOWN:
        return "(known after apply)"
    if isinstance(value, Sensitive) or value is REDACTED:  # its mask, never its value (sensitive.py)
        return repr(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
