"""The origin request policy's AWS flow, with botocore's Stubber (moto has no such API; the
embedded backend gets one from ``liveinsight_infra_moto/cloudfront_policies.py``, which these tests do not use)."""

from __future__ import annotations

from typing import Any

import pytest

from liveinsight_infra.errors import AwsCallError
from liveinsight_infra.reconcilers.base import Observed
from liveinsight_infra.reconcilers.origin_request import OriginRequestPolicyReconciler, to_config
from tests.stubbed.conftest import stubbed

NAME = "liveinsight-dev-api-origin-request"
PID = "11111111-2222-3333-4444-666666666666"


@pytest.fixture
def setup() -> Any:
    yield from stubbed(OriginRequestPolicyReconciler, "cloudfront")


def policy(config: dict[str, Any]) -> dict[str, Any]:
    return {"Id": PID, "LastModifiedTime": "2026-01-01", "OriginRequestPolicyConfig": config}


def listing(*configs: dict[str, Any]) -> dict[str, Any]:
    return {"OriginRequestPolicyList": {"MaxItems": 100, "Quantity": len(configs),
                                        "Items": [{"Type": "custom", "OriginRequestPolicy": policy(c)}
                                                  for c in configs]}}


def test_the_config_sent_is_a_whitelist_with_every_query_string_and_no_cookie(setup: Any) -> None:
    r, _, _, _ = setup
    want = r.desired(NAME, {})
    sent = to_config(NAME, want)
    assert sent["HeadersConfig"]["HeaderBehavior"] == "whitelist"
    items = sent["HeadersConfig"]["Headers"]["Items"]
    assert sent["HeadersConfig"]["Headers"]["Quantity"] == len(items) <= 10
    assert "CloudFront-Viewer-Address" in items and "CloudFront-Viewer-Country" in items
    assert "host" not in {h.lower() for h in items}
    assert sent["QueryStringsConfig"] == {"QueryStringBehavior": "all"}
    assert sent["CookiesConfig"] == {"CookieBehavior": "none"}


def test_a_create_whose_answer_was_lost_is_finished_with_the_fresh_etag(setup: Any) -> None:
    r, stub, _, _ = setup
    want = r.desired(NAME, {})
    sent = to_config(NAME, want)
    stub.add_client_error("create_origin_request_policy", "OriginRequestPolicyAlreadyExists", "exists",
                          http_status_code=409, expected_params={"OriginRequestPolicyConfig": sent})
    stale = to_config(NAME, {**want, "headers": {h: v for h, v in want["headers"].items()
                                                 if h != "CloudFront-Viewer-Country"}})
    stub.add_response("list_origin_request_policies", listing(stale), {"Type": "custom"})
    stub.add_response("get_origin_request_policy", {"OriginRequestPolicy": policy(stale), "ETag": "E7"},
                      {"Id": PID})
    stub.add_response("update_origin_request_policy", {"OriginRequestPolicy": policy(sent), "ETag": "E8"},
                      {"Id": PID, "IfMatch": "E7", "OriginRequestPolicyConfig": sent})
    got = r.create(NAME, want)
    assert got.meta == {"id": PID} and got.state == want


def test_a_same_named_policy_without_the_marker_is_not_ours(setup: Any) -> None:
    r, stub, _, _ = setup
    want = r.desired(NAME, {})
    stub.add_response("list_origin_request_policies", listing(to_config(NAME, {**want, "comment": "theirs"})),
                      {"Type": "custom"})
    stub.add_response("list_distributions", {"DistributionList": {"Marker": "", "MaxItems": 100,
                                                                  "IsTruncated": False, "Quantity": 0}})
    (found,) = r.observe().values()
    assert found.owned is False and found.state["comment"] == "theirs"


def test_a_policy_as_wanted_is_left_alone_and_header_case_is_not_drift(setup: Any) -> None:
    r, stub, _, _ = setup
    want = r.desired(NAME, {})
    lower = to_config(NAME, {**want, "headers": {h.lower(): v for h, v in want["headers"].items()}})
    stub.add_response("list_origin_request_policies", listing(to_config("someone-else", want), lower),
                      {"Type": "custom"})
    (found,) = r.observe().values()
    assert found.state == want and found.owned is True
    r.update(NAME, want, found, ())  # no call: the Stubber has nothing more queued


def test_delete_uses_the_etag_it_just_read_and_a_gone_policy_is_fine(setup: Any) -> None:
    r, stub, _, _ = setup
    current = Observed(r.desired(NAME, {}), {"id": PID}, True)
    config = to_config(NAME, r.desired(NAME, {}))
    stub.add_response("get_origin_request_policy", {"OriginRequestPolicy": policy(config), "ETag": "E3"},
                      {"Id": PID})
    stub.add_response("delete_origin_request_policy", {}, {"Id": PID, "IfMatch": "E3"})
    r.delete(NAME, current)
    stub.add_client_error("get_origin_request_policy", "NoSuchOriginRequestPolicy", "gone", http_status_code=404)
    r.delete(NAME, current)


def test_a_policy_still_in_use_is_reported_with_its_name(setup: Any) -> None:
    r, stub, _, _ = setup
    current = Observed(r.desired(NAME, {}), {"id": PID}, True)
    stub.add_response("get_origin_request_policy",
                      {"OriginRequestPolicy": policy(to_config(NAME, r.desired(NAME, {}))), "ETag": "E3"})
    stub.add_client_error("delete_origin_request_policy", "OriginRequestPolicyInUse", "in use",
                          http_status_code=409)
    with pytest.raises(AwsCallError, match=f"{NAME}.*DeleteOriginRequestPolicy.*OriginRequestPolicyInUse"):
        r.delete(NAME, current)


def test_a_name_taken_but_not_listed_is_an_error_that_says_to_run_again(setup: Any) -> None:
    """CloudFront says the name exists, yet does not list it (its list lags): a clear error, not a crash."""
    r, stub, _, _ = setup
    want = r.desired(NAME, {})
    stub.add_client_error("create_origin_request_policy", "OriginRequestPolicyAlreadyExists", "exists",
                          http_status_code=409, expected_params={"OriginRequestPolicyConfig": to_config(NAME, want)})
    stub.add_response("list_origin_request_policies", listing(), {"Type": "custom"})
    with pytest.raises(AwsCallError) as err:
        r.create(NAME, want)
    assert err.value.code == "OriginRequestPolicyAlreadyExists" and NAME in str(err.value)
    assert "run apply again" in err.value.hint
