"""Adoption is explicit: resources under the stack's names without its ownership tag are never taken
over silently. The plan marks them ``adopt``; apply refuses them before any write unless told
``--adopt``; destroy never deletes them."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import boto3
import pytest

from liveinsight_infra import naming
from liveinsight_infra.aws.provider import AwsProvider
from liveinsight_infra.plan import Action, AdoptionRequired, PlanStale
from tests.conftest import apply_spec, make_engine

ZIP = b"PK\x05\x06" + b"\x00" * 18
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def foreign_role(p: AwsProvider, name: str = "liveinsight-stats-api-dev") -> str:
    """A role under the stack's name (and path), made by somebody else: no ownership tag."""
    iam = p.client("iam")
    arn = iam.create_role(RoleName=name, Path="/liveinsight-dev/", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="theirs", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}))
    return str(arn)


def foreign_function(p: AwsProvider) -> None:
    role = p.client("iam").create_role(RoleName="their-role", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    p.client("lambda").create_function(FunctionName="liveinsight-stats-api-dev", Runtime="python3.12", Role=role,
                                       Handler="theirs.handler", Code={"ZipFile": ZIP},
                                       Architectures=["arm64"])  # moto ignores a change of architecture


def foreign_bucket(p: AwsProvider) -> str:
    name = naming.bucket_name(make_engine(p).ctx.spec, p.account_id())
    s3 = p.client("s3")
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="their-report.csv", Body=b"a,b\n")
    return name


def foreign_log_group(p: AwsProvider) -> None:
    p.client("logs").create_log_group(logGroupName="/aws/lambda/liveinsight-stats-api-dev")


def foreign_alarm(p: AwsProvider) -> None:
    p.client("cloudwatch").put_metric_alarm(
        AlarmName="liveinsight-dev-stats-api-errors", Namespace="Theirs", MetricName="Errors", Statistic="Sum",
        Period=60, EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")


def foreign_table(p: AwsProvider) -> None:
    p.client("dynamodb").create_table(
        TableName="liveinsight-events-dev", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}])


def foreign_oac(p: AwsProvider) -> None:
    """An Origin Access Control cannot carry tags: its name is unique per account."""
    p.client("cloudfront").create_origin_access_control(OriginAccessControlConfig={
        "Name": "liveinsight-dev-s3", "Description": "theirs", "SigningProtocol": "sigv4",
        "SigningBehavior": "always", "OriginAccessControlOriginType": "s3"})


def foreign_response_headers_policy(p: AwsProvider) -> None:
    """A response headers policy cannot carry tags either: its name is unique per account."""
    p.client("cloudfront").create_response_headers_policy(ResponseHeadersPolicyConfig={
        "Name": "liveinsight-dev-security-headers", "Comment": "theirs",
        "SecurityHeadersConfig": {"FrameOptions": {"Override": True, "FrameOption": "SAMEORIGIN"}}})


def foreign_origin_request_policy(p: AwsProvider) -> None:
    """Nor can an origin request policy: its name is unique per account."""
    p.client("cloudfront").create_origin_request_policy(OriginRequestPolicyConfig={
        "Name": "liveinsight-dev-api-origin-request", "Comment": "theirs",
        "HeadersConfig": {"HeaderBehavior": "none"}, "CookiesConfig": {"CookieBehavior": "all"},
        "QueryStringsConfig": {"QueryStringBehavior": "none"}})


FOREIGN = {
    "cloudfront.oac": (foreign_oac, "liveinsight-dev-s3"),
    "cloudfront.origin_request_policy": (foreign_origin_request_policy, "liveinsight-dev-api-origin-request"),
    "cloudfront.response_headers_policy": (foreign_response_headers_policy, "liveinsight-dev-security-headers"),
    "iam.role": (foreign_role, "liveinsight-stats-api-dev"),
    "lambda.function": (foreign_function, "liveinsight-stats-api-dev"),
    "s3.bucket": (foreign_bucket, None),
    "logs.log_group": (foreign_log_group, "/aws/lambda/liveinsight-stats-api-dev"),
    "cloudwatch.alarm": (foreign_alarm, "liveinsight-dev-stats-api-errors"),
    "dynamodb.table": (foreign_table, "liveinsight-events-dev"),
}


