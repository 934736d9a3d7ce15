"""Every role the tool creates carries a permissions boundary; the stack's boundary is a managed
policy the tool reconciles like any other resource (drift shown and repaired, destroyed last)."""

from __future__ import annotations

import json
from typing import Any

from liveinsight_infra.aws.provider import AwsProvider
from liveinsight_infra.reconcilers.apigateway_account import push_to_cloudwatch
from tests.conftest import apply_spec, make_engine
from tests.reconcilers.test_drift import converge_after

ACCOUNT = "123456789012"
BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/liveinsight-dev/liveinsight-boundary-dev"
LOGS_BOUNDARY = "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
FUNCTIONS = ("event-collector", "realtime-api", "stats-api")


def boundary_of(p: AwsProvider, role: str) -> str | None:
    pb = p.client("iam").get_role(RoleName=role)["Role"].get("PermissionsBoundary") or {}
    return pb.get("PermissionsBoundaryArn")


def boundary_document(p: AwsProvider) -> dict[str, Any]:
    iam = p.client("iam")
    version = iam.get_policy(PolicyArn=BOUNDARY)["Policy"]["DefaultVersionId"]
    doc = iam.get_policy_version(PolicyArn=BOUNDARY, VersionId=version)["PolicyVersion"]["Document"]
    return doc if isinstance(doc, dict) else dict(json.loads(doc))


def test_every_role_is_created_with_a_permissions_boundary(provider: AwsProvider) -> None:
    apply_spec(provider)
    for key in FUNCTIONS:
        assert boundary_of(provider, f"liveinsight-{key}-dev") == BOUNDARY
    # The account's logging role: bounded by AWS's own policy for that job, which no deployer can edit.
    assert boundary_of(provider, "liveinsight-apigateway-logs") == LOGS_BOUNDARY
    tags = {t["Key"]: t["Value"] for t in provider.client("iam").get_policy(PolicyArn=BOUNDARY)["Policy"]["Tags"]}
    assert tags["liveinsight:stack"] == "liveinsight-dev"


def test_the_boundary_allows_only_the_stacks_logs_and_table(provider: AwsProvider) -> None:
    apply_spec(provider)
    resources = sorted(r for s in boundary_document(provider)["Statement"]
                       for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"]))
    assert resources == [
        "arn:aws:dynamodb:us-east-1:123456789012:table/liveinsight-events-dev",
        "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/liveinsight-*-dev:*",
    ]
    actions = {a for s in boundary_document(provider)["Statement"] for a in s["Action"]}
    assert all(a.startswith(("logs:", "dynamodb:")) and "*" not in a for a in actions)
    assert all(s["Effect"] == "Allow" for s in boundary_document(provider)["Statement"])


def test_a_removed_boundary_shows_in_the_plan_and_apply_restores_it(provider: AwsProvider) -> None:
    def drift(p: AwsProvider) -> None:
        p.client("iam").delete_role_permissions_boundary(RoleName="liveinsight-stats-api-dev")

    action, kind, name, diffs = converge_after(provider, drift)
    assert (action, kind, name) == ("update", "iam.role", "liveinsight-stats-api-dev")
    assert diffs == [("permissions_boundary", None, BOUNDARY)]
    assert boundary_of(provider, "liveinsight-stats-api-dev") == BOUNDARY


def test_a_widened_boundary_is_put_back(provider: AwsProvider) -> None:
    admin = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}

    def drift(p: AwsProvider) -> None:
        p.client("iam").create_policy_version(PolicyArn=BOUNDARY, PolicyDocument=json.dumps(admin),
                                              SetAsDefault=True)

    action, kind, name, diffs = converge_after(provider, drift)
    assert (action, kind, name) == ("update", "iam.boundary", "liveinsight-boundary-dev")
    assert [d[0] for d in diffs] == ["document.Statement"]
    assert "*" not in json.dumps([s["Action"] for s in boundary_document(provider)["Statement"]])


def test_the_boundary_survives_five_versions_of_drift(provider: AwsProvider) -> None:
    """IAM keeps at most five versions of a managed policy: the repair makes room first."""
    apply_spec(provider)
    iam = provider.client("iam")
    for i in range(4):
        doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": f"s3:Get{i}", "Resource": "*"}]}
        iam.create_policy_version(PolicyArn=BOUNDARY, PolicyDocument=json.dumps(doc), SetAsDefault=True)
    engine = make_engine(provider)
    engine.apply(engine.plan())
    assert make_engine(provider).plan().empty
    assert "s3:" not in json.dumps(boundary_document(provider))


