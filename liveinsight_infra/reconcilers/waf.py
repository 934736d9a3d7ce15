"""The optional AWS WAF web ACL of the distribution (``distribution.waf``): one rate-based rule.

A viewer address that sends more than ``rate_limit`` requests to ``/api/*`` within the evaluation
window gets 429 until its rate falls; everything else is allowed. A web ACL for CloudFront has
scope CLOUDFRONT and is made in us-east-1 whatever the stack's region
(https://docs.aws.amazon.com/waf/latest/developerguide/web-acl-associating-aws-resource.html); the
distribution names it in ``WebACLId`` (``cloudfront.py``), so it is created before the distribution
changes and deleted after the distribution has let go of it (the executor runs a delete after the
changes of the kinds that use it; destroy reverses the order anyway).

Web ACL names are unique per scope and account: it is found again by ``{project}-{env}-edge`` and
its ownership tag; one of that name without the tag is planned as ``adopt``. Writes carry the
LockToken of a fresh read, read again once when someone changed it meanwhile; a delete is retried
while AWS still counts the distribution's association (``WAFAssociatedItemException``, until
CloudFront has deployed the change). Cost: docs/security.md.
"""

from __future__ import annotations

from typing import Any

from .. import naming
from ..aws.retry import WAF_ASSOCIATED, WAF_LOCK, RetryRule, with_retries
from ..contract import Event
from ..diff import fields_of, tag_list_to_dict, user_tags
from ..plan import UNKNOWN, FieldDiff
from .base import Observed, Outputs, Reconciler
from .kind_outputs import WebAclOutputs, keys

SCOPE, REGION = "CLOUDFRONT", "us-east-1"
RULE = "rate-per-ip"
COUNTED_PATHS = "/api/"  # what costs Lambda and DynamoDB; the dashboard's files come from CloudFront's cache
BLOCKED_STATUS = 429
DEFAULT_WINDOW_S = 300  # AWS's default: not sent, so that botocore releases without the field still work


