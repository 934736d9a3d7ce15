"""What CloudFront sends the API: the stack's own origin request policy for the ``/api/*`` behavior.

The functions need the visitor's address (``CloudFront-Viewer-Address``) and country
(``CloudFront-Viewer-Country``), which CloudFront adds to an origin request only when the
behavior's origin request policy names them
(https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/adding-cloudfront-headers.html).
The managed ``AllViewerExceptHostHeader`` policy forwards the viewer's headers only, and no header
behavior combines "all viewer headers except Host" with CloudFront's headers, so the stack owns a
``whitelist`` policy: exactly the headers the API reads (:data:`API_HEADERS`), never ``Host``
(API Gateway answers 403 to the viewer's Host). See docs/architecture.md, "Viewer headers through
CloudFront".

Like the response headers policy (``response_headers.py``), the policy is found by its name
(unique per account) and cannot carry tags: the stack recognises its own by a creation marker, the
Comment it always creates it with, or by its use in the stack's own (tagged) distribution
(docs/adoption.md). A same-named policy without either is somebody else's: it is planned
``adopt``. A create whose answer was lost ends in ``OriginRequestPolicyAlreadyExists``; the policy
found then carries the marker (it was in the create call), so it is finished without a flag.
Writes send the ETag just read. Destroy deletes it after the distribution (which depends on it)
stopped using it; CloudFront refuses to delete a policy in use (``OriginRequestPolicyInUse``).

The policy exists whichever policy the spec's ``distribution.api_origin_request_policy`` selects;
the spec chooses which one the ``/api/*`` behavior uses. A custom policy costs nothing, and
switching back and forth never has to delete a policy that a distribution still uses.
References: https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/controlling-origin-requests.html,
https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_OriginRequestPolicyConfig.html.
"""

from __future__ import annotations

from typing import Any

from .. import naming
from ..constants import MAX_ORIGIN_REQUEST_POLICY_HEADERS
from ..errors import AwsCallError
from ..plan import UNKNOWN, FieldDiff
from .base import Observed, Outputs, Reconciler
from .cloudfront import find_distribution
from .kind_outputs import OriginRequestPolicyOutputs, keys

FORWARDED = "forwarded"
# The headers the API reads, and why. Not Host (API Gateway answers 403 to the viewer's Host); not
# Authorization (no function reads it). CloudFront allows 10 headers per origin request policy
# (MAX_ORIGIN_REQUEST_POLICY_HEADERS; https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html).
API_HEADERS: tuple[str, ...] = (
    "Origin",                          # the answer's CORS headers name the caller's origin (handlers/shared/http.py)
    "Access-Control-Request-Method",   # CORS preflights, answered by API Gateway's OPTIONS methods
    "Access-Control-Request-Headers",
    "Content-Type",                    # the event collector parses the body by its type
    "User-Agent",                      # bot filter and visitor id; else CloudFront sends its own
    "Referer",                         # what a direct call carries; no function reads it today
    "X-API-Key",                       # routes with api_key_required (API Gateway checks it)
    "CloudFront-Viewer-Address",       # the visitor's address (handlers/shared/visitors.py)
    "CloudFront-Viewer-Country",       # the country dimension (handlers/shared/dimensions.py)
)
_CANONICAL = {h.lower(): h for h in API_HEADERS}


def policy_name(spec: Any) -> str:
    return f"{naming.stack_id(spec)}-api-origin-request"


def _names(behavior: str, items: list[str]) -> str:
    """A query string or cookie setting as one value: ``all``, ``none``, ``whitelist: a, b``."""
    return f"{behavior}: {', '.join(sorted(items))}" if items else behavior


def _split(value: str) -> tuple[str, list[str]]:
    behavior, _, rest = value.partition(": ")
    return behavior, [i for i in rest.split(", ") if i]


