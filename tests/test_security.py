"""Security posture of the deployed (moto) stack, checked against what we promise."""

from __future__ import annotations

import json
from typing import Any

import boto3

from liveinsight_infra.aws.provider import AwsProvider
from tests import iam_reference
from tests.conftest import PROD, apply_spec, make_engine

# Exactly the actions each function calls (handlers/shared/store.py, visitors.py), on exactly its
# resources, and only on the partition keys it uses: the readers never reach the daily salt.
EXPECTED = {
    "event-collector": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
    "realtime-api": ["dynamodb:Query"],
    "stats-api": ["dynamodb:Query"],
}
LEADING_KEYS = {
    "event-collector": ["A#*", "C#*", "EV#*", "M#*", "SALT*", "V#*"],
    "realtime-api": ["A#*", "M#*"],
    "stats-api": ["C#*"],
}


def test_each_role_allows_exactly_what_its_function_needs(provider: AwsProvider) -> None:
    apply_spec(provider)
    iam = provider.client("iam")
    for key, table_actions in EXPECTED.items():
        role = f"liveinsight-{key}-dev"
        assert iam.list_role_policies(RoleName=role)["PolicyNames"] == ["liveinsight-function"]
        assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []
        doc = iam.get_role_policy(RoleName=role, PolicyName="liveinsight-function")["PolicyDocument"]
        got = {s["Sid"]: (sorted([s["Action"]] if isinstance(s["Action"], str) else s["Action"]), s["Resource"])
               for s in doc["Statement"]}
        table = next(s for s in doc["Statement"] if s["Sid"] == "OwnTable")
        (keys,) = table["Condition"]["ForAllValues:StringLike"].values()
        assert table["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": keys}}
        assert sorted([keys] if isinstance(keys, str) else keys) == LEADING_KEYS[key]
        assert got == {
            "OwnLogs": (["logs:CreateLogStream", "logs:PutLogEvents"],
                        f"arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/liveinsight-{key}-dev:*"),
            "OwnTable": (table_actions, "arn:aws:dynamodb:us-east-1:123456789012:table/liveinsight-events-dev"),
        }
        trust = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]["Statement"]
        assert trust == [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                          "Action": "sts:AssumeRole"}]


def test_the_account_logging_role_trusts_api_gateway_for_this_account_only(provider: AwsProvider) -> None:
    apply_spec(provider)
    iam = provider.client("iam")
    role = iam.get_role(RoleName="liveinsight-apigateway-logs")["Role"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "apigateway.amazonaws.com"}
    assert trust["Condition"] == {"StringEqualsIfExists": {"aws:SourceAccount": "123456789012"}}
    for name in iam.list_role_policies(RoleName="liveinsight-apigateway-logs")["PolicyNames"]:
        doc = iam.get_role_policy(RoleName="liveinsight-apigateway-logs", PolicyName=name)["PolicyDocument"]
        for statement in doc["Statement"]:
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            if resources == ["*"]:  # only for actions that take no resource type (AWS's reference)
                assert all(not iam_reference.action(a).resource_arns for a in statement["Action"]), statement
                continue
            assert all(r.startswith("arn:aws:logs:*:123456789012:log-group:") for r in resources), statement
            assert all(a.startswith("logs:") for a in statement["Action"]), statement


def test_prod_cors_is_an_origin_list_and_the_stage_is_throttled(provider: AwsProvider) -> None:
    apply_spec(provider, PROD)
    ag = provider.client("apigateway")
    api_id = ag.get_rest_apis()["items"][0]["id"]
    settings = ag.get_stage(restApiId=api_id, stageName="prod")["methodSettings"]["*/*"]
    assert settings["throttlingRateLimit"] == 500.0 and settings["throttlingBurstLimit"] == 1000
    env = provider.client("lambda").get_function_configuration(FunctionName="liveinsight-stats-api-prod")
    assert env["Environment"]["Variables"]["LIVEINSIGHT_CORS_ALLOW_ORIGINS"] == \
        "https://app.liveinsight.example,https://www.liveinsight.example"


def stack_as_deployed(p: AwsProvider, distribution: bool = True) -> str:
    """Everything the deployed stack shows a reader of the account, as one text (without the
    distribution's configuration when not ``distribution``)."""
    lam, s3, ag, cf = (p.client(s) for s in ("lambda", "s3", "apigateway", "cloudfront"))
    seen: list[Any] = []
    for fn in lam.list_functions()["Functions"]:
        seen.append(fn)
        seen += lam.list_versions_by_function(FunctionName=fn["FunctionName"])["Versions"]
        seen += lam.list_aliases(FunctionName=fn["FunctionName"])["Aliases"]
        seen.append(lam.get_policy(FunctionName=fn["FunctionName"], Qualifier="live")["Policy"])
    for bucket in s3.list_buckets()["Buckets"]:
        for obj in s3.list_objects_v2(Bucket=bucket["Name"])["Contents"]:
            seen.append(s3.get_object(Bucket=bucket["Name"], Key=obj["Key"])["Body"].read().decode("utf-8", "replace"))
        seen.append(s3.get_bucket_policy(Bucket=bucket["Name"])["Policy"])
    for api in ag.get_rest_apis()["items"]:
        seen.append(api)
        seen += ag.get_stages(restApiId=api["id"])["item"]
        seen += ag.get_deployments(restApiId=api["id"])["items"]
        seen += ag.get_resources(restApiId=api["id"], embed=["methods"])["items"]
    seen += ag.get_usage_plans()["items"]
    seen += ag.get_api_keys()["items"]  # without includeValue: names, ids and descriptions
    for dist in cf.list_distributions()["DistributionList"]["Items"] if distribution else []:
        seen.append(cf.get_distribution_config(Id=dist["Id"])["DistributionConfig"])
    seen += p.client("cloudwatch").describe_alarms()["MetricAlarms"]
    seen += p.client("iam").list_roles()["Roles"]
    return json.dumps(seen, default=str)


def test_no_secret_is_written_into_the_stack(moto_env: None) -> None:
    """Neither the API key's value nor the deployer's own credentials end up anywhere the stack
    shows: function configuration, site files, the API's definition, alarms, or the tool's outputs."""
    secret = "deployer-secret-4f1c9a7e2b"
    p = AwsProvider("us-east-1", session=boto3.Session(
        region_name="us-east-1", aws_access_key_id="AKIADEPLOYER7Q3Z", aws_secret_access_key=secret))
    engine = make_engine(p, PROD)
    plan = engine.plan()
    result = engine.apply(plan)
    (key,) = p.client("apigateway").get_api_keys(includeValues=True)["items"]
    assert len(key["value"]) >= 20
    told = json.dumps(result.outputs, default=str) + json.dumps(plan.to_json())
    told += json.dumps(make_engine(p, PROD).plan().to_json()) + json.dumps(engine.current_outputs(), default=str)
    shown = stack_as_deployed(p) + told
    assert "liveinsight-prod-dashboard-key" in shown  # the key is there by name
    for value in (key["value"], secret):
        assert value not in shown
    # The origin secret: CloudFront must hold it to send it (docs/security.md), and nothing else shows it.
    origin = json.loads(p.client("ssm").get_parameter(Name="/liveinsight-prod/origin-secret",
                                                      WithDecryption=True)["Parameter"]["Value"])["current"]
    assert origin in stack_as_deployed(p)
    assert origin not in stack_as_deployed(p, distribution=False) + told