def snapshot(p: AwsProvider) -> dict[str, Any]:
    """What somebody else's resources look like (to prove nothing was touched)."""
    lam, iam, logs, cw = (p.client(s) for s in ("lambda", "iam", "logs", "cloudwatch"))
    out: dict[str, Any] = {}
    with contextlib.suppress(lam.exceptions.ResourceNotFoundException):
        out["handler"] = lam.get_function(FunctionName="liveinsight-stats-api-dev")["Configuration"]["Handler"]
    with contextlib.suppress(iam.exceptions.NoSuchEntityException):
        out["policies"] = iam.list_role_policies(RoleName="liveinsight-stats-api-dev")["PolicyNames"]
    out["groups"] = [(g["logGroupName"], g.get("retentionInDays")) for g in logs.describe_log_groups()["logGroups"]]
    out["alarms"] = [(a["AlarmName"], a["Namespace"]) for a in cw.describe_alarms()["MetricAlarms"]]
    out["header_policies"] = [i["ResponseHeadersPolicy"]["ResponseHeadersPolicyConfig"] for i in p.client(
        "cloudfront").list_response_headers_policies(Type="custom")["ResponseHeadersPolicyList"].get("Items") or []]
    out["request_policies"] = [i["OriginRequestPolicy"]["OriginRequestPolicyConfig"] for i in p.client(
        "cloudfront").list_origin_request_policies(Type="custom")["OriginRequestPolicyList"].get("Items") or []]
    return out


@pytest.mark.parametrize("kind", sorted(FOREIGN))
def test_apply_refuses_to_take_over_a_resource_without_the_ownership_tag(provider: AwsProvider, kind: str) -> None:
    make, known = FOREIGN[kind]
    made = make(provider)
    name = known or made  # the bucket's name carries the account's digest
    before = snapshot(provider)
    engine = make_engine(provider)
    plan = engine.plan()
    adopt = [c for c in plan if c.action is Action.ADOPT]
    assert [(c.resource, c.name) for c in adopt] == [(kind, name)]
    assert plan.to_json()["summary"]["adopt"] == 1
    provider.counter.reset()
    with pytest.raises(AdoptionRequired, match=rf"(?s)without this stack's ownership tag.*{kind} {name}.*--adopt"):
        engine.apply(plan)
    assert provider.counter.writes == 0, provider.counter.write_calls()
    assert snapshot(provider) == before


@pytest.mark.parametrize("kind", sorted(FOREIGN))
def test_destroy_never_deletes_a_resource_without_the_ownership_tag(provider: AwsProvider, kind: str) -> None:
    make, _name = FOREIGN[kind]
    make(provider)
    plan = make_engine(provider).plan(destroy=True)
    assert plan.empty, [c.address for c in plan]


@pytest.mark.parametrize("kind", sorted(FOREIGN))
def test_apply_adopt_tags_then_reconciles_and_destroy_then_removes_it(provider: AwsProvider, kind: str) -> None:
    make, _ = FOREIGN[kind]
    make(provider)
    engine = make_engine(provider, adopt=True)
    engine.apply(engine.plan())
    converged = make_engine(provider).plan()
    assert converged.empty, [c.address for c in converged]
    if kind == "lambda.function":
        assert snapshot(provider)["handler"] == "stats_api.handler"
    if kind == "iam.role":
        assert snapshot(provider)["policies"] == ["liveinsight-function"]
    destroy = make_engine(provider, force=True)
    assert kind in {c.resource for c in destroy.plan(destroy=True)}


def test_an_untagged_empty_bucket_under_the_digest_name_is_an_interrupted_create(provider: AwsProvider) -> None:
    """CreateBucket and PutBucketTagging are two calls: an apply stopped between them left an empty
    bucket whose name carries the account/region/stack digest. The next apply finishes it, no flag."""
    name = naming.bucket_name(make_engine(provider).ctx.spec, provider.account_id())
    provider.client("s3").create_bucket(Bucket=name)
    plan = make_engine(provider).plan()
    assert [c.action for c in plan if c.resource == "s3.bucket"] == [Action.UPDATE]
    apply_spec(provider)
    assert make_engine(provider).plan().empty


