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


def test_what_a_plan_deletes_gives_dependants_no_outputs_unless_its_kind_says_so() -> None:
    """Dependants iterate a kind's outputs by name: a resource being deleted is not one of them (only the
    site objects list theirs, for the invalidation)."""
    thing = Thing({"kept": WANT}, {"kept": have(), "gone": have()}, force=False)
    assert [(c.action, c.name) for c in thing.plan({})] == [(Action.DELETE, "gone")]
    assert thing.output_names() == ["kept"]


def test_a_forcing_field_says_why_once_in_text_and_json() -> None:
    """The field that forces a replace carries the reason; text and ``plan --json`` show it on that field's
    line only, once, and not on the fields that could change in place."""
    import json

    from liveinsight_infra.plan import Plan
    from liveinsight_infra.render import Style, render_plan

    changes = Thing({"t": WANT}, {"t": have({**WANT, "zone": "b", "size": 1})}, force=False).plan({})
    plan = Plan(tuple(changes), stack="s")
    text = render_plan(plan, Style(colour=False))
    assert text.count("forces replacement") == 1
    (zone_line,) = [line for line in text.splitlines() if "forces replacement" in line]
    assert zone_line.strip().startswith("zone:")
    diffs = json.loads(json.dumps(plan.to_json()))["changes"][0]["diffs"]
    assert [(d["path"], d.get("why")) for d in diffs] == [("size", None), ("zone", "forces replacement")]


def test_a_key_not_declared_in_a_nested_field_says_so() -> None:
    changes = Thing({"t": WANT}, {"t": have({**WANT, "labels": {"team": "web", "extra": "x"}})}, force=False).plan({})
    assert [(d.path, d.why) for c in changes for d in c.diffs] == [("labels.extra", "not declared in the spec")]


def test_a_saved_plan_keeps_why() -> None:
    import json

    from liveinsight_infra.plan import Plan
    from liveinsight_infra.plan_file import from_data, to_data

    changes = Thing({"t": WANT}, {"t": have({**WANT, "zone": "b"})}, force=False).plan({})
    back = from_data(json.loads(json.dumps(to_data(Plan(tuple(changes), stack="s")))))
    assert [(d.path, d.why) for c in back for d in c.diffs] == [("zone", "forces replacement")]


def _client_error(code: str) -> Exception:
    from botocore.exceptions import ClientError

    return ClientError({"Error": {"Code": code, "Message": "m"}}, "GetThing")


def test_read_returns_none_for_an_absent_code_and_raises_for_others() -> None:
    from liveinsight_infra.errors import LiveInsightError

    thing = Thing({}, {}, force=False)

    def missing() -> dict[str, Any]:
        raise _client_error("NotFoundException")

    def denied() -> dict[str, Any]:
        raise _client_error("AccessDeniedException")

    assert thing.read("t", "GetThing", lambda: {"id": "1"}, absent=("NotFoundException",)) == {"id": "1"}
    assert thing.read("t", "GetThing", missing, absent=("NotFoundException",)) is None
    with pytest.raises(LiveInsightError, match="GetThing"):
        thing.read("t", "GetThing", denied, absent=("NotFoundException",))