class WebAclReconciler(Reconciler):
    kind = "wafv2.web_acl"
    output_keys = keys(WebAclOutputs)

    def names(self) -> list[str]:
        return [naming.web_acl_name(self.spec)] if self.spec.distribution.waf.enabled else []

    def _wafv2(self) -> Any:
        return self.ctx.aws.client("wafv2", region=REGION)

    def desired(self, name: str, outputs: Outputs) -> dict[str, Any]:
        w = self.spec.distribution.waf
        return {"default_action": "allow", "rules": [RULE], "rate_limit": w.rate_limit,
                "evaluation_window_s": w.evaluation_window_s, "aggregate_key": "IP", "counted_paths": COUNTED_PATHS,
                "blocked_status": BLOCKED_STATUS, "tags": naming.resource_tags(self.spec)}

    def observe(self, for_destroy: bool = False) -> dict[str, Observed]:
        """Looks for the stack's name even when the spec wants none: a web ACL left from an earlier
        spec is this stack's to delete (when it carries the tag)."""
        name = naming.web_acl_name(self.spec)
        summary = self._find(name)
        if summary is None:
            return {}
        wafv2 = self._wafv2()
        with self.calling(name, "ListTagsForResource"):
            listed = wafv2.list_tags_for_resource(ResourceARN=summary["ARN"])
        tags = tag_list_to_dict((listed.get("TagInfoForResource") or {}).get("TagList"))
        with self.calling(name, "GetWebACL"):
            acl = wafv2.get_web_acl(Name=name, Scope=SCOPE, Id=summary["Id"])["WebACL"]
        state = {**_normalise(acl), "tags": user_tags(tags)}
        return {name: Observed(state, {"id": summary["Id"], "arn": summary["ARN"]}, naming.is_owned(self.spec, tags))}

    def _find(self, name: str) -> dict[str, Any] | None:
        wafv2 = self._wafv2()
        marker: str | None = None
        while True:
            with self.calling(name, "ListWebACLs"):
                page = wafv2.list_web_acls(Scope=SCOPE, Limit=100, **({"NextMarker": marker} if marker else {}))
            found = next((a for a in page.get("WebACLs") or [] if a.get("Name") == name), None)
            marker = page.get("NextMarker")
            if found is not None or not marker or not page.get("WebACLs"):
                return found

    # -- writes ----------------------------------------------------------------------------------
    def _request(self, name: str, d: dict[str, Any]) -> dict[str, Any]:
        rate: dict[str, Any] = {
            "Limit": d["rate_limit"], "AggregateKeyType": d["aggregate_key"],
            "ScopeDownStatement": {"ByteMatchStatement": {
                "SearchString": d["counted_paths"].encode(), "FieldToMatch": {"UriPath": {}},
                "TextTransformations": [{"Priority": 0, "Type": "NONE"}], "PositionalConstraint": "STARTS_WITH"}}}
        if d["evaluation_window_s"] != DEFAULT_WINDOW_S:
            rate["EvaluationWindowSec"] = d["evaluation_window_s"]
        rule = {"Name": RULE, "Priority": 0, "Statement": {"RateBasedStatement": rate},
                "Action": {"Block": {"CustomResponse": {"ResponseCode": d["blocked_status"]}}},
                "VisibilityConfig": _visibility(f"{name}-{RULE}")}
        return {"Name": name, "Scope": SCOPE, "DefaultAction": {"Allow": {}}, "Rules": [rule],
                "VisibilityConfig": _visibility(name),
                "Description": f"LiveInsight {naming.stack_id(self.spec)}: requests per viewer address"}

    def _retrying(self, name: str, operation: str, call: Any, *rules: RetryRule,
                  ignore: tuple[str, ...] = ()) -> Any:
        def on_retry(rule: RetryRule, attempt: int, delay: float) -> None:
            self.ctx.emit(Event("retry", f"{self.kind} {name}: {operation}: {rule.name}, retry {attempt} in "
                                         f"{delay:.0f}s"))
        with self.calling(name, operation, ignore=ignore):
            return with_retries(call, *rules, sleep=self.ctx.sleep, on_retry=on_retry)
        return None

    def create(self, name: str, desired: dict[str, Any]) -> Observed:
        wafv2 = self._wafv2()
        tags = [{"Key": k, "Value": v} for k, v in sorted(desired["tags"].items())]
        created = None
        with self.calling(name, "CreateWebACL", ignore=("WAFDuplicateItemException",)):
            created = wafv2.create_web_acl(**self._request(name, desired), Tags=tags)["Summary"]
        if created is None:  # it exists: an interrupted apply made it (a lost answer), or someone else did
            current = self.observe().get(name)
            if current is None:
                raise RuntimeError(f"{self.kind} {name}: WAF says it exists, but it is not listed")
            self.refuse_foreign(name, bool(current.owned))
            return self.converge(name, desired, current)
        return Observed(dict(desired), {"id": created["Id"], "arn": created["ARN"]}, True)

    def update(self, name: str, desired: dict[str, Any], current: Observed,
               diffs: tuple[FieldDiff, ...]) -> Observed:
        wafv2 = self._wafv2()
        acl_id, arn = current.meta["id"], current.meta["arn"]
        if fields_of(diffs) - {"tags"}:
            def write() -> None:
                token = wafv2.get_web_acl(Name=name, Scope=SCOPE, Id=acl_id)["LockToken"]
                request = self._request(name, desired)
                del request["Name"], request["Scope"]
                wafv2.update_web_acl(Name=name, Scope=SCOPE, Id=acl_id, LockToken=token, **request)
            self._retrying(name, "UpdateWebACL", write, WAF_LOCK)
        if "tags" in fields_of(diffs):
            self.sync_tags(name, current.state.get("tags") or {}, desired["tags"],
                           lambda t: wafv2.tag_resource(ResourceARN=arn, Tags=[{"Key": k, "Value": v}
                                                                               for k, v in sorted(t.items())]),
                           lambda k: wafv2.untag_resource(ResourceARN=arn, TagKeys=k))
        return Observed(dict(desired), current.meta, True)

    def delete(self, name: str, current: Observed) -> None:
        wafv2 = self._wafv2()

        def remove() -> None:
            token = wafv2.get_web_acl(Name=name, Scope=SCOPE, Id=current.meta["id"])["LockToken"]
            wafv2.delete_web_acl(Name=name, Scope=SCOPE, Id=current.meta["id"], LockToken=token)
        self._retrying(name, "DeleteWebACL", remove, WAF_ASSOCIATED, WAF_LOCK, ignore=("WAFNonexistentItemException",))

    def outputs(self, name: str, current: Observed | None) -> WebAclOutputs:
        return {"arn": current.meta["arn"] if current is not None else UNKNOWN}


def _visibility(metric: str) -> dict[str, Any]:
    return {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": metric}


def _normalise(acl: dict[str, Any]) -> dict[str, Any]:
    """The web ACL in the shape of ``desired`` (its one rule's settings; other rules by name only)."""
    rules = acl.get("Rules") or []
    rule: dict[str, Any] = next((r for r in rules if r.get("Name") == RULE), {})
    rate = (rule.get("Statement") or {}).get("RateBasedStatement") or {}
    match = (rate.get("ScopeDownStatement") or {}).get("ByteMatchStatement") or {}
    search = match.get("SearchString", b"")
    uri_prefix = (search.decode("utf-8", "replace") if isinstance(search, bytes) else str(search)) \
        if match.get("PositionalConstraint") == "STARTS_WITH" and "UriPath" in (match.get("FieldToMatch") or {}) \
        else None
    block = (rule.get("Action") or {}).get("Block")
    status = ((block or {}).get("CustomResponse") or {}).get("ResponseCode") if block is not None else None
    return {"default_action": "allow" if "Allow" in (acl.get("DefaultAction") or {}) else "block",
            "rules": sorted(str(r.get("Name")) for r in rules), "rate_limit": rate.get("Limit"),
            "evaluation_window_s": rate.get("EvaluationWindowSec", DEFAULT_WINDOW_S),
            "aggregate_key": rate.get("AggregateKeyType"), "counted_paths": uri_prefix, "blocked_status": status}
