"""CloudFront: the Origin Access Control and the distribution in front of the bucket and the API.

The API origin carries the origin secret as a custom header (``X-Origin-Verify``,
``origin_secret.py``): CloudFront adds it to every request it sends the API. Its value is a
``Sensitive`` in desired and observed state, so plans show a mask. ``WebACLId`` names the WAF web ACL
of ``distribution.waf`` (``waf.py``), or is empty.

The default (dashboard) behavior carries the security-headers response headers policy
(``response_headers.py``); the ``/api/*`` behavior does not. The ``/api/*`` behavior's origin
request policy is the stack's own (``origin_request.py``), or a managed one the spec names.

The distribution is found by a Comment marker (``liveinsight-infra:{stack}``), confirmed by the
stack's tag, never by its CallerReference. Each creation sends a new CallerReference (the stack's
name plus a random part): CloudFront remembers references, and answers a reused one with the
distribution first made with it or ``DistributionAlreadyExists``, even after that distribution was
deleted (https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_CreateDistribution.html), so
a fixed reference would break the first apply after a destroy. botocore's own retries of one create
resend the same reference, which CloudFront answers with the same distribution; a create whose
answer was lost altogether is found by the next run's lookup, because the distribution is created
with its marker and tags in one call. Updates read the
config with its ETag and change only the fields managed here. Legacy ``ForwardedValues``/TTL
fields beside a cache policy are stripped: moto adds them, and AWS refuses them. The config is sent
with ``IfMatch``, and re-read once on ``PreconditionFailed``. Destroy disables, waits until
deployed, then deletes with the fresh ETag.
"""

from __future__ import annotations

import copy
import hashlib
import time
import uuid
from typing import Any

from botocore.exceptions import ClientError

from .. import naming
from ..constants import ALL_METHODS, CACHE_POLICIES, CACHED_METHODS, ORIGIN_HEADER, ORIGIN_REQUEST_POLICIES
from ..contract import Event
from ..diff import fields_of, user_tags
from ..errors import LiveInsightError
from ..plan import UNKNOWN, FieldDiff
from ..sensitive import Sensitive
from .base import Observed, Outputs, Reconciler, error_code
from .bucket_policy_read import bucket_policy_text, distribution_arn_hint
from .kind_outputs import DistributionOutputs, OacOutputs, keys

SITE_ORIGIN, API_ORIGIN, API_PATTERN = "site", "api", "/api/*"
# ingest.front: function_url: the event path goes to the collector's function URL (function_url.py).
# Listed before /api/* (CloudFront takes the first pattern that matches); it matches /api/event and
# /api/events, and the collector answers 404 to any other path.
EVENT_ORIGIN, EVENT_PATTERN = "event", "/api/event*"
TAG_SITE_VERSION = "liveinsight:site-version"  # set at a new distribution's create and by the invalidation step;
# never compared as a tag


def site_version(files: dict[str, Any]) -> str:
    """The site's version: a digest of its files' names and MD5s (the invalidation step's tag)."""
    digest = hashlib.sha256()
    for key in sorted(files):
        digest.update(f"{key}\0{files[key].md5}\n".encode())
    return digest.hexdigest()[:16]


def marker(spec: Any) -> str:
    return f"liveinsight-infra:{naming.stack_id(spec)}"


def caller_reference(spec: Any) -> str:
    """A new reference for each creation (see the module docstring)."""
    return f"liveinsight-infra:{naming.stack_id(spec)}:{uuid.uuid4().hex}"


def _tags_of(r: Reconciler, arn: str) -> dict[str, str]:
    with r.calling(arn, "ListTagsForResource"):
        items = r.client("cloudfront").list_tags_for_resource(Resource=arn)["Tags"].get("Items", [])
    return {t["Key"]: t.get("Value", "") for t in items}


def _config_of(r: Reconciler, dist_id: str) -> dict[str, Any]:
    with r.calling(dist_id, "GetDistributionConfig"):
        return r.client("cloudfront").get_distribution_config(Id=dist_id)  # type: ignore[no-any-return]


