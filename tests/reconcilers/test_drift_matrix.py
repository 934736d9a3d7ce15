"""Drift on every managed attribute (docs/drift.md): each row changes one attribute out of band with a
real boto3 client on moto, then ``plan`` must name that resource and attribute, ``apply`` must put it
back, and the next plan must be empty.

A row names the change it expects: (action, kind, resource name, the diff paths). Other changes may
come along only where the row lists their kinds (a site object that changes also invalidates the
distribution's cache; a function that publishes a version also makes the stage record a release).

The rows of one spec share one stack, applied once: each row starts from an empty plan (which the
row before left), so a row that does not converge fails the next one too, never silently.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from moto import mock_aws

from liveinsight_infra.aws.provider import AwsProvider
from liveinsight_infra.plan import Plan
from tests.conftest import DEV, PROD, ROOT, SESSION, apply_spec, make_engine

STREAM = ROOT / "specs" / "stream.yaml"
SPECS = {"dev": DEV, "prod": PROD, "stream": STREAM}

ACCOUNT = "123456789012"
BUCKET = "liveinsight-static-dev-9a3dc808"
STATS = "liveinsight-stats-api-dev"
COLLECTOR = "liveinsight-event-collector-dev"


@dataclass(frozen=True)
class Row:
    spec: str
    id: str
    drift: Callable[[AwsProvider], None]
    action: str
    kind: str
    name: str
    paths: frozenset[str]
    companions: frozenset[str] = field(default_factory=frozenset)
    check: Callable[[AwsProvider], None] | None = None  # what AWS shows after apply, when not obvious


def rest_api_id(p: AwsProvider) -> str:
    return str(p.client("apigateway").get_rest_apis()["items"][0]["id"])


# -- s3.object ------------------------------------------------------------------------------------
def object_metadata_replaced(p: AwsProvider) -> None:
    """A copy onto itself with new metadata keeps the bytes, so the ETag (the MD5) does not change."""
    p.client("s3").copy_object(Bucket=BUCKET, Key="dashboard.html", MetadataDirective="REPLACE",
                               CopySource={"Bucket": BUCKET, "Key": "dashboard.html"},
                               ContentType="text/plain", Metadata={"owner": "someone"})


def object_metadata_restored(p: AwsProvider) -> None:
    head = p.client("s3").head_object(Bucket=BUCKET, Key="dashboard.html")
    assert (head["ContentType"], head.get("CacheControl"), head["Metadata"]) == (
        "text/html; charset=utf-8", "no-cache", {})


# -- lambda.function ------------------------------------------------------------------------------
def reserved_concurrency_zero(p: AwsProvider) -> None:
    p.client("lambda").put_function_concurrency(FunctionName=COLLECTOR, ReservedConcurrentExecutions=0)


def reserved_concurrency_removed(p: AwsProvider) -> None:
    got = p.client("lambda").get_function_concurrency(FunctionName=COLLECTOR)
    assert got.get("ReservedConcurrentExecutions") is None, got


# -- lambda.permission ----------------------------------------------------------------------------
def anyone_may_invoke(p: AwsProvider) -> None:
    p.client("lambda").add_permission(FunctionName=STATS, Qualifier="live", StatementId="open-to-all",
                                      Action="lambda:InvokeFunction", Principal="*")


def anyone_may_invoke_latest(p: AwsProvider) -> None:
    p.client("lambda").add_permission(FunctionName=STATS, StatementId="open-to-all",
                                      Action="lambda:InvokeFunction", Principal="*")


def only_declared_statements(p: AwsProvider) -> None:
    policy = json.loads(p.client("lambda").get_policy(FunctionName=STATS, Qualifier="live")["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["liveinsight-api-GET-api-stats"]


BY_HAND: dict[str, str] = {}  # what a drift made, for its check


# -- apigateway.stage -----------------------------------------------------------------------------
def stage_on_another_deployment(p: AwsProvider) -> None:
    """A deployment made by hand that copies the served one's description: only its id tells it apart."""
    ag = p.client("apigateway")
    api = rest_api_id(p)
    served = ag.get_stage(restApiId=api, stageName="dev")["deploymentId"]
    description = ag.get_deployment(restApiId=api, deploymentId=served)["description"]
    other = ag.create_deployment(restApiId=api, description=description)["id"]
    BY_HAND["deployment"] = other
    ag.update_stage(restApiId=api, stageName="dev",
                    patchOperations=[{"op": "replace", "path": "/deploymentId", "value": other}])


