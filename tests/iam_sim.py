"""A small IAM policy evaluator for tests: does this identity policy allow this request?

It follows the documented evaluation logic for one identity-based policy
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
an explicit Deny wins, otherwise some Allow must match, otherwise the request is denied.
Action and Resource (and NotAction / NotResource) match with ``*`` and ``?`` wildcards; the
condition operators below are the ones our policies use, and any other operator is an error
(so a policy never passes a test by using something this evaluator does not understand).

Requests are checked against AWS's Service Authorization Reference (tests/iam_reference.py) before
they are evaluated, so the simulator never invents what AWS would not send: an action the reference
does not define is an error, as is a context key it does not define for the action (besides the
global keys); an action with no resource type is evaluated on ``*`` whatever resource the call names,
as AWS does (a statement scoped to an ARN does not grant it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

ContextValue = str | Sequence[str]


@dataclass(frozen=True)
class Request:
    action: str  # "service:Action"
    resource: str  # an ARN, or "*" for actions that take no resource
    context: Mapping[str, ContextValue] = field(default_factory=dict)

    def __str__(self) -> str:
        extra = f" {dict(self.context)}" if self.context else ""
        return f"{self.action} on {self.resource}{extra}"


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _wild(pattern: str, value: str, case: bool = True) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case else re.IGNORECASE) is not None


def _equals(pattern: str, value: str) -> bool:
    return pattern == value


def _like(pattern: str, value: str) -> bool:
    return _wild(pattern, value)


def _equals_ci(pattern: str, value: str) -> bool:
    return pattern.lower() == value.lower()


def _bool(pattern: str, value: str) -> bool:
    return str(pattern).lower() == str(value).lower()


_MATCHERS = {"StringEquals": _equals, "StringLike": _like, "ArnLike": _like, "ArnEquals": _like,
             "StringEqualsIgnoreCase": _equals_ci, "Bool": _bool}
_NEGATED = {"StringNotEquals": _equals, "StringNotLike": _like, "ArnNotLike": _like, "ArnNotEquals": _like}


def _condition_holds(operator: str, key: str, wanted: Any, context: Mapping[str, ContextValue]) -> bool:
    ctx = {k.lower(): v for k, v in context.items()}
    present = key.lower() in ctx
    raw = ctx.get(key.lower())
    values = [] if raw is None else _as_list(raw)
    patterns = [str(p) for p in _as_list(wanted)]
    if operator == "Null":
        return (not present) == (str(wanted).lower() == "true")
    qualifier, _, op = operator.rpartition(":")
    if_exists = op.endswith("IfExists")
    op = op.removesuffix("IfExists")
    if op in _MATCHERS:
        match, negate = _MATCHERS[op], False
    elif op in _NEGATED:
        match, negate = _NEGATED[op], True
    else:
        raise ValueError(f"condition operator {operator!r} is not understood by this evaluator")
    if not present:
        if if_exists or qualifier == "ForAllValues":
            return True
        return negate  # a negated operator holds on a missing key; the others do not
    def hit(v: str) -> bool:
        return any(match(p, str(v)) for p in patterns)
    if qualifier == "ForAllValues":
        return all((not hit(v)) if negate else hit(v) for v in values)
    if qualifier == "ForAnyValue":
        return any((not hit(v)) if negate else hit(v) for v in values)
    if qualifier:
        raise ValueError(f"condition qualifier {qualifier!r} is not understood by this evaluator")
    if len(values) != 1:
        raise ValueError(f"{key} is multivalued: use ForAllValues/ForAnyValue with it")
    return not hit(values[0]) if negate else hit(values[0])


def _conditions_hold(statement: Mapping[str, Any], request: Request) -> bool:
    for operator, checks in (statement.get("Condition") or {}).items():
        for key, wanted in checks.items():
            if not _condition_holds(operator, key, wanted, request.context):
                return False
    return True


def _matches(statement: Mapping[str, Any], request: Request) -> bool:
    if "Action" in statement:
        action_ok = any(_wild(a, request.action, case=False) for a in _as_list(statement["Action"]))
    else:
        action_ok = not any(_wild(a, request.action, case=False) for a in _as_list(statement["NotAction"]))
    if not action_ok:
        return False
    if "Resource" in statement:
        resource_ok = any(_wild(r, request.resource) for r in _as_list(statement["Resource"]))
    else:
        resource_ok = not any(_wild(r, request.resource) for r in _as_list(statement["NotResource"]))
    return resource_ok and _conditions_hold(statement, request)


def as_aws_sends(request: Request) -> Request:
    """The request as AWS evaluates it (see the module docstring); raises for invented context."""
    from tests import iam_reference

    action = iam_reference.action(request.action)  # KeyError: not an action AWS defines
    invented = sorted(k for k in request.context if not iam_reference.key_defined(action, k))
    if invented:
        raise ValueError(f"{request}: AWS sends no {', '.join(invented)} with {action.full} (it defines "
                         f"{', '.join(action.condition_keys) or 'no key'} besides the global keys)")
    if not action.resource_arns and request.resource != "*":
        return Request(request.action, "*", request.context)
    return request


def decide(policy: Mapping[str, Any], request: Request) -> str:
    """"deny" (explicit), "allow", or "implicit-deny"."""
    request = as_aws_sends(request)
    statements = _as_list(policy["Statement"])
    if any(s["Effect"] == "Deny" and _matches(s, request) for s in statements):
        return "deny"
    if any(s["Effect"] == "Allow" and _matches(s, request) for s in statements):
        return "allow"
    return "implicit-deny"


def allowed(policy: Mapping[str, Any], request: Request) -> bool:
    return decide(policy, request) == "allow"


def refused(policy: Mapping[str, Any], requests: Iterable[Request]) -> list[str]:
    """The requests the policy does not allow, as readable lines (empty when all are allowed)."""
    return sorted({str(as_aws_sends(r)) for r in requests if not allowed(policy, r)})
