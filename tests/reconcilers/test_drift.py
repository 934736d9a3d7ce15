"""Drift cases that need more than a row of test_drift_matrix.py (exact before/after values, the
calls apply makes, a replace, a moto gap worked around): create → empty plan → out-of-band change →
exactly that change → apply → empty."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from liveinsight_infra.aws.provider import AwsProvider
from liveinsight_infra.plan import Action, Plan
from tests.conftest import PROD, apply_spec, make_engine

Drift = Callable[[AwsProvider], None]


def only_change(plan: Plan) -> tuple[str, str, str, list[tuple[str, Any, Any]]]:
    """The one change of the plan. A function whose live version moves also makes the stage record
    a new release (its deployment lists the functions' versions): that, and only that, may come along."""
    changes = list(plan.changes)
    if len(changes) == 2 and changes[0].resource == "lambda.function":
        stage = changes[1]
        assert stage.resource == "apigateway.stage" and [d.path for d in stage.diffs] == ["functions"], stage
        changes = changes[:1]
    assert len(changes) == 1, [c.address for c in plan]
    (c,) = changes
    return c.action.value, c.resource, c.name, [(d.path, d.before, d.after) for d in c.diffs]


def converge_after(provider: AwsProvider, drift: Drift, spec: Any = None) -> tuple[str, str, str, list[Any]]:
    apply_spec(provider, *([spec] if spec else []))
    assert make_engine(provider, *([spec] if spec else [])).plan().empty, "a fresh stack plans no change"
    drift(provider)
    engine = make_engine(provider, *([spec] if spec else []))
    plan = engine.plan()
    seen = only_change(plan)
    engine.apply(plan)
    after = make_engine(provider, *([spec] if spec else [])).plan()
    assert after.empty, [c.address for c in after]
    return seen


def test_log_group_deleted(provider: AwsProvider) -> None:
    def drift(p: AwsProvider) -> None:
        p.client("logs").delete_log_group(logGroupName="/aws/apigateway/liveinsight-api-dev")

    action, kind, name, _ = converge_after(provider, drift)
    assert (action, kind, name) == ("create", "logs.log_group", "/aws/apigateway/liveinsight-api-dev")


def test_function_memory(provider: AwsProvider) -> None:
    def drift(p: AwsProvider) -> None:
        p.client("lambda").update_function_configuration(FunctionName="liveinsight-realtime-api-dev",
                                                         MemorySize=512)

    action, kind, name, diffs = converge_after(provider, drift)
    assert (action, kind, name) == ("update", "lambda.function", "liveinsight-realtime-api-dev")
    assert ("memory_mb", 512, 128) in diffs
    # $LATEST now differs from the published version the alias serves: both are reported.
    assert {d[0] for d in diffs} == {"memory_mb", "live_alias"}


def test_function_memory_publishes_a_version_and_moves_the_alias(provider: AwsProvider) -> None:
    apply_spec(provider)
    lam = provider.client("lambda")
    lam.update_function_configuration(FunctionName="liveinsight-realtime-api-dev", MemorySize=512)
    engine = make_engine(provider)
    engine.apply(engine.plan())
    alias = lam.get_alias(FunctionName="liveinsight-realtime-api-dev", Name="live")
    assert alias["FunctionVersion"] == "2"
    live = lam.get_function_configuration(FunctionName="liveinsight-realtime-api-dev", Qualifier="live")
    assert live["MemorySize"] == 128


def test_function_code_changed_out_of_band(provider: AwsProvider) -> None:
    import io
    import zipfile

    def drift(p: AwsProvider) -> None:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("stats_api.py", "def handler(e, c):\n    return {}\n")
        p.client("lambda").update_function_code(FunctionName="liveinsight-stats-api-dev", ZipFile=buf.getvalue())

    action, _, name, diffs = converge_after(provider, drift)
    assert (action, name) == ("update", "liveinsight-stats-api-dev")
    assert {d[0] for d in diffs} == {"code_sha256", "live_alias"}


def test_alias_pointed_elsewhere(provider: AwsProvider) -> None:
    def drift(p: AwsProvider) -> None:
        lam = p.client("lambda")
        lam.update_function_configuration(FunctionName="liveinsight-stats-api-dev", Timeout=30)
        version = lam.publish_version(FunctionName="liveinsight-stats-api-dev")["Version"]
        lam.update_alias(FunctionName="liveinsight-stats-api-dev", Name="live", FunctionVersion=version)
        lam.update_function_configuration(FunctionName="liveinsight-stats-api-dev", Timeout=10)

    action, _, name, diffs = converge_after(provider, drift)
    assert (action, name) == ("update", "liveinsight-stats-api-dev")
    assert [d[0] for d in diffs] == ["live_alias"]


def test_role_policy_statement_added(provider: AwsProvider) -> None:
    def drift(p: AwsProvider) -> None:
        iam = p.client("iam")
        doc = iam.get_role_policy(RoleName="liveinsight-stats-api-dev",
                                  PolicyName="liveinsight-function")["PolicyDocument"]
        doc["Statement"].append({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
        iam.put_role_policy(RoleName="liveinsight-stats-api-dev", PolicyName="liveinsight-function",
                            PolicyDocument=json.dumps(doc))

    action, kind, name, diffs = converge_after(provider, drift)
    assert (action, kind, name) == ("update", "iam.role", "liveinsight-stats-api-dev")
    assert [d[0] for d in diffs] == ["inline_policies.liveinsight-function.Statement"]
    before, after = diffs[0][1], diffs[0][2]
    assert {"Action": "s3:*", "Effect": "Allow", "Resource": "*"} in before
    assert len(before) == len(after) + 1


def test_role_extra_policies_are_removed(provider: AwsProvider) -> None:
    def drift(p: AwsProvider) -> None:
        iam = p.client("iam")
        iam.put_role_policy(RoleName="liveinsight-event-collector-dev", PolicyName="sneaky",
                            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                                {"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        arn = iam.create_policy(PolicyName="admin", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        iam.attach_role_policy(RoleName="liveinsight-event-collector-dev", PolicyArn=arn["Policy"]["Arn"])

    action, kind, _, diffs = converge_after(provider, drift)
    assert (action, kind) == ("update", "iam.role")
    assert sorted(d[0] for d in diffs) == ["attached_policies", "inline_policies.sneaky"]
    iam = provider.client("iam")
    assert iam.list_role_policies(RoleName="liveinsight-event-collector-dev")["PolicyNames"] == [
        "liveinsight-function"]
    assert iam.list_attached_role_policies(RoleName="liveinsight-event-collector-dev")["AttachedPolicies"] == []


def test_table_ttl_and_tags(provider: AwsProvider) -> None:
    def drift(p: AwsProvider) -> None:
        ddb = p.client("dynamodb")
        ddb.update_time_to_live(TableName="liveinsight-events-dev",
                                TimeToLiveSpecification={"Enabled": False, "AttributeName": "expires_at"})
        arn = ddb.describe_table(TableName="liveinsight-events-dev")["Table"]["TableArn"]
        ddb.untag_resource(ResourceArn=arn, TagKeys=["owner"])

    action, _, _, diffs = converge_after(provider, drift)
    assert action == "update"
    assert sorted(d[0] for d in diffs) == ["tags.owner", "ttl_attribute"]


def test_topic_subscription(provider: AwsProvider) -> None:
    def drift(p: AwsProvider) -> None:
        sns = p.client("sns")
        arn = "arn:aws:sns:us-east-1:123456789012:liveinsight-alerts-prod"
        for sub in sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]:
            sns.unsubscribe(SubscriptionArn=sub["SubscriptionArn"])

    assert converge_after(provider, drift, PROD) == (
        "update", "sns.topic", "liveinsight-alerts-prod",
        [("emails", [], ["oncall@liveinsight.example"])])


def test_prod_alarms_notify_the_topic(provider: AwsProvider) -> None:
    apply_spec(provider, PROD)
    alarms = provider.client("cloudwatch").describe_alarms(AlarmNamePrefix="liveinsight-prod-")["MetricAlarms"]
    assert len(alarms) == 8
    topic = "arn:aws:sns:us-east-1:123456789012:liveinsight-alerts-prod"
    assert all(a["AlarmActions"] == [topic] and a["OKActions"] == [topic] for a in alarms)


def test_alarm_removed_from_spec_is_deleted(provider: AwsProvider, project_copy: Path) -> None:
    apply_spec(provider)
    spec = project_copy / "specs" / "dev.yaml"
    data = yaml.safe_load(spec.read_text())
    kept = [a for a in data["alarms"] if a["name"] != "stats-api-throttles"]
    assert len(kept) == len(data["alarms"]) - 1
    spec.write_text(yaml.safe_dump({**data, "alarms": kept}, sort_keys=False))
    plan = make_engine(provider, spec).plan()
    assert [(c.action, c.resource, c.name, c.reason) for c in plan] == [
        (Action.DELETE, "cloudwatch.alarm", "liveinsight-dev-stats-api-throttles", "no longer in the spec")]


def test_a_role_at_another_path_is_replaced_and_nothing_else_changes(provider: AwsProvider) -> None:
    """IAM cannot move a role to another path: the plan replaces it, naming the field. The function's
    role ARN is the new role's (same path, same name), so the function has nothing to change."""
    name = "liveinsight-stats-api-dev"
    apply_spec(provider)
    iam = provider.client("iam")
    role = iam.get_role(RoleName=name)["Role"]
    doc = iam.get_role_policy(RoleName=name, PolicyName="liveinsight-function")["PolicyDocument"]
    iam.delete_role_policy(RoleName=name, PolicyName="liveinsight-function")
    iam.delete_role(RoleName=name)
    iam.create_role(RoleName=name, Path="/", AssumeRolePolicyDocument=json.dumps(role["AssumeRolePolicyDocument"]),
                    Description=role["Description"], Tags=role["Tags"],
                    PermissionsBoundary=role["PermissionsBoundary"]["PermissionsBoundaryArn"])
    iam.put_role_policy(RoleName=name, PolicyName="liveinsight-function", PolicyDocument=json.dumps(doc))

    engine = make_engine(provider)
    plan = engine.plan()
    assert [(c.action, c.resource, c.name, c.forces_replace, c.reason) for c in plan] == [
        (Action.REPLACE, "iam.role", name, ("path",), "path cannot change in place")]
    assert [(d.path, d.before, d.after) for d in plan.changes[0].diffs] == [("path", "/", "/liveinsight-dev/")]
    provider.counter.reset()
    engine.apply(plan)
    assert provider.counter.calls[("iam", "DeleteRole")] == 1 and provider.counter.calls[("iam", "CreateRole")] == 1
    arn = f"arn:aws:iam::123456789012:role/liveinsight-dev/{name}"
    assert iam.get_role(RoleName=name)["Role"]["Arn"] == arn
    assert provider.client("lambda").get_function_configuration(FunctionName=name)["Role"] == arn
    assert make_engine(provider).plan().empty


def test_function_architecture_only_drift_is_fixed_with_the_code_call(provider: AwsProvider) -> None:
    """Only UpdateFunctionCode takes Architectures, so an architecture-only drift must send it even
    though the code is unchanged. moto 5.2.5 ignores Architectures there (docs/moto-gaps.md): the
    test records the call and applies the architecture it carries, as AWS does."""
    from moto.awslambda.models import lambda_backends

    name = "liveinsight-stats-api-dev"
    apply_spec(provider)
    backend = lambda_backends[provider.account_id()]["us-east-1"]
    backend.get_function(name).architectures = ["x86_64"]  # changed out of band (or adopted so)
    sent: list[Any] = []

    def as_on_aws(params: dict[str, Any], **_: Any) -> None:
        sent.append(params.get("Architectures"))
        if params.get("Architectures"):
            backend.get_function(params["FunctionName"]).architectures = list(params["Architectures"])

    provider.client("lambda").meta.events.register("provide-client-params.lambda.UpdateFunctionCode", as_on_aws)
    engine = make_engine(provider)
    plan = engine.plan()
    action, _, changed, diffs = only_change(plan)
    assert (action, changed) == ("update", name)
    assert ("architectures", ["x86_64"], ["arm64"]) in diffs
    engine.apply(plan)
    assert sent == [["arm64"]]
    after = make_engine(provider).plan()
    assert after.empty, [c.address for c in after]


def test_a_topic_update_writes_only_what_its_diffs_name(provider: AwsProvider) -> None:
    """Given only a tag's diff, the topic's update puts the tag back and subscribes nobody: it decides
    its calls from the plan's diffs, not by comparing the states again."""
    from liveinsight_infra.contract import Context
    from liveinsight_infra.plan import FieldDiff
    from liveinsight_infra.reconcilers.sns import TopicReconciler
    from liveinsight_infra.spec import load_spec

    apply_spec(provider, PROD)
    sns = provider.client("sns")
    arn = "arn:aws:sns:us-east-1:123456789012:liveinsight-alerts-prod"
    for sub in sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]:
        sns.unsubscribe(SubscriptionArn=sub["SubscriptionArn"])
    sns.untag_resource(ResourceArn=arn, TagKeys=["owner"])
    r = TopicReconciler(Context(load_spec(PROD), provider, account="123456789012"))
    (name, current), = r.observe().items()
    r.update(name, r.desired(name, {}), current, (FieldDiff("tags.owner", None, "platform"),))
    assert sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"] == []
    tags = {t["Key"]: t["Value"] for t in sns.list_tags_for_resource(ResourceArn=arn)["Tags"]}
    assert tags["owner"] == "platform"
