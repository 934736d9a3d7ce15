"""A plan as a file: what ``plan -out FILE`` writes and ``apply FILE`` reads (docs/saved-plans.md).

The file is JSON: every change with its desired state, the spec's hash, the tool's version and,
for each resource an apply reads again, a fingerprint of the state the plan was made against.
A secret is never written: a :class:`~.sensitive.Sensitive` value is saved as ``{"$sensitive": true}``
and comes back as :data:`~.plan.REDACTED`; an apply reads it again from AWS (or makes a new one).
A value known only after an earlier change is ``{"$unknown": true}``. Nothing here talks to AWS.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import LiveInsightError
from .plan import REDACTED, UNKNOWN, Action, Basis, Change, FieldDiff, Plan
from .sensitive import Sensitive
from .spec.model import StackSpec

FORMAT = "liveinsight-plan/1"
SENSITIVE_MARK = {"$sensitive": True}
UNKNOWN_MARK = {"$unknown": True}
ABSENT = "absent"  # the fingerprint of a resource the plan found missing


def encode(value: Any) -> Any:
    """``value`` as JSON data: secrets masked, unknowns marked, tuples as lists."""
    if value is UNKNOWN:
        return dict(UNKNOWN_MARK)
    if isinstance(value, Sensitive) or value is REDACTED:
        return dict(SENSITIVE_MARK)
    if isinstance(value, Mapping):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [encode(v) for v in value]
        return sorted(items, key=_sort_key) if isinstance(value, set | frozenset) else items
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def decode(value: Any) -> Any:
    if value == UNKNOWN_MARK:
        return UNKNOWN
    if value == SENSITIVE_MARK:
        return REDACTED
    if isinstance(value, dict):
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


def _sort_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def spec_hash(spec: StackSpec) -> str:
    """The SHA-256 of the spec as loaded (region override included)."""
    return hashlib.sha256(_sort_key(spec.model_dump(mode="json")).encode()).hexdigest()


def fingerprint(state: Mapping[str, Any] | None, owned: bool | None, fields: Mapping[str, Any] | None) -> str:
    """A digest of a resource's observed state: its fields that ``fields`` names (the desired state's;
    all of them when None) and whether it is this stack's. A secret counts by its own digest, so a
    changed secret changes the fingerprint without the fingerprint revealing it."""
    if state is None:
        return ABSENT
    keys = sorted(state) if fields is None else sorted(fields)
    data = {"owned": owned, "state": {k: _secret_digests(state.get(k)) for k in keys}}
    return hashlib.sha256(_sort_key(encode(data)).encode()).hexdigest()


def _secret_digests(value: Any) -> Any:
    if isinstance(value, Sensitive):
        return f"sha256:{value.digest}"
    if isinstance(value, Mapping):
        return {k: _secret_digests(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_secret_digests(v) for v in value]
    return value


def differs(saved: Any, now: Any) -> str | None:
    """The first path where ``now`` (a desired state computed again) differs from the one a plan saved,
    or None. What the plan did not know (unknown) or could not save (a secret) matches anything."""
    return _first_difference(encode(saved), encode(now), "")


def _first_difference(saved: Any, now: Any, path: str) -> str | None:
    if saved in (UNKNOWN_MARK, SENSITIVE_MARK):
        return None
    if isinstance(saved, dict) and isinstance(now, dict):
        for key in sorted(set(saved) | set(now)):
            if key not in saved or key not in now:
                return f"{path}{key}"
            found = _first_difference(saved[key], now[key], f"{path}{key}.")
            if found is not None:
                return found
        return None
    if isinstance(saved, list) and isinstance(now, list) and len(saved) == len(now):
        for i, (a, b) in enumerate(zip(saved, now, strict=True)):
            found = _first_difference(a, b, f"{path}{i}.")
            if found is not None:
                return found
        return None
    return None if saved == now else (path.rstrip(".") or "(the whole value)")


def to_data(plan: Plan, source: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``source``: where the plan's spec came from (the command line records its path and region)."""
    basis = plan.basis or Basis()
    changes = []
    for c in plan.changes:
        item: dict[str, Any] = {"action": c.action.value, "resource": c.resource, "name": c.name,
                                "diffs": [{"path": d.path, "before": encode(d.before), "after": encode(d.after),
                                           "why": d.why} for d in c.diffs],
                                "reason": c.reason, "forces_replace": list(c.forces_replace)}
        if c.address in plan.desired:
            item["desired"] = encode(plan.desired[c.address])
        changes.append(item)
    return {"format": FORMAT, "version": basis.version, "stack": plan.stack, "spec_hash": basis.spec_hash,
            "destroy": plan.destroy,
            "options": {"rotate_origin_secret": basis.rotate_origin_secret, "force": basis.force},
            "source": dict(source or {}), "changes": changes, "notes": list(plan.notes),
            "basis": {"reread": list(basis.reread), "fingerprints": encode(basis.fingerprints),
                      "outputs": encode(basis.outputs)}}


def from_data(data: Mapping[str, Any]) -> Plan:
    if not isinstance(data, Mapping) or data.get("format") != FORMAT:
        raise LiveInsightError(f"not a saved plan of this tool (expected format {FORMAT}): run plan -out FILE again")
    try:
        changes, desired = [], {}
        for item in data["changes"]:
            change = Change(Action(item["action"]), item["resource"], item["name"],
                            tuple(FieldDiff(d["path"], decode(d["before"]), decode(d["after"]), d.get("why", ""))
                                  for d in item["diffs"]),
                            item.get("reason", ""), tuple(item.get("forces_replace", ())))
            changes.append(change)
            if "desired" in item:
                desired[change.address] = decode(item["desired"])
        options, saved = data.get("options", {}), data["basis"]
        basis = Basis(spec_hash=data["spec_hash"], version=data["version"], reread=tuple(saved["reread"]),
                      fingerprints=saved["fingerprints"], outputs=decode(saved["outputs"]),
                      rotate_origin_secret=bool(options.get("rotate_origin_secret")),
                      force=bool(options.get("force")))
        return Plan(tuple(changes), stack=data["stack"], destroy=bool(data["destroy"]),
                    notes=tuple(data.get("notes", ())), desired=desired, basis=basis)
    except (KeyError, TypeError, ValueError) as exc:
        raise LiveInsightError(f"the saved plan is damaged ({exc!r}): run plan -out FILE again") from None


def save(plan: Plan, path: str | Path, source: Mapping[str, Any] | None = None) -> None:
    Path(path).write_text(json.dumps(to_data(plan, source), indent=1) + "\n")


def read_data(path: str | Path) -> dict[str, Any]:
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise LiveInsightError(f"cannot read the saved plan {path}: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except ValueError:
        raise LiveInsightError(f"{path} is not a saved plan (not JSON): run plan -out FILE again") from None
    if not isinstance(data, dict):
        raise LiveInsightError(f"{path} is not a saved plan: run plan -out FILE again")
    return data


def load(path: str | Path) -> Plan:
    return from_data(read_data(path))


def is_saved_plan(path: str | Path) -> bool:
    """Whether ``path`` holds a saved plan (rather than a spec): a JSON object of this format."""
    try:
        head = Path(path).read_text()[:4096]
    except OSError:
        return False
    return head.lstrip().startswith("{") and f'"{FORMAT}"' in head
