"""A stack's home region: where its global resources (CloudFront, IAM) point.

CloudFront and IAM are global: the same distribution and roles are found whatever region a run
targets. A run for another region than the stack's home would plan a second copy of the regional
resources there and repoint the live distribution's origins and the roles' policies at that region's
empty bucket and API, which takes the live dashboard and API down (a destroy would delete them). So a
run stops, with one line, when

* ``--region`` names another region than the spec (checked before any AWS call), or
* the stack's own global resources name another region than the run's (the spec's region was
  changed under a live stack): read from what the plan observed, before anything is written;

unless the caller says explicitly that the stack is to move (``--move-region``, ``move_region=True``).
Nothing here calls AWS or prints; :class:`~liveinsight_infra.errors.WrongRegion` is a user error (exit 1).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from .errors import WrongRegion

GLOBAL_SERVICES = ("cloudfront", "iam")
MOVE_FLAG = "--move-region"
# A region inside an ARN (arn:aws:logs:us-east-1:...) or an AWS hostname (x.s3.us-east-1.amazonaws.com).
_REGION = r"[a-z]{2}(?:-gov)?-[a-z]+-\d"
_PATTERNS = (re.compile(rf"arn:aws[a-z-]*:[a-z0-9-]+:({_REGION}):"), re.compile(rf"[.-]({_REGION})\.amazonaws\.com"))


def _message(stack: str, home: str, target: str, why: str) -> str:
    return (f"stack {stack} lives in its home region {home} ({why}); this run targets {target}, which would "
            f"repoint its global CloudFront distribution and IAM roles there. Nothing was changed. To move the "
            f"stack to {target} on purpose, run again with {MOVE_FLAG}")


def check_override(stack: str, spec_region: str, requested: str | None, move: bool) -> None:
    """``--region`` (``requested``) against the region the spec names; before any AWS call."""
    if requested is None or requested == spec_region or move:
        return
    raise WrongRegion(_message(stack, spec_region, requested, "the region its spec names"))


def regions_named(value: Any) -> set[str]:
    """Every region named in ARNs and AWS hostnames anywhere in ``value`` (nested dicts and lists)."""
    found: set[str] = set()
    if isinstance(value, str):
        for pattern in _PATTERNS:
            found.update(pattern.findall(value))
    elif isinstance(value, Mapping):
        for v in value.values():
            found |= regions_named(v)
    elif isinstance(value, Iterable):
        for v in value:
            found |= regions_named(v)
    return found


def observed_home(reconcilers: Iterable[Any]) -> set[str]:
    """The regions this stack's own global resources point at, from what the plan observed."""
    regions: set[str] = set()
    for r in reconcilers:
        if r.kind.split(".", 1)[0] not in GLOBAL_SERVICES:
            continue
        for observed in r.observed.values():
            if observed.owned:
                regions |= regions_named(observed.state)
    return regions


def check_observed(stack: str, target: str, reconcilers: Iterable[Any], move: bool) -> None:
    """After observing, before writing: the stack's global resources must point at ``target``."""
    homes = observed_home(reconcilers) - {target}
    if homes and not move:
        home = ", ".join(sorted(homes))
        raise WrongRegion(_message(stack, home, target, "its CloudFront distribution and IAM roles point there"))
