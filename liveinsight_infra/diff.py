"""Pure helpers to compare desired and observed state. No AWS calls, no printing.

Observed state is normalised before it reaches these helpers (server-owned fields dropped, AWS
defaults filled), so equal means "nothing to do".
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from .plan import UNKNOWN, FieldDiff

FORCES_REPLACEMENT = "forces replacement"
NOT_DECLARED = "not declared in the spec"


def diff_state(desired: dict[str, Any], observed: dict[str, Any], prefix: str = "") -> tuple[FieldDiff, ...]:
    """Field-by-field differences between two normalised states.

    Nested dicts are compared key by key (paths like ``environment.STAGE``); lists and scalars as
    whole values. A desired value of UNKNOWN always differs (it will be known after apply).
    """
    out: list[FieldDiff] = []
    for key in sorted(set(desired) | set(observed), key=str):
        path = f"{prefix}{key}"
        want, have = desired.get(key), observed.get(key)
        if key not in desired:
            continue  # a field we do not manage
        if isinstance(want, dict) and isinstance(have, dict) and want is not UNKNOWN:
            out.extend(diff_state(want, have, prefix=f"{path}."))
            for extra in sorted(set(have) - set(want), key=str):
                out.append(FieldDiff(f"{path}.{extra}", have[extra], None, NOT_DECLARED))
        elif want is UNKNOWN or want != have:
            out.append(FieldDiff(path, have, want))
    return tuple(out)


def mark_forced(diffs: Iterable[FieldDiff], forced: Iterable[str]) -> tuple[FieldDiff, ...]:
    """``diffs`` with the ones in a ``forced`` top-level field saying that they force a replacement."""
    fields = set(forced)
    return tuple(d.because(FORCES_REPLACEMENT) if d.field in fields and not d.why else d for d in diffs)


def fields_of(diffs: Iterable[FieldDiff]) -> set[str]:
    """The top-level fields that ``diffs`` touch (what an update decides its calls by)."""
    return {d.field for d in diffs}


def entries(diffs: Iterable[FieldDiff], field: str, names: Iterable[str]) -> dict[str, tuple[FieldDiff, ...]]:
    """The diffs inside the mapping ``field``, by the entry of it they are in.

    An entry's name may hold dots (``methods.GET /v1.0/x.integration.uri``), so the path is not
    split: each diff goes to the longest of ``names`` that its path starts with.
    """
    known = sorted(set(names), key=len, reverse=True)
    out: dict[str, list[FieldDiff]] = {}
    for d in diffs:
        if d.field != field:
            continue
        rest = d.path[len(field) + 1:]
        entry = next((n for n in known if rest == n or rest.startswith(f"{n}.")), None)
        if entry is not None:
            out.setdefault(entry, []).append(d)
    return {k: tuple(v) for k, v in out.items()}


def fields_below(diffs: Iterable[FieldDiff], prefix: str) -> set[str]:
    """The fields right below ``prefix`` that ``diffs`` touch ({"authorization"} for
    ``methods.GET /x.authorization`` below ``methods.GET /x``); empty for a diff of ``prefix`` itself."""
    return {d.path[len(prefix) + 1:].split(".", 1)[0] for d in diffs if d.path.startswith(f"{prefix}.")}


def compare_tags(current: dict[str, str], desired: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """Tags to set and tag keys to remove; ``aws:`` tags are never touched."""
    to_set = {k: v for k, v in desired.items() if current.get(k) != v}
    to_unset = sorted(k for k in current if k not in desired and not k.lower().startswith("aws:"))
    return to_set, to_unset


def user_tags(tags: dict[str, str] | None) -> dict[str, str]:
    """Tags as we manage them: everything but AWS's own ``aws:`` tags."""
    return {k: v for k, v in (tags or {}).items() if not k.lower().startswith("aws:")}


def tag_list_to_dict(tags: list[dict[str, str]] | None, key: str = "Key", value: str = "Value") -> dict[str, str]:
    return {t[key]: t[value] for t in tags or []}


def dict_to_tag_list(tags: dict[str, str], key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
    return [{key: k, value: v} for k, v in sorted(tags.items())]


def normalize_policy(document: str | dict[str, Any] | None) -> dict[str, Any] | None:
    """An IAM policy as a canonical structure, so that AWS's reordering never shows as drift.

    Statement order, action order and single-item lists versus strings do not matter to IAM.
    """
    if document is None:
        return None
    doc = json.loads(document) if isinstance(document, str) else document
    statements = doc.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    canon = [_canon(s) for s in statements]
    canon.sort(key=lambda s: json.dumps(s, sort_keys=True))
    return {"Version": doc.get("Version", "2008-10-17"), "Statement": canon}


def _canon(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _canon(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        items = [_canon(v) for v in value]
        if len(items) == 1:
            return items[0]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    return value
