"""The function URL as AWS answers it, where moto differs (docs/moto-gaps.md): the URL lives on the
``live`` alias (moto ignores ``Qualifier``), Lambda returns the public statements with a
``Condition`` (moto keeps AddPermission's parameters as sent), ``InvokeMode`` in capitals, and a
create that meets an existing URL (an interrupted apply) is ``ResourceConflictException``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from botocore.stub import Stubber

from liveinsight_infra.aws.provider import AwsProvider
from liveinsight_infra.contract import Context
from liveinsight_infra.errors import LiveInsightError
from liveinsight_infra.reconcilers.function_url import FunctionUrlReconciler, supports_url_invoke_condition, url_cors
from liveinsight_infra.spec.loader import LoadedSpec, parse_spec
from tests.conftest import DEV, SESSION

FN = "liveinsight-event-collector-dev"
URL = "https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws/"
ALIAS_ARN = f"arn:aws:lambda:us-east-1:123456789012:function:{FN}:live"
AWS_POLICY = {"Version": "2012-10-17", "Id": "default", "Statement": [
    {"Sid": "liveinsight-api-POST-api-event", "Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"},
     "Action": "lambda:InvokeFunction", "Resource": ALIAS_ARN},
    {"Sid": "liveinsight-url-public", "Effect": "Allow", "Principal": "*", "Action": "lambda:InvokeFunctionUrl",
     "Resource": ALIAS_ARN, "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}}},
    {"Sid": "liveinsight-url-invoke", "Effect": "Allow", "Principal": "*", "Action": "lambda:InvokeFunction",
     "Resource": ALIAS_ARN, "Condition": {"Bool": {"lambda:InvokedViaFunctionUrl": "true"}}}]}


@pytest.fixture
def setup() -> Iterator[tuple[FunctionUrlReconciler, Stubber]]:
    data = yaml.safe_load(DEV.read_text())
    data["ingest"] = {"front": "function_url"}
    loaded = LoadedSpec(parse_spec(yaml.safe_dump(data), str(DEV)), DEV)
    provider = AwsProvider("us-east-1", session=SESSION)
    ctx = Context(loaded, provider, sleep=lambda _s: None, account="123456789012")
    stub = Stubber(provider.client("lambda"))
    with stub:
        yield FunctionUrlReconciler(ctx), stub
    stub.assert_no_pending_responses()


def aws_config(r: FunctionUrlReconciler, **changes: Any) -> dict[str, Any]:
    cors = url_cors(r.spec)
    return {"FunctionUrl": URL, "FunctionArn": ALIAS_ARN, "AuthType": "NONE", "InvokeMode": "BUFFERED",
            "CreationTime": "2026-12-06T00:00:00.000+0000", "LastModifiedTime": "2026-12-06T00:00:00.000+0000",
            "Cors": {"AllowOrigins": cors["allow_origins"], "AllowMethods": cors["allow_methods"],
                     "AllowHeaders": cors["allow_headers"], "ExposeHeaders": [], "MaxAge": cors["max_age"],
                     "AllowCredentials": cors["allow_credentials"]}, **changes}


def test_a_botocore_without_the_url_invoke_condition_is_refused_before_any_call(
        setup: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The floor's botocore (scripts/test-floor) predates InvokedViaFunctionUrl: the front is refused
    with what to do, before a read (the stubber has no answer queued: a call would fail otherwise)."""
    from liveinsight_infra.reconcilers import function_url

    r, _ = setup
    monkeypatch.setattr(function_url, "supports_url_invoke_condition", lambda _lam: False)
    with pytest.raises(LiveInsightError, match="needs a botocore"):
        r.observe()


def current(r: FunctionUrlReconciler) -> bool:
    """The tests below need a botocore that can send InvokedViaFunctionUrl (see the test above)."""
    return supports_url_invoke_condition(r.client("lambda"))


def test_the_url_of_the_live_alias_as_aws_returns_it_converges(setup: Any) -> None:
    r, stub = setup
    if not current(r):
        return
    stub.add_response("get_function_url_config", aws_config(r), {"FunctionName": FN, "Qualifier": "live"})
    stub.add_response("get_policy", {"Policy": json.dumps(AWS_POLICY)}, {"FunctionName": FN, "Qualifier": "live"})
    r.observed = r.observe()
    assert r.plan({}) == []
    assert r.outputs(FN, r.observed[FN]) == {"url": URL, "domain": URL.split("//")[1].rstrip("/")}


