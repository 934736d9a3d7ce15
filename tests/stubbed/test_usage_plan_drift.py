"""A usage plan's rate limit changed out of band, tested with Stubber: AWS takes the double "20.0"
in the patch (https://docs.aws.amazon.com/apigateway/latest/api/API_ThrottleSettings.html), which
moto parses as an integer and refuses (docs/aws-fidelity.md)."""

from __future__ import annotations

from typing import Any

from botocore.stub import Stubber

from liveinsight_infra.aws.provider import AwsProvider
from liveinsight_infra.contract import Context
from liveinsight_infra.plan import Action
from liveinsight_infra.reconcilers.usage_plan import UsagePlanReconciler
from liveinsight_infra.spec import load_spec
from tests.conftest import PROD, SESSION

NAME = "liveinsight-prod-dashboard"
TAGS = {"liveinsight:stack": "liveinsight-prod", "liveinsight:managed-by": "liveinsight-infra"}


def test_a_raised_rate_limit_is_planned_and_patched_back() -> None:
    provider = AwsProvider("us-east-1", session=SESSION)
    ctx = Context(load_spec(PROD), provider, sleep=lambda _s: None, account="123456789012")
    r = UsagePlanReconciler(ctx)
    outputs: Any = {"apigateway.stage": {"prod": {"api_id": "abc123"}}}
    with Stubber(provider.client("apigateway")) as stub:
        stub.add_response("get_usage_plans", {"items": [{
            "id": "up1", "name": NAME, "tags": TAGS, "apiStages": [{"apiId": "abc123", "stage": "prod"}],
            "throttle": {"rateLimit": 1000.0, "burstLimit": 40}, "quota": {"limit": 100000, "period": "DAY",
                                                                          "offset": 0}}]}, {})
        stub.add_response("get_usage_plan_keys", {"items": [
            {"id": "k1", "type": "API_KEY", "name": "liveinsight-prod-dashboard-key"}]}, {"usagePlanId": "up1"})
        r.observed = r.observe()
        (change,) = r.plan(outputs)
        assert (change.action, [(d.path, d.before, d.after) for d in change.diffs]) == (
            Action.UPDATE, [("rate_limit", 1000.0, 20.0)])
        stub.add_response("update_usage_plan", {}, {"usagePlanId": "up1", "patchOperations": [
            {"op": "replace", "path": "/throttle/rateLimit", "value": "20.0"}]})
        r.update(NAME, r.desired(NAME, outputs), r.observed[NAME], change.diffs)
        stub.assert_no_pending_responses()
