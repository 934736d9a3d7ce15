"""The deployer policy through cloudsplaining's risk analysis.

Whether each action, resource and condition key exists is checked against AWS's current reference
(tests/test_iam_reference.py), not by parliament: parliament's bundled reference is years old, and
flags as too broad the ``"Resource": "*"`` that the current reference requires for actions with no
resource type (CloudFront's CreateDistribution, Kinesis's UpdateShardCount), see docs/security.md.
cloudsplaining (https://github.com/salesforce/cloudsplaining) finds nothing in its default scan
(no risky action on an unconstrained resource); with every risky action flagged, even scoped or
conditioned ones, it must report exactly the findings docs/security.md lists and justifies.
"""

from __future__ import annotations

import json
from typing import Any

from cloudsplaining.command.scan_policy_file import scan_policy

from tests.conftest import ROOT

TEXT = (ROOT / "docs" / "deployer-policy.json").read_text()
POLICY: dict[str, Any] = json.loads(TEXT)

# docs/security.md, "What cloudsplaining still reports": each is bounded by the stack's
# permissions boundary, by a stack name prefix, or is what deploying the stack means.
PRIVILEGE_ESCALATION = {
    "CreateNewPolicyVersion", "CreatePolicyVersionThenUpdateAssumeRolePolicy", "PutRolePolicy",
    "PutRolePolicyThenUpdateAssumeRolePolicy", "UpdateRolePolicyToAssumeIt", "EditExistingLambdaFunctionWithRole",
    "UpdateLambdaFunctionAndAddPermission", "PassExistingRoleToNewLambdaThenAddPermission",
    # the stream path's event source mapping (lambda:CreateEventSourceMapping on liveinsight-* functions)
    "PassExistingRoleToNewLambdaThenTriggerWithNewDynamo", "PassExistingRoleToNewLambdaThenTriggerWithExistingDynamo",
}
DATA_EXFILTRATION = {"s3:GetObject", "ssm:GetParameter"}
RESOURCE_EXPOSURE = {
    "iam:CreatePolicy", "iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion",
    "iam:CreateRole", "iam:DeleteRole", "iam:UpdateRole", "iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy",
    "iam:DeleteRolePolicy", "iam:DetachRolePolicy", "iam:PutRolePermissionsBoundary", "iam:PassRole",
    "lambda:AddPermission", "lambda:RemovePermission", "sns:CreateTopic", "sqs:CreateQueue", "sqs:SetQueueAttributes",
    "s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:PutBucketPublicAccessBlock", "s3:PutBucketOwnershipControls",
}


def test_cloudsplaining_default_scan_reports_nothing() -> None:
    results = scan_policy(POLICY)
    assert {k: v for k, v in results.items() if v and (v.get("findings") if isinstance(v, dict) else v)} == {}


def test_cloudsplaining_strict_scan_reports_exactly_the_documented_findings() -> None:
    results = scan_policy(POLICY, flag_conditional_statements=True, flag_resource_arn_statements=True)
    assert {f["type"] for f in results["PrivilegeEscalation"]["findings"]} == PRIVILEGE_ESCALATION
    assert set(results["DataExfiltration"]["findings"]) == DATA_EXFILTRATION
    assert set(results["ResourceExposure"]["findings"]) == RESOURCE_EXPOSURE
    assert results["CredentialsExposure"]["findings"] == []
    assert results["ServiceWildcard"]["findings"] == []
    documented = (ROOT / "docs" / "security.md").read_text()
    for name in sorted(PRIVILEGE_ESCALATION | DATA_EXFILTRATION | RESOURCE_EXPOSURE):
        assert f"`{name}`" in documented, f"docs/security.md does not justify {name}"
