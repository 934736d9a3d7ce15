"""The sites the stack accepts (the spec's ``sites``, docs/security.md): the functions' variable
``LIVEINSIGHT_SITES``, a JSON object from each accepted domain (a site or one of its aliases) to the
site its events count under. Adding a site is an ``apply`` that updates the variable; no new code.

An event for any other domain is dropped before anything is read or written, and the request is
answered 202 as for a stored event, as Plausible answers an event for a site it does not know (its
``GateKeeper`` denies the domain ``:not_found`` and the controller still answers 202 "ok", with an
``x-plausible-dropped`` header: https://github.com/plausible/analytics/blob/master/lib/plausible/site/gate_keeper.ex,
https://github.com/plausible/analytics/blob/master/lib/plausible_web/controllers/api/external_controller.ex).
Without the variable (a function run outside a stack, as in its unit tests) every site is accepted.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache

VARIABLE = "LIVEINSIGHT_SITES"


@lru_cache(maxsize=4)
def _accepted(raw: str) -> dict[str, str]:
    try:
        found = json.loads(raw)
    except ValueError:
        return {}  # a variable the tool did not write: accept nothing rather than everything
    if not isinstance(found, dict):
        return {}
    return {str(k): str(v) for k, v in found.items()}


def site_of(domain: str) -> str | None:
    """The site an event for ``domain`` counts under, or None when the stack does not accept it."""
    raw = os.environ.get(VARIABLE)
    if raw is None:
        return domain
    return _accepted(raw).get(domain)


def _bare(host: str | None) -> str:
    return (host or "").strip().lower().rstrip(".").removeprefix("www.")


@lru_cache(maxsize=4)
def _own(raw: str | None, site: str) -> frozenset[str]:
    hosts = {_bare(site)}
    if raw is not None:
        hosts |= {_bare(domain) for domain, owner in _accepted(raw).items() if owner == site}
    return frozenset(hosts)


def is_self_referral(referrer_host: str | None, page_host: str | None, domain: str) -> bool:
    """Whether a referrer is the site itself: its host, without ``www.``, is the page's host, the
    site's or a declared alias's (each without ``www.``). Plausible's ``has_referral?`` (source.ex)
    compares with the page's host; a declared alias is the site too. Such a referrer is none: no
    referrer and no source (the one rule of the collector and the breakdowns, docs/metrics.md)."""
    ref = _bare(referrer_host)
    if not ref:
        return False
    if ref == _bare(page_host):
        return True
    site = site_of(domain) or domain
    return ref in _own(os.environ.get(VARIABLE), site)