def find_distribution(r: Reconciler, refresh: bool = False) -> dict[str, Any] | None:
    """This stack's distribution summary plus its tags (read once per run, shared by reconcilers)."""
    ctx = r.ctx

    def listed() -> list[dict[str, Any]]:
        with r.calling(marker(ctx.spec), "ListDistributions"):
            pages = r.client("cloudfront").get_paginator("list_distributions").paginate()
            return [d for p in pages for d in (p.get("DistributionList", {}).get("Items") or [])]

    # A candidate's tags and its config are read at once (CloudFront answers in about 250 ms
    # per call); the config is kept for the distribution's observe.
    def both(arn: str, dist_id: str) -> list[Any]:
        return r.concurrently([lambda: _tags_of(r, arn), lambda: _config_of(r, dist_id)])

    def hinted() -> tuple[str, list[Any]] | None:
        """The tags and config of the distribution the bucket policy names, read without waiting for
        the list (bucket_policy_read.py); kept only if the list confirms that distribution."""
        try:
            arn = distribution_arn_hint(bucket_policy_text(r))
            return (arn, both(arn, arn.rsplit("/", 1)[1])) if arn else None
        except Exception:  # a stale or foreign id, or no access: the list decides as before
            return None

    def read() -> dict[str, Any] | None:
        items: list[dict[str, Any]]
        hint: tuple[str, list[Any]] | None
        items, hint = r.concurrently([listed, hinted]) if not refresh else (listed(), None)
        candidates = [d for d in items if d.get("Comment") == marker(ctx.spec)]
        ours = []

        hinted_arn, hinted_reads = hint if hint is not None else (None, [])

        def tags_and_config(d: dict[str, Any]) -> list[Any]:
            return hinted_reads if d["ARN"] == hinted_arn else both(d["ARN"], d["Id"])

        for d, (tags, config) in zip(candidates, r.parallel(tags_and_config, candidates), strict=True):
            if naming.is_owned(ctx.spec, tags):
                ours.append({**d, "Tags": tags, "_config": config})
        if not ours and refresh:  # the Comment was changed out of band: confirm by tags alone
            for d in items:
                if d not in candidates:
                    tags = _tags_of(r, d["ARN"])
                    if naming.is_owned(ctx.spec, tags):
                        ours.append({**d, "Tags": tags})
        if len(ours) > 1:
            ids = ", ".join(sorted(d["Id"] for d in ours))
            raise LiveInsightError(f"cloudfront.distribution: {len(ours)} distributions carry this stack's tag "
                                   f"({ids}). Disable and delete the extra ones, then run again.")
        return ours[0] if ours else None

    return ctx.shared_read("distribution", read, refresh=refresh)


def origin_secret_sent(r: Reconciler) -> tuple[str | None, bool] | None:
    """What this stack's distribution sends the API in ``X-Origin-Verify``, and whether that config is
    deployed to every edge (``Status``); None when there is no distribution. Reads are shared."""
    found = find_distribution(r)
    if found is None:
        return None
    config = (found.get("_config") or _config_of(r, found["Id"]))["DistributionConfig"]
    origins = {o["Id"]: o for o in (config.get("Origins") or {}).get("Items") or []}
    headers = ((origins.get(API_ORIGIN) or {}).get("CustomHeaders") or {}).get("Items") or []
    sent = next((h.get("HeaderValue") for h in headers if str(h.get("HeaderName", "")).lower()
                 == ORIGIN_HEADER.lower()), None)
    return sent, found.get("Status") == "Deployed"


