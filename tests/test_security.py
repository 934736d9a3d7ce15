"""Security posture of the deployed (moto) stack, checked against what we promise."""

from __future__ import annotations

import json

from liveinsight_infra.aws.provider import AwsProvider
from liveinsight_infra.spec import load_spec
from tests.conftest import DEV, PROD, apply_spec

# Exactly the actions each function calls (handlers/shared/store.py, visitors.py), on exactly its
# resources, and only on the partition keys it uses: the readers never reach the daily salt.
EXPECTED = {
    "event-collector": ["dynamodb:BatchWriteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
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
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    for name in iam.list_role_policies(RoleName="liveinsight-apigateway-logs")["PolicyNames"]:
        doc = iam.get_role_policy(RoleName="liveinsight-apigateway-logs", PolicyName=name)["PolicyDocument"]
        for statement in doc["Statement"]:
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            assert "*" not in resources, statement
            assert all(r.startswith("arn:aws:logs:*:123456789012:log-group:") for r in resources), statement
            assert all(a.startswith("logs:") for a in statement["Action"]), statement


def test_the_bucket_is_private_and_tls_only(provider: AwsProvider) -> None:
    apply_spec(provider)
    s3 = provider.client("s3")
    (bucket,) = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert all(s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"].values())
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    allows = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    (dist,) = provider.client("cloudfront").list_distributions()["DistributionList"]["Items"]
    assert allows == [{"Sid": "CloudFrontReadsThroughOAC", "Effect": "Allow",
                       "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "s3:GetObject",
                       "Resource": f"arn:aws:s3:::{bucket}/*",
                       "Condition": {"StringEquals": {"AWS:SourceArn": dist["ARN"]}}}]
    denies = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    assert denies[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_prod_cors_is_an_origin_list_and_the_stage_is_throttled(provider: AwsProvider) -> None:
    assert load_spec(PROD).spec.api.cors.allow_origins != ("*",)
    assert "*" not in load_spec(PROD).spec.api.cors.allow_origins
    apply_spec(provider, PROD)
    ag = provider.client("apigateway")
    api_id = ag.get_rest_apis()["items"][0]["id"]
    settings = ag.get_stage(restApiId=api_id, stageName="prod")["methodSettings"]["*/*"]
    assert settings["throttlingRateLimit"] == 500.0 and settings["throttlingBurstLimit"] == 1000
    env = provider.client("lambda").get_function_configuration(FunctionName="liveinsight-stats-api-prod")
    assert env["Environment"]["Variables"]["LIVEINSIGHT_CORS_ALLOW_ORIGINS"] == \
        "https://app.liveinsight.example,https://www.liveinsight.example"


def test_no_secret_or_address_in_function_configuration(provider: AwsProvider) -> None:
    apply_spec(provider, DEV)
    for key in EXPECTED:
        env = provider.client("lambda").get_function_configuration(
            FunctionName=f"liveinsight-{key}-dev")["Environment"]["Variables"]
        assert not any(word in k.upper() for k in env for word in ("SECRET", "PASSWORD", "TOKEN", "KEY"))
