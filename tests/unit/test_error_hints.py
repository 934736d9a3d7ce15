"""The hint under an AWS error says "safe to retry" only where retrying can help.

Which errors are transient or throttling is botocore's call, not ours: its standard retry mode
(https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html) retries them, so
those lists are the reference here, rather than a copy of the tool's own.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from botocore.retries.standard import ThrottledRetryableChecker, TransientRetryableChecker

from liveinsight_infra.errors import from_client_error

# botocore counts LimitExceededException as throttling; many services also use it for a quota,
# which running again does not fix: its hint names the quota instead (checked below).
QUOTA = "LimitExceededException"
TRANSIENT_CODES = TransientRetryableChecker._TRANSIENT_ERROR_CODES
TRANSIENT_STATUSES = TransientRetryableChecker._TRANSIENT_STATUS_CODES
THROTTLED_CODES = [c for c in ThrottledRetryableChecker._THROTTLED_ERROR_CODES if c != QUOTA]


def hint(code: str, status: int = 400) -> str:
    error = ClientError({"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}},
                        "CreateThing")
    return from_client_error("kind name", "CreateThing", error).hint


def says_run_again(text: str) -> bool:
    return "retry" in text or "run again" in text or "run apply again" in text


@pytest.mark.parametrize("code", ["ValidationException", "InvalidParameterValue", "MalformedPolicyDocument",
                                  "InvalidationBatchAlreadyExists", "SomethingNobodyHasSeen"])
def test_a_refusal_is_not_called_safe_to_retry(code: str) -> None:
    assert code not in TRANSIENT_CODES + THROTTLED_CODES
    text = hint(code)
    assert text and not says_run_again(text)


@pytest.mark.parametrize("code", TRANSIENT_CODES)
def test_what_botocore_retries_as_transient_is_safe_to_retry(code: str) -> None:
    assert "safe to retry" in hint(code)


@pytest.mark.parametrize("status", TRANSIENT_STATUSES)
def test_a_server_side_status_is_safe_to_retry_whatever_the_code(status: int) -> None:
    assert "safe to retry" in hint("Whatever", status)


@pytest.mark.parametrize("code", THROTTLED_CODES)
def test_throttling_that_outlasted_the_retries_says_to_run_again_later(code: str) -> None:
    text = hint(code)
    assert says_run_again(text) and "fix" not in text


def test_a_quota_and_missing_permissions_name_what_to_change() -> None:
    assert "Service Quotas" in hint(QUOTA)
    assert "deployer-policy.json" in hint("AccessDenied", 403)
