"""docs/deployer-policy.json allows every call the tool makes, and nothing that escalates.

Coverage: the CLI runs plan, apply, a drift repair, releases, rollback and back, outputs and
destroy for dev and prod on moto; every call is recorded, mapped to the IAM actions and resources
it needs (tests/iam_actions.py) and evaluated against the policy (tests/iam_sim.py).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from liveinsight_infra.aws import provider as provider_module
from liveinsight_infra.cli import main
from tests.conftest import ROOT
from tests.iam_actions import Call, Mapper, Recorder
from tests.iam_sim import Request, allowed, decide, refused

POLICY: dict[str, Any] = json.loads((ROOT / "docs" / "deployer-policy.json").read_text())
ACCOUNT, REGION = "123456789012", "us-east-1"
BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/liveinsight-dev/liveinsight-boundary-dev"
FN_ROLE = f"arn:aws:iam::{ACCOUNT}:role/liveinsight-dev/liveinsight-stats-api-dev"


def role_path(name: str) -> str:
    if name.endswith("-apigateway-logs"):
        return "/"
    return f"/liveinsight-{name.rsplit('-', 1)[1]}/"


class BoundaryAwareRecorder(Recorder):
    """Also notes a role's boundary at the moment a call changes its policies: the value AWS gives
    the condition key ``iam:PermissionsBoundary`` for that call."""

    NEEDS_BOUNDARY = frozenset({"PutRolePolicy", "DeleteRolePolicy", "AttachRolePolicy", "DetachRolePolicy",
                                "DeleteRolePermissionsBoundary"})

    def __init__(self) -> None:
        super().__init__()
        self.iam = boto3.Session(region_name=REGION).client("iam")  # a plain client: not recorded

    def boundary(self, role: str) -> str | None:
        try:
            pb = self.iam.get_role(RoleName=role)["Role"].get("PermissionsBoundary") or {}
        except self.iam.exceptions.NoSuchEntityException:
            return None
        return pb.get("PermissionsBoundaryArn")

    def hook(self, model: Any, params: dict[str, Any], **kw: Any) -> None:
        if model.service_model.service_name == "iam" and model.name in self.NEEDS_BOUNDARY:
            params = {**params, "__boundary": self.boundary(params["RoleName"])}
        super().hook(model, params, **kw)


def requests_of(calls: list[Call]) -> list[Request]:
    out: list[Request] = []
    for call in calls:
        boundary = call.params.pop("__boundary", None)
        mapper = Mapper(REGION, ACCOUNT, role_path, lambda _n, b=boundary: b)
        out.extend(mapper.requests(call))
    return out


@pytest.fixture
def recorder(moto_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
    rec = BoundaryAwareRecorder()
    original = provider_module.AwsProvider.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.register("provide-client-params.*.*", rec.hook)

    monkeypatch.setattr(provider_module.AwsProvider, "__init__", init)
    yield rec


def cli(*args: str) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert main(list(args), out, err) == 0, err.getvalue()


def drift(env: str, site_dir: Path) -> None:
    """Out-of-band changes apply must repair (so the repair calls are recorded too)."""
    iam = boto3.client("iam", region_name=REGION)
    iam.delete_role_permissions_boundary(RoleName=f"liveinsight-stats-api-{env}")
    iam.tag_role(RoleName=f"liveinsight-stats-api-{env}", Tags=[{"Key": "extra", "Value": "x"}])
    boto3.client("logs", region_name=REGION).put_retention_policy(
        logGroupName=f"/aws/lambda/liveinsight-stats-api-{env}", retentionInDays=1)
    page = site_dir / "dashboard.html"
    page.write_text(page.read_text() + f"\n<!-- {env} -->\n")


def run_everything(project: Path) -> None:
    for env in ("dev", "prod", "stream"):
        spec = str(project / "specs" / f"{env}.yaml")
        cli("plan", spec)
        cli("apply", spec, "--no-wait")
        drift(env, project / "site")
        handler = project / "handlers" / "stats_api.py"
        handler.write_text(handler.read_text() + f"\n# {env} v2\n")
        cli("apply", spec, "--no-wait")
        cli("releases", spec)
        cli("rollback", spec, "--yes")
        cli("rollback", spec, "--yes")
        cli("outputs", spec, "--show-secrets")
        cli("plan", spec, "--destroy")
        cli("destroy", spec, "--yes", "--force")


def test_the_policy_allows_every_call_of_plan_apply_rollback_outputs_destroy(
        moto_env: None, project_copy: Path, recorder: Recorder) -> None:
    run_everything(project_copy)
    operations = {(c.service, c.operation) for c in recorder.calls}
    # The run reaches every kind, usage plans and keys (prod), the repair and the rollback.
    for must in [("apigateway", "CreateUsagePlan"), ("apigateway", "GetApiKeys"), ("apigateway", "UpdateAccount"),
                 ("iam", "PutRolePermissionsBoundary"), ("iam", "CreatePolicy"), ("iam", "DeletePolicy"),
                 ("lambda", "UpdateAlias"), ("cloudfront", "CreateInvalidation"), ("dynamodb", "PutItem"),
                 ("sns", "Subscribe"), ("dynamodb", "DeleteTable"), ("logs", "PutRetentionPolicy"),
                 ("kinesis", "CreateStream"), ("sqs", "CreateQueue"), ("lambda", "CreateEventSourceMapping"),
                 ("lambda", "DeleteEventSourceMapping"), ("kinesis", "DeleteStream"),
                 ("ssm", "PutParameter"), ("ssm", "DeleteParameter"), ("wafv2", "CreateWebACL"),
                 ("wafv2", "DeleteWebACL")]:
        assert must in operations, must
    assert len(operations) > 100
    assert refused(POLICY, requests_of(recorder.calls)) == []


def allow(request: Request) -> bool:
    return allowed(POLICY, request)


def test_a_role_can_be_created_or_changed_only_under_the_stack_boundary() -> None:
    assert allow(Request("iam:CreateRole", FN_ROLE, {"iam:PermissionsBoundary": BOUNDARY}))
    assert not allow(Request("iam:CreateRole", FN_ROLE))
    assert not allow(Request("iam:CreateRole", FN_ROLE, {
        "iam:PermissionsBoundary": "arn:aws:iam::aws:policy/AdministratorAccess"}))
    assert not allow(Request("iam:PutRolePolicy", FN_ROLE))  # a role without the boundary
    assert allow(Request("iam:PutRolePolicy", FN_ROLE, {"iam:PermissionsBoundary": BOUNDARY}))
    assert not allow(Request("iam:AttachRolePolicy", FN_ROLE, {"iam:PermissionsBoundary": BOUNDARY}))
    assert decide(POLICY, Request("iam:DeleteRolePermissionsBoundary", FN_ROLE,
                                  {"iam:PermissionsBoundary": BOUNDARY})) == "deny"
    # The logging role's boundary is AWS's policy; a function role cannot borrow it.
    logs_boundary = "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
    assert not allow(Request("iam:CreateRole", FN_ROLE, {"iam:PermissionsBoundary": logs_boundary}))
    assert allow(Request("iam:CreateRole", f"arn:aws:iam::{ACCOUNT}:role/liveinsight-apigateway-logs",
                         {"iam:PermissionsBoundary": logs_boundary}))


def test_only_the_stack_boundary_policy_can_be_written() -> None:
    assert allow(Request("iam:CreatePolicyVersion", BOUNDARY))
    for other in (f"arn:aws:iam::{ACCOUNT}:policy/admin", f"arn:aws:iam::{ACCOUNT}:policy/liveinsight-dev/other"):
        for action in ("iam:CreatePolicy", "iam:CreatePolicyVersion", "iam:DeletePolicy",
                       "iam:SetDefaultPolicyVersion"):
            assert not allow(Request(action, other)), (action, other)
    assert not allow(Request("iam:SetDefaultPolicyVersion", BOUNDARY))  # new versions only, as the tool writes


def test_roles_are_passed_only_to_the_service_they_are_for() -> None:
    logs_role = f"arn:aws:iam::{ACCOUNT}:role/liveinsight-apigateway-logs"
    assert allow(Request("iam:PassRole", FN_ROLE, {"iam:PassedToService": "lambda.amazonaws.com"}))
    assert allow(Request("iam:PassRole", logs_role, {"iam:PassedToService": "apigateway.amazonaws.com"}))
    for service in ("ec2.amazonaws.com", "apigateway.amazonaws.com", "glue.amazonaws.com"):
        assert not allow(Request("iam:PassRole", FN_ROLE, {"iam:PassedToService": service})), service
    assert not allow(Request("iam:PassRole", FN_ROLE))
    assert not allow(Request("iam:PassRole", logs_role, {"iam:PassedToService": "lambda.amazonaws.com"}))


def test_api_gateway_usage_plans_and_keys_are_reachable_and_new_apis_must_be_tagged() -> None:
    ag = f"arn:aws:apigateway:{REGION}::"
    assert allow(Request("apigateway:GET", f"{ag}/usageplans"))
    assert allow(Request("apigateway:POST", f"{ag}/apikeys"))
    assert allow(Request("apigateway:POST", f"{ag}/restapis", {"aws:RequestTag/liveinsight:stack": "liveinsight-dev"}))
    assert not allow(Request("apigateway:POST", f"{ag}/restapis"))
    assert not allow(Request("apigateway:POST", f"{ag}/domainnames"))
    assert not allow(Request("apigateway:POST", f"{ag}/vpclinks"))


def test_web_acls_are_reachable_only_under_the_stack_names_and_created_only_tagged() -> None:
    acl = f"arn:aws:wafv2:us-east-1:{ACCOUNT}:global/webacl/liveinsight-prod-edge/0a1b"
    tagged = {"aws:RequestTag/liveinsight:stack": "liveinsight-prod"}
    assert allow(Request("wafv2:CreateWebACL", acl, tagged))
    assert not allow(Request("wafv2:CreateWebACL", acl))
    assert allow(Request("wafv2:UpdateWebACL", acl)) and allow(Request("wafv2:DeleteWebACL", acl))
    for other in (f"arn:aws:wafv2:us-east-1:{ACCOUNT}:global/webacl/corporate-edge/9f",
                  f"arn:aws:wafv2:eu-west-1:{ACCOUNT}:regional/webacl/liveinsight-prod-edge/0a1b"):
        for action in ("wafv2:UpdateWebACL", "wafv2:DeleteWebACL", "wafv2:GetWebACL"):
            assert not allow(Request(action, other)), (action, other)
    assert not allow(Request("wafv2:CreateIPSet", f"arn:aws:wafv2:us-east-1:{ACCOUNT}:global/ipset/liveinsight-x/1"))
    secret = f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/liveinsight-prod/origin-secret"
    assert allow(Request("ssm:GetParameter", secret))
    assert not allow(Request("ssm:GetParameter", f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/liveinsight-prod/db"))


def test_every_operation_in_the_code_has_an_allowing_statement() -> None:
    """Calls the moto run may not reach (rarer repairs: UpdateFunctionConfiguration, UntagResource, …)
    still need a statement: every operation named in the tool's code maps to an allowed action."""
    import re

    import botocore.session
    from botocore import xform_name

    from tests.iam_actions import CLOUDFRONT_ACTIONS, S3_ACTIONS

    skip = ("local",)
    session = botocore.session.get_session()
    actions: set[str] = set()
    for path in (ROOT / "liveinsight_infra").rglob("*.py"):
        if any(part in skip for part in path.parts):
            continue
        code = path.read_text()
        # An operation counts for the services whose client this module makes (names repeat across
        # services: lambda's and CloudFront's CreateFunction, lambda's and SNS's AddPermission).
        for service in set(re.findall(r'client\("([a-z0-9]+)"', code)) - {"sts", "apigateway"}:
            for op in session.get_service_model(service).operation_names:
                name = xform_name(op)
                if f".{name}(" not in code and f'get_paginator("{name}")' not in code:
                    continue
                if service == "s3":
                    actions.add("s3:DeleteObject" if op == "DeleteObjects" else f"s3:{S3_ACTIONS.get(op, op)}")
                elif service == "cloudfront":
                    actions.update(f"cloudfront:{a}" for a in CLOUDFRONT_ACTIONS.get(op, [op]))
                else:
                    actions.add(f"{service}:{op}")
    assert len(actions) > 60, sorted(actions)
    print(len(actions), "operations named in the code")
    granted = [a for s in POLICY["Statement"] if s["Effect"] == "Allow" for a in s["Action"]]
    missing = sorted(a for a in actions if not any(g.lower() == a.lower() for g in granted))
    assert missing == [], missing


def test_the_stack_stream_can_be_rescaled_with_the_context_aws_sends() -> None:
    """kinesis:UpdateShardCount and UpdateStreamMode take no resource type and no condition key in
    AWS's reference: the request carries neither the stream's ARN nor its tags, so a statement that
    needs either never grants them (apply could not change the stream's capacity)."""
    stream = f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/liveinsight-ingest-stream"
    for action in ("kinesis:UpdateShardCount", "kinesis:UpdateStreamMode"):
        assert allow(Request(action, stream)), action


def test_the_simulator_refuses_context_aws_does_not_send() -> None:
    import pytest

    stream = f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/liveinsight-ingest-stream"
    with pytest.raises(ValueError, match="AWS sends no aws:ResourceTag/liveinsight:stack"):
        allow(Request("kinesis:UpdateShardCount", stream, {"aws:ResourceTag/liveinsight:stack": "liveinsight-dev"}))
    with pytest.raises(KeyError, match="not an action"):
        allow(Request("kinesis:ResizeStream", stream))
