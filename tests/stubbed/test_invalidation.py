"""CloudFront invalidation references, which moto does not check: tested with botocore's Stubber.

AWS keeps a CallerReference per distribution: the same reference with the same paths returns the
earlier invalidation; the same reference with other paths is refused with
InvalidationBatchAlreadyExists (https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_CreateInvalidation.html).
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import ANY

from liveinsight_infra.reconcilers.base import Observed
from liveinsight_infra.reconcilers.s3_site import InvalidationReconciler
from tests.stubbed.conftest import stubbed

DIST = "E2EXAMPLE"
ARN = f"arn:aws:cloudfront::123456789012:distribution/{DIST}"
INVALIDATION = {"Location": "https://cloudfront.amazonaws.com/x", "Invalidation": {
    "Id": "I1", "Status": "InProgress", "CreateTime": "2026-01-01T00:00:00Z",
    "InvalidationBatch": {"Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": "r"}}}


@pytest.fixture
def setup() -> Any:
    yield from stubbed(InvalidationReconciler, "cloudfront")


def sent_references(r: InvalidationReconciler) -> list[tuple[str, list[str]]]:
    sent: list[tuple[str, list[str]]] = []
    r.client("cloudfront").meta.events.register(
        "provide-client-params.cloudfront.CreateInvalidation",
        lambda params, **_: sent.append((params["InvalidationBatch"]["CallerReference"],
                                         params["InvalidationBatch"]["Paths"]["Items"])))
    return sent


def invalidate(r: InvalidationReconciler, paths: list[str]) -> Observed:
    desired = {"distribution_id": DIST, "distribution_arn": ARN, "site_version": "v1", "paths": paths}
    return r.update("site", desired, Observed({"paths": []}, {}, False), ())


def expect_invalidation(stub: Any, paths: list[str]) -> None:
    stub.add_response("create_invalidation", INVALIDATION, {"DistributionId": DIST, "InvalidationBatch": {
        "Paths": {"Quantity": len(paths), "Items": paths}, "CallerReference": ANY}})


def expect_tag(stub: Any) -> None:
    stub.add_response("tag_resource", {}, {"Resource": ARN, "Tags": {
        "Items": [{"Key": "liveinsight:site-version", "Value": "v1"}]}})


def test_the_reference_is_a_function_of_the_exact_path_set(setup: Any) -> None:
    r, stub, _, _ = setup
    sent = sent_references(r)
    for paths in (["/", "/dashboard.html"], ["/*"], ["/", "/dashboard.html"], ["/dashboard.html", "/"]):
        expect_invalidation(stub, paths)
        expect_tag(stub)
        invalidate(r, paths)
    refs = [ref for ref, _ in sent]
    assert refs[0] != refs[1]  # same site version, other paths: another batch, so another reference
    assert refs[0] == refs[2] == refs[3]  # the same batch again (a lost answer): AWS returns the first one


def test_a_reference_taken_by_another_batch_invalidates_everything_instead(setup: Any) -> None:
    r, stub, _, _ = setup
    sent = sent_references(r)
    stub.add_client_error("create_invalidation", "InvalidationBatchAlreadyExists", http_status_code=409)
    expect_invalidation(stub, ["/*"])
    expect_tag(stub)
    invalidate(r, ["/app.js"])
    assert [paths for _, paths in sent] == [["/app.js"], ["/*"]]
    assert sent[0][0] != sent[1][0]


def test_when_everything_was_already_invalidated_for_this_version_nothing_more_is_sent(setup: Any) -> None:
    r, stub, _, _ = setup
    stub.add_client_error("create_invalidation", "InvalidationBatchAlreadyExists", http_status_code=409)
    stub.add_client_error("create_invalidation", "InvalidationBatchAlreadyExists", http_status_code=409)
    expect_tag(stub)
    assert invalidate(r, ["/app.js"]).state["site_version"] == "v1"
