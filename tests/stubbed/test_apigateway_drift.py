"""Out-of-band changes to the REST API that moto cannot make (it has no UpdateIntegration, UpdateMethod
or UpdateGatewayResponse: docs/moto-gaps.md), tested with botocore's Stubber.

The reads answer as AWS documents GetResources (with ``embed=methods``) and GetGatewayResponses
(https://docs.aws.amazon.com/apigateway/latest/api/API_GetResources.html,
https://docs.aws.amazon.com/apigateway/latest/api/API_GetGatewayResponses.html): the converged API,
then one field changed as the update call would change it. Stubber checks each request against the
service model and each answer against its output shape. The plan must name the field, and apply
must send exactly the calls that put it back.
"""

from __future__ import annotations

import copy
import zlib
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from liveinsight_infra.apigw.definition import desired_definition
from liveinsight_infra.plan import Action, FieldDiff, Plan
from liveinsight_infra.reconcilers.apigateway import PUT_BACK_WHOLE, RestApiReconciler
from liveinsight_infra.render import Style, render_plan
from tests.stubbed.conftest import stubbed

API = "a1b2c3d4e5"
NAME = "liveinsight-api-dev"
TAGS = {"project": "liveinsight", "owner": "platform", "environment": "dev",
        "liveinsight:stack": "liveinsight-dev", "liveinsight:managed-by": "liveinsight-infra"}


@pytest.fixture
def setup() -> Any:
    yield from stubbed(RestApiReconciler, "apigateway")


def in_order(r: RestApiReconciler) -> None:
    """Reads and writes one after another: Stubber answers in the order it was given."""
    def sequential(fn: Callable[[Any], Any], items: Iterable[Any], limit: int = 8) -> list[Any]:
        return [fn(i) for i in items]
    r.parallel = sequential  # type: ignore[method-assign]


def rid(path: str) -> str:
    return "root00" if path == "/" else f"r{zlib.crc32(path.encode()) % 10**5:05d}"


def aws_method(verb: str, m: dict[str, Any]) -> dict[str, Any]:
    """One method as GetResources embeds it (the Method shape of the API reference)."""
    integ = m["integration"]
    integration: dict[str, Any] = {"type": integ["type"], "cacheNamespace": "c1", "cacheKeyParameters": []}
    if integ["type"] == "AWS_PROXY":
        integration.update(httpMethod=integ["http_method"], uri=integ["uri"], timeoutInMillis=integ["timeout_ms"],
                           passthroughBehavior="WHEN_NO_MATCH")
    else:
        integration.update(requestTemplates=integ["request_templates"], passthroughBehavior=integ["passthrough"],
                           timeoutInMillis=29000)
    if m["integration_responses"]:
        integration["integrationResponses"] = {
            code: {"statusCode": code, "responseParameters": r["parameters"],
                   "responseTemplates": r["templates"]} for code, r in m["integration_responses"].items()}
    method: dict[str, Any] = {"httpMethod": verb, "authorizationType": m["authorization"],
                              "apiKeyRequired": m["api_key_required"], "methodIntegration": integration}
    if m["method_responses"]:
        method["methodResponses"] = {code: {"statusCode": code, "responseParameters": params}
                                     for code, params in m["method_responses"].items()}
    return method


def aws_resources(definition: dict[str, Any]) -> list[dict[str, Any]]:
    definition = copy.deepcopy(definition)  # a test changes the answer, never the desired state
    items: list[dict[str, Any]] = [{"id": rid("/"), "path": "/"}]
    for path in definition["resources"]:
        parent, _, part = path.rpartition("/")
        item: dict[str, Any] = {"id": rid(path), "parentId": rid(parent or "/"), "pathPart": part, "path": path}
        methods = {key.split(" ", 1)[0]: aws_method(key.split(" ", 1)[0], m)
                   for key, m in definition["methods"].items() if key.split(" ", 1)[1] == path}
        if methods:
            item["resourceMethods"] = methods
        items.append(item)
    return items


def aws_gateway_responses(definition: dict[str, Any]) -> list[dict[str, Any]]:
    """AWS lists every response type; the ones never set are defaults (``defaultResponse``)."""
    definition = copy.deepcopy(definition)
    items = [{"responseType": kind, "statusCode": kind[-3:].replace("XX", "00"),
              "responseParameters": r["parameters"], "responseTemplates": r["templates"], "defaultResponse": False}
             for kind, r in definition["gateway_responses"].items()]
    items.append({"responseType": "ACCESS_DENIED", "statusCode": "403", "defaultResponse": True,
                  "responseParameters": {}, "responseTemplates": {"application/json": '{"message":"denied"}'}})
    return items


def converged(r: RestApiReconciler) -> dict[str, Any]:
    return r.desired(NAME, {})