def stage_on_a_new_deployment(p: AwsProvider) -> None:
    ag = p.client("apigateway")
    api = rest_api_id(p)
    ids = {d["id"] for d in ag.get_deployments(restApiId=api)["items"]}
    assert len(ids) == 3  # the first apply's, the one made by hand, the one apply made to repair
    stage = ag.get_stage(restApiId=api, stageName="dev")
    assert stage["deploymentId"] != BY_HAND["deployment"]
    assert stage["description"].endswith(f"deployment={stage['deploymentId']}")


# A function with a planned change may publish a version, so the stage plans to record the release.
RELEASE = frozenset({"apigateway.stage"})
CACHE = frozenset({"cloudfront.invalidation"})  # a changed site object is invalidated

# -- the other attributes, one row each (several at once where one call changes them together) ---
def call(service: str, op: str, **kw: Any) -> Callable[[AwsProvider], None]:
    return lambda p: getattr(p.client(service), op)(**kw)


def config(fn: str, **kw: Any) -> Callable[[AwsProvider], None]:
    return call("lambda", "update_function_configuration", FunctionName=fn, **kw)


def env_added(p: AwsProvider) -> None:
    lam = p.client("lambda")
    env = lam.get_function_configuration(FunctionName=STATS)["Environment"]["Variables"]
    lam.update_function_configuration(FunctionName=STATS, Environment={"Variables": {**env, "DEBUG": "1"}})


def stage_patch(path: str, value: str) -> Callable[[AwsProvider], None]:
    def drift(p: AwsProvider) -> None:
        p.client("apigateway").update_stage(restApiId=rest_api_id(p), stageName=p_stage(p), patchOperations=[
            {"op": "replace", "path": path, "value": value}])
    return drift


def p_stage(p: AwsProvider) -> str:
    return str(p.client("apigateway").get_stages(restApiId=rest_api_id(p))["item"][0]["stageName"])


def table_deletion_protection_flipped(p: AwsProvider) -> None:
    ddb = p.client("dynamodb")
    now = ddb.describe_table(TableName="liveinsight-events-dev")["Table"].get("DeletionProtectionEnabled", False)
    ddb.update_table(TableName="liveinsight-events-dev", DeletionProtectionEnabled=not now)


def boundary_widened(p: AwsProvider) -> None:
    iam = p.client("iam")
    arn = f"arn:aws:iam::{ACCOUNT}:policy/liveinsight-dev/liveinsight-boundary-dev"
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(doc), SetAsDefault=True)


def role_trust_widened(role: str) -> Callable[[AwsProvider], None]:
    def drift(p: AwsProvider) -> None:
        iam = p.client("iam")
        doc = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
        doc["Statement"].append({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                 "Action": "sts:AssumeRole"})
        iam.update_assume_role_policy(RoleName=role, PolicyDocument=json.dumps(doc))
    return drift


