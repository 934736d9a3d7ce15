"""Named, bounded retries for AWS's eventual consistency (not for throttling: botocore does that).

Only errors that a short wait fixes are retried: an IAM role that Lambda cannot assume yet, a
Lambda function whose previous update is still in progress. Each has a deadline, and the sleep is
injectable so tests run instantly.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from botocore.exceptions import ClientError

T = TypeVar("T")
Sleep = Callable[[float], None]


@dataclass(frozen=True)
class RetryRule:
    name: str
    codes: frozenset[str]
    message: re.Pattern[str] | None
    deadline_s: float
    first_delay_s: float = 1.0
    max_delay_s: float = 10.0

    def matches(self, exc: ClientError) -> bool:
        err = exc.response.get("Error", {})
        if err.get("Code") not in self.codes:
            return False
        return self.message is None or bool(self.message.search(str(err.get("Message", ""))))


# "The role defined for the function cannot be assumed by Lambda" for up to minutes after
# create_role: IAM is eventually consistent
# (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency);
# Chalice retries the same messages for about 150 s.
IAM_PROPAGATION = RetryRule(
    "iam-propagation", frozenset({"InvalidParameterValueException", "ResourceInUseException"}),
    re.compile(r"role.*cannot be assumed|role.*does not have permissions|valid principal", re.I),
    deadline_s=180.0)
# "An update is in progress for resource" while LastUpdateStatus is InProgress.
LAMBDA_CONFLICT = RetryRule("lambda-update-in-progress", frozenset({"ResourceConflictException"}),
                            re.compile(r"in progress|cannot be performed at this time", re.I),
                            deadline_s=120.0)


def with_retries(call: Callable[[], T], *rules: RetryRule, sleep: Sleep = time.sleep,
                 clock: Callable[[], float] = time.monotonic,
                 on_retry: Callable[[RetryRule, int, float], Any] | None = None) -> T:
    start = clock()
    attempt = 0
    slept = 0.0  # counted too, so the bound holds with an injected sleep that takes no time
    while True:
        try:
            return call()
        except ClientError as exc:
            rule = next((r for r in rules if r.matches(exc)), None)
            if rule is None:
                raise
            attempt += 1
            delay = min(rule.max_delay_s, rule.first_delay_s * 2 ** (attempt - 1))
            if max(clock() - start, slept) + delay > rule.deadline_s:
                raise
            if on_retry is not None:
                on_retry(rule, attempt, delay)
            sleep(delay)
            slept += delay
# A new event source mapping is checked against the function's role, which IAM may not show Lambda
# yet: "Cannot access stream ... Please ensure the role can perform the GetRecords, ..." (the same
# propagation delay as above).
ESM_ROLE_PROPAGATION = RetryRule(
    "iam-propagation", frozenset({"InvalidParameterValueException"}),
    re.compile(r"ensure the role can perform|cannot access stream|role.*does not have permissions", re.I),
    deadline_s=180.0)
# A mapping that is Creating, Updating or Enabling refuses changes until it settles.
ESM_IN_USE = RetryRule("event-source-mapping-in-use", frozenset({"ResourceInUseException"}), None,
                       deadline_s=120.0)
# A web ACL that a distribution has just let go of is refused for deletion until CloudFront has
# deployed that change (minutes; apply waits for it unless --no-wait).
WAF_ASSOCIATED = RetryRule("web-acl-still-associated", frozenset({"WAFAssociatedItemException"}), None,
                           deadline_s=1500.0, first_delay_s=5.0, max_delay_s=30.0)
# Someone changed the web ACL between our read (its LockToken) and our write: read again.
WAF_LOCK = RetryRule("web-acl-changed-meanwhile", frozenset({"WAFOptimisticLockException"}), None,
                     deadline_s=30.0)