def test_a_create_that_meets_the_url_of_an_interrupted_apply_brings_it_to_the_spec(setup: Any) -> None:
    r, stub = setup
    if not current(r):
        return
    want = r.desired(FN, {})
    stub.add_client_error("create_function_url_config", "ResourceConflictException", "exists", 409)
    stub.add_response("get_function_url_config", aws_config(r, AuthType="AWS_IAM"),
                      {"FunctionName": FN, "Qualifier": "live"})
    only_api = {**AWS_POLICY, "Statement": AWS_POLICY["Statement"][:1]}
    stub.add_response("get_policy", {"Policy": json.dumps(only_api)}, {"FunctionName": FN, "Qualifier": "live"})
    stub.add_response("update_function_url_config", aws_config(r), {
        "FunctionName": FN, "Qualifier": "live", "AuthType": "NONE", "InvokeMode": "BUFFERED",
        "Cors": {"AllowOrigins": want["cors"]["allow_origins"], "AllowMethods": want["cors"]["allow_methods"],
                 "AllowHeaders": want["cors"]["allow_headers"], "ExposeHeaders": [],
                 "MaxAge": want["cors"]["max_age"], "AllowCredentials": want["cors"]["allow_credentials"]}})
    stub.add_response("add_permission", {"Statement": "{}"}, {
        "FunctionName": FN, "Qualifier": "live", "StatementId": "liveinsight-url-public",
        "Action": "lambda:InvokeFunctionUrl", "Principal": "*", "FunctionUrlAuthType": "NONE"})
    stub.add_response("add_permission", {"Statement": "{}"}, {
        "FunctionName": FN, "Qualifier": "live", "StatementId": "liveinsight-url-invoke",
        "Action": "lambda:InvokeFunction", "Principal": "*", "InvokedViaFunctionUrl": True})
    got = r.create(FN, want)
    assert got.meta["url"] == URL and got.state == want


def test_a_statement_without_its_condition_is_drift(setup: Any) -> None:
    """A public InvokeFunction without lambda:InvokedViaFunctionUrl would let anyone invoke the
    function directly: it differs from the spec and is replaced."""
    r, stub = setup
    if not current(r):
        return
    policy = json.loads(json.dumps(AWS_POLICY))
    del policy["Statement"][2]["Condition"]
    stub.add_response("get_function_url_config", aws_config(r), {"FunctionName": FN, "Qualifier": "live"})
    stub.add_response("get_policy", {"Policy": json.dumps(policy)}, {"FunctionName": FN, "Qualifier": "live"})
    r.observed = r.observe()
    (change,) = r.plan({})
    assert [d.path for d in change.diffs] == ["permissions.liveinsight-url-invoke.condition"]


def test_an_update_adds_only_the_statements_its_diffs_name(setup: Any) -> None:
    """Both statements are missing, the diffs name one: the update decides its calls from the
    plan's diffs (the one statement, removed and added back), not by comparing states again."""
    r, stub = setup
    if not current(r):
        return
    only_api = {**AWS_POLICY, "Statement": AWS_POLICY["Statement"][:1]}
    stub.add_response("get_function_url_config", aws_config(r), {"FunctionName": FN, "Qualifier": "live"})
    stub.add_response("get_policy", {"Policy": json.dumps(only_api)}, {"FunctionName": FN, "Qualifier": "live"})
    r.observed = r.observe()
    (change,) = r.plan({})
    invoke = tuple(d for d in change.diffs if d.path.startswith("permissions.liveinsight-url-invoke"))
    assert len(invoke) == 1 and len(change.diffs) == 2
    stub.add_response("add_permission", {"Statement": "{}"}, {
        "FunctionName": FN, "Qualifier": "live", "StatementId": "liveinsight-url-invoke",
        "Action": "lambda:InvokeFunction", "Principal": "*", "InvokedViaFunctionUrl": True})
    r.update(FN, r.desired(FN, {}), r.observed[FN], invoke)