def role_inline_widened(role: str, policy: str) -> Callable[[AwsProvider], None]:
    def drift(p: AwsProvider) -> None:
        iam = p.client("iam")
        doc = iam.get_role_policy(RoleName=role, PolicyName=policy)["PolicyDocument"]
        doc["Statement"].append({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
        iam.put_role_policy(RoleName=role, PolicyName=policy, PolicyDocument=json.dumps(doc))
    return drift


def route_resource_deleted(p: AwsProvider) -> None:
    ag = p.client("apigateway")
    api = rest_api_id(p)
    rid = next(r["id"] for r in ag.get_resources(restApiId=api)["items"] if r["path"] == "/api/realtime")
    ag.delete_resource(restApiId=api, resourceId=rid)


def integration_timeout_shortened(p: AwsProvider) -> None:
    ag = p.client("apigateway")
    api = rest_api_id(p)
    rid = next(r["id"] for r in ag.get_resources(restApiId=api)["items"] if r["path"] == "/api/stats")
    uri = ag.get_integration(restApiId=api, resourceId=rid, httpMethod="GET")["uri"]
    ag.put_integration(restApiId=api, resourceId=rid, httpMethod="GET", type="AWS_PROXY",
                       integrationHttpMethod="POST", uri=uri, timeoutInMillis=3000)


def declared_statement_removed(p: AwsProvider) -> None:
    p.client("lambda").remove_permission(FunctionName=STATS, Qualifier="live",
                                         StatementId="liveinsight-api-GET-api-stats")


def statement_source_widened(p: AwsProvider) -> None:
    lam = p.client("lambda")
    lam.remove_permission(FunctionName=STATS, Qualifier="live", StatementId="liveinsight-api-GET-api-stats")
    lam.add_permission(FunctionName=STATS, Qualifier="live", StatementId="liveinsight-api-GET-api-stats",
                       Action="lambda:InvokeFunction", Principal="apigateway.amazonaws.com",
                       SourceArn=f"arn:aws:execute-api:us-east-1:{ACCOUNT}:*/*/*/*")


def bucket_policy_opened(p: AwsProvider) -> None:
    s3 = p.client("s3")
    doc = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])
    doc["Statement"].append({"Sid": "Public", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                             "Resource": f"arn:aws:s3:::{BUCKET}/*"})
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(doc))


def bucket_tag_changed(p: AwsProvider) -> None:
    s3 = p.client("s3")
    tags = s3.get_bucket_tagging(Bucket=BUCKET)["TagSet"]
    s3.put_bucket_tagging(Bucket=BUCKET, Tagging={"TagSet": [
        {**t, "Value": "someone"} if t["Key"] == "owner" else t for t in tags]})


def alarm_rewritten(**changes: Any) -> Callable[[AwsProvider], None]:
    def drift(p: AwsProvider) -> None:
        cw = p.client("cloudwatch")
        (alarm,) = cw.describe_alarms(AlarmNames=["liveinsight-dev-api-5xx"])["MetricAlarms"]
        keep = ("AlarmName", "Namespace", "MetricName", "Dimensions", "Statistic", "Period", "EvaluationPeriods",
                "ComparisonOperator", "TreatMissingData", "AlarmDescription", "Threshold", "DatapointsToAlarm",
                "ActionsEnabled", "AlarmActions", "OKActions", "InsufficientDataActions")
        cw.put_metric_alarm(**{**{k: alarm[k] for k in keep if k in alarm}, **changes})
    return drift


def object_body_replaced(p: AwsProvider) -> None:
    """Other bytes under the same headers: only the MD5 tells."""
    s3 = p.client("s3")
    head = s3.head_object(Bucket=BUCKET, Key="tracker.js")
    s3.put_object(Bucket=BUCKET, Key="tracker.js", Body=b"/* other */", ContentType=head["ContentType"],
                  CacheControl=head["CacheControl"])


def site_version_forgotten(p: AwsProvider) -> None:
    cf = p.client("cloudfront")
    (dist,) = cf.list_distributions()["DistributionList"]["Items"]
    cf.untag_resource(Resource=dist["ARN"], TagKeys={"Items": ["liveinsight:site-version"]})


def oac_signing_off(p: AwsProvider) -> None:
    cf = p.client("cloudfront")
    (oac,) = cf.list_origin_access_controls()["OriginAccessControlList"]["Items"]
    got = cf.get_origin_access_control(Id=oac["Id"])
    config = got["OriginAccessControl"]["OriginAccessControlConfig"]
    cf.update_origin_access_control(Id=oac["Id"], IfMatch=got["ETag"],
                                    OriginAccessControlConfig={**config, "SigningBehavior": "never"})


