"""API Gateway refuses a just-created logging role until IAM propagates: retried, with a deadline."""

from __future__ import annotations

from botocore.stub import ANY, Stubber

from liveinsight_infra.aws.provider import AwsProvider
from liveinsight_infra.contract import Context
from liveinsight_infra.reconcilers.apigateway_account import AccountReconciler
from liveinsight_infra.spec import load_spec
from tests.conftest import DEV, SESSION


def test_account_setting_waits_for_the_new_role() -> None:
    provider = AwsProvider("us-east-1", session=SESSION)
    sleeps: list[float] = []
    ctx = Context(load_spec(DEV), provider, sleep=sleeps.append, account="123456789012")
    r = AccountReconciler(ctx)
    iam, ag = Stubber(provider.client("iam")), Stubber(provider.client("apigateway"))
    iam.add_response("create_role", {"Role": {"Path": "/", "RoleName": "liveinsight-apigateway-logs",
                                              "RoleId": "AROAEXAMPLEEXAMPLE1", "CreateDate": "2026-01-01",
                                              "Arn": "arn:aws:iam::123456789012:role/liveinsight-apigateway-logs"}})
    iam.add_response("put_role_policy", {})
    ag.add_client_error("update_account", "BadRequestException",
                        "The role ARN does not have required permissions set to API Gateway")
    ag.add_response("update_account", {"cloudwatchRoleArn": "x"}, {"patchOperations": ANY})
    with iam, ag:
        obs = r.create("cloudwatch-role", {"cloudwatch_role": "set"})
    assert obs.meta["arn"] == "arn:aws:iam::123456789012:role/liveinsight-apigateway-logs"
    assert sleeps == [1.0]
    iam.assert_no_pending_responses()
    ag.assert_no_pending_responses()