class OacReconciler(Reconciler):
    """The Origin Access Control, found by its name (unique per account). It cannot carry tags, so
    the stack recognises its own by a creation marker, the description it always creates it with,
    or by its use in the stack's own (tagged) distribution (docs/adoption.md)."""

    kind = "cloudfront.oac"
    output_keys = keys(OacOutputs)

    def names(self) -> list[str]:
        return [f"{naming.stack_id(self.spec)}-s3"]

    def desired(self, name: str, outputs: Outputs) -> dict[str, Any]:
        return {"origin_type": "s3", "signing_behavior": "always", "signing_protocol": "sigv4",
                "description": f"LiveInsight {naming.stack_id(self.spec)}: CloudFront reads the site bucket"}

    def observe(self, for_destroy: bool = False) -> dict[str, Observed]:
        cf = self.client("cloudfront")
        name = self.names()[0]
        items: list[dict[str, Any]] = []
        marker_: str | None = None
        while True:
            with self.calling(name, "ListOriginAccessControls"):
                page = cf.list_origin_access_controls(**({"Marker": marker_} if marker_ else {}))
            lst = page.get("OriginAccessControlList", {})
            items += lst.get("Items") or []
            marker_ = lst.get("NextMarker")
            if not marker_:
                break
        found = [i for i in items if i.get("Name") == name]
        if not found:
            return {}
        o = found[0]
        state = {"origin_type": o.get("OriginAccessControlOriginType"), "signing_behavior": o.get("SigningBehavior"),
                 "signing_protocol": o.get("SigningProtocol"), "description": o.get("Description", "")}
        owned = state["description"] == self.desired(name, {})["description"] or self._used_by_ours(o["Id"])
        return {name: Observed(state, {"id": o["Id"]}, owned)}

    def _used_by_ours(self, oac_id: str) -> bool:
        dist = find_distribution(self)
        origins = ((dist or {}).get("Origins") or {}).get("Items") or []
        return any(o.get("OriginAccessControlId") == oac_id for o in origins)

    def _config(self, name: str, d: dict[str, Any]) -> dict[str, Any]:
        return {"Name": name, "Description": d["description"], "SigningProtocol": d["signing_protocol"],
                "SigningBehavior": d["signing_behavior"], "OriginAccessControlOriginType": d["origin_type"]}

    def create(self, name: str, desired: dict[str, Any]) -> Observed:
        created = None
        with self.calling(name, "CreateOriginAccessControl", ignore=("OriginAccessControlAlreadyExists",)):
            created = self.client("cloudfront").create_origin_access_control(
                OriginAccessControlConfig=self._config(name, desired))
        if created is None:  # there already: an interrupted apply's, or somebody else's
            current = self.observe().get(name)
            if current is None:  # the list lags the create that made it
                raise LiveInsightError(
                    f"{self.kind} {name}: CreateOriginAccessControl says one by this name exists, but the list "
                    "of origin access controls does not show it yet. Nothing was changed; run apply again.")
            self.refuse_foreign(name, bool(current.owned))
            return self.converge(name, desired, current)
        return Observed(dict(desired), {"id": created["OriginAccessControl"]["Id"]}, True)

    def update(self, name: str, desired: dict[str, Any], current: Observed,
               diffs: tuple[FieldDiff, ...]) -> Observed:
        cf = self.client("cloudfront")
        oac_id = current.meta["id"]
        if diffs:
            with self.calling(name, "GetOriginAccessControl"):
                etag = cf.get_origin_access_control(Id=oac_id)["ETag"]
            with self.calling(name, "UpdateOriginAccessControl"):
                cf.update_origin_access_control(Id=oac_id, IfMatch=etag,
                                                OriginAccessControlConfig=self._config(name, desired))
        return Observed(dict(desired), current.meta, True)

    def delete(self, name: str, current: Observed) -> None:
        cf = self.client("cloudfront")
        # GetOriginAccessControl gives the ETag too (moto lacks GetOriginAccessControlConfig).
        found = self.read(name, "GetOriginAccessControl", lambda: cf.get_origin_access_control(Id=current.meta["id"]),
                          absent=("NoSuchOriginAccessControl",))
        if found is not None:  # gone already: nothing to delete
            etag = found["ETag"]
            with self.calling(name, "DeleteOriginAccessControl", ignore=("NoSuchOriginAccessControl",)):
                cf.delete_origin_access_control(Id=current.meta["id"], IfMatch=etag)

    def outputs(self, name: str, current: Observed | None) -> OacOutputs:
        return {"id": current.meta["id"] if current else UNKNOWN}


