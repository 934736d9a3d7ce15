"""The /api/* behavior's origin request policy: the stack's own whitelist of the headers the API needs.

moto has no origin request policy API; ``liveinsight_infra_moto/cloudfront_policies.py`` adds it to the embedded
backend (AWS's flow is tested with Stubber in ``tests/stubbed/test_origin_request.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from liveinsight_infra.aws.provider import AwsProvider
from liveinsight_infra.constants import ORIGIN_REQUEST_POLICIES
from liveinsight_infra.plan import Action
from tests.conftest import DEV, apply_spec, make_engine

NAME = "liveinsight-dev-api-origin-request"


class Lost(Exception):
    pass


def policies(p: AwsProvider) -> list[dict[str, Any]]:
    items = p.client("cloudfront").list_origin_request_policies(Type="custom")["OriginRequestPolicyList"]
    return [i["OriginRequestPolicy"] for i in items.get("Items") or []]


def dist_config(p: AwsProvider) -> dict[str, Any]:
    cf = p.client("cloudfront")
    (d,) = cf.list_distributions()["DistributionList"]["Items"]
    return cf.get_distribution_config(Id=d["Id"])["DistributionConfig"]  # type: ignore[no-any-return]


def api_behavior(cfg: dict[str, Any]) -> dict[str, Any]:
    (api,) = [b for b in cfg["CacheBehaviors"]["Items"] if b["PathPattern"] == "/api/*"]
    return api


def test_the_policy_whitelists_the_viewer_address_and_country_and_never_host(provider: AwsProvider) -> None:
    apply_spec(provider)
    (policy,) = policies(provider)
    cfg = policy["OriginRequestPolicyConfig"]
    assert cfg["Name"] == NAME
    headers = cfg["HeadersConfig"]
    assert headers["HeaderBehavior"] == "whitelist"
    names = {h.lower() for h in headers["Headers"]["Items"]}
    assert headers["Headers"]["Quantity"] == len(names)
    assert {"cloudfront-viewer-address", "cloudfront-viewer-country"} <= names
    # what the functions and API Gateway read: CORS, the body's type, the visitor id, the API key
    assert {"origin", "content-type", "user-agent", "referer", "x-api-key", "access-control-request-method",
            "access-control-request-headers"} <= names
    assert "host" not in names  # API Gateway answers 403 to the viewer's Host
    assert len(names) <= 10  # CloudFront's quota of headers per origin request policy
    assert cfg["QueryStringsConfig"]["QueryStringBehavior"] == "all"
    assert cfg["CookiesConfig"]["CookieBehavior"] == "none"


def test_the_api_behavior_uses_the_stacks_policy(provider: AwsProvider) -> None:
    apply_spec(provider)
    (policy,) = policies(provider)
    assert api_behavior(dist_config(provider))["OriginRequestPolicyId"] == policy["Id"]
    assert not dist_config(provider)["DefaultCacheBehavior"].get("OriginRequestPolicyId")
    assert make_engine(provider).plan().empty


def test_the_managed_policy_stays_selectable(provider: AwsProvider, project_copy: Path) -> None:
    spec = project_copy / "specs" / "dev.yaml"
    spec.write_text(DEV.read_text().replace("distribution:\n", "distribution:\n  api_origin_request_policy: "
                                            "AllViewerExceptHostHeader\n", 1))
    assert "AllViewerExceptHostHeader" in spec.read_text()
    apply_spec(provider, spec)
    managed = ORIGIN_REQUEST_POLICIES["AllViewerExceptHostHeader"]
    assert api_behavior(dist_config(provider))["OriginRequestPolicyId"] == managed
    assert make_engine(provider, spec).plan().empty
    apply_spec(provider)  # back to the stack's policy
    (policy,) = policies(provider)
    assert api_behavior(dist_config(provider))["OriginRequestPolicyId"] == policy["Id"]


def test_drift_in_the_policy_and_on_the_behavior_is_planned_and_repaired(provider: AwsProvider) -> None:
    apply_spec(provider)
    cf = provider.client("cloudfront")
    (policy,) = policies(provider)
    cfg = policy["OriginRequestPolicyConfig"]
    items = [h for h in cfg["HeadersConfig"]["Headers"]["Items"] if h != "CloudFront-Viewer-Country"] + ["Host"]
    cfg["HeadersConfig"]["Headers"] = {"Quantity": len(items), "Items": items}
    etag = cf.get_origin_request_policy(Id=policy["Id"])["ETag"]
    cf.update_origin_request_policy(Id=policy["Id"], IfMatch=etag, OriginRequestPolicyConfig=cfg)
    (d,) = cf.list_distributions()["DistributionList"]["Items"]
    got = cf.get_distribution_config(Id=d["Id"])
    dist = got["DistributionConfig"]
    for b in [dist["DefaultCacheBehavior"], *dist["CacheBehaviors"]["Items"]]:
        for legacy in ("ForwardedValues", "MinTTL", "DefaultTTL", "MaxTTL"):
            b.pop(legacy, None)
    api_behavior(dist)["OriginRequestPolicyId"] = ORIGIN_REQUEST_POLICIES["AllViewerExceptHostHeader"]
    cf.update_distribution(Id=d["Id"], IfMatch=got["ETag"], DistributionConfig=dist)
    plan = make_engine(provider).plan()
    changes = {(c.resource, c.action): c for c in plan}
    policy_change = changes[("cloudfront.origin_request_policy", Action.UPDATE)]
    assert sorted(d.path for d in policy_change.diffs) == ["headers.CloudFront-Viewer-Country", "headers.Host"]
    dist_change = changes[("cloudfront.distribution", Action.UPDATE)]
    assert [d.path for d in dist_change.diffs] == ["api_behavior.origin_request_policy"]
    apply_spec(provider)
    assert make_engine(provider).plan().empty
    assert api_behavior(dist_config(provider))["OriginRequestPolicyId"] == policy["Id"]
    (repaired,) = policies(provider)
    assert "Host" not in repaired["OriginRequestPolicyConfig"]["HeadersConfig"]["Headers"]["Items"]


def test_a_lost_create_answer_is_finished_not_duplicated(provider: AwsProvider) -> None:
    def lose(**_: Any) -> None:
        raise Lost("the answer of CreateOriginRequestPolicy was lost")

    provider.register("after-call.cloudfront.CreateOriginRequestPolicy", lose)
    with pytest.raises(Lost):
        apply_spec(provider)
    provider.client("cloudfront").meta.events.unregister("after-call.cloudfront.CreateOriginRequestPolicy", lose)
    fresh = AwsProvider("us-east-1", session=provider._session)
    apply_spec(fresh)
    assert [p["OriginRequestPolicyConfig"]["Name"] for p in policies(provider)] == [NAME]
    assert make_engine(fresh).plan().empty


def test_destroy_deletes_the_distribution_before_its_policy(provider: AwsProvider) -> None:
    apply_spec(provider)
    engine = make_engine(provider)
    plan = engine.plan(destroy=True)
    kinds = [c.resource for c in plan]
    assert kinds.index("cloudfront.distribution") < kinds.index("cloudfront.origin_request_policy")
    engine.apply(plan)
    assert policies(provider) == []


def test_a_policy_in_use_cannot_be_deleted(provider: AwsProvider) -> None:
    apply_spec(provider)
    cf = provider.client("cloudfront")
    (policy,) = policies(provider)
    etag = cf.get_origin_request_policy(Id=policy["Id"])["ETag"]
    with pytest.raises(cf.exceptions.ClientError, match="OriginRequestPolicyInUse"):
        cf.delete_origin_request_policy(Id=policy["Id"], IfMatch=etag)
    with pytest.raises(cf.exceptions.ClientError, match="PreconditionFailed"):
        cf.update_origin_request_policy(Id=policy["Id"], IfMatch="stale",
                                        OriginRequestPolicyConfig=policy["OriginRequestPolicyConfig"])
