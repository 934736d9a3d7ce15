"""Every policy the tool writes, checked against AWS's current Service Authorization Reference.

The policies are collected from the calls the code makes, not from copies: the three specs are
applied on moto with every request recorded, and each policy document a request carries (a role's
trust and inline policies, the permissions boundary, the bucket policy, the API Gateway logging
role, a Lambda permission as the statement Lambda makes of it, and any queue, stream or topic
policy) is checked, with docs/deployer-policy.json, by tests/iam_reference.py: every action must
exist, every Resource must fit a resource type of the action (or be ``*`` when it has none), and
every condition key must be one AWS defines for the action.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from liveinsight_infra.aws.provider import AwsProvider
from tests import iam_reference as ref
from tests.conftest import ROOT, apply_spec
from tests.iam_actions import Call, Recorder

DEPLOYER: dict[str, Any] = json.loads((ROOT / "docs" / "deployer-policy.json").read_text())
SPECS = ("dev", "prod", "stream")


def _doc(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else dict(json.loads(value))


def policies_written(calls: list[Call]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each policy document a recorded request writes, named by the call that writes it."""
    for c in calls:
        p, where = c.params, f"{c.service}:{c.operation}"
        if c.service == "iam":
            for field in ("AssumeRolePolicyDocument", "PolicyDocument"):
                if field in p:
                    yield f"{where} {p.get('RoleName') or p.get('PolicyName') or p.get('PolicyArn')}", _doc(p[field])
        elif c.service == "s3" and c.operation == "PutBucketPolicy":
            yield f"{where} {p['Bucket']}", _doc(p["Policy"])
        elif c.service == "lambda" and c.operation == "AddPermission":
            # The statement Lambda adds to the function's policy for these parameters
            # (https://docs.aws.amazon.com/lambda/latest/dg/access-control-resource-based.html).
            statement: dict[str, Any] = {"Sid": p["StatementId"], "Effect": "Allow", "Action": p["Action"],
                                         "Principal": {"Service": p["Principal"]}, "Resource": "*"}
            if p.get("SourceArn"):
                statement["Condition"] = {"ArnLike": {"AWS:SourceArn": p["SourceArn"]}}
            if p.get("SourceAccount"):
                statement.setdefault("Condition", {})["StringEquals"] = {"AWS:SourceAccount": p["SourceAccount"]}
            yield f"{where} {p['FunctionName']}", {"Version": "2012-10-17", "Statement": [statement]}
        elif c.service == "sqs" and "Policy" in (p.get("Attributes") or {}):
            yield f"{where} {p.get('QueueName') or p.get('QueueUrl')}", _doc(p["Attributes"]["Policy"])
        elif c.service in ("kinesis", "sns", "lambda", "logs") and ("Policy" in p or "policyDocument" in p):
            yield where, _doc(p.get("Policy") or p.get("policyDocument"))


@pytest.fixture(scope="module")
def written() -> list[tuple[str, dict[str, Any]]]:
    from moto import mock_aws

    from tests.conftest import SESSION

    recorder = Recorder()
    with mock_aws():
        provider = AwsProvider("us-east-1", session=SESSION)
        provider.register("provide-client-params.*.*", recorder.hook)
        for env in SPECS:
            apply_spec(provider, ROOT / "specs" / f"{env}.yaml")
    return list(policies_written(recorder.calls))


def test_the_reference_knows_the_request_tag_keys_the_creates_are_gated_by() -> None:
    """The deployer policy lets a create through only with the stack's tag in the request. A reference
    that predates those keys (parliament's copy, from 2021, lacks them on CloudFront's create) would
    refuse the right key; a misspelt key must still be named."""
    def gated(key: str) -> dict[str, Any]:
        return {"Statement": [{"Sid": "Gated", "Effect": "Allow", "Action": "cloudfront:CreateDistribution",
                               "Resource": "*", "Condition": {"StringLike": {key: "liveinsight-*"}}}]}

    assert ref.problems(gated("aws:RequestTag/liveinsight:stack")) == []
    assert any("statement Gated:" in line for line in ref.problems(gated("aws:RequestTags/liveinsight:stack")))


def test_the_check_catches_undefined_actions_resources_and_keys() -> None:
    """The check is live: each kind of mistake is named."""
    bad = {"Statement": [
        {"Sid": "NoSuchAction", "Effect": "Allow", "Action": "kinesis:ResizeStream", "Resource": "*"},
        {"Sid": "NoResourceType", "Effect": "Allow", "Action": "kinesis:ListStreams",
         "Resource": "arn:aws:kinesis:*:*:stream/x"},
        {"Sid": "WrongResourceType", "Effect": "Allow", "Action": "dynamodb:GetItem",
         "Resource": "arn:aws:s3:::bucket"},
        {"Sid": "NoSuchKey", "Effect": "Allow", "Action": "logs:CreateLogStream", "Resource": "*",
         "Condition": {"StringEquals": {"aws:RequestTag/x": "y"}}}]}
    found = ref.problems(bad)
    for sid in ("NoSuchAction", "NoResourceType", "WrongResourceType", "NoSuchKey"):
        assert any(f"statement {sid}:" in line for line in found), (sid, found)
    good = {"Statement": [{"Effect": "Allow", "Action": "kinesis:CreateStream",
                           "Resource": "arn:aws:kinesis:*:*:stream/liveinsight-*",
                           "Condition": {"StringLike": {"aws:RequestTag/liveinsight:stack": "liveinsight-*"}}}]}
    assert ref.problems(good) == []


def test_the_deployer_policy_uses_only_what_aws_defines() -> None:
    assert ref.problems(DEPLOYER, "docs/deployer-policy.json") == []


def test_every_policy_the_tool_writes_uses_only_what_aws_defines(written: list[tuple[str, dict[str, Any]]]) -> None:
    kinds = {where.split(" ")[0] for where, _ in written}
    # Function roles (trust + inline), the boundary, the logging role, the bucket policy, the permissions.
    for must in ("iam:CreateRole", "iam:PutRolePolicy", "iam:CreatePolicy", "s3:PutBucketPolicy",
                 "lambda:AddPermission"):
        assert must in kinds, (must, sorted(kinds))
    roles = {where for where, _ in written if where.startswith("iam:CreateRole")}
    assert any("apigateway-logs" in r for r in roles), roles
    assert ref.all_problems(written) == []


def test_trust_policies_let_only_aws_services_assume_the_roles(written: list[tuple[str, dict[str, Any]]]) -> None:
    trusts = [doc for where, doc in written if where.startswith(("iam:CreateRole", "iam:UpdateAssumeRolePolicy"))]
    assert trusts
    for doc in trusts:
        for st in doc["Statement"]:
            assert st["Action"] == "sts:AssumeRole"
            assert set(st["Principal"]) == {"Service"}


def statements(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    return list(doc["Statement"])