def stub_reads(stub: Any, definition: dict[str, Any], resources: list[dict[str, Any]] | None = None,
               responses: list[dict[str, Any]] | None = None, tags: dict[str, str] = TAGS) -> None:
    stub.add_response("get_rest_apis", {"items": [
        {"id": API, "name": NAME, "tags": tags, "endpointConfiguration": {"types": ["REGIONAL"]},
         "apiKeySource": "HEADER", "createdDate": "2026-01-01T00:00:00Z"}]}, {})
    stub.add_response("get_resources", {"items": resources if resources is not None else aws_resources(definition)},
                      {"restApiId": API, "embed": ["methods"]})
    stub.add_response("get_gateway_responses",
                      {"items": responses if responses is not None else aws_gateway_responses(definition)},
                      {"restApiId": API})


def plan_of(r: RestApiReconciler) -> list[tuple[Action, str, list[str]]]:
    r.observed = r.observe()
    return [(c.action, c.name, [d.path for d in c.diffs]) for c in r.plan({})]


def apply_planned(r: RestApiReconciler) -> None:
    """Execute the plan's one change: the update decides its calls from the plan's diffs."""
    (change,) = r.plan({})
    r.execute(change, {})


def test_the_converged_api_plans_nothing(setup: Any) -> None:
    r, stub, _, _ = setup
    in_order(r)
    stub_reads(stub, converged(r))
    assert plan_of(r) == []