FN_CONFIG = frozenset({"live_alias"})  # $LATEST no longer equals the version the alias serves
DEV_ROWS = [
    Row("dev", "ssm.parameter tags", call("ssm", "remove_tags_from_resource", ResourceType="Parameter",
        ResourceId="/liveinsight-dev/origin-secret", TagKeys=["owner"]),
        "update", "ssm.parameter", "/liveinsight-dev/origin-secret", frozenset({"tags"})),
    Row("dev", "logs.log_group retention", call("logs", "put_retention_policy",
        logGroupName=f"/aws/lambda/{STATS}", retentionInDays=30),
        "update", "logs.log_group", f"/aws/lambda/{STATS}", frozenset({"retention_days"})),
    Row("dev", "dynamodb.table deletion protection", table_deletion_protection_flipped,
        "update", "dynamodb.table", "liveinsight-events-dev", frozenset({"deletion_protection"})),
    Row("dev", "dynamodb.table billing mode", call("dynamodb", "update_table", TableName="liveinsight-events-dev",
        BillingMode="PROVISIONED", ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}),
        "update", "dynamodb.table", "liveinsight-events-dev", frozenset({"billing_mode"})),
    Row("dev", "dynamodb.table point-in-time recovery", call("dynamodb", "update_continuous_backups",
        TableName="liveinsight-events-dev", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False}),
        "update", "dynamodb.table", "liveinsight-events-dev", frozenset({"point_in_time_recovery"})),
    Row("dev", "dynamodb.table ttl", call("dynamodb", "update_time_to_live", TableName="liveinsight-events-dev",
        TimeToLiveSpecification={"Enabled": False, "AttributeName": "expires_at"}),
        "update", "dynamodb.table", "liveinsight-events-dev", frozenset({"ttl_attribute"})),
    Row("dev", "iam.boundary document", boundary_widened,
        "update", "iam.boundary", "liveinsight-boundary-dev", frozenset({"document"})),
    Row("dev", "iam.boundary tags", call("iam", "untag_policy", TagKeys=["owner"],
        PolicyArn=f"arn:aws:iam::{ACCOUNT}:policy/liveinsight-dev/liveinsight-boundary-dev"),
        "update", "iam.boundary", "liveinsight-boundary-dev", frozenset({"tags"})),
    Row("dev", "iam.role trust", role_trust_widened(STATS),
        "update", "iam.role", STATS, frozenset({"assume_role_policy"})),
    Row("dev", "iam.role inline policy", role_inline_widened(STATS, "liveinsight-function"),
        "update", "iam.role", STATS, frozenset({"inline_policies"})),
    Row("dev", "iam.role description and session", call("iam", "update_role", RoleName=STATS,
        Description="changed", MaxSessionDuration=7200),
        "update", "iam.role", STATS, frozenset({"description", "max_session_s"})),
    Row("dev", "iam.role permissions boundary", call("iam", "delete_role_permissions_boundary", RoleName=STATS),
        "update", "iam.role", STATS, frozenset({"permissions_boundary"})),
    Row("dev", "iam.role tags", call("iam", "untag_role", RoleName=STATS, TagKeys=["owner"]),
        "update", "iam.role", STATS, frozenset({"tags"})),
    Row("dev", "lambda.function runtime", config(STATS, Runtime="python3.11"),
        "update", "lambda.function", STATS, frozenset({"runtime"}) | FN_CONFIG, RELEASE),
    Row("dev", "lambda.function handler", config(STATS, Handler="other.handler"),
        "update", "lambda.function", STATS, frozenset({"handler"}) | FN_CONFIG, RELEASE),
    Row("dev", "lambda.function timeout and description", config(STATS, Timeout=60, Description="changed"),
        "update", "lambda.function", STATS, frozenset({"timeout_s", "description"}) | FN_CONFIG, RELEASE),
    Row("dev", "lambda.function environment", env_added,
        "update", "lambda.function", STATS, frozenset({"environment"}) | FN_CONFIG, RELEASE),
    Row("dev", "lambda.function role", config(STATS, Role=f"arn:aws:iam::{ACCOUNT}:role/liveinsight-dev/{COLLECTOR}"),
        "update", "lambda.function", STATS, frozenset({"role"}) | FN_CONFIG, RELEASE),
    Row("dev", "lambda.function tags", call("lambda", "untag_resource", TagKeys=["owner"],
        Resource=f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{STATS}"),
        "update", "lambda.function", STATS, frozenset({"tags"}), RELEASE),
    Row("dev", "apigateway.rest_api resource deleted", route_resource_deleted,
        "update", "apigateway.rest_api", "liveinsight-api-dev", frozenset({"resources", "methods"}), RELEASE),
    Row("dev", "apigateway.rest_api integration", integration_timeout_shortened,
        "update", "apigateway.rest_api", "liveinsight-api-dev", frozenset({"methods"}), RELEASE),
    Row("dev", "lambda.permission declared statement removed", declared_statement_removed,
        "create", "lambda.permission", f"{STATS}/liveinsight-api-GET-api-stats",
        frozenset({"action", "principal", "source_arn"})),
    Row("dev", "lambda.permission source widened", statement_source_widened,
        "update", "lambda.permission", f"{STATS}/liveinsight-api-GET-api-stats", frozenset({"source_arn"})),
    Row("dev", "apigateway.account logging role trust", role_trust_widened("liveinsight-apigateway-logs"),
        "update", "apigateway.account", "cloudwatch-role", frozenset({"trust"})),
    Row("dev", "apigateway.account logging role boundary", call("iam", "delete_role_permissions_boundary",
        RoleName="liveinsight-apigateway-logs"),
        "update", "apigateway.account", "cloudwatch-role", frozenset({"permissions_boundary"})),
    Row("dev", "apigateway.stage metrics", stage_patch("/*/*/metrics/enabled", "false"),
        "update", "apigateway.stage", "dev", frozenset({"metrics"})),
    Row("dev", "apigateway.stage throttling", stage_patch("/*/*/throttling/rateLimit", "10000"),
        "update", "apigateway.stage", "dev", frozenset({"throttling_rate"})),
    Row("dev", "apigateway.stage access log format",
        stage_patch("/accessLogSettings/format", "$context.identity.sourceIp"),
        "update", "apigateway.stage", "dev", frozenset({"access_log_format"})),
    Row("dev", "apigateway.stage access log destination", stage_patch("/accessLogSettings/destinationArn",
        f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:elsewhere"),
        "update", "apigateway.stage", "dev", frozenset({"access_log_arn"})),
    Row("dev", "apigateway.stage origin secret digests", stage_patch("/variables/liveinsightOriginVerify", "0" * 64),
        "update", "apigateway.stage", "dev", frozenset({"origin_verify"})),
    Row("dev", "apigateway.stage rolled-back marker", stage_patch("/variables/liveinsightRolledBackFrom", "abc"),
        "update", "apigateway.stage", "dev", frozenset({"rolled_back_from"})),
    Row("dev", "s3.bucket public access block", call("s3", "put_public_access_block", Bucket=BUCKET,
        PublicAccessBlockConfiguration={"BlockPublicAcls": False, "IgnorePublicAcls": False,
                                        "BlockPublicPolicy": False, "RestrictPublicBuckets": False}),
        "update", "s3.bucket", BUCKET, frozenset({"public_access_block"})),
    Row("dev", "s3.bucket encryption", call("s3", "put_bucket_encryption", Bucket=BUCKET,
        ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": {
            "SSEAlgorithm": "aws:kms"}}]}),
        "update", "s3.bucket", BUCKET, frozenset({"encryption"})),
    Row("dev", "s3.bucket ownership", call("s3", "put_bucket_ownership_controls", Bucket=BUCKET,
        OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]}),
        "update", "s3.bucket", BUCKET, frozenset({"ownership"})),
    Row("dev", "s3.bucket versioning", call("s3", "put_bucket_versioning", Bucket=BUCKET,
        VersioningConfiguration={"Status": "Suspended"}),
        "update", "s3.bucket", BUCKET, frozenset({"versioning"})),
    Row("dev", "s3.bucket website", call("s3", "put_bucket_website", Bucket=BUCKET,
        WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}}),
        "update", "s3.bucket", BUCKET, frozenset({"website_index"})),
    Row("dev", "s3.bucket tags", bucket_tag_changed, "update", "s3.bucket", BUCKET, frozenset({"tags"})),
    Row("dev", "s3.bucket_policy statement added", bucket_policy_opened,
        "update", "s3.bucket_policy", BUCKET, frozenset({"policy"})),
    Row("dev", "cloudfront.oac signing", oac_signing_off,
        "update", "cloudfront.oac", "liveinsight-dev-s3", frozenset({"signing_behavior"})),
    Row("dev", "s3.object content", object_body_replaced,
        "update", "s3.object", "tracker.js", frozenset({"md5"}), CACHE),
    Row("dev", "s3.object deleted", call("s3", "delete_object", Bucket=BUCKET, Key="dashboard.css"),
        "create", "s3.object", "dashboard.css", frozenset({"md5", "content_type", "cache_control", "metadata",
                                                          "content_encoding", "content_disposition",
                                                          "content_language", "expires", "website_redirect",
                                                          "storage_class", "encryption"}), CACHE),
    Row("dev", "s3.object encryption", call("s3", "copy_object", Bucket=BUCKET, Key="tracker.js",
        CopySource={"Bucket": BUCKET, "Key": "tracker.js"}, ServerSideEncryption="aws:kms"),
        "update", "s3.object", "tracker.js", frozenset({"encryption"}), CACHE),
    Row("dev", "s3.object added", call("s3", "put_object", Bucket=BUCKET, Key="extra.html", Body=b"<p>hi</p>"),
        "delete", "s3.object", "extra.html", frozenset(), CACHE),
    Row("dev", "cloudfront.invalidation site version forgotten", site_version_forgotten,
        "update", "cloudfront.invalidation", "site", frozenset({"site_version", "paths"})),
    Row("dev", "cloudwatch.alarm threshold", alarm_rewritten(Threshold=50.0),
        "update", "cloudwatch.alarm", "liveinsight-dev-api-5xx", frozenset({"threshold"})),
    Row("dev", "cloudwatch.alarm evaluation", alarm_rewritten(Period=3600, EvaluationPeriods=5, DatapointsToAlarm=4,
        Statistic="Average", ComparisonOperator="LessThanThreshold", TreatMissingData="breaching",
        AlarmDescription="changed"),
        "update", "cloudwatch.alarm", "liveinsight-dev-api-5xx", frozenset({
            "period_s", "evaluation_periods", "datapoints_to_alarm", "statistic", "comparison", "treat_missing_data",
            "description"})),
    Row("dev", "cloudwatch.alarm actions disabled", call("cloudwatch", "disable_alarm_actions",
        AlarmNames=["liveinsight-dev-api-5xx"]),
        "update", "cloudwatch.alarm", "liveinsight-dev-api-5xx", frozenset({"actions_enabled"})),
]
def usage_plan_id(p: AwsProvider) -> str:
    plans = p.client("apigateway").get_usage_plans()["items"]
    return str(next(u["id"] for u in plans if u["name"] == "liveinsight-prod-dashboard"))