class DistributionReconciler(Reconciler):
    kind = "cloudfront.distribution"
    output_keys = keys(DistributionOutputs)
    depends_on = ("s3.bucket", "cloudfront.oac", "cloudfront.response_headers_policy",
                  "cloudfront.origin_request_policy", "apigateway.stage", "ssm.parameter", "wafv2.web_acl",
                  "lambda.function_url",
                  "s3.object")  # a new distribution is tagged with the site version already uploaded
    poll_s = 15.0
    deadline_s = 40 * 60.0

    def names(self) -> list[str]:
        return [naming.stack_id(self.spec)]

    # -- desired / observed, normalised alike ------------------------------------------------------
    def desired(self, name: str, outputs: Outputs) -> dict[str, Any]:
        d = self.spec.distribution
        bucket = next(iter(self.upstream(outputs, "s3.bucket").values()), {})
        oac = next(iter(self.upstream(outputs, "cloudfront.oac").values()), {})
        headers = next(iter(self.upstream(outputs, "cloudfront.response_headers_policy").values()), {})
        stack_request = next(iter(self.upstream(outputs, "cloudfront.origin_request_policy").values()), {})
        stage = self.upstream(outputs, "apigateway.stage").get(self.spec.api.stage, {})
        api_id = stage.get("api_id", UNKNOWN)
        api_domain = f"{api_id}.execute-api.{self.spec.region}.amazonaws.com" if isinstance(api_id, str) else UNKNOWN
        secret = next(iter(self.upstream(outputs, "ssm.parameter").values()), {})
        acl = next(iter(self.upstream(outputs, "wafv2.web_acl").values()), {"arn": ""})  # none: WAF is off
        api_behavior = {"origin": API_ORIGIN, "viewer": "https-only", "compress": True,
                        "cache_policy": CACHE_POLICIES[d.api_cache_policy],
                        "origin_request_policy": ORIGIN_REQUEST_POLICIES.get(  # "stack": the stack's own
                            d.api_origin_request_policy, stack_request.get("id", UNKNOWN)),
                        "methods": sorted(ALL_METHODS)}
        url = next(iter(self.upstream(outputs, "lambda.function_url").values()), None)  # only with function_url
        return {
            "enabled": d.enabled, "comment": marker(self.spec), "root_object": d.default_root_object,
            "price_class": d.price_class, "http_version": "http2and3", "ipv6": True,
            "site_origin": {"domain": bucket.get("regional_domain", UNKNOWN), "oac": oac.get("id", UNKNOWN)},
            "api_origin": {"domain": api_domain, "path": f"/{self.spec.api.stage}", "protocol": "https-only",
                           "origin_secret": secret.get("value", UNKNOWN)},
            "web_acl": acl.get("arn", UNKNOWN),
            "default_behavior": {"origin": SITE_ORIGIN, "viewer": "redirect-to-https", "compress": True,
                                 "cache_policy": CACHE_POLICIES[d.cache_policy], "methods": sorted(CACHED_METHODS),
                                 "response_headers_policy": headers.get("id", UNKNOWN)},
            "api_behavior": api_behavior,
            "event_origin": None if url is None else {"domain": url.get("domain", UNKNOWN), "protocol": "https-only",
                                                      "origin_secret": secret.get("value", UNKNOWN)},
            "event_behavior": None if url is None else {**api_behavior, "origin": EVENT_ORIGIN},
            "tags": naming.resource_tags(self.spec),
        }

    def observe(self, for_destroy: bool = False) -> dict[str, Observed]:
        found = find_distribution(self)
        if found is None:
            return {}
        resp = found.get("_config") or _config_of(self, found["Id"])
        state = _normalise(resp["DistributionConfig"])
        state["tags"] = {k: v for k, v in user_tags(found["Tags"]).items() if k != TAG_SITE_VERSION}
        meta = {"id": found["Id"], "arn": found["ARN"], "domain": found["DomainName"], "status": found.get("Status"),
                "site_version": found["Tags"].get(TAG_SITE_VERSION)}
        return {self.names()[0]: Observed(state, meta, True)}

    # -- writes ----------------------------------------------------------------------------------
    def _apply_managed(self, cfg: dict[str, Any], d: dict[str, Any]) -> dict[str, Any]:
        """The full config with the managed fields set from ``d``; everything else kept."""
        cfg = copy.deepcopy(cfg)
        cfg.update({"Comment": d["comment"], "Enabled": d["enabled"], "DefaultRootObject": d["root_object"],
                    "PriceClass": d["price_class"], "HttpVersion": d["http_version"], "IsIPV6Enabled": d["ipv6"]})
        site = {"Id": SITE_ORIGIN, "DomainName": d["site_origin"]["domain"], "OriginPath": "",
                "CustomHeaders": {"Quantity": 0}, "S3OriginConfig": {"OriginAccessIdentity": ""},
                "OriginAccessControlId": d["site_origin"]["oac"]}
        secret: Sensitive = d["api_origin"]["origin_secret"]
        api = {"Id": API_ORIGIN, "DomainName": d["api_origin"]["domain"], "OriginPath": d["api_origin"]["path"],
               "CustomHeaders": {"Quantity": 1, "Items": [{"HeaderName": ORIGIN_HEADER,
                                                          "HeaderValue": secret.reveal()}]},
               "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443,
                                      "OriginProtocolPolicy": d["api_origin"]["protocol"],
                                      "OriginSslProtocols": {"Quantity": 1, "Items": ["TLSv1.2"]},
                                      "OriginReadTimeout": 30, "OriginKeepaliveTimeout": 5}}
        ours = [site, api, *_event_origin(d.get("event_origin"))]
        others = [o for o in (cfg.get("Origins") or {}).get("Items") or []
                  if o.get("Id") not in (SITE_ORIGIN, API_ORIGIN, EVENT_ORIGIN)]
        cfg["Origins"] = {"Quantity": len(ours) + len(others), "Items": [*ours, *others]}
        cfg["WebACLId"] = d["web_acl"]
        cfg["DefaultCacheBehavior"] = _behavior(cfg.get("DefaultCacheBehavior") or {}, d["default_behavior"])
        cfg["DefaultCacheBehavior"]["ResponseHeadersPolicyId"] = d["default_behavior"]["response_headers_policy"]
        behaviors = [b for b in (cfg.get("CacheBehaviors") or {}).get("Items") or []
                     if b.get("PathPattern") not in (API_PATTERN, EVENT_PATTERN)]
        api_b = _behavior({"PathPattern": API_PATTERN}, d["api_behavior"])
        api_b["OriginRequestPolicyId"] = d["api_behavior"]["origin_request_policy"]
        event_b = []
        if d.get("event_behavior"):
            event_b = [_behavior({"PathPattern": EVENT_PATTERN}, d["event_behavior"])]
            event_b[0]["OriginRequestPolicyId"] = d["event_behavior"]["origin_request_policy"]
        ours_b = [*event_b, api_b]  # the event path first: CloudFront takes the first pattern that matches
        cfg["CacheBehaviors"] = {"Quantity": len(ours_b) + len(behaviors), "Items": [*ours_b, *behaviors]}
        for behavior in [cfg["DefaultCacheBehavior"], *cfg["CacheBehaviors"]["Items"]]:
            if behavior.get("CachePolicyId"):  # legacy fields beside a cache policy: AWS refuses them
                for legacy in ("ForwardedValues", "MinTTL", "DefaultTTL", "MaxTTL"):
                    behavior.pop(legacy, None)
        return cfg

    def _new_config(self, d: dict[str, Any]) -> dict[str, Any]:
        base = {"CallerReference": caller_reference(self.spec),
                "ViewerCertificate": {"CloudFrontDefaultCertificate": True, "MinimumProtocolVersion": "TLSv1.2_2021"},
                "Restrictions": {"GeoRestriction": {"RestrictionType": "none", "Quantity": 0}},
                "CustomErrorResponses": {"Quantity": 0}, "Aliases": {"Quantity": 0}}
        return self._apply_managed(base, d)

    def create(self, name: str, desired: dict[str, Any]) -> Observed:
        cf = self.client("cloudfront")
        # The site's files are up (s3.object comes first) and nothing is cached yet: the new
        # distribution carries their version, so the invalidation step has nothing to write.
        version = site_version(self.ctx.site())
        tags = {"Items": [{"Key": k, "Value": v} for k, v in sorted({**desired["tags"],
                                                                       TAG_SITE_VERSION: version}.items())]}
        with self.calling(name, "CreateDistributionWithTags", ignore=("DistributionAlreadyExists",)):
            resp = cf.create_distribution_with_tags(DistributionConfigWithTags={
                "DistributionConfig": self._new_config(desired), "Tags": tags})
            dist = resp["Distribution"]
            self._wait(name, dist["Id"])
            meta = {"id": dist["Id"], "arn": dist["ARN"], "domain": dist["DomainName"], "site_version": version,
                    "created": True}
            return Observed(dict(desired), meta, True)
        # DistributionAlreadyExists for a reference made just now: a retry of this very create whose
        # first answer was lost. It is found by its tag, like any distribution of the stack.
        found = find_distribution(self, refresh=True)
        if found is None:
            raise LiveInsightError(f"{self.kind} {name}: CloudFront says the distribution this apply just created "
                                   "exists, but none carries this stack's tag: run apply again")
        self.observed = self.observe()
        return self.converge(name, desired, self.observed[name])

    def update(self, name: str, desired: dict[str, Any], current: Observed,
               diffs: tuple[FieldDiff, ...]) -> Observed:
        cf = self.client("cloudfront")
        dist_id = current.meta["id"]
        fields = fields_of(diffs)
        if fields - {"tags"}:
            for attempt in (1, 2):
                with self.calling(name, "GetDistributionConfig"):
                    resp = cf.get_distribution_config(Id=dist_id)
                try:
                    cf.update_distribution(Id=dist_id, IfMatch=resp["ETag"],
                                           DistributionConfig=self._apply_managed(resp["DistributionConfig"], desired))
                    break
                except ClientError as exc:
                    if error_code(exc) == "PreconditionFailed" and attempt == 1:
                        continue  # changed between our read and write: read again once
                    raise self._translate(name, "UpdateDistribution", exc) from exc
            self._wait(name, dist_id)
        if "tags" in fields:
            self._sync_tags(name, current.meta["arn"], current.state.get("tags") or {}, desired["tags"])
        return Observed(dict(desired), current.meta, True)

    def _sync_tags(self, name: str, arn: str, have: dict[str, str], want: dict[str, str]) -> None:
        cf = self.client("cloudfront")
        self.sync_tags(name, have, want,
                       lambda t: cf.tag_resource(Resource=arn, Tags={"Items": [{"Key": k, "Value": v}
                                                                              for k, v in sorted(t.items())]}),
                       lambda keys: cf.untag_resource(Resource=arn, TagKeys={"Items": keys}))

    def _translate(self, name: str, operation: str, exc: ClientError) -> LiveInsightError:
        from ..errors import from_client_error
        return from_client_error(f"{self.kind} {name}", operation, exc)

    def _wait(self, name: str, dist_id: str, always: bool = False) -> str | None:
        """Wait until CloudFront says Deployed, with a progress line per poll (``--no-wait`` skips).
        Returns the ETag of that deployed state (None when not waited)."""
        if not (self.ctx.wait or always):
            return None
        cf = self.client("cloudfront")
        start = time.monotonic()
        waited = 0.0
        while True:
            with self.calling(name, "GetDistribution"):
                got = cf.get_distribution(Id=dist_id)
            status = got["Distribution"]["Status"]
            elapsed = max(time.monotonic() - start, waited)
            if status == "Deployed":
                if waited > 0:
                    self.ctx.emit(Event("wait", f"{self.kind} {dist_id}: Deployed after {elapsed:.0f}s"))
                return str(got["ETag"]) if got.get("ETag") else None
            if elapsed > self.deadline_s:
                raise LiveInsightError(f"{self.kind} {dist_id} is still {status} after {elapsed / 60:.0f} min; "
                                       "run apply again later (it will pick up where it is)")
            self.ctx.emit(Event("wait", f"{self.kind} {dist_id}: {status}, {elapsed:.0f}s elapsed"))
            self.ctx.sleep(self.poll_s)
            waited += self.poll_s

    def delete(self, name: str, current: Observed) -> None:
        """AWS refuses to delete an enabled distribution: disable, wait until deployed, delete with the
        ETag of that last state."""
        cf = self.client("cloudfront")
        dist_id = current.meta["id"]
        resp = self.read(name, "GetDistributionConfig", lambda: cf.get_distribution_config(Id=dist_id),
                         absent=("NoSuchDistribution",))
        if resp is None:  # gone already: nothing to delete
            return
        etag = resp["ETag"]
        if resp["DistributionConfig"]["Enabled"]:
            cfg = {**resp["DistributionConfig"], "Enabled": False}
            with self.calling(name, "UpdateDistribution"):
                etag = cf.update_distribution(Id=dist_id, IfMatch=etag, DistributionConfig=cfg)["ETag"]
        # GetDistribution answers with the same ETag as GetDistributionConfig: no extra read.
        deployed = self._wait(name, dist_id, always=True)
        if deployed is None:
            with self.calling(name, "GetDistributionConfig"):
                deployed = str(cf.get_distribution_config(Id=dist_id)["ETag"])
        etag = deployed
        with self.calling(name, "DeleteDistribution", ignore=("NoSuchDistribution",)):
            cf.delete_distribution(Id=dist_id, IfMatch=etag)

    def outputs(self, name: str, current: Observed | None) -> DistributionOutputs:
        if current is None:
            return {"id": UNKNOWN, "arn": UNKNOWN, "domain": UNKNOWN, "created": False}
        return {"id": current.meta["id"], "arn": current.meta["arn"], "domain": current.meta["domain"],
                "site_version": current.meta.get("site_version"),
                "created": name in self.executed and (current.meta.get("created", False)
                                                      or current.meta.get("site_version") is None)}


