"""The hint under an AWS error says "safe to retry" only where retrying can help."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from liveinsight_infra.errors import from_client_error


def error(code: str, status: int = 400) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}},
                       "CreateThing")


@pytest.mark.parametrize("code", ["ValidationException", "InvalidParameterValue", "MalformedPolicyDocument",
                                  "InvalidationBatchAlreadyExists", "SomethingNobodyHasSeen"])
def test_a_refusal_is_not_called_safe_to_retry(code: str) -> None:
    hint = from_client_error("kind name", "CreateThing", error(code)).hint
    assert "retry" not in hint and "run again" not in hint
    assert hint


@pytest.mark.parametrize("code,status", [("InternalError", 500), ("ServiceUnavailable", 503),
                                         ("RequestTimeout", 408), ("Whatever", 502)])
def test_a_server_side_failure_is_safe_to_retry(code: str, status: int) -> None:
    assert "safe to retry" in from_client_error("kind name", "CreateThing", error(code, status)).hint


def test_credential_and_permission_hints_stay_specific() -> None:
    assert "deployer-policy.json" in from_client_error("k n", "Op", error("AccessDenied", 403)).hint
