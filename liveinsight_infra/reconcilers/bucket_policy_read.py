"""The site bucket's policy, read once per run, and the distribution it names (a hint, never proof).

Two readers share the one ``GetBucketPolicy``: the bucket policy's reconciler, and the distribution
lookup, which takes the distribution's ARN from the policy's ``AWS:SourceArn`` condition (the policy
``s3_site.bucket_policy`` writes) so it can read that distribution's tags and config while
``ListDistributions`` is still on its way: on AWS each CloudFront call takes about 250 ms, and this
takes one of them out of a plan's longest chain of calls. The listed distribution, confirmed by its
Comment marker and the stack's tag, stays what decides (``cloudfront.find_distribution``).
"""

from __future__ import annotations

import json
import re

from botocore.exceptions import ClientError

from .. import naming
from .base import Reconciler, error_code

ABSENT = ("NoSuchBucketPolicy", "NoSuchBucket")
_DISTRIBUTION_ARN = re.compile(r"^arn:[a-z-]+:cloudfront::\d{12}:distribution/[A-Z0-9]+$")


def bucket_policy_text(r: Reconciler) -> str | None:
    """The stack's bucket policy as AWS returns it; None when the bucket or its policy does not exist.

    Other errors are raised as botocore's ``ClientError`` (the caller names the resource), and are
    not kept: the next reader asks again."""
    bucket = naming.bucket_name(r.spec, r.ctx.account_id)

    def read() -> str | None:
        try:
            return str(r.client("s3").get_bucket_policy(Bucket=bucket)["Policy"])
        except ClientError as exc:
            if error_code(exc) in ABSENT:
                return None
            raise

    return r.ctx.shared_read(f"bucket-policy:{bucket}", read)


def distribution_arn_hint(policy: str | None) -> str | None:
    """The one CloudFront distribution ARN the policy's ``AWS:SourceArn`` conditions name, if exactly one."""
    try:
        statements = json.loads(policy or "{}").get("Statement", [])
    except (ValueError, AttributeError):
        return None
    found = set()
    for s in statements if isinstance(statements, list) else [statements]:
        condition = s.get("Condition") if isinstance(s, dict) else None
        for test in (condition or {}).values() if isinstance(condition, dict) else ():
            value = test.get("AWS:SourceArn") if isinstance(test, dict) else None
            for arn in value if isinstance(value, list) else [value]:
                if isinstance(arn, str) and _DISTRIBUTION_ARN.match(arn):
                    found.add(arn)
    return found.pop() if len(found) == 1 else None
