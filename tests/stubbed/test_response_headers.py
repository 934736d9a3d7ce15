"""The response headers policy's AWS flow, with botocore's Stubber (moto has no such API; the
embedded backend gets one from ``liveinsight_infra_moto/cloudfront_policies.py``, which these tests do not use)."""

from __future__ import annotations

from typing import Any

import pytest

from liveinsight_infra.errors import AwsCallError
from liveinsight_infra.reconcilers.base import Observed
from liveinsight_infra.reconcilers.response_headers import ResponseHeadersPolicyReconciler, to_config
from tests.stubbed.conftest import stubbed

NAME = "liveinsight-dev-security-headers"
PID = "11111111-2222-3333-4444-555555555555"


@pytest.fixture
def setup() -> Any:
    yield from stubbed(ResponseHeadersPolicyReconciler, "cloudfront")


def policy(config: dict[str, Any]) -> dict[str, Any]:
    return {"Id": PID, "LastModifiedTime": "2026-01-01", "ResponseHeadersPolicyConfig": config}


def listing(*configs: dict[str, Any]) -> dict[str, Any]:
    return {"ResponseHeadersPolicyList": {"MaxItems": 100, "Quantity": len(configs),
                                          "Items": [{"Type": "custom", "ResponseHeadersPolicy": policy(c)}
                                                    for c in configs]}}


def test_a_create_whose_answer_was_lost_is_adopted_with_the_fresh_etag(setup: Any) -> None:
    r, stub, _, _ = setup
    want = r.desired(NAME, {})
    sent = to_config(NAME, want["comment"], want["headers"])
    stub.add_client_error("create_response_headers_policy", "ResponseHeadersPolicyAlreadyExists", "exists",
                          http_status_code=409, expected_params={"ResponseHeadersPolicyConfig": sent})
    stale = to_config(NAME, want["comment"], {**want["headers"], "X-Frame-Options": "SAMEORIGIN"})
    stub.add_response("list_response_headers_policies", listing(stale), {"Type": "custom"})
    stub.add_response("get_response_headers_policy", {"ResponseHeadersPolicy": policy(stale), "ETag": "E7"},
                      {"Id": PID})
    stub.add_response("update_response_headers_policy", {"ResponseHeadersPolicy": policy(sent), "ETag": "E8"},
                      {"Id": PID, "IfMatch": "E7", "ResponseHeadersPolicyConfig": sent})
    got = r.create(NAME, want)
    assert got.meta == {"id": PID} and got.state == want


def test_a_policy_with_the_same_headers_is_left_alone(setup: Any) -> None:
    r, stub, _, _ = setup
    want = r.desired(NAME, {})
    stub.add_response("list_response_headers_policies",
                      listing(to_config("someone-else", "x", {}), to_config(NAME, want["comment"], want["headers"])),
                      {"Type": "custom"})
    (found,) = r.observe().values()
    assert found.state == want and found.owned is True
    r.update(NAME, want, found, ())  # no call: the Stubber has nothing more queued


def test_delete_uses_the_etag_it_just_read_and_a_gone_policy_is_fine(setup: Any) -> None:
    r, stub, _, _ = setup
    current = Observed(r.desired(NAME, {}), {"id": PID}, True)
    config = to_config(NAME, "c", {})
    stub.add_response("get_response_headers_policy", {"ResponseHeadersPolicy": policy(config), "ETag": "E3"},
                      {"Id": PID})
    stub.add_response("delete_response_headers_policy", {}, {"Id": PID, "IfMatch": "E3"})
    r.delete(NAME, current)
    stub.add_client_error("get_response_headers_policy", "NoSuchResponseHeadersPolicy", "gone", http_status_code=404)
    r.delete(NAME, current)


def test_a_policy_still_in_use_is_reported_with_its_name(setup: Any) -> None:
    r, stub, _, _ = setup
    current = Observed(r.desired(NAME, {}), {"id": PID}, True)
    stub.add_response("get_response_headers_policy",
                      {"ResponseHeadersPolicy": policy(to_config(NAME, "c", {})), "ETag": "E3"})
    stub.add_client_error("delete_response_headers_policy", "ResponseHeadersPolicyInUse", "in use",
                          http_status_code=409)
    with pytest.raises(AwsCallError, match=f"{NAME}.*DeleteResponseHeadersPolicy.*ResponseHeadersPolicyInUse"):
        r.delete(NAME, current)


def test_a_name_taken_but_not_listed_is_an_error_that_says_to_run_again(setup: Any) -> None:
    """CloudFront says the name exists, yet does not list it (its list lags): a clear error, not a crash."""
    r, stub, _, _ = setup
    want = r.desired(NAME, {})
    sent = to_config(NAME, want["comment"], want["headers"])
    stub.add_client_error("create_response_headers_policy", "ResponseHeadersPolicyAlreadyExists", "exists",
                          http_status_code=409, expected_params={"ResponseHeadersPolicyConfig": sent})
    stub.add_response("list_response_headers_policies", listing(), {"Type": "custom"})
    with pytest.raises(AwsCallError) as err:
        r.create(NAME, want)
    assert err.value.code == "ResponseHeadersPolicyAlreadyExists" and NAME in str(err.value)
    assert "run apply again" in err.value.hint