def test_an_integration_changed_with_update_integration_is_put_back(setup: Any) -> None:
    """``UpdateIntegration`` (patch ``/uri`` and ``/timeoutInMillis``) pointed the collector's route at
    $LATEST, skipping the alias, with a short timeout."""
    r, stub, _, _ = setup
    in_order(r)
    want = converged(r)
    resources = aws_resources(want)
    collector = "arn:aws:lambda:us-east-1:123456789012:function:liveinsight-event-collector-dev"
    events = next(i for i in resources if i["path"] == "/api/events")["resourceMethods"]["POST"]["methodIntegration"]
    events.update(uri=f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{collector}/invocations",
                  timeoutInMillis=3000)
    stub_reads(stub, want, resources)
    assert plan_of(r) == [(Action.UPDATE, NAME, ["methods.POST /api/events.integration.timeout_ms",
                                                 "methods.POST /api/events.integration.uri"])]
    stub.add_response("put_integration", {"type": "AWS_PROXY"}, {
        "restApiId": API, "resourceId": rid("/api/events"), "httpMethod": "POST", "type": "AWS_PROXY",
        "integrationHttpMethod": "POST", "timeoutInMillis": 29000,
        "uri": f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{collector}:live/invocations"})
    apply_planned(r)


def test_a_method_changed_with_update_method_is_put_back_whole(setup: Any) -> None:
    """``UpdateMethod`` (patch ``/authorizationType`` to AWS_IAM) made the stats route refuse the
    dashboard. The tool does not patch a method: it deletes it and puts it back whole, with its
    integration (docs/moto-gaps.md: put_method on an existing method is a conflict on AWS)."""
    r, stub, _, _ = setup
    in_order(r)
    want = converged(r)
    resources = aws_resources(want)
    stats = next(i for i in resources if i["path"] == "/api/stats")["resourceMethods"]["GET"]
    stats["authorizationType"] = "AWS_IAM"
    stub_reads(stub, want, resources)
    assert plan_of(r) == [(Action.UPDATE, NAME, ["methods.GET /api/stats.authorization"])]
    method = want["methods"]["GET /api/stats"]
    key = {"restApiId": API, "resourceId": rid("/api/stats"), "httpMethod": "GET"}
    stub.add_response("delete_method", {}, key)
    stub.add_response("put_method", {"httpMethod": "GET", "authorizationType": "NONE"},
                      {**key, "authorizationType": "NONE", "apiKeyRequired": False})
    stub.add_response("put_integration", {"type": "AWS_PROXY"}, {
        **key, "type": "AWS_PROXY", "integrationHttpMethod": "POST", "uri": method["integration"]["uri"],
        "timeoutInMillis": 29000})
    apply_planned(r)


def test_a_method_level_field_says_the_method_is_put_back_whole(setup: Any) -> None:
    """The plan names the field, its old and new value, and why the whole method is written; an
    integration-level field is put back in place, so it needs no such word."""
    r, stub, _, _ = setup
    in_order(r)
    want = converged(r)
    resources = aws_resources(want)
    stats = next(i for i in resources if i["path"] == "/api/stats")["resourceMethods"]["GET"]
    stats["authorizationType"] = "AWS_IAM"
    stats["methodIntegration"]["timeoutInMillis"] = 3000
    stub_reads(stub, want, resources)
    r.observed = r.observe()
    (change,) = r.plan({})
    assert change.diffs == (
        FieldDiff("methods.GET /api/stats.authorization", "AWS_IAM", "NONE", PUT_BACK_WHOLE),
        FieldDiff("methods.GET /api/stats.integration.timeout_ms", 3000, 29000))
    text = render_plan(Plan((change,), "liveinsight-dev"), Style(colour=False))
    assert text.count(PUT_BACK_WHOLE) == 1


def test_a_preflight_response_changed_with_update_method_response_is_put_back(setup: Any) -> None:
    """``UpdateMethodResponse`` removed a declared header from a preflight's 200: method-level, so the
    method, its response, its MOCK integration and the integration response are all put back."""
    r, stub, _, _ = setup
    in_order(r)
    want = converged(r)
    resources = aws_resources(want)
    options = next(i for i in resources if i["path"] == "/api/stats")["resourceMethods"]["OPTIONS"]
    del options["methodResponses"]["200"]["responseParameters"]["method.response.header.Access-Control-Max-Age"]
    stub_reads(stub, want, resources)
    assert plan_of(r) == [(Action.UPDATE, NAME, [
        "methods.OPTIONS /api/stats.method_responses.200.method.response.header.Access-Control-Max-Age"])]
    m = want["methods"]["OPTIONS /api/stats"]
    key = {"restApiId": API, "resourceId": rid("/api/stats"), "httpMethod": "OPTIONS"}
    stub.add_response("delete_method", {}, key)
    stub.add_response("put_method", {}, {**key, "authorizationType": "NONE", "apiKeyRequired": False})
    stub.add_response("put_method_response", {}, {**key, "statusCode": "200",
                                                  "responseParameters": m["method_responses"]["200"]})
    stub.add_response("put_integration", {}, {**key, "type": "MOCK", "passthroughBehavior": "WHEN_NO_MATCH",
                                              "requestTemplates": {"application/json": '{"statusCode": 200}'}})
    resp = m["integration_responses"]["200"]
    stub.add_response("put_integration_response", {}, {**key, "statusCode": "200",
                                                       "responseParameters": resp["parameters"],
                                                       "responseTemplates": resp["templates"]})
    apply_planned(r)


def test_a_gateway_response_changed_or_reset_is_put_back(setup: Any) -> None:
    """``UpdateGatewayResponse`` narrowed DEFAULT_4XX's CORS origin; ``DeleteGatewayResponse`` reset
    DEFAULT_5XX to AWS's default (listed with ``defaultResponse`` and no CORS headers)."""
    r, stub, _, _ = setup
    in_order(r)
    want = converged(r)
    responses = aws_gateway_responses(want)
    four = next(g for g in responses if g["responseType"] == "DEFAULT_4XX")
    four["responseParameters"] = {**four["responseParameters"],
                                  "gatewayresponse.header.Access-Control-Allow-Origin": "'https://evil.example'"}
    five = next(g for g in responses if g["responseType"] == "DEFAULT_5XX")
    five.update(defaultResponse=True, responseParameters={},
                responseTemplates={"application/json": '{"message":$context.error.messageString}'})
    stub_reads(stub, want, responses=responses)
    (change,) = plan_of(r)
    assert change[0] is Action.UPDATE
    assert change[2] == [
        "gateway_responses.DEFAULT_4XX.parameters.gatewayresponse.header.Access-Control-Allow-Origin",
        "gateway_responses.DEFAULT_5XX.parameters.gatewayresponse.header.Access-Control-Allow-Headers",
        "gateway_responses.DEFAULT_5XX.parameters.gatewayresponse.header.Access-Control-Allow-Methods",
        "gateway_responses.DEFAULT_5XX.parameters.gatewayresponse.header.Access-Control-Allow-Origin"]
    for kind in ("DEFAULT_4XX", "DEFAULT_5XX"):
        entry = copy.deepcopy(want["gateway_responses"][kind])
        stub.add_response("put_gateway_response", {"responseType": kind}, {
            "restApiId": API, "responseType": kind, "responseParameters": entry["parameters"],
            "responseTemplates": entry["templates"]})
    apply_planned(r)


def test_a_tag_changed_on_the_api_is_put_back(setup: Any) -> None:
    """moto cannot tag a REST API by ARN (docs/moto-gaps.md): ``TagResource`` changed the owner."""
    r, stub, _, _ = setup
    in_order(r)
    stub_reads(stub, converged(r), tags={**TAGS, "owner": "someone"})
    assert plan_of(r) == [(Action.UPDATE, NAME, ["tags.owner"])]
    stub.add_response("tag_resource", {}, {"resourceArn": f"arn:aws:apigateway:us-east-1::/restapis/{API}",
                                           "tags": {"owner": "platform"}})
    apply_planned(r)


def test_the_fixture_carries_every_route_and_method() -> None:
    """The fixtures above are built from the desired definition: check they carry every route."""
    from liveinsight_infra.spec import load_spec
    from tests.conftest import DEV

    spec = load_spec(DEV).spec
    definition = desired_definition(spec, {k: f"arn:{k}" for k in spec.functions})
    paths = {i["path"] for i in aws_resources(definition)}
    assert paths == {"/", *definition["resources"]}
    assert sum(len(i.get("resourceMethods", {})) for i in aws_resources(definition)) == len(definition["methods"])
