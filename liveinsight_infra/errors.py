"""The error tree. User errors carry a message and exit code 1; anything else is a bug.

AWS errors are translated once, at the reconciler boundary, into :class:`AwsCallError`, which
names the resource and the call and says what to do. The CLI is the only place that prints them.
"""

from __future__ import annotations

from typing import Any


class LiveInsightError(Exception):
    """A problem the user can fix; shown without a traceback, exit code 1."""

    exit_code = 1


class SpecError(LiveInsightError):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class BuildError(LiveInsightError):
    pass


class StackNotFound(LiveInsightError):
    pass


class StackLocked(LiveInsightError):
    """Another process holds the stack lock; the message names the holder (``lock.py``)."""


class LockLost(StackLocked):
    """The lease expired while the command ran and another process took the lock."""


class Cancelled(LiveInsightError):
    """The caller's ``confirm`` said no; nothing was changed."""


class StackClosed(LiveInsightError):
    """The stack was closed: with ``moto=True`` its embedded moto is gone, so nothing may run."""


class StackBusy(LiveInsightError):
    """Another thread is running a call on this same ``Stack`` object."""


class WrongRegion(LiveInsightError):
    """The run targets another region than the stack's home region (``home_region.py``)."""


class AwsCallError(LiveInsightError):
    """An AWS call failed for a resource; ``hint`` says what to do."""

    def __init__(self, resource: str, operation: str, code: str, message: str, hint: str = ""):
        self.resource, self.operation, self.code, self.aws_message, self.hint = (
            resource, operation, code, message, hint)
        text = f"{resource}: {operation} failed: {code}: {message}"
        if hint:
            text += f"\n  hint: {hint}"
        super().__init__(text)


_HINTS = {
    "AccessDenied": "the credentials in use lack this permission; see docs/deployer-policy.json",
    "AccessDeniedException": "the credentials in use lack this permission; see docs/deployer-policy.json",
    "UnrecognizedClientException": "the credentials are not valid for this account or endpoint",
    "InvalidClientTokenId": "the credentials are not valid for this account or endpoint",
    "ExpiredToken": "the session credentials expired; refresh them and run again",
    "ExpiredTokenException": "the session credentials expired; refresh them and run again",
    "LimitExceededException": "an account quota is reached; raise it in Service Quotas or free capacity",
    "NoCredentialsError": "no AWS credentials found: set a profile (--profile) or the AWS_* variables",
}


# Failures on AWS's side: the request may or may not have been carried out, and every write here
# is idempotent (a create finds what an earlier attempt made), so running again is safe.
_TRANSIENT = frozenset({"InternalError", "InternalFailure", "InternalServerError", "InternalServerErrorException",
                        "ServiceUnavailable", "ServiceUnavailableException", "ServiceException",
                        "RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete"})
# Throttling, as botocore's standard retry mode names it (ThrottledRetryableChecker), save
# LimitExceededException, which many services also answer for a quota (its hint above).
_THROTTLED = frozenset({"Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
                        "TooManyRequestsException", "ProvisionedThroughputExceededException",
                        "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
                        "RequestThrottled", "SlowDown", "EC2ThrottledException"})
_THROTTLE = "AWS throttled the calls beyond the retry budget; run again in a minute"
_RETRY = "a failure on AWS's side: the change is safe to retry (run apply again; nothing is left half-done)"
# Anything else is a refusal: the same request would be refused the same way.
_REFUSED = "AWS refused the request as sent: the message says why; fix that before the next apply"


def from_client_error(resource: str, operation: str, exc: Any) -> AwsCallError:
    """Translate a botocore ClientError (or a credentials problem) into an AwsCallError."""
    response = getattr(exc, "response", None) or {}
    err = response.get("Error", {})
    code = str(err.get("Code") or type(exc).__name__)
    message = str(err.get("Message") or exc)
    status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    hint = _HINTS.get(code) or (_THROTTLE if code in _THROTTLED else
                                _RETRY if code in _TRANSIENT or status >= 500 else _REFUSED)
    return AwsCallError(resource, operation, code, message, hint)