def _listed(behavior: str, key: str, items: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {f"{key}Behavior": behavior}
    if items:
        out[f"{key}s"] = {"Quantity": len(items), "Items": items}
    return out


def to_config(name: str, desired: dict[str, Any]) -> dict[str, Any]:
    """CloudFront's ``OriginRequestPolicyConfig`` for a desired state."""
    headers = list(desired["headers"])
    if len(headers) > MAX_ORIGIN_REQUEST_POLICY_HEADERS:  # CloudFront would refuse it with TooManyHeaders…
        raise ValueError(f"{name}: {len(headers)} headers, CloudFront allows {MAX_ORIGIN_REQUEST_POLICY_HEADERS}")
    qs_behavior, qs = _split(desired["query_strings"])
    cookie_behavior, cookies = _split(desired["cookies"])
    return {"Name": name, "Comment": desired["comment"],
            "HeadersConfig": _listed(desired["header_behavior"], "Header", headers),
            "CookiesConfig": _listed(cookie_behavior, "Cookie", cookies),
            "QueryStringsConfig": _listed(qs_behavior, "QueryString", qs)}


def state_of(config: dict[str, Any]) -> dict[str, Any]:
    """A policy's config as a state: each header by name (the plan names the one that drifted)."""
    def items(section: str, key: str) -> list[str]:
        return list(((config.get(section) or {}).get(key) or {}).get("Items") or [])

    headers = {_CANONICAL.get(h.lower(), h): FORWARDED for h in items("HeadersConfig", "Headers")}
    return {"comment": config.get("Comment", ""),
            "header_behavior": (config.get("HeadersConfig") or {}).get("HeaderBehavior"),
            "headers": dict(sorted(headers.items())),
            "query_strings": _names((config.get("QueryStringsConfig") or {}).get("QueryStringBehavior", ""),
                                    items("QueryStringsConfig", "QueryStrings")),
            "cookies": _names((config.get("CookiesConfig") or {}).get("CookieBehavior", ""),
                              items("CookiesConfig", "Cookies"))}


class OriginRequestPolicyReconciler(Reconciler):
    kind = "cloudfront.origin_request_policy"
    output_keys = keys(OriginRequestPolicyOutputs)

    def names(self) -> list[str]:
        return [policy_name(self.spec)]

    def comment(self) -> str:
        """The creation marker: every policy this stack creates carries it in its Comment."""
        return f"LiveInsight {naming.stack_id(self.spec)}: what CloudFront sends the API"

    def desired(self, name: str, outputs: Outputs) -> dict[str, Any]:
        # Query strings: the stats API reads its parameters from them. Cookies: the API uses none.
        return {"comment": self.comment(), "header_behavior": "whitelist",
                "headers": {h: FORWARDED for h in sorted(API_HEADERS)},
                "query_strings": "all", "cookies": "none"}

    def observe(self, for_destroy: bool = False) -> dict[str, Observed]:
        cf = self.client("cloudfront")
        name = self.names()[0]
        items: list[dict[str, Any]] = []
        marker: str | None = None
        while True:
            with self.calling(name, "ListOriginRequestPolicies"):
                page = cf.list_origin_request_policies(Type="custom", **({"Marker": marker} if marker else {}))
            lst = page.get("OriginRequestPolicyList", {})
            items += [i["OriginRequestPolicy"] for i in lst.get("Items") or []]
            marker = lst.get("NextMarker")
            if not marker:
                break
        found = [p for p in items if p["OriginRequestPolicyConfig"].get("Name") == name]
        if not found:
            return {}
        state = state_of(found[0]["OriginRequestPolicyConfig"])
        owned = state["comment"] == self.comment() or self._used_by_ours(found[0]["Id"])
        return {name: Observed(state, {"id": found[0]["Id"]}, owned)}

    def _used_by_ours(self, policy_id: str) -> bool:
        # ListDistributions' summaries name each behavior's policy (read once per run, shared).
        dist = find_distribution(self) or {}
        behaviors = [dist.get("DefaultCacheBehavior") or {}]
        behaviors += (dist.get("CacheBehaviors") or {}).get("Items") or []
        return any(b.get("OriginRequestPolicyId") == policy_id for b in behaviors)

    def take_ownership(self, name: str, current: Observed) -> Observed:
        """Write the marker: the whole config the spec wants, the marker in its Comment."""
        return self.converge(name, self.desired(name, {}), current)

    def create(self, name: str, desired: dict[str, Any]) -> Observed:
        created = None
        with self.calling(name, "CreateOriginRequestPolicy", ignore=("OriginRequestPolicyAlreadyExists",)):
            created = self.client("cloudfront").create_origin_request_policy(
                OriginRequestPolicyConfig=to_config(name, desired))
        if created is None:  # an interrupted apply made it (the marker proves it), or somebody else did
            current = self.observe().get(name)
            if current is None:  # the name is taken, yet the list does not show it (yet)
                raise AwsCallError(f"{self.kind} {name}",
                                   "CreateOriginRequestPolicy", "OriginRequestPolicyAlreadyExists",
                                   "CloudFront says a policy of this name exists, but does not list it",
                                   hint="CloudFront's list lags behind its writes: run apply again in a minute")
            self.refuse_foreign(name, bool(current.owned))
            return self.converge(name, desired, current)
        return Observed(dict(desired), {"id": created["OriginRequestPolicy"]["Id"]}, True)

    def update(self, name: str, desired: dict[str, Any], current: Observed,
               diffs: tuple[FieldDiff, ...]) -> Observed:
        cf = self.client("cloudfront")
        policy_id = current.meta["id"]
        if diffs:
            with self.calling(name, "GetOriginRequestPolicy"):
                etag = cf.get_origin_request_policy(Id=policy_id)["ETag"]
            with self.calling(name, "UpdateOriginRequestPolicy"):
                cf.update_origin_request_policy(Id=policy_id, IfMatch=etag,
                                                OriginRequestPolicyConfig=to_config(name, desired))
        return Observed(dict(desired), current.meta, True)

    def delete(self, name: str, current: Observed) -> None:
        cf = self.client("cloudfront")
        found = self.read(name, "GetOriginRequestPolicy", lambda: cf.get_origin_request_policy(Id=current.meta["id"]),
                          absent=("NoSuchOriginRequestPolicy",))
        if found is not None:  # gone already: nothing to delete
            etag = found["ETag"]
            with self.calling(name, "DeleteOriginRequestPolicy", ignore=("NoSuchOriginRequestPolicy",)):
                cf.delete_origin_request_policy(Id=current.meta["id"], IfMatch=etag)

    def outputs(self, name: str, current: Observed | None) -> OriginRequestPolicyOutputs:
        return {"id": current.meta["id"] if current else UNKNOWN}