def usage_plan_patch(path: str, value: str) -> Callable[[AwsProvider], None]:
    def drift(p: AwsProvider) -> None:
        p.client("apigateway").update_usage_plan(usagePlanId=usage_plan_id(p), patchOperations=[
            {"op": "replace", "path": path, "value": value}])
    return drift


def usage_plan_key_removed(p: AwsProvider) -> None:
    ag = p.client("apigateway")
    plan = usage_plan_id(p)
    for key in ag.get_usage_plan_keys(usagePlanId=plan)["items"]:
        ag.delete_usage_plan_key(usagePlanId=plan, keyId=key["id"])


def waf_limit_raised(p: AwsProvider) -> None:
    waf = p.client("wafv2")
    (summary,) = [a for a in waf.list_web_acls(Scope="CLOUDFRONT")["WebACLs"] if a["Name"] == "liveinsight-prod-edge"]
    got = waf.get_web_acl(Name=summary["Name"], Scope="CLOUDFRONT", Id=summary["Id"])
    acl = got["WebACL"]
    rules = acl["Rules"]
    rules[0]["Statement"]["RateBasedStatement"]["Limit"] = 100000
    waf.update_web_acl(Name=acl["Name"], Scope="CLOUDFRONT", Id=acl["Id"], DefaultAction=acl["DefaultAction"],
                       Rules=rules, VisibilityConfig=acl["VisibilityConfig"], LockToken=got["LockToken"])


