"""CloudFront's ETag and deletion flow, which moto does not model: tested with botocore's Stubber."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from liveinsight_infra.diff import diff_state
from liveinsight_infra.errors import AwsCallError
from liveinsight_infra.reconcilers.base import Observed
from liveinsight_infra.reconcilers.cloudfront import DistributionReconciler
from liveinsight_infra.sensitive import Sensitive
from tests.stubbed.conftest import stubbed

DIST = "E2EXAMPLE"
ARN = f"arn:aws:cloudfront::123456789012:distribution/{DIST}"
SECRET = "origin-secret-0123456789-abcdefghijklmnopqrstuv"


@pytest.fixture
def setup() -> Any:
    yield from stubbed(DistributionReconciler, "cloudfront")


def desired(r: DistributionReconciler) -> dict[str, Any]:
    outputs = {"s3.bucket": {"b": {"regional_domain": "b.s3.us-east-1.amazonaws.com"}},
               "cloudfront.oac": {"o": {"id": "OAC1"}}, "apigateway.stage": {"dev": {"api_id": "abc123"}},
               "cloudfront.response_headers_policy": {"h": {"id": "RHP1"}},
               "cloudfront.origin_request_policy": {"o": {"id": "ORP1"}},
               "ssm.parameter": {"/liveinsight-dev/origin-secret": {"value": Sensitive(SECRET), "digests": "d"}}}
    return r.desired("liveinsight-dev", outputs)


# What GetDistributionConfig answers for this stack's distribution, drifted: another price class, an
# API origin and /api/* behavior changed by hand, legacy TTL fields beside the cache policy (moto adds
# them; AWS refuses them beside a CachePolicyId), and an origin, a behavior, logging and error pages
# that someone added.
LIVE: dict[str, Any] = {
    "CallerReference": "liveinsight-infra:liveinsight-dev:us-east-1",
    "Aliases": {"Quantity": 0},
    "DefaultRootObject": "dashboard.html",
    "Origins": {"Quantity": 3, "Items": [
        {"Id": "site", "DomainName": "b.s3.us-east-1.amazonaws.com", "OriginPath": "",
         "CustomHeaders": {"Quantity": 0}, "S3OriginConfig": {"OriginAccessIdentity": ""},
         "OriginAccessControlId": "OAC1"},
        {"Id": "api", "DomainName": "old123.execute-api.us-east-1.amazonaws.com", "OriginPath": "/staging",
         "CustomHeaders": {"Quantity": 0},
         "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "match-viewer"}},
        {"Id": "reports", "DomainName": "reports.example.com",
         "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"}}]},
    "DefaultCacheBehavior": {
        "TargetOriginId": "site", "ViewerProtocolPolicy": "redirect-to-https", "Compress": True,
        "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
        "AllowedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"],
                           "CachedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"]}},
        "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}}, "MinTTL": 0,
        "DefaultTTL": 86400, "MaxTTL": 31536000},
    "CacheBehaviors": {"Quantity": 2, "Items": [
        {"PathPattern": "/reports/*", "TargetOriginId": "reports", "ViewerProtocolPolicy": "https-only",
         "CachePolicyId": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"},
        {"PathPattern": "/api/*", "TargetOriginId": "api", "ViewerProtocolPolicy": "allow-all",
         "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
         "AllowedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"],
                            "CachedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"]}}}]},
    "CustomErrorResponses": {"Quantity": 1, "Items": [{"ErrorCode": 404, "ResponsePagePath": "/dashboard.html",
                                                       "ResponseCode": "200"}]},
    "Comment": "liveinsight-infra:liveinsight-dev",
    "Logging": {"Enabled": True, "IncludeCookies": False, "Bucket": "logs.s3.amazonaws.com", "Prefix": "cf/"},
    "PriceClass": "PriceClass_All",
    "Enabled": True,
    "ViewerCertificate": {"CloudFrontDefaultCertificate": True, "MinimumProtocolVersion": "TLSv1.2_2021"},
    "Restrictions": {"GeoRestriction": {"RestrictionType": "none", "Quantity": 0}},
    "WebACLId": "",
    "HttpVersion": "http2and3",
    "IsIPV6Enabled": True,
}

# The UpdateDistribution config the tool must send for that: the spec's price class, API origin and
# /api/* behavior (first, ahead of any other), no legacy TTL fields, and what it does not manage (the
# extra origin and behavior, error pages, logging, certificate) as it was.
UPDATE: dict[str, Any] = {
    **LIVE,
    "PriceClass": "PriceClass_100",
    "Origins": {"Quantity": 3, "Items": [
        LIVE["Origins"]["Items"][0],
        {"Id": "api", "DomainName": "abc123.execute-api.us-east-1.amazonaws.com", "OriginPath": "/dev",
         "CustomHeaders": {"Quantity": 1, "Items": [{"HeaderName": "X-Origin-Verify", "HeaderValue": SECRET}]},
         "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only",
                                "OriginSslProtocols": {"Quantity": 1, "Items": ["TLSv1.2"]},
                                "OriginReadTimeout": 30, "OriginKeepaliveTimeout": 5}},
        LIVE["Origins"]["Items"][2]]},
    "DefaultCacheBehavior": {
        "TargetOriginId": "site", "ViewerProtocolPolicy": "redirect-to-https", "Compress": True,
        "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6", "ResponseHeadersPolicyId": "RHP1",
        "AllowedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"],
                           "CachedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"]}}},
    "CacheBehaviors": {"Quantity": 2, "Items": [
        {"PathPattern": "/api/*", "TargetOriginId": "api", "ViewerProtocolPolicy": "https-only", "Compress": True,
         "CachePolicyId": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
         "OriginRequestPolicyId": "ORP1",
         "AllowedMethods": {"Quantity": 7, "Items": ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"],
                            "CachedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"]}}},
        LIVE["CacheBehaviors"]["Items"][0]]},
}


def distribution(status: str) -> dict[str, Any]:
    return {"Distribution": {"Id": DIST, "ARN": ARN, "Status": status, "DomainName": "d.cloudfront.net",
                             "LastModifiedTime": "2026-01-01", "InProgressInvalidationBatches": 0,
                             "DistributionConfig": {"CallerReference": "x", "Origins": {"Quantity": 1, "Items": [
                                                        {"Id": "site", "DomainName": "b.s3.amazonaws.com"}]},
                                                    "DefaultCacheBehavior": {"TargetOriginId": "site",
                                                                             "ViewerProtocolPolicy": "allow-all"},
                                                    "Comment": "", "Enabled": False}}}


def test_precondition_failed_rereads_once_and_retries(setup: Any) -> None:
    r, stub, _, _ = setup
    want = desired(r)
    current = Observed({**want, "price_class": "PriceClass_All"}, {"id": DIST, "arn": ARN, "domain": "d"}, True)
    stub.add_response("get_distribution_config", {"DistributionConfig": LIVE, "ETag": "E1"}, {"Id": DIST})
    stub.add_client_error("update_distribution", "PreconditionFailed", "The If-Match version is stale",
                          http_status_code=412, expected_params={"Id": DIST, "IfMatch": "E1",
                                                                 "DistributionConfig": UPDATE})
    stub.add_response("get_distribution_config", {"DistributionConfig": LIVE, "ETag": "E2"}, {"Id": DIST})
    stub.add_response("update_distribution", {"ETag": "E3"},
                      {"Id": DIST, "IfMatch": "E2", "DistributionConfig": UPDATE})
    stub.add_response("get_distribution", distribution("Deployed"), {"Id": DIST})
    r.update("liveinsight-dev", want, current, diff_state(want, current.state))


def test_a_second_precondition_failure_is_reported(setup: Any) -> None:
    r, stub, _, _ = setup
    want = desired(r)
    current = Observed({**want, "enabled": False}, {"id": DIST, "arn": ARN, "domain": "d"}, True)
    for etag in ("E1", "E2"):
        stub.add_response("get_distribution_config", {"DistributionConfig": LIVE, "ETag": etag})
        stub.add_client_error("update_distribution", "PreconditionFailed", "stale", http_status_code=412)
    with pytest.raises(AwsCallError, match="UpdateDistribution failed: PreconditionFailed"):
        r.update("liveinsight-dev", want, current, diff_state(want, current.state))


def test_destroy_disables_waits_then_deletes_with_the_fresh_etag(setup: Any) -> None:
    r, stub, sleeps, events = setup
    current = Observed(desired(r), {"id": DIST, "arn": ARN, "domain": "d"}, True)
    stub.add_response("get_distribution_config", {"DistributionConfig": LIVE, "ETag": "E1"}, {"Id": DIST})
    disabled = {**LIVE, "Enabled": False}  # the rest as it is: the distribution is about to go
    stub.add_response("update_distribution", {"ETag": "E2"},
                      {"Id": DIST, "IfMatch": "E1", "DistributionConfig": disabled})
    stub.add_response("get_distribution", distribution("InProgress"), {"Id": DIST})
    stub.add_response("get_distribution", distribution("InProgress"), {"Id": DIST})
    # The deployed state's ETag comes with GetDistribution: delete with it, no further read.
    stub.add_response("get_distribution", {**distribution("Deployed"), "ETag": "E3"}, {"Id": DIST})
    stub.add_response("delete_distribution", {}, {"Id": DIST, "IfMatch": "E3"})
    r.ctx = replace(r.ctx, wait=False)  # --no-wait: destroy must still wait, AWS refuses to delete otherwise
    r.delete("liveinsight-dev", current)
    assert sleeps == [15.0, 15.0]
    messages = [e.message for e in events]
    assert any("InProgress, 15s elapsed" in m for m in messages)
    assert any("Deployed after 30s" in m for m in messages)


def test_apply_waits_for_deployed_with_progress_and_no_wait_skips(setup: Any) -> None:
    r, stub, sleeps, events = setup
    stub.add_response("get_distribution", distribution("InProgress"), {"Id": DIST})
    stub.add_response("get_distribution", distribution("Deployed"), {"Id": DIST})
    r._wait("liveinsight-dev", DIST)
    assert sleeps == [15.0] and len(events) == 2
    r.ctx = replace(r.ctx, wait=False)
    r._wait("liveinsight-dev", DIST)  # no call at all: the stub would complain


def test_each_creation_sends_a_new_caller_reference(setup: Any) -> None:
    """CloudFront remembers a CallerReference: sent again, it answers with the distribution first made
    with it (same config) or DistributionAlreadyExists (another config), even after that one was
    deleted (https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_CreateDistribution.html,
    CallerReference). A create after a destroy must therefore never reuse the first one's reference:
    that answer is not a path the tool takes."""
    r, stub, _sleeps, _events = setup
    r.ctx = replace(r.ctx, wait=False)
    sent: list[str] = []
    r.client("cloudfront").meta.events.register(
        "provide-client-params.cloudfront.CreateDistributionWithTags",
        lambda params, **_: sent.append(params["DistributionConfigWithTags"]["DistributionConfig"]["CallerReference"]))
    want = desired(r)
    for _ in range(2):  # create, (destroy,) create again: each answered with a new distribution
        stub.add_response("create_distribution_with_tags", {**distribution("InProgress"), "ETag": "E1"})
        r.create("liveinsight-dev", want)
    assert len(sent) == 2 and sent[0] != sent[1], sent
    assert all(ref.startswith("liveinsight-infra:liveinsight-dev:") for ref in sent), sent
