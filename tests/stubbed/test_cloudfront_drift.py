"""Out-of-band changes to the distribution, read through GetDistributionConfig, tested with Stubber
(moto answers the config reads of a changed distribution with HTTP 500 or drops fields:
docs/moto-gaps.md). The lookup and config read answer as the CloudFront API reference documents
them (https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_GetDistributionConfig.html);
the plan must name every managed field that differs, and apply must send the config that restores
them while keeping what the tool does not manage.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from liveinsight_infra.plan import Action
from liveinsight_infra.reconcilers.cloudfront import DistributionReconciler
from tests.stubbed.conftest import stubbed
from tests.stubbed.test_cloudfront import ARN, DIST, UPDATE, desired, distribution

OWNED = [{"Key": "liveinsight:stack", "Value": "liveinsight-dev"},
         {"Key": "liveinsight:managed-by", "Value": "liveinsight-infra"},
         {"Key": "project", "Value": "liveinsight"}, {"Key": "owner", "Value": "platform"},
         {"Key": "environment", "Value": "dev"}]


@pytest.fixture
def setup() -> Any:
    yield from stubbed(DistributionReconciler, "cloudfront")


def in_order(r: DistributionReconciler) -> None:
    def sequential(fn: Callable[[Any], Any], items: Iterable[Any], limit: int = 8) -> list[Any]:
        return [fn(i) for i in items]
    r.parallel = sequential  # type: ignore[method-assign]


def outputs() -> dict[str, Any]:
    from liveinsight_infra.sensitive import Sensitive
    from tests.stubbed.test_cloudfront import SECRET
    return {"s3.bucket": {"b": {"regional_domain": "b.s3.us-east-1.amazonaws.com"}},
            "cloudfront.oac": {"o": {"id": "OAC1"}}, "apigateway.stage": {"dev": {"api_id": "abc123"}},
            "cloudfront.response_headers_policy": {"h": {"id": "RHP1"}},
            "cloudfront.origin_request_policy": {"o": {"id": "ORP1"}},
            "ssm.parameter": {"/liveinsight-dev/origin-secret": {"value": Sensitive(SECRET), "digests": "d"}},
            "wafv2.web_acl": {}}


def stub_lookup(stub: Any, config: dict[str, Any]) -> None:
    summary = {"Id": DIST, "ARN": ARN, "Status": "Deployed", "LastModifiedTime": "2026-01-01T00:00:00Z",
               "DomainName": "d111111abcdef8.cloudfront.net", "Aliases": {"Quantity": 0},
               "Origins": config["Origins"], "DefaultCacheBehavior": config["DefaultCacheBehavior"],
               "CacheBehaviors": config["CacheBehaviors"], "CustomErrorResponses": config["CustomErrorResponses"],
               "Comment": config["Comment"], "PriceClass": config["PriceClass"], "Enabled": True,
               "ViewerCertificate": config["ViewerCertificate"], "Restrictions": config["Restrictions"],
               "WebACLId": "", "HttpVersion": "http2and3", "IsIPV6Enabled": True, "Staging": False}
    stub.add_response("list_distributions", {"DistributionList": {
        "Marker": "", "MaxItems": 100, "IsTruncated": False, "Quantity": 1, "Items": [summary]}}, {})
    stub.add_response("list_tags_for_resource", {"Tags": {"Items": OWNED}}, {"Resource": ARN})
    stub.add_response("get_distribution_config", {"DistributionConfig": config, "ETag": "E1"}, {"Id": DIST})


def converged() -> dict[str, Any]:
    """UPDATE is the config the tool sends for LIVE: read back, it is converged."""
    return copy.deepcopy(UPDATE)


def test_a_converged_distribution_plans_nothing(setup: Any) -> None:
    r, stub, _, _ = setup
    in_order(r)
    stub_lookup(stub, converged())
    r.observed = r.observe()
    assert r.plan(outputs()) == []


@pytest.mark.parametrize("field,change", [
    ("price_class", lambda c: c.update(PriceClass="PriceClass_All")),
    ("web_acl", lambda c: c.update(WebACLId="arn:aws:wafv2:us-east-1:123456789012:global/webacl/other/1")),
    ("http_version", lambda c: c.update(HttpVersion="http1.1")),
    ("api_origin.protocol", lambda c: c["Origins"]["Items"][1]["CustomOriginConfig"].update(
        OriginProtocolPolicy="match-viewer")),
    ("api_origin.origin_secret", lambda c: c["Origins"]["Items"][1]["CustomHeaders"]["Items"][0].update(
        HeaderValue="guessed")),
    ("default_behavior.response_headers_policy", lambda c: c["DefaultCacheBehavior"].pop("ResponseHeadersPolicyId")),
    ("api_behavior.viewer", lambda c: c["CacheBehaviors"]["Items"][0].update(ViewerProtocolPolicy="allow-all")),
    ("api_behavior.origin_request_policy", lambda c: c["CacheBehaviors"]["Items"][0].pop("OriginRequestPolicyId")),
])
def test_a_field_changed_out_of_band_is_planned_and_restored(setup: Any, field: str,
                                                             change: Callable[[dict[str, Any]], Any]) -> None:
    r, stub, _, _ = setup
    in_order(r)
    drifted = converged()
    change(drifted)
    stub_lookup(stub, drifted)
    r.observed = r.observe()
    (planned,) = r.plan(outputs())
    assert (planned.action, [d.path for d in planned.diffs]) == (Action.UPDATE, [field])
    # apply reads the config again for its ETag, sends the restored one, and waits for it
    stub.add_response("get_distribution_config", {"DistributionConfig": drifted, "ETag": "E2"}, {"Id": DIST})
    stub.add_response("update_distribution", {"ETag": "E3"},
                      {"Id": DIST, "IfMatch": "E2", "DistributionConfig": converged()})
    stub.add_response("get_distribution", distribution("Deployed"), {"Id": DIST})
    r.update(r.names()[0], desired(r), r.observed[r.names()[0]], planned.diffs)