def test_destroy_removes_the_boundary_after_the_roles(provider: AwsProvider) -> None:
    apply_spec(provider)
    engine = make_engine(provider)
    plan = engine.plan(destroy=True)
    addresses = [(c.resource, c.name) for c in plan]
    assert ("iam.boundary", "liveinsight-boundary-dev") in addresses
    last_role = max(i for i, (kind, _) in enumerate(addresses) if kind == "iam.role")
    assert addresses.index(("iam.boundary", "liveinsight-boundary-dev")) > last_role
    engine.apply(plan)
    policies = provider.client("iam").list_policies(Scope="Local")["Policies"]
    assert [p["Arn"] for p in policies] == []


def test_the_logging_role_an_earlier_version_made_is_brought_up_to_date(provider: AwsProvider) -> None:
    """A role named like ours, set on the account by an earlier version: trusted by API Gateway for
    any account, logs actions on `*`, no boundary. Apply brings it to the current definition."""
    iam, ag = provider.client("iam"), provider.client("apigateway")
    old_trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    arn = iam.create_role(RoleName="liveinsight-apigateway-logs", AssumeRolePolicyDocument=json.dumps(old_trust),
                          Tags=[{"Key": "liveinsight:stack", "Value": "liveinsight-account"}])["Role"]["Arn"]
    iam.put_role_policy(RoleName="liveinsight-apigateway-logs", PolicyName="push-to-cloudwatch-logs",
                        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                            {"Effect": "Allow", "Action": ["logs:GetLogEvents"], "Resource": "*"}]}))
    ag.update_account(patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": arn}])
    apply_spec(provider)
    assert boundary_of(provider, "liveinsight-apigateway-logs") == LOGS_BOUNDARY
    trust = iam.get_role(RoleName="liveinsight-apigateway-logs")["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Condition"] == {"StringEqualsIfExists": {"aws:SourceAccount": ACCOUNT}}
    doc = iam.get_role_policy(RoleName="liveinsight-apigateway-logs", PolicyName="push-to-cloudwatch-logs")
    assert doc["PolicyDocument"] == push_to_cloudwatch(ACCOUNT)  # "*" only for the list action
    assert make_engine(provider).plan().empty


def test_a_logging_role_someone_else_set_is_left_alone(provider: AwsProvider) -> None:
    iam, ag = provider.client("iam"), provider.client("apigateway")
    arn = iam.create_role(RoleName="their-logging-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    ag.update_account(patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": arn}])
    apply_spec(provider)
    assert ag.get_account()["cloudwatchRoleArn"] == arn
    assert boundary_of(provider, "their-logging-role") is None
    names = [r["RoleName"] for r in iam.list_roles()["Roles"]]
    assert "liveinsight-apigateway-logs" not in names


def test_our_logging_role_deleted_while_the_account_names_it_is_made_again(provider: AwsProvider) -> None:
    apply_spec(provider)
    iam = provider.client("iam")
    iam.delete_role_policy(RoleName="liveinsight-apigateway-logs", PolicyName="push-to-cloudwatch-logs")
    iam.delete_role(RoleName="liveinsight-apigateway-logs")
    plan = make_engine(provider).plan()
    assert [(c.action.value, c.resource) for c in plan] == [("update", "apigateway.account")]
    apply_spec(provider)
    assert boundary_of(provider, "liveinsight-apigateway-logs") == LOGS_BOUNDARY
    assert make_engine(provider).plan().empty


def test_on_the_stream_path_the_boundary_adds_only_the_stacks_stream_and_failure_queue(provider: AwsProvider) -> None:
    from tests.conftest import ROOT

    apply_spec(provider, ROOT / "specs" / "stream.yaml")
    arn = f"arn:aws:iam::{ACCOUNT}:policy/liveinsight-stream/liveinsight-boundary-stream"
    iam = provider.client("iam")
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    doc = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
    doc = doc if isinstance(doc, dict) else json.loads(doc)
    by_resource = {s["Resource"]: sorted([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
                   for s in doc["Statement"]}
    assert sorted(by_resource) == [
        "arn:aws:dynamodb:us-east-1:123456789012:table/liveinsight-events-stream",
        "arn:aws:kinesis:us-east-1:123456789012:stream/liveinsight-ingest-stream",
        "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/liveinsight-*-stream:*",
        "arn:aws:sqs:us-east-1:123456789012:liveinsight-ingest-failures-stream",
    ]
    assert by_resource["arn:aws:sqs:us-east-1:123456789012:liveinsight-ingest-failures-stream"] == ["sqs:SendMessage"]
    assert by_resource["arn:aws:kinesis:us-east-1:123456789012:stream/liveinsight-ingest-stream"] == [
        "kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords", "kinesis:GetShardIterator",
        "kinesis:ListShards", "kinesis:PutRecords"]
    for key in ("event-collector", "aggregator"):
        assert boundary_of(provider, f"liveinsight-{key}-stream") == arn
