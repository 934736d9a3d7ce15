"""Reconciler.plan on an in-memory reconciler: which change each case of wanted and observed state makes."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest

from liveinsight_infra.plan import UNKNOWN, Action, FieldDiff
from liveinsight_infra.reconcilers.base import Observed, Outputs, Reconciler


class Thing(Reconciler):
    """Things held in dicts: ``zone`` cannot change in place; a thing whose meta says it holds data is
    kept out of a delete unless forced."""

    kind = "fake.thing"
    replace_fields = frozenset({"zone"})

    def __init__(self, wanted: dict[str, dict[str, Any]], observed: dict[str, Observed], force: bool) -> None:
        super().__init__(SimpleNamespace(spec=None, force=force))  # type: ignore[arg-type]
        self.wanted = wanted
        self.observed = observed

    def names(self) -> list[str]:
        return list(self.wanted)

    def desired(self, name: str, outputs: Outputs) -> dict[str, Any]:
        return self.wanted[name]

    def keep_on_delete(self, current: Observed) -> str | None:
        return "holds data" if current.meta.get("holds_data") else None

    def observe(self, for_destroy: bool = False) -> dict[str, Observed]:
        raise AssertionError("plan reads no AWS")

    def create(self, name: str, desired: dict[str, Any]) -> Observed:
        raise AssertionError("plan writes nothing")

    def update(self, name: str, desired: dict[str, Any], current: Observed,
               diffs: tuple[FieldDiff, ...]) -> Observed:
        raise AssertionError("plan writes nothing")

    def delete(self, name: str, current: Observed) -> None:
        raise AssertionError("plan writes nothing")


WANT = {"zone": "a", "size": 2, "labels": {"team": "web"}}


def have(state: dict[str, Any] | None = None, owned: bool | None = True, **meta: Any) -> Observed:
    return Observed(dict(WANT if state is None else state), meta, owned)


@dataclass
class Case:
    wanted: dict[str, dict[str, Any]]
    observed: dict[str, Observed]
    # (action, name, [(path, before, after)], reason, forces_replace)
    changes: list[tuple[Action, str, list[tuple[str, Any, Any]], str, tuple[str, ...]]]
    destroy: bool = False
    force: bool = False
    notes: list[str] = field(default_factory=list)


CASES = {
    "nothing to do when observed equals desired": Case({"t": WANT}, {"t": have()}, []),
    "create what is not found, every field shown": Case(
        {"t": WANT}, {},
        [(Action.CREATE, "t", [("labels", None, {"team": "web"}), ("size", None, 2), ("zone", None, "a")],
          "not found", ())]),
    "update a field that can change in place": Case(
        {"t": WANT}, {"t": have({**WANT, "size": 1})},
        [(Action.UPDATE, "t", [("size", 1, 2)], "differs from the spec", ())]),
    "update a nested field by its path": Case(
        {"t": WANT}, {"t": have({**WANT, "labels": {"team": "data", "extra": "x"}})},
        [(Action.UPDATE, "t", [("labels.team", "data", "web"), ("labels.extra", "x", None)],
          "differs from the spec", ())]),
    "replace when a replace field differs, naming it": Case(
        {"t": WANT}, {"t": have({**WANT, "zone": "b", "size": 1})},
        [(Action.REPLACE, "t", [("size", 1, 2), ("zone", "b", "a")], "zone cannot change in place", ("zone",))]),
    "replace when a field inside a replace field differs": Case(
        {"t": {**WANT, "zone": {"id": "a"}}}, {"t": have({**WANT, "zone": {"id": "b"}})},
        [(Action.REPLACE, "t", [("zone.id", "b", "a")], "zone cannot change in place", ("zone",))]),
    "a field not managed is ignored": Case(
        {"t": WANT}, {"t": have({**WANT, "created_at": "2026-01-01"})}, []),
    "an unknown value always differs": Case(
        {"t": {**WANT, "size": UNKNOWN}}, {"t": have()},
        [(Action.UPDATE, "t", [("size", 2, UNKNOWN)], "differs from the spec", ())]),
    "an unknown value inside a nested field": Case(
        {"t": {**WANT, "labels": {"team": UNKNOWN}}}, {"t": have()},
        [(Action.UPDATE, "t", [("labels.team", "web", UNKNOWN)], "differs from the spec", ())]),
    "an owned leftover is deleted": Case(
        {"t": WANT}, {"t": have(), "old": have()},
        [(Action.DELETE, "old", [], "no longer in the spec", ())]),
    "a leftover not owned is left alone": Case(
        {"t": WANT}, {"t": have(), "theirs": have(owned=False), "unread": have(owned=None)}, []),
    "destroy deletes every owned resource, and only those": Case(
        {"t": WANT}, {"t": have(), "old": have(), "theirs": have(owned=False)},
        [(Action.DELETE, "old", [], "stack destroyed", ()), (Action.DELETE, "t", [], "stack destroyed", ())],
        destroy=True),
    "destroy holds back a resource holding data": Case(
        {"t": WANT}, {"t": have(holds_data=True)}, [], destroy=True,
        notes=["fake.thing t holds data, so it is kept; destroy --force deletes it"]),
    "destroy --force deletes it, saying so": Case(
        {"t": WANT}, {"t": have(holds_data=True)},
        [(Action.DELETE, "t", [], "holds data: deleted (--force)", ())], destroy=True, force=True),
    "hold-back applies to deletes only": Case(
        {"t": WANT}, {"t": have({**WANT, "size": 1}, holds_data=True)},
        [(Action.UPDATE, "t", [("size", 1, 2)], "differs from the spec", ())]),
}


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
def test_plan(case: Case) -> None:
    r = Thing(case.wanted, case.observed, case.force)
    changes = r.plan({}, destroy=case.destroy)
    got = [(c.action, c.name, [(d.path, d.before, d.after) for d in c.diffs], c.reason, c.forces_replace)
           for c in changes]
    assert got == case.changes
    assert all(c.resource == "fake.thing" for c in changes)
    assert r.notes == case.notes
    assert r.planned == {c[1] for c in case.changes}