def test_the_plan_shows_adopt_and_the_cli_refuses_without_the_flag(moto_endpoint: str) -> None:
    from tests.cli.test_cli_e2e import run

    lam = boto3.client("lambda", endpoint_url=moto_endpoint, region_name="us-east-1")
    iam = boto3.client("iam", endpoint_url=moto_endpoint, region_name="us-east-1")
    role = iam.create_role(RoleName="their-role", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    lam.create_function(FunctionName="liveinsight-stats-api-dev", Runtime="python3.12", Role=role,
                        Handler="theirs.handler", Code={"ZipFile": ZIP}, Architectures=["arm64"])
    plan = run("plan", "specs/dev.yaml", endpoint=moto_endpoint)
    assert plan.returncode == 0, plan.stderr
    assert "<- lambda.function liveinsight-stats-api-dev" in plan.stdout and "1 to adopt" in plan.stdout
    refused = run("apply", "specs/dev.yaml", endpoint=moto_endpoint)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "lambda.function liveinsight-stats-api-dev" in refused.stderr and "--adopt" in refused.stderr
    assert lam.list_functions()["Functions"][0]["Handler"] == "theirs.handler"
    assert [f["FunctionName"] for f in lam.list_functions()["Functions"]] == ["liveinsight-stats-api-dev"]
    adopted = run("apply", "specs/dev.yaml", "--adopt", "--no-wait", endpoint=moto_endpoint)
    assert adopted.returncode == 0, adopted.stderr
    assert lam.get_function(FunctionName="liveinsight-stats-api-dev")["Tags"][naming.TAG_STACK] == "liveinsight-dev"


def test_destroy_leaves_the_permissions_of_a_function_it_does_not_own(provider: AwsProvider) -> None:
    """Permission statements belong to their function: they go when the stack's function is deleted,
    and a same-named function of somebody else keeps its statements, even ones named like ours."""
    foreign_function(provider)
    lam = provider.client("lambda")
    version = lam.publish_version(FunctionName="liveinsight-stats-api-dev")["Version"]
    lam.create_alias(FunctionName="liveinsight-stats-api-dev", Name="live", FunctionVersion=version)
    lam.add_permission(FunctionName="liveinsight-stats-api-dev", Qualifier="live",
                       StatementId="liveinsight-api-GET-api-stats", Action="lambda:InvokeFunction",
                       Principal="apigateway.amazonaws.com")
    plan = make_engine(provider).plan(destroy=True)
    assert plan.empty, [c.address for c in plan]


def test_the_stacks_own_oac_with_a_changed_description_is_drift_not_adoption(
        provider: AwsProvider, monkeypatch: pytest.MonkeyPatch) -> None:
    """The description is the OAC's creation marker; the stack's distribution using it also proves it ours."""
    from liveinsight_infra.reconcilers import cloudfront

    apply_spec(provider)
    cf = provider.client("cloudfront")
    oac = next(o for o in cf.list_origin_access_controls()["OriginAccessControlList"]["Items"]
               if o["Name"] == "liveinsight-dev-s3")
    real = cloudfront.find_distribution

    def as_on_aws(r: Any, refresh: bool = False) -> Any:
        """AWS's ListDistributions names each origin's OAC; moto drops it (docs/moto-gaps.md)."""
        found = real(r, refresh)
        if found is not None:
            site = next(o for o in found["Origins"]["Items"] if o["Id"] == "site")
            site["OriginAccessControlId"] = oac["Id"]
        return found

    monkeypatch.setattr(cloudfront, "find_distribution", as_on_aws)
    etag = cf.get_origin_access_control(Id=oac["Id"])["ETag"]
    cf.update_origin_access_control(Id=oac["Id"], IfMatch=etag, OriginAccessControlConfig={
        "Name": "liveinsight-dev-s3", "Description": "edited by hand", "SigningProtocol": "sigv4",
        "SigningBehavior": "always", "OriginAccessControlOriginType": "s3"})
    plan = make_engine(provider).plan()
    assert [(c.action, c.resource) for c in plan] == [(Action.UPDATE, "cloudfront.oac")]
    assert "cloudfront.oac" in {c.resource for c in make_engine(provider).plan(destroy=True)}


def test_a_foreign_alerts_topic_is_adopted_only_on_purpose(provider: AwsProvider) -> None:
    from tests.conftest import PROD

    sns = provider.client("sns")
    arn = sns.create_topic(Name="liveinsight-alerts-prod")["TopicArn"]
    assert make_engine(provider, PROD).plan(destroy=True).empty
    engine = make_engine(provider, PROD)
    plan = engine.plan()
    assert [(c.resource, c.name) for c in plan.adoptions] == [("sns.topic", "liveinsight-alerts-prod")]
    with pytest.raises(AdoptionRequired):
        engine.apply(plan)
    assert sns.list_tags_for_resource(ResourceArn=arn)["Tags"] == []
    adopting = make_engine(provider, PROD, adopt=True)
    adopting.apply(adopting.plan())
    tags = {t["Key"]: t["Value"] for t in sns.list_tags_for_resource(ResourceArn=arn)["Tags"]}
    assert tags[naming.TAG_STACK] == "liveinsight-prod"


@pytest.mark.parametrize("kind", ["iam.role", "lambda.function"])
def test_a_resource_that_appears_between_plan_and_apply_is_not_taken_over(provider: AwsProvider, kind: str) -> None:
    """A resource planned as missing that appears before apply is not taken over: the plan is stale
    (it was made against a missing resource), so apply refuses it before any write."""
    engine = make_engine(provider)
    plan = engine.plan()
    assert not plan.adoptions
    FOREIGN[kind][0](provider)  # somebody else creates it meanwhile
    before = snapshot(provider)
    with pytest.raises(PlanStale, match=f"{kind} liveinsight-stats-api-dev changed since the plan"):
        engine.apply(plan)
    field = "policies" if kind == "iam.role" else "handler"
    assert snapshot(provider)[field] == before[field]


def test_the_stacks_own_header_policy_with_a_changed_comment_is_drift_not_adoption(provider: AwsProvider) -> None:
    """The Comment is the response headers policy's creation marker; the stack's distribution using
    the policy also proves it ours, so a changed Comment is drift that apply puts back."""
    apply_spec(provider)
    cf = provider.client("cloudfront")
    items = cf.list_response_headers_policies(Type="custom")["ResponseHeadersPolicyList"]["Items"]
    item = next(p for p in (i["ResponseHeadersPolicy"] for i in items)
                if p["ResponseHeadersPolicyConfig"]["Name"] == "liveinsight-dev-security-headers")
    config = dict(item["ResponseHeadersPolicyConfig"], Comment="edited by hand")
    etag = cf.get_response_headers_policy(Id=item["Id"])["ETag"]
    cf.update_response_headers_policy(Id=item["Id"], IfMatch=etag, ResponseHeadersPolicyConfig=config)
    plan = make_engine(provider).plan()
    assert [(c.action, c.resource) for c in plan] == [(Action.UPDATE, "cloudfront.response_headers_policy")]
    assert "cloudfront.response_headers_policy" in {c.resource for c in make_engine(provider).plan(destroy=True)}
    apply_spec(provider)
    assert make_engine(provider).plan().empty


def test_a_foreign_header_policy_met_by_a_create_is_refused(provider: AwsProvider) -> None:
    """A same-named policy that appears between plan and apply is not finished like our own lost create."""
    engine = make_engine(provider)
    plan = engine.plan()
    foreign_response_headers_policy(provider)
    with pytest.raises(PlanStale, match="response_headers_policy liveinsight-dev-security-headers changed since"):
        engine.apply(plan)
    comments = [i["ResponseHeadersPolicy"]["ResponseHeadersPolicyConfig"]["Comment"] for i in provider.client(
        "cloudfront").list_response_headers_policies(Type="custom")["ResponseHeadersPolicyList"]["Items"]]
    assert comments == ["theirs"]


def test_the_stacks_own_request_policy_with_a_changed_comment_is_drift_not_adoption(provider: AwsProvider) -> None:
    """The origin request policy's Comment is its creation marker; the stack's distribution using it
    also proves it ours, so a changed Comment is drift that apply puts back."""
    apply_spec(provider)
    cf = provider.client("cloudfront")
    (item,) = [i["OriginRequestPolicy"] for i in cf.list_origin_request_policies(Type="custom")[
        "OriginRequestPolicyList"]["Items"]]
    config = dict(item["OriginRequestPolicyConfig"], Comment="edited by hand")
    etag = cf.get_origin_request_policy(Id=item["Id"])["ETag"]
    cf.update_origin_request_policy(Id=item["Id"], IfMatch=etag, OriginRequestPolicyConfig=config)
    plan = make_engine(provider).plan()
    assert [(c.action, c.resource, [d.path for d in c.diffs]) for c in plan] == [
        (Action.UPDATE, "cloudfront.origin_request_policy", ["comment"])]
    assert "cloudfront.origin_request_policy" in {c.resource for c in make_engine(provider).plan(destroy=True)}
    apply_spec(provider)
    assert make_engine(provider).plan().empty


def test_a_foreign_request_policy_met_by_a_create_is_refused(provider: AwsProvider) -> None:
    """A same-named policy that appears between plan and apply is not finished like our own lost create."""
    engine = make_engine(provider)
    plan = engine.plan()
    foreign_origin_request_policy(provider)
    with pytest.raises(PlanStale, match="origin_request_policy liveinsight-dev-api-origin-request changed since"):
        engine.apply(plan)
    comments = [i["OriginRequestPolicy"]["OriginRequestPolicyConfig"]["Comment"] for i in provider.client(
        "cloudfront").list_origin_request_policies(Type="custom")["OriginRequestPolicyList"]["Items"]]
    assert comments == ["theirs"]
