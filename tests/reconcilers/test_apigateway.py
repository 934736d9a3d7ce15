"""The REST API, its permissions and stage, read back from moto after apply."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from liveinsight_infra.aws.provider import AwsProvider
from liveinsight_infra.errors import LiveInsightError
from liveinsight_infra.plan import Action
from tests.conftest import PROD, apply_spec, make_engine

ROUTES = {"/api/events": ("POST", "event-collector"), "/api/event": ("POST", "event-collector"),
          "/api/realtime": ("GET", "realtime-api"),
          "/api/stats": ("GET", "stats-api")}
CORS = {"Access-Control-Allow-Headers": "'Content-Type,X-API-Key,Authorization'",
        "Access-Control-Allow-Methods": "'GET,POST,OPTIONS'", "Access-Control-Allow-Origin": "'*'",
        "Access-Control-Max-Age": "'86400'"}


def api_of(p: AwsProvider) -> dict[str, Any]:
    (api,) = p.client("apigateway").get_rest_apis()["items"]
    return api  # type: ignore[no-any-return]


def resources(p: AwsProvider, api_id: str) -> dict[str, Any]:
    items = p.client("apigateway").get_resources(restApiId=api_id, embed=["methods"])["items"]
    return {r["path"]: r for r in items}


def test_routes_integrations_and_preflights_read_back(provider: AwsProvider) -> None:
    apply_spec(provider)
    api = api_of(provider)
    assert api["name"] == "liveinsight-api-dev"
    assert api["tags"]["liveinsight:stack"] == "liveinsight-dev"
    res = resources(provider, api["id"])
    assert sorted(res) == ["/", "/api", "/api/event", "/api/events", "/api/realtime", "/api/stats"]
    assert not res["/api"].get("resourceMethods")
    for path, (verb, key) in ROUTES.items():
        methods = res[path]["resourceMethods"]
        assert sorted(methods) == sorted([verb, "OPTIONS"])
        integ = methods[verb]["methodIntegration"]
        assert integ["type"] == "AWS_PROXY" and integ["httpMethod"] == "POST"
        assert integ["uri"] == ("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:"
                                f"us-east-1:123456789012:function:liveinsight-{key}-dev:live/invocations")
        options = methods["OPTIONS"]
        assert options["authorizationType"] == "NONE"
        mock = options["methodIntegration"]
        assert mock["type"] == "MOCK"
        assert mock["requestTemplates"] == {"application/json": '{"statusCode": 200}'}
        declared = options["methodResponses"]["200"]["responseParameters"]
        assert declared == {f"method.response.header.{h}": False for h in CORS}
        values = mock["integrationResponses"]["200"]["responseParameters"]
        assert values == {f"method.response.header.{h}": v for h, v in CORS.items()}


def test_gateway_responses_carry_cors_headers(provider: AwsProvider) -> None:
    apply_spec(provider)
    ag = provider.client("apigateway")
    api_id = api_of(provider)["id"]
    for kind in ("DEFAULT_4XX", "DEFAULT_5XX"):
        params = ag.get_gateway_response(restApiId=api_id, responseType=kind)["responseParameters"]
        assert params["gatewayresponse.header.Access-Control-Allow-Origin"] == "'*'"
        assert params["gatewayresponse.header.Access-Control-Allow-Headers"] == CORS["Access-Control-Allow-Headers"]


def test_prod_preflight_echoes_listed_origins(provider: AwsProvider) -> None:
    apply_spec(provider, PROD)
    api_id = api_of(provider)["id"]
    options = resources(provider, api_id)["/api/stats"]["resourceMethods"]["OPTIONS"]
    response = options["methodIntegration"]["integrationResponses"]["200"]
    assert "method.response.header.Access-Control-Allow-Origin" not in response["responseParameters"]
    assert response["responseParameters"]["method.response.header.Vary"] == "'Origin'"
    template = response["responseTemplates"]["application/json"]
    assert '"https://app.liveinsight.example"' in template and "responseOverride.header" in template


def policy_statements(p: AwsProvider, fn: str) -> list[dict[str, Any]]:
    doc = json.loads(p.client("lambda").get_policy(FunctionName=fn, Qualifier="live")["Policy"])
    return doc["Statement"]  # type: ignore[no-any-return]


def test_exactly_one_permission_per_route_after_three_applies(provider: AwsProvider) -> None:
    for _ in range(3):
        apply_spec(provider)
    api_id = api_of(provider)["id"]
    for path, (verb, key) in ROUTES.items():
        arn = f"arn:aws:execute-api:us-east-1:123456789012:{api_id}/*/{verb}{path}"
        statements = policy_statements(provider, f"liveinsight-{key}-dev")
        (st,) = [s for s in statements if s["Condition"]["ArnLike"]["AWS:SourceArn"] == arn]
        assert len(statements) == sum(1 for k in ROUTES.values() if k[1] == key)
        assert st["Principal"] == {"Service": "apigateway.amazonaws.com"}
        assert st["Action"] == "lambda:InvokeFunction"
        assert st["Condition"]["ArnLike"]["AWS:SourceArn"] == (
            f"arn:aws:execute-api:us-east-1:123456789012:{api_id}/*/{verb}{path}")


def deployments(p: AwsProvider, api_id: str) -> list[dict[str, Any]]:
    return p.client("apigateway").get_deployments(restApiId=api_id)["items"]  # type: ignore[no-any-return]


def test_stage_settings_and_one_deployment(provider: AwsProvider) -> None:
    apply_spec(provider)
    api_id = api_of(provider)["id"]
    (dep,) = deployments(provider, api_id)
    assert "definition=" in dep["description"]
    stage = provider.client("apigateway").get_stage(restApiId=api_id, stageName="dev")
    assert stage["deploymentId"] == dep["id"]
    settings = stage["methodSettings"]["*/*"]
    assert settings["throttlingRateLimit"] == 100.0 and settings["throttlingBurstLimit"] == 200
    assert settings["metricsEnabled"] is True
    logs = stage["accessLogSettings"]
    assert logs["destinationArn"] == "arn:aws:logs:us-east-1:123456789012:log-group:/aws/apigateway/liveinsight-api-dev"
    assert "sourceIp" not in logs["format"] and json.loads(logs["format"])["status"] == "$context.status"


def test_unchanged_reapply_creates_no_deployment_and_writes_nothing(provider: AwsProvider) -> None:
    apply_spec(provider)
    api_id = api_of(provider)["id"]
    provider.counter.reset()
    apply_spec(provider)
    assert provider.counter.writes == 0, provider.counter.write_calls()
    assert len(deployments(provider, api_id)) == 1


def test_deleted_preflight_is_restored_with_exactly_one_new_deployment(provider: AwsProvider) -> None:
    apply_spec(provider)
    api_id = api_of(provider)["id"]
    (first,) = deployments(provider, api_id)
    ag = provider.client("apigateway")
    ag.delete_method(restApiId=api_id, resourceId=resources(provider, api_id)["/api/stats"]["id"],
                     httpMethod="OPTIONS")
    plan = make_engine(provider).plan()
    assert [(c.action, c.resource) for c in plan] == [(Action.UPDATE, "apigateway.rest_api"),
                                                      (Action.UPDATE, "apigateway.stage")]
    api_change = plan.changes[0]
    assert {d.path.split(".")[1] for d in api_change.diffs} == {"OPTIONS /api/stats"}
    assert [d.path for d in plan.changes[1].diffs] == ["deployment"]
    apply_spec(provider)
    assert "OPTIONS" in resources(provider, api_id)["/api/stats"]["resourceMethods"]
    (new,) = [d for d in deployments(provider, api_id) if d["id"] != first["id"]]
    assert ag.get_stage(restApiId=api_id, stageName="dev")["deploymentId"] == new["id"]
    assert make_engine(provider).plan().empty


def test_integration_drift_is_repaired_in_place(provider: AwsProvider) -> None:
    apply_spec(provider)
    api_id = api_of(provider)["id"]
    rid = resources(provider, api_id)["/api/events"]["id"]
    provider.client("apigateway").put_integration(
        restApiId=api_id, resourceId=rid, httpMethod="OPTIONS", type="MOCK", requestTemplates={},
        passthroughBehavior="WHEN_NO_MATCH")
    provider.counter.reset()
    apply_spec(provider)
    writes = provider.counter.write_calls()
    assert "apigateway:DeleteMethod" not in writes  # integration-only drift: no delete
    assert writes["apigateway:PutIntegration"] == 1 and writes["apigateway:CreateDeployment"] == 1
    mock = resources(provider, api_id)["/api/events"]["resourceMethods"]["OPTIONS"]["methodIntegration"]
    assert mock["requestTemplates"] == {"application/json": '{"statusCode": 200}'}
    assert mock["integrationResponses"]["200"]["responseParameters"][
        "method.response.header.Access-Control-Max-Age"] == "'86400'"


def test_method_level_drift_deletes_and_puts_the_method_again(provider: AwsProvider) -> None:
    apply_spec(provider)
    api_id = api_of(provider)["id"]
    ag = provider.client("apigateway")
    rid = resources(provider, api_id)["/api/stats"]["id"]
    ag.delete_method(restApiId=api_id, resourceId=rid, httpMethod="GET")
    ag.put_method(restApiId=api_id, resourceId=rid, httpMethod="GET", authorizationType="NONE", apiKeyRequired=True)
    provider.counter.reset()
    apply_spec(provider)
    writes = provider.counter.write_calls()
    assert writes["apigateway:DeleteMethod"] == 1 and writes["apigateway:PutMethod"] == 1
    method = resources(provider, api_id)["/api/stats"]["resourceMethods"]["GET"]
    assert method["apiKeyRequired"] is False and method["methodIntegration"]["type"] == "AWS_PROXY"


def test_route_removed_from_spec_is_removed(provider: AwsProvider, project_copy: Path) -> None:
    apply_spec(provider)
    spec = project_copy / "specs" / "dev.yaml"
    spec.write_text(spec.read_text().replace("    - {path: /api/stats, method: GET, function: stats-api}\n", ""))
    engine = make_engine(provider, spec)
    plan = engine.plan()
    kinds = {(c.action, c.resource, c.name) for c in plan}
    assert (Action.DELETE, "lambda.permission", "liveinsight-stats-api-dev/liveinsight-api-GET-api-stats") in kinds
    engine.apply(plan)
    api_id = api_of(provider)["id"]
    assert "/api/stats" not in resources(provider, api_id)
    assert make_engine(provider, spec).plan().empty


def test_two_apis_with_this_stacks_tag_is_an_error_naming_them(provider: AwsProvider) -> None:
    apply_spec(provider)
    ag = provider.client("apigateway")
    twin = ag.create_rest_api(name="liveinsight-api-dev", tags={"liveinsight:stack": "liveinsight-dev"})
    with pytest.raises(LiveInsightError) as info:
        make_engine(provider).plan()
    assert twin["id"] in str(info.value) and api_of_ids(provider)[0] in str(info.value)


def api_of_ids(p: AwsProvider) -> list[str]:
    return [a["id"] for a in p.client("apigateway").get_rest_apis()["items"]]


def test_an_api_with_our_name_but_not_our_tag_is_left_alone(provider: AwsProvider) -> None:
    ag = provider.client("apigateway")
    stranger = ag.create_rest_api(name="liveinsight-api-dev")
    apply_spec(provider)
    engine = make_engine(provider)
    engine.apply(engine.plan(destroy=True))
    assert api_of_ids(provider) == [stranger["id"]]


def test_account_logging_role_is_set_once_and_survives_destroy(provider: AwsProvider) -> None:
    ag, iam = provider.client("apigateway"), provider.client("iam")
    apply_spec(provider)
    arn = ag.get_account()["cloudwatchRoleArn"]
    assert arn == "arn:aws:iam::123456789012:role/liveinsight-apigateway-logs"
    trust = iam.get_role(RoleName="liveinsight-apigateway-logs")["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Service": "apigateway.amazonaws.com"}
    apply_spec(provider, PROD)  # the second environment reuses the account setting
    assert len([r for r in iam.list_roles()["Roles"] if "apigateway" in r["RoleName"]]) == 1
    engine = make_engine(provider)
    engine.apply(engine.plan(destroy=True))
    assert ag.get_account()["cloudwatchRoleArn"] == arn
    assert iam.get_role(RoleName="liveinsight-apigateway-logs")["Role"]["Arn"] == arn
    assert iam.list_role_policies(RoleName="liveinsight-apigateway-logs")["PolicyNames"] == [
        "push-to-cloudwatch-logs"]


def test_an_existing_account_logging_role_is_left_alone(provider: AwsProvider) -> None:
    ag = provider.client("apigateway")
    theirs = "arn:aws:iam::123456789012:role/platform-apigw-logs"
    ag.update_account(patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": theirs}])
    plan = make_engine(provider).plan()
    assert "apigateway.account" not in {c.resource for c in plan}
    apply_spec(provider)
    assert ag.get_account()["cloudwatchRoleArn"] == theirs


def test_a_new_api_takes_its_root_from_create_and_writes_gateway_responses_beside_the_resources(
        provider: AwsProvider) -> None:
    """The root resource's id is in CreateRestApi's answer (no GetResources), and the gateway responses
    need only the API: they are written while the resources are made, not after them."""
    import threading

    ag = provider.client("apigateway")
    responses = threading.Semaphore(0)
    waited: list[bool] = []

    def on_resource(**_: Any) -> None:
        if not waited:  # the first resource waits until both gateway responses are being written
            waited.append(responses.acquire(timeout=5) and responses.acquire(timeout=5))

    ag.meta.events.register("before-call.apigateway.PutGatewayResponse", lambda **_: responses.release())
    ag.meta.events.register("before-call.apigateway.CreateResource", on_resource)
    provider.counter.reset()
    apply_spec(provider)
    assert provider.counter.calls[("apigateway", "GetResources")] == 0, provider.counter.calls
    assert waited == [True]
