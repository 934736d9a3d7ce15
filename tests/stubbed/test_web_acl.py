"""What moto's WAF does not model: a web ACL still associated with a distribution cannot be deleted
(WAFAssociatedItemException, until CloudFront has deployed the change that let go of it). And what
a test on moto cannot arrange: someone else's change between the tool's read and its write (a
stale LockToken, WAFOptimisticLockException)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from liveinsight_infra.diff import diff_state
from liveinsight_infra.errors import AwsCallError
from liveinsight_infra.reconcilers import waf
from liveinsight_infra.reconcilers.base import Observed
from liveinsight_infra.reconcilers.waf import WebAclReconciler
from tests.stubbed.conftest import stubbed

NAME, ACL_ID = "liveinsight-dev-edge", "11111111-2222-3333-4444-555555555555"
ARN = f"arn:aws:wafv2:us-east-1:123456789012:global/webacl/{NAME}/{ACL_ID}"
KEY = {"Name": NAME, "Scope": "CLOUDFRONT", "Id": ACL_ID}


@pytest.fixture
def setup() -> Any:
    yield from stubbed(WebAclReconciler, "wafv2")


def acl(token: str) -> dict[str, Any]:
    return {"WebACL": {"Name": NAME, "Id": ACL_ID, "ARN": ARN, "DefaultAction": {"Allow": {}},
                       "VisibilityConfig": {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True,
                                            "MetricName": NAME}}, "LockToken": token}


def current(r: WebAclReconciler, **state: Any) -> Observed:
    want = r.desired(NAME, {})
    return Observed({**want, **state}, {"id": ACL_ID, "arn": ARN}, True)


def test_a_delete_waits_while_the_distribution_still_counts_as_associated(setup: Any) -> None:
    r, stub, sleeps, events = setup
    for token in ("T1", "T2"):
        stub.add_response("get_web_acl", acl(token), KEY)
        stub.add_client_error("delete_web_acl", "WAFAssociatedItemException", "in use",
                              expected_params={**KEY, "LockToken": token})
    stub.add_response("get_web_acl", acl("T3"), KEY)
    stub.add_response("delete_web_acl", {}, {**KEY, "LockToken": "T3"})
    r.delete(NAME, current(r))
    assert sleeps == [5.0, 10.0]
    assert [e.type for e in events] == ["retry", "retry"] and "web-acl-still-associated" in events[0].message


def test_a_delete_that_never_becomes_possible_ends_with_a_clear_error(setup: Any,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    r, stub, sleeps, _ = setup
    monkeypatch.setattr(waf, "WAF_ASSOCIATED", replace(waf.WAF_ASSOCIATED, deadline_s=20.0))
    for _ in range(3):  # 5 s and 10 s of waiting fit in 20 s; the next 20 s would not
        stub.add_response("get_web_acl", acl("T"), KEY)
        stub.add_client_error("delete_web_acl", "WAFAssociatedItemException", "in use")
    with pytest.raises(AwsCallError, match="DeleteWebACL failed: WAFAssociatedItemException"):
        r.delete(NAME, current(r))
    assert sleeps == [5.0, 10.0]


def test_a_web_acl_already_gone_is_deleted(setup: Any) -> None:
    r, stub, _, _ = setup
    stub.add_client_error("get_web_acl", "WAFNonexistentItemException", "gone")
    r.delete(NAME, current(r))


def test_an_update_with_a_stale_lock_token_reads_again(setup: Any) -> None:
    r, stub, sleeps, _ = setup
    stub.add_response("get_web_acl", acl("T1"), KEY)
    stub.add_client_error("update_web_acl", "WAFOptimisticLockException", "stale")
    stub.add_response("get_web_acl", acl("T2"), KEY)
    stub.add_response("update_web_acl", {"NextLockToken": "T3"})
    want, have = r.desired(NAME, {}), current(r, rate_limit=50)
    r.update(NAME, want, have, diff_state(want, have.state))  # as the engine calls it
    assert sleeps == [1.0]