def _behavior(existing: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(existing)
    methods = b["methods"]
    out.update({"TargetOriginId": b["origin"], "ViewerProtocolPolicy": b["viewer"], "Compress": b["compress"],
                "CachePolicyId": b["cache_policy"],
                "AllowedMethods": {"Quantity": len(methods), "Items": list(methods),
                                   "CachedMethods": {"Quantity": len(CACHED_METHODS), "Items": list(CACHED_METHODS)}}})
    return out


def _event_origin(e: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The function URL origin (none with the rest front): the same secret header as the API's."""
    if not e:
        return []
    secret: Sensitive = e["origin_secret"]
    return [{"Id": EVENT_ORIGIN, "DomainName": e["domain"], "OriginPath": "",
             "CustomHeaders": {"Quantity": 1, "Items": [{"HeaderName": ORIGIN_HEADER, "HeaderValue": secret.reveal()}]},
             "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": e["protocol"],
                                    "OriginSslProtocols": {"Quantity": 1, "Items": ["TLSv1.2"]},
                                    "OriginReadTimeout": 30, "OriginKeepaliveTimeout": 5}}]


def _origin_secret(origin: dict[str, Any]) -> Sensitive | None:
    """The origin secret the API origin sends (a Sensitive), or None; other custom headers count as drift."""
    items = (origin.get("CustomHeaders") or {}).get("Items") or []
    if len(items) != 1 or str(items[0].get("HeaderName", "")).lower() != ORIGIN_HEADER.lower():
        return None
    return Sensitive(str(items[0].get("HeaderValue", "")))


def _normalise(cfg: dict[str, Any]) -> dict[str, Any]:
    origins = {o["Id"]: o for o in (cfg.get("Origins") or {}).get("Items") or []}
    site = origins.get(SITE_ORIGIN) or {}
    api = origins.get(API_ORIGIN) or {}
    event = origins.get(EVENT_ORIGIN)
    behaviors = {b.get("PathPattern"): b for b in (cfg.get("CacheBehaviors") or {}).get("Items") or []}

    def behavior(b: dict[str, Any] | None, api: bool) -> dict[str, Any] | None:
        if not b:
            return None
        out = {"origin": b.get("TargetOriginId"), "viewer": b.get("ViewerProtocolPolicy"),
               "compress": bool(b.get("Compress")), "cache_policy": b.get("CachePolicyId"),
               "methods": sorted((b.get("AllowedMethods") or {}).get("Items") or [])}
        if api:
            out["origin_request_policy"] = b.get("OriginRequestPolicyId")
        else:
            out["response_headers_policy"] = b.get("ResponseHeadersPolicyId") or None
        return out

    return {
        "enabled": cfg.get("Enabled"), "comment": cfg.get("Comment"), "root_object": cfg.get("DefaultRootObject"),
        "price_class": cfg.get("PriceClass"), "http_version": cfg.get("HttpVersion"), "ipv6": cfg.get("IsIPV6Enabled"),
        "site_origin": {"domain": site.get("DomainName"),
                        "oac": site.get("OriginAccessControlId") or None},
        "api_origin": {"domain": api.get("DomainName"), "path": api.get("OriginPath"),
                       "protocol": (api.get("CustomOriginConfig") or {}).get("OriginProtocolPolicy"),
                       "origin_secret": _origin_secret(api)},
        "web_acl": cfg.get("WebACLId") or "",
        "default_behavior": behavior(cfg.get("DefaultCacheBehavior"), False),
        "api_behavior": behavior(behaviors.get(API_PATTERN), True),
        "event_origin": None if event is None else {
            "domain": event.get("DomainName"),
            "protocol": (event.get("CustomOriginConfig") or {}).get("OriginProtocolPolicy"),
            "origin_secret": _origin_secret(event)},
        "event_behavior": behavior(behaviors.get(EVENT_PATTERN), True),
    }
