"""CloudFront's ETag and deletion flow, which moto does not model: tested with botocore's Stubber."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from liveinsight_infra.errors import AwsCallError
from liveinsight_infra.reconcilers.base import Observed
from liveinsight_infra.reconcilers.cloudfront import DistributionReconciler
from tests.stubbed.conftest import stubbed

DIST = "E2EXAMPLE"
ARN = f"arn:aws:cloudfront::123456789012:distribution/{DIST}"


@pytest.fixture
def setup() -> Any:
    yield from stubbed(DistributionReconciler, "cloudfront")


def desired(r: DistributionReconciler) -> dict[str, Any]:
    outputs = {"s3.bucket": {"b": {"regional_domain": "b.s3.us-east-1.amazonaws.com"}},
               "cloudfront.oac": {"o": {"id": "OAC1"}}, "apigateway.stage": {"dev": {"api_id": "abc123"}}}
    return r.desired("liveinsight-dev", outputs)


def config(r: DistributionReconciler, enabled: bool = True) -> dict[str, Any]:
    cfg = r._new_config(desired(r))
    cfg["Enabled"] = enabled
    # what moto (and older configs) carry beside a cache policy
    cfg["DefaultCacheBehavior"]["ForwardedValues"] = {"QueryString": False, "Cookies": {"Forward": "none"}}
    cfg["DefaultCacheBehavior"]["MinTTL"] = 0
    return cfg


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
    stub.add_response("get_distribution_config", {"DistributionConfig": config(r), "ETag": "E1"}, {"Id": DIST})
    stub.add_client_error("update_distribution", "PreconditionFailed", "The If-Match version is stale",
                          http_status_code=412)
    stub.add_response("get_distribution_config", {"DistributionConfig": config(r), "ETag": "E2"}, {"Id": DIST})
    expected = r._apply_managed(config(r), want)
    dcb = expected["DefaultCacheBehavior"]
    assert "ForwardedValues" not in dcb and "MinTTL" not in dcb
    stub.add_response("update_distribution", {"ETag": "E3"},
                      {"Id": DIST, "IfMatch": "E2", "DistributionConfig": expected})
    stub.add_response("get_distribution", distribution("Deployed"), {"Id": DIST})
    r.update("liveinsight-dev", want, current, ())


def test_a_second_precondition_failure_is_reported(setup: Any) -> None:
    r, stub, _, _ = setup
    want = desired(r)
    current = Observed({**want, "enabled": False}, {"id": DIST, "arn": ARN, "domain": "d"}, True)
    for etag in ("E1", "E2"):
        stub.add_response("get_distribution_config", {"DistributionConfig": config(r), "ETag": etag})
        stub.add_client_error("update_distribution", "PreconditionFailed", "stale", http_status_code=412)
    with pytest.raises(AwsCallError, match="UpdateDistribution failed: PreconditionFailed"):
        r.update("liveinsight-dev", want, current, ())


def test_destroy_disables_waits_then_deletes_with_the_fresh_etag(setup: Any) -> None:
    r, stub, sleeps, events = setup
    current = Observed(desired(r), {"id": DIST, "arn": ARN, "domain": "d"}, True)
    stub.add_response("get_distribution_config", {"DistributionConfig": config(r), "ETag": "E1"}, {"Id": DIST})
    disabled = copy.deepcopy(config(r))
    disabled["Enabled"] = False
    stub.add_response("update_distribution", {"ETag": "E2"},
                      {"Id": DIST, "IfMatch": "E1", "DistributionConfig": disabled})
    stub.add_response("get_distribution", distribution("InProgress"), {"Id": DIST})
    stub.add_response("get_distribution", distribution("InProgress"), {"Id": DIST})
    # The deployed state's ETag comes with GetDistribution: delete with it, no further read.
    stub.add_response("get_distribution", {**distribution("Deployed"), "ETag": "E3"}, {"Id": DIST})
    stub.add_response("delete_distribution", {}, {"Id": DIST, "IfMatch": "E3"})
    r.ctx.wait = False  # --no-wait: destroy must still wait, AWS refuses to delete otherwise
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
    r.ctx.wait = False
    r._wait("liveinsight-dev", DIST)  # no call at all: the stub would complain