def prod_alarm_silenced(p: AwsProvider) -> None:
    cw = p.client("cloudwatch")
    (alarm,) = cw.describe_alarms(AlarmNames=["liveinsight-prod-api-5xx"])["MetricAlarms"]
    keep = ("AlarmName", "Namespace", "MetricName", "Dimensions", "Statistic", "Period", "EvaluationPeriods",
            "ComparisonOperator", "TreatMissingData", "AlarmDescription", "Threshold", "DatapointsToAlarm")
    cw.put_metric_alarm(**{k: alarm[k] for k in keep if k in alarm}, AlarmActions=[], OKActions=[],
                        InsufficientDataActions=[f"arn:aws:sns:us-east-1:{ACCOUNT}:elsewhere"])


TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:liveinsight-alerts-prod"
PROD_ROWS = [
    Row("prod", "sns.topic tags", call("sns", "untag_resource", ResourceArn=TOPIC, TagKeys=["owner"]),
        "update", "sns.topic", "liveinsight-alerts-prod", frozenset({"tags"})),
    Row("prod", "apigateway.usage_plan burst", usage_plan_patch("/throttle/burstLimit", "1000"),
        "update", "apigateway.usage_plan", "liveinsight-prod-dashboard", frozenset({"burst_limit"})),
    Row("prod", "apigateway.usage_plan quota", usage_plan_patch("/quota/limit", "5"),
        "update", "apigateway.usage_plan", "liveinsight-prod-dashboard", frozenset({"quota_per_day"})),
    Row("prod", "apigateway.usage_plan key", usage_plan_key_removed,
        "replace", "apigateway.usage_plan", "liveinsight-prod-dashboard", frozenset({"key"})),
    Row("prod", "wafv2.web_acl rate limit", waf_limit_raised,
        "update", "wafv2.web_acl", "liveinsight-prod-edge", frozenset({"rate_limit"})),
    Row("prod", "cloudwatch.alarm actions", prod_alarm_silenced,
        "update", "cloudwatch.alarm", "liveinsight-prod-api-5xx",
        frozenset({"alarm_actions", "ok_actions", "insufficient_data_actions"})),
]

