"""The dashboard's security headers: one CloudFront response headers policy, and the same headers
for ``serve``.

The headers are stated once (:data:`SECURITY_HEADERS`). The reconciler turns them into a
CloudFront ``ResponseHeadersPolicyConfig`` and reads a policy back into the same header map, so
a plan names the header that drifted. The policy is found by its name (unique per account). It
cannot carry tags, so, like the Origin Access Control, the stack recognises its own by a creation
marker, the Comment it always creates it with, or by its use in the stack's own (tagged)
distribution (docs/adoption.md). A same-named policy without either is somebody else's: it is
planned ``adopt``. A create whose answer was lost ends in ``ResponseHeadersPolicyAlreadyExists``;
the policy found then carries the marker (it was in the create call), so it is finished without a
flag. Writes send the ETag just read.

What the Content-Security-Policy allows is what ``site/`` needs and no more: its own script,
stylesheet and ``config.json``, and API calls to the same origin (``/api``). The dashboard sets
bar widths through the CSSOM, which a CSP does not restrict, so no inline style is allowed.
``tracker.js`` is served under the same policy and still loads on any customer's site: none of
these headers limits who may load a script (there is no ``Cross-Origin-Resource-Policy``;
``nosniff`` only needs its JavaScript Content-Type).
References: https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/understanding-response-headers-policies.html,
https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/Content-Security-Policy.
"""

from __future__ import annotations

from typing import Any

from .. import naming
from ..errors import AwsCallError
from ..plan import UNKNOWN, FieldDiff
from .base import Observed, Outputs, Reconciler
from .cloudfront import find_distribution
from .kind_outputs import ResponseHeadersPolicyOutputs, keys

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
HSTS_MAX_AGE_S = 63072000  # two years: https://hstspreload.org/#deployment-recommendations
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CSP,
    "Strict-Transport-Security": f"max-age={HSTS_MAX_AGE_S}; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def policy_name(spec: Any) -> str:
    return f"{naming.stack_id(spec)}-security-headers"


def to_config(name: str, comment: str, headers: dict[str, str]) -> dict[str, Any]:
    """CloudFront's config for exactly these headers (each overrides what the origin sends)."""
    known = {"Content-Security-Policy", "Strict-Transport-Security", "X-Content-Type-Options", "X-Frame-Options",
             "Referrer-Policy"}
    security: dict[str, Any] = {}
    if "Content-Security-Policy" in headers:
        security["ContentSecurityPolicy"] = {"Override": True,
                                             "ContentSecurityPolicy": headers["Content-Security-Policy"]}
    if "Strict-Transport-Security" in headers:
        parts = [p.strip() for p in headers["Strict-Transport-Security"].split(";")]
        max_age = int(next(p for p in parts if p.startswith("max-age=")).split("=", 1)[1])
        security["StrictTransportSecurity"] = {"Override": True, "AccessControlMaxAgeSec": max_age,
                                               "IncludeSubdomains": "includeSubDomains" in parts,
                                               "Preload": "preload" in parts}
    if headers.get("X-Content-Type-Options") == "nosniff":
        security["ContentTypeOptions"] = {"Override": True}
    if "X-Frame-Options" in headers:
        security["FrameOptions"] = {"Override": True, "FrameOption": headers["X-Frame-Options"]}
    if "Referrer-Policy" in headers:
        security["ReferrerPolicy"] = {"Override": True, "ReferrerPolicy": headers["Referrer-Policy"]}
    custom = [{"Header": k, "Value": v, "Override": True} for k, v in sorted(headers.items()) if k not in known]
    config: dict[str, Any] = {"Name": name, "Comment": comment, "SecurityHeadersConfig": security}
    if custom:
        config["CustomHeadersConfig"] = {"Quantity": len(custom), "Items": custom}
    return config


def headers_of(config: dict[str, Any]) -> tuple[dict[str, str], bool]:
    """The headers a config sends, and whether every one of them overrides the origin's."""
    sec = config.get("SecurityHeadersConfig") or {}
    out: dict[str, str] = {}
    overrides: list[bool] = []
    if (csp := sec.get("ContentSecurityPolicy")) is not None:
        out["Content-Security-Policy"] = csp.get("ContentSecurityPolicy", "")
        overrides.append(bool(csp.get("Override")))
    if (hsts := sec.get("StrictTransportSecurity")) is not None:
        value = f"max-age={hsts.get('AccessControlMaxAgeSec')}"
        value += "; includeSubDomains" if hsts.get("IncludeSubdomains") else ""
        value += "; preload" if hsts.get("Preload") else ""
        out["Strict-Transport-Security"] = value
        overrides.append(bool(hsts.get("Override")))
    if (cto := sec.get("ContentTypeOptions")) is not None:
        out["X-Content-Type-Options"] = "nosniff"
        overrides.append(bool(cto.get("Override")))
    if (frame := sec.get("FrameOptions")) is not None:
        out["X-Frame-Options"] = frame.get("FrameOption", "")
        overrides.append(bool(frame.get("Override")))
    if (ref := sec.get("ReferrerPolicy")) is not None:
        out["Referrer-Policy"] = ref.get("ReferrerPolicy", "")
        overrides.append(bool(ref.get("Override")))
    if (xss := sec.get("XSSProtection")) is not None:
        out["X-XSS-Protection"] = "1" if xss.get("Protection") else "0"
        overrides.append(bool(xss.get("Override")))
    for item in (config.get("CustomHeadersConfig") or {}).get("Items") or []:
        out[item["Header"]] = item.get("Value", "")
        overrides.append(bool(item.get("Override")))
    for section in ("CorsConfig", "ServerTimingHeadersConfig", "RemoveHeadersConfig"):
        if config.get(section):  # not managed here: any of them is drift to remove
            out[f"({section})"] = "set"
    return dict(sorted(out.items())), all(overrides)


