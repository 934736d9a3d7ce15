"""Who may read the numbers: prod's realtime and stats need the API key; anyone may post events."""

from __future__ import annotations

from liveinsight_infra.aws.provider import AwsProvider
from tests.conftest import DEV, PROD, apply_spec
from tests.local.conftest import Site


def test_prod_methods_require_the_key_and_a_usage_plan_limits_callers(provider: AwsProvider) -> None:
    apply_spec(provider, PROD)
    ag = provider.client("apigateway")
    api_id = ag.get_rest_apis()["items"][0]["id"]
    methods = {f"{verb} {r['path']}": m["apiKeyRequired"]
               for r in ag.get_resources(restApiId=api_id, embed=["methods"])["items"]
               for verb, m in (r.get("resourceMethods") or {}).items()}
    assert methods["GET /api/realtime"] is True and methods["GET /api/stats"] is True
    assert methods["POST /api/events"] is False and methods["OPTIONS /api/stats"] is False
    (plan,) = ag.get_usage_plans()["items"]
    assert plan["apiStages"] == [{"apiId": api_id, "stage": "prod"}]
    assert plan["throttle"] == {"rateLimit": 20.0, "burstLimit": 40}
    assert plan["quota"]["limit"] == 100000 and plan["quota"]["period"] == "DAY"
    (key,) = ag.get_usage_plan_keys(usagePlanId=plan["id"])["items"]
    assert key["name"] == "liveinsight-prod-dashboard-key"


def test_dev_has_no_key(provider: AwsProvider) -> None:
    apply_spec(provider, DEV)
    assert provider.client("apigateway").get_usage_plans()["items"] == []


def test_the_local_gateway_enforces_the_key(prod_site: Site) -> None:
    ag = prod_site.provider.client("apigateway")
    (key,) = ag.get_api_keys(includeValues=True)["items"]
    origin = {"Origin": "https://app.liveinsight.example"}
    denied = prod_site.request("GET", "/api/stats?site=example.com", origin)
    assert denied.status == 403 and denied.json() == {"message": "Forbidden"}
    assert denied.headers["x-amzn-errortype"] == "ForbiddenException"
    assert denied.headers["access-control-allow-origin"] == "https://app.liveinsight.example"  # the first listed
    wrong = prod_site.request("GET", "/api/realtime?site=example.com", {**origin, "X-API-Key": "guess"})
    assert wrong.status == 403
    ok = prod_site.request("GET", "/api/realtime?site=example.com", {**origin, "X-API-Key": key["value"]})
    assert ok.status == 200 and ok.json()["active_visitors"] == 0
    posted = prod_site.request("POST", "/api/events", {"Content-Type": "application/json", "User-Agent": "Mozilla/5.0"},
                               b'{"name":"pageview","url":"https://example.com/","domain":"example.com"}')
    assert posted.status == 202  # anyone may post events
