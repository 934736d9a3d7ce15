"""docs/deployer-policy.json with ingest.front: function_url: every call of plan, apply, a repair, a
switch of front and destroy is allowed; the URL is created only with auth type NONE; the two public
statements the tool adds use only what AWS's Service Authorization Reference defines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import yaml

from tests import iam_reference as ref
from tests.iam_actions import Recorder
from tests.iam_sim import Request, allowed, refused
from tests.test_deployer_policy import ACCOUNT, POLICY, cli, recorder, requests_of  # noqa: F401  (a fixture)

COLLECTOR = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:liveinsight-event-collector-dev:live"


def with_front(project: Path, front: str) -> str:
    path = project / "specs" / "dev.yaml"
    data = yaml.safe_load(path.read_text())
    data["ingest"] = {"front": front}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def test_the_policy_allows_every_call_of_the_function_url_front(
        moto_env: None, project_copy: Path, recorder: Recorder) -> None:  # noqa: F811
    spec = with_front(project_copy, "function_url")
    cli("plan", spec)
    cli("apply", spec, "--no-wait")
    lam = boto3.client("lambda", region_name="us-east-1")
    lam.update_function_url_config(FunctionName="liveinsight-event-collector-dev", Qualifier="live",
                                   Cors={"AllowOrigins": ["https://elsewhere.example"]})
    lam.remove_permission(FunctionName="liveinsight-event-collector-dev", Qualifier="live",
                          StatementId="liveinsight-url-public")
    cli("apply", spec, "--no-wait")  # the repair
    cli("apply", with_front(project_copy, "rest"), "--no-wait")  # the URL goes
    spec = with_front(project_copy, "function_url")
    cli("apply", spec, "--no-wait")
    cli("destroy", spec, "--yes", "--force")
    operations = {(c.service, c.operation) for c in recorder.calls}
    for op in ("CreateFunctionUrlConfig", "GetFunctionUrlConfig", "UpdateFunctionUrlConfig",
               "DeleteFunctionUrlConfig", "AddPermission", "RemovePermission"):
        assert ("lambda", op) in operations, op
    assert refused(POLICY, requests_of(recorder.calls)) == []
    statements = [_statement(c.params) for c in recorder.calls
                  if (c.service, c.operation) == ("lambda", "AddPermission")
                  and c.params["StatementId"].startswith("liveinsight-url-")]
    assert {s["Action"] for s in statements} == {"lambda:InvokeFunctionUrl", "lambda:InvokeFunction"}
    assert ref.problems({"Version": "2012-10-17", "Statement": statements}) == []


def _statement(p: dict[str, Any]) -> dict[str, Any]:
    """The statement Lambda makes of AddPermission's parameters for a function URL
    (https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html)."""
    condition: dict[str, Any] = {}
    if p.get("FunctionUrlAuthType"):
        condition["StringEquals"] = {"lambda:FunctionUrlAuthType": p["FunctionUrlAuthType"]}
    if p.get("InvokedViaFunctionUrl"):
        condition["Bool"] = {"lambda:InvokedViaFunctionUrl": "true"}
    assert condition, p  # never a public statement without its condition
    return {"Sid": p["StatementId"], "Effect": "Allow", "Principal": "*", "Action": p["Action"],
            "Resource": COLLECTOR, "Condition": condition}


def test_a_url_can_be_made_or_changed_only_with_auth_type_none() -> None:
    none = {"lambda:FunctionUrlAuthType": "NONE"}
    for action in ("lambda:CreateFunctionUrlConfig", "lambda:UpdateFunctionUrlConfig"):
        assert allowed(POLICY, Request(action, COLLECTOR, none))
        assert not allowed(POLICY, Request(action, COLLECTOR, {"lambda:FunctionUrlAuthType": "AWS_IAM"}))
        other = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:payroll"
        assert not allowed(POLICY, Request(action, other, none))
    for action in ("lambda:GetFunctionUrlConfig", "lambda:DeleteFunctionUrlConfig"):
        assert allowed(POLICY, Request(action, COLLECTOR))  # read on every plan, before a URL exists