class ResponseHeadersPolicyReconciler(Reconciler):
    kind = "cloudfront.response_headers_policy"
    output_keys = keys(ResponseHeadersPolicyOutputs)

    def names(self) -> list[str]:
        return [policy_name(self.spec)]

    def comment(self) -> str:
        """The creation marker: every policy this stack creates carries it in its Comment."""
        return f"LiveInsight {naming.stack_id(self.spec)}: the dashboard's security headers"

    def desired(self, name: str, outputs: Outputs) -> dict[str, Any]:
        return {"comment": self.comment(),
                "headers": dict(sorted(SECURITY_HEADERS.items())), "override": True}

    def observe(self, for_destroy: bool = False) -> dict[str, Observed]:
        cf = self.client("cloudfront")
        name = self.names()[0]
        items: list[dict[str, Any]] = []
        marker: str | None = None
        while True:
            with self.calling(name, "ListResponseHeadersPolicies"):
                page = cf.list_response_headers_policies(Type="custom", **({"Marker": marker} if marker else {}))
            lst = page.get("ResponseHeadersPolicyList", {})
            items += [i["ResponseHeadersPolicy"] for i in lst.get("Items") or []]
            marker = lst.get("NextMarker")
            if not marker:
                break
        found = [p for p in items if p["ResponseHeadersPolicyConfig"].get("Name") == name]
        if not found:
            return {}
        config = found[0]["ResponseHeadersPolicyConfig"]
        headers, override = headers_of(config)
        state = {"comment": config.get("Comment", ""), "headers": headers, "override": override}
        owned = state["comment"] == self.comment() or self._used_by_ours(found[0]["Id"])
        return {name: Observed(state, {"id": found[0]["Id"]}, owned)}

    def _used_by_ours(self, policy_id: str) -> bool:
        # ListDistributions' summaries name each behavior's policy (read once per run, shared).
        dist = find_distribution(self) or {}
        behaviors = [dist.get("DefaultCacheBehavior") or {}]
        behaviors += (dist.get("CacheBehaviors") or {}).get("Items") or []
        return any(b.get("ResponseHeadersPolicyId") == policy_id for b in behaviors)

    def take_ownership(self, name: str, current: Observed) -> Observed:
        """Write the marker: the whole config the spec wants, the marker in its Comment."""
        return self.converge(name, self.desired(name, {}), current)

    def create(self, name: str, desired: dict[str, Any]) -> Observed:
        created = None
        with self.calling(name, "CreateResponseHeadersPolicy", ignore=("ResponseHeadersPolicyAlreadyExists",)):
            created = self.client("cloudfront").create_response_headers_policy(
                ResponseHeadersPolicyConfig=to_config(name, desired["comment"], desired["headers"]))
        if created is None:  # an interrupted apply made it (the marker proves it), or somebody else did
            current = self.observe().get(name)
            if current is None:  # the name is taken, yet the list does not show it (yet)
                raise AwsCallError(f"{self.kind} {name}",
                                   "CreateResponseHeadersPolicy", "ResponseHeadersPolicyAlreadyExists",
                                   "CloudFront says a policy of this name exists, but does not list it",
                                   hint="CloudFront's list lags behind its writes: run apply again in a minute")
            self.refuse_foreign(name, bool(current.owned))
            return self.converge(name, desired, current)
        return Observed(dict(desired), {"id": created["ResponseHeadersPolicy"]["Id"]}, True)

    def update(self, name: str, desired: dict[str, Any], current: Observed,
               diffs: tuple[FieldDiff, ...]) -> Observed:
        cf = self.client("cloudfront")
        policy_id = current.meta["id"]
        if diffs:
            with self.calling(name, "GetResponseHeadersPolicy"):
                etag = cf.get_response_headers_policy(Id=policy_id)["ETag"]
            with self.calling(name, "UpdateResponseHeadersPolicy"):
                cf.update_response_headers_policy(
                    Id=policy_id, IfMatch=etag,
                    ResponseHeadersPolicyConfig=to_config(name, desired["comment"], desired["headers"]))
        return Observed(dict(desired), current.meta, True)

    def delete(self, name: str, current: Observed) -> None:
        cf = self.client("cloudfront")
        found = self.read(name, "GetResponseHeadersPolicy",
                          lambda: cf.get_response_headers_policy(Id=current.meta["id"]),
                          absent=("NoSuchResponseHeadersPolicy",))
        if found is not None:  # gone already: nothing to delete
            etag = found["ETag"]
            with self.calling(name, "DeleteResponseHeadersPolicy", ignore=("NoSuchResponseHeadersPolicy",)):
                cf.delete_response_headers_policy(Id=current.meta["id"], IfMatch=etag)

    def outputs(self, name: str, current: Observed | None) -> ResponseHeadersPolicyOutputs:
        return {"id": current.meta["id"] if current else UNKNOWN}
