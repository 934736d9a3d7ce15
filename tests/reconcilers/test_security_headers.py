"""The dashboard's security headers: a CloudFront response headers policy on the default behavior.

moto has no response headers policy API; ``liveinsight_infra_moto/cloudfront_policies.py`` adds it to the
embedded backend (AWS's flow is tested with Stubber in ``tests/stubbed/test_response_headers.py``).
"""

from __future__ import annotations

from typing import Any

import pytest

from liveinsight_infra.aws.provider import AwsProvider
from liveinsight_infra.plan import Action
from tests.conftest import apply_spec, make_engine

NAME = "liveinsight-dev-security-headers"


class Lost(Exception):
    pass


def policies(p: AwsProvider) -> list[dict[str, Any]]:
    items = p.client("cloudfront").list_response_headers_policies(Type="custom")["ResponseHeadersPolicyList"]
    return [i["ResponseHeadersPolicy"] for i in items.get("Items") or []]


def dist_config(p: AwsProvider) -> dict[str, Any]:
    cf = p.client("cloudfront")
    (d,) = cf.list_distributions()["DistributionList"]["Items"]
    return cf.get_distribution_config(Id=d["Id"])["DistributionConfig"]  # type: ignore[no-any-return]


def test_the_policy_sends_csp_hsts_nosniff_deny_and_a_strict_referrer_policy(provider: AwsProvider) -> None:
    apply_spec(provider)
    (policy,) = policies(provider)
    cfg = policy["ResponseHeadersPolicyConfig"]
    assert cfg["Name"] == NAME
    sec = cfg["SecurityHeadersConfig"]
    csp = sec["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
    assert directives["script-src"] == "'self'" and "unsafe" not in csp
    assert sec["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    assert sec["StrictTransportSecurity"]["IncludeSubdomains"] is True
    assert sec["ContentTypeOptions"] == {"Override": True}
    assert sec["FrameOptions"] == {"Override": True, "FrameOption": "DENY"}
    assert sec["ReferrerPolicy"]["ReferrerPolicy"] in ("no-referrer", "strict-origin", "same-origin")
    assert all(v["Override"] for v in sec.values())
    # Nothing that would stop tracker.js from loading on a customer's site.
    custom = {i["Header"].lower(): i["Value"] for i in (cfg.get("CustomHeadersConfig") or {}).get("Items") or []}
    assert custom.get("cross-origin-resource-policy", "cross-origin") == "cross-origin"
    assert not cfg.get("CorsConfig")


def test_the_default_behavior_uses_it_and_the_api_behavior_does_not(provider: AwsProvider) -> None:
    apply_spec(provider)
    (policy,) = policies(provider)
    cfg = dist_config(provider)
    assert cfg["DefaultCacheBehavior"]["ResponseHeadersPolicyId"] == policy["Id"]
    (api,) = cfg["CacheBehaviors"]["Items"]
    assert not api.get("ResponseHeadersPolicyId")
    assert make_engine(provider).plan().empty


def test_drift_in_the_policy_and_on_the_behavior_is_planned_and_repaired(provider: AwsProvider) -> None:
    apply_spec(provider)
    cf = provider.client("cloudfront")
    (policy,) = policies(provider)
    cfg = policy["ResponseHeadersPolicyConfig"]
    cfg["SecurityHeadersConfig"]["ContentSecurityPolicy"]["ContentSecurityPolicy"] = "default-src *"
    etag = cf.get_response_headers_policy(Id=policy["Id"])["ETag"]
    cf.update_response_headers_policy(Id=policy["Id"], IfMatch=etag, ResponseHeadersPolicyConfig=cfg)
    (d,) = cf.list_distributions()["DistributionList"]["Items"]
    got = cf.get_distribution_config(Id=d["Id"])
    dist = got["DistributionConfig"]
    dist["DefaultCacheBehavior"].pop("ResponseHeadersPolicyId")
    for legacy in ("ForwardedValues", "MinTTL", "DefaultTTL", "MaxTTL"):
        dist["DefaultCacheBehavior"].pop(legacy, None)
        for b in dist["CacheBehaviors"]["Items"]:
            b.pop(legacy, None)
    cf.update_distribution(Id=d["Id"], IfMatch=got["ETag"], DistributionConfig=dist)
    plan = make_engine(provider).plan()
    changes = {(c.resource, c.action): c for c in plan}
    policy_change = changes[("cloudfront.response_headers_policy", Action.UPDATE)]
    assert [d.path for d in policy_change.diffs] == ["headers.Content-Security-Policy"]
    dist_change = changes[("cloudfront.distribution", Action.UPDATE)]
    assert [d.path for d in dist_change.diffs] == ["default_behavior.response_headers_policy"]
    apply_spec(provider)
    assert make_engine(provider).plan().empty
    assert dist_config(provider)["DefaultCacheBehavior"]["ResponseHeadersPolicyId"] == policy["Id"]


def test_a_lost_create_answer_is_adopted_not_duplicated(provider: AwsProvider) -> None:
    def lose(**_: Any) -> None:
        raise Lost("the answer of CreateResponseHeadersPolicy was lost")

    provider.register("after-call.cloudfront.CreateResponseHeadersPolicy", lose)
    with pytest.raises(Lost):
        apply_spec(provider)
    provider.client("cloudfront").meta.events.unregister("after-call.cloudfront.CreateResponseHeadersPolicy", lose)
    fresh = AwsProvider("us-east-1", session=provider._session)
    apply_spec(fresh)
    assert [p["ResponseHeadersPolicyConfig"]["Name"] for p in policies(provider)] == [NAME]
    assert make_engine(fresh).plan().empty


def test_destroy_deletes_the_distribution_before_its_policy(provider: AwsProvider) -> None:
    apply_spec(provider)
    engine = make_engine(provider)
    plan = engine.plan(destroy=True)
    kinds = [c.resource for c in plan]
    assert kinds.index("cloudfront.distribution") < kinds.index("cloudfront.response_headers_policy")
    engine.apply(plan)
    assert policies(provider) == []


def test_a_policy_in_use_cannot_be_deleted(provider: AwsProvider) -> None:
    apply_spec(provider)
    cf = provider.client("cloudfront")
    (policy,) = policies(provider)
    etag = cf.get_response_headers_policy(Id=policy["Id"])["ETag"]
    with pytest.raises(cf.exceptions.ClientError, match="ResponseHeadersPolicyInUse"):
        cf.delete_response_headers_policy(Id=policy["Id"], IfMatch=etag)