STREAM_NAME = "liveinsight-ingest-stream"
QUEUE = "liveinsight-ingest-failures-stream"


def queue_changed(**attributes: str) -> Callable[[AwsProvider], None]:
    def drift(p: AwsProvider) -> None:
        sqs = p.client("sqs")
        sqs.set_queue_attributes(QueueUrl=sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"], Attributes=attributes)
    return drift


def queue_untagged(p: AwsProvider) -> None:
    sqs = p.client("sqs")
    sqs.untag_queue(QueueUrl=sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"], TagKeys=["owner"])


def mapping_changed(**kw: Any) -> Callable[[AwsProvider], None]:
    def drift(p: AwsProvider) -> None:
        lam = p.client("lambda")
        (m,) = lam.list_event_source_mappings()["EventSourceMappings"]
        lam.update_event_source_mapping(UUID=m["UUID"], **kw)
    return drift


MAPPING = f"{STREAM_NAME}->liveinsight-aggregator-stream"
STREAM_ROWS = [
    Row("stream", "kinesis.stream retention", call("kinesis", "increase_stream_retention_period",
        StreamName=STREAM_NAME, RetentionPeriodHours=48),
        "update", "kinesis.stream", STREAM_NAME, frozenset({"retention_hours"})),
    Row("stream", "kinesis.stream tags", call("kinesis", "add_tags_to_stream", StreamName=STREAM_NAME,
        Tags={"owner": "someone"}), "update", "kinesis.stream", STREAM_NAME, frozenset({"tags"})),
    Row("stream", "kinesis.stream encryption", call("kinesis", "stop_stream_encryption", StreamName=STREAM_NAME,
        EncryptionType="KMS", KeyId="alias/aws/kinesis"),
        "update", "kinesis.stream", STREAM_NAME, frozenset({"encryption"})),
    Row("stream", "sqs.queue retention and encryption", queue_changed(SqsManagedSseEnabled="false",
        MessageRetentionPeriod="60"), "update", "sqs.queue", QUEUE, frozenset({"retention_s", "sse"})),
    Row("stream", "sqs.queue visibility", queue_changed(VisibilityTimeout="5"),
        "update", "sqs.queue", QUEUE, frozenset({"visibility_timeout_s"})),
    Row("stream", "sqs.queue tags", queue_untagged, "update", "sqs.queue", QUEUE, frozenset({"tags"})),
    Row("stream", "lambda.event_source_mapping batching", mapping_changed(
        BatchSize=100, MaximumBatchingWindowInSeconds=30, BisectBatchOnFunctionError=False,
        FunctionResponseTypes=[], MaximumRetryAttempts=1),
        "update", "lambda.event_source_mapping", MAPPING,
        frozenset({"batch_size", "batching_window_s", "bisect_on_error", "response_types", "max_retries"})),
    Row("stream", "lambda.event_source_mapping disabled", mapping_changed(Enabled=False),
        "update", "lambda.event_source_mapping", MAPPING, frozenset({"enabled"})),
    Row("stream", "lambda.event_source_mapping failure destination", mapping_changed(
        DestinationConfig={"OnFailure": {}}),
        "update", "lambda.event_source_mapping", MAPPING, frozenset({"on_failure"})),
]


def rows() -> list[Row]:
    return [*BLIND_SPOTS, *DEV_ROWS, *PROD_ROWS, *STREAM_ROWS]


BLIND_SPOTS = [
    Row("dev", "s3.object content type and metadata", object_metadata_replaced, "update", "s3.object",
        "dashboard.html", frozenset({"content_type", "cache_control", "metadata"}), CACHE, object_metadata_restored),
    Row("dev", "lambda.function reserved concurrency 0", reserved_concurrency_zero, "update", "lambda.function",
        COLLECTOR, frozenset({"reserved_concurrency"}), RELEASE, reserved_concurrency_removed),
    Row("dev", "lambda.permission undeclared statement", anyone_may_invoke, "delete", "lambda.permission",
        f"{STATS}/open-to-all", frozenset(), check=only_declared_statements),
    Row("dev", "lambda.permission undeclared statement on the function", anyone_may_invoke_latest, "delete",
        "lambda.permission", f"{STATS}:$LATEST/open-to-all", frozenset(), check=only_declared_statements),
    Row("dev", "apigateway.stage another deployment", stage_on_another_deployment, "update", "apigateway.stage", "dev",
        frozenset({"deployment"}), check=stage_on_a_new_deployment),
]


def changes_of(plan: Plan) -> list[tuple[str, str, str, frozenset[str]]]:
    return [(c.action.value, c.resource, c.name, frozenset(d.path.split(".")[0] for d in c.diffs))
            for c in plan.changes]


@pytest.fixture(scope="module")
def stacks() -> Iterator[dict[str, AwsProvider]]:
    """One moto account for the module; each spec's stack applied when its first row asks."""
    with mock_aws():
        yield {}


def stack(stacks: dict[str, AwsProvider], spec: str) -> AwsProvider:
    if spec not in stacks:
        stacks[spec] = AwsProvider("us-east-1", session=SESSION)
        apply_spec(stacks[spec], SPECS[spec])
    return stacks[spec]


@pytest.mark.parametrize("row", rows(), ids=[f"{r.spec}: {r.id}" for r in rows()])
def test_an_out_of_band_change_is_planned_and_undone(stacks: dict[str, AwsProvider], row: Row) -> None:
    provider = stack(stacks, row.spec)
    spec = SPECS[row.spec]
    assert make_engine(provider, spec).plan().empty, "the stack plans no change before the row's drift"
    row.drift(provider)
    engine = make_engine(provider, spec)
    plan = engine.plan()
    seen = changes_of(plan)
    assert (row.action, row.kind, row.name, row.paths) in seen, seen
    others = [c for c in seen if c != (row.action, row.kind, row.name, row.paths)]
    assert {kind for _, kind, _, _ in others} <= row.companions, others
    engine.apply(plan)
    after = make_engine(provider, spec).plan()
    assert after.empty, [c.address for c in after]
    if row.check is not None:
        row.check(provider)


def test_an_undeclared_statement_is_planned_with_its_reason(
        stacks: dict[str, AwsProvider]) -> None:
    """The plan says why the statement goes: the spec never declared it."""
    provider = stack(stacks, "dev")
    assert make_engine(provider).plan().empty
    anyone_may_invoke(provider)
    engine = make_engine(provider)
    plan = engine.plan()
    assert [(c.address, c.reason) for c in plan] == [
        (f"lambda.permission.{STATS}/open-to-all",
         "not declared in the spec: the stack owns the function's resource policy")]
    engine.apply(plan)
    assert make_engine(provider).plan().empty
