"""Plans, progress events and outputs as text (like ``terraform plan``) or JSON. Pure functions."""

from __future__ import annotations

import json
from typing import Any

from .contract import Event
from .plan import UNKNOWN, Action, Change, FieldDiff, Plan

_SYMBOL = {Action.CREATE: "+", Action.UPDATE: "~", Action.REPLACE: "-/+", Action.DELETE: "-", Action.ADOPT: "<-"}
_COLOUR = {Action.CREATE: "32", Action.UPDATE: "33", Action.REPLACE: "35", Action.DELETE: "31", Action.ADOPT: "36"}
_VERB = {Action.CREATE: "created", Action.UPDATE: "updated", Action.REPLACE: "replaced",
         Action.DELETE: "deleted", Action.ADOPT: "adopted"}


class Style:
    def __init__(self, colour: bool):
        self.colour = colour

    def paint(self, text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.colour else text

    def bold(self, text: str) -> str:
        return self.paint(text, "1")

    def dim(self, text: str) -> str:
        return self.paint(text, "2")


def value(v: Any, limit: int = 70) -> str:
    if v is UNKNOWN:
        return "(known after apply)"
    text = json.dumps(v, sort_keys=True, default=repr) if not isinstance(v, str) else json.dumps(v)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def render_change(change: Change, style: Style) -> list[str]:
    sym = _SYMBOL[change.action]
    head = f"  {sym} {change.resource} {style.bold(change.name)}"
    if change.action is Action.REPLACE:
        head += "  (must be replaced)"  # which field forces it is said once, on its own line
    elif change.reason and change.action in (Action.DELETE, Action.ADOPT):
        head += style.dim(f"  ({change.reason})")
    lines = [style.paint(head, _COLOUR[change.action]) if style.colour else head]
    for d in change.diffs:
        lines.extend(render_diff(d, change.action, style))
    return lines


def render_diff(d: FieldDiff, action: Action, style: Style) -> list[str]:
    """The one place a field's difference becomes text (its JSON form is ``FieldDiff.to_json``)."""
    why = style.dim(f"  # {d.why}") if d.why else ""
    if action is Action.CREATE:
        return [f"        {path} = {value(v, 100)}{why}" for path, v in _expand(d.path, d.after)]
    return [f"        {d.path}: {value(d.before)} → {value(d.after)}{why}"]


def _expand(path: str, v: Any) -> list[tuple[str, Any]]:
    """Nested mappings as one line per leaf (``environment.STAGE = "dev"``)."""
    if isinstance(v, dict) and v and v is not UNKNOWN and len(path) < 60:
        return [pair for k, sub in sorted(v.items()) for pair in _expand(f"{path}.{k}", sub)]
    return [(path, v)]


def render_plan(plan: Plan, style: Style) -> str:
    notes = [style.paint(f"  ! {n}", "33") for n in plan.notes]
    if plan.empty:
        return "\n".join([*notes, f"No changes. Stack {plan.stack} matches the spec."])
    lines = [style.bold(f"Plan for stack {plan.stack}" + (" (destroy)" if plan.destroy else "") + ":")]
    for change in plan:
        lines.extend(render_change(change, style))
    c = plan.counts()
    lines.extend(notes)
    lines.append("")
    adopt = f", {c['adopt']} to adopt" if c["adopt"] else ""
    lines.append(style.bold(f"Plan: {c['create']} to create, {c['update']} to update, {c['replace']} to "
                            f"replace, {c['delete']} to delete{adopt}."))
    return "\n".join(lines)


_DOING = {Action.CREATE: "creating", Action.UPDATE: "updating", Action.REPLACE: "replacing",
          Action.DELETE: "deleting", Action.ADOPT: "adopting"}


def render_event(event: Event, style: Style) -> str | None:
    """One line per event. Changes run concurrently, so each line names its change in full and
    lines come in the order things happen: a start line, later a done line with its time."""
    if event.type == "change-start" and event.change is not None:
        ch = event.change
        return f"  {style.dim('→')} {ch.resource} {ch.name} {style.dim(_DOING[ch.action] + '…')}"
    if event.type == "change-done" and event.change is not None:
        ch = event.change
        return f"  {style.paint('✓', '32')} {ch.resource} {ch.name} {_VERB[ch.action]} " \
               f"{style.dim(f'({event.elapsed_s:.1f}s)')}"
    if event.type in ("retry", "wait", "note"):
        return f"  {style.dim('…')} {event.message}"
    return None


def render_outputs(outputs: dict[str, Any], style: Style) -> str:
    width = max((len(k) for k in outputs), default=0)
    return "\n".join(f"  {k.ljust(width)} = {v}" for k, v in outputs.items())
