"""Plausible's path: ``POST /api/event`` reaches the event collector in both environments, keyless."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from liveinsight_infra.aws.provider import AwsProvider
from tests.conftest import DEV, PROD, apply_spec
from tests.local.conftest import Site

PLAUSIBLE_PATH = "/api/event"  # https://plausible.io/docs/events-api


def _methods(provider: AwsProvider) -> dict[str, dict[str, object]]:
    ag = provider.client("apigateway")
    api_id = ag.get_rest_apis()["items"][0]["id"]
    return {f"{verb} {r['path']}": m for r in ag.get_resources(restApiId=api_id, embed=["methods"])["items"]
            for verb, m in (r.get("resourceMethods") or {}).items()}


@pytest.mark.parametrize("spec", [DEV, PROD], ids=["dev", "prod"])
def test_the_rest_api_routes_plausibles_path_to_the_collector_without_a_key(provider: AwsProvider,
                                                                             spec: Path) -> None:
    apply_spec(provider, spec)
    methods = _methods(provider)
    post, events = methods[f"POST {PLAUSIBLE_PATH}"], methods["POST /api/events"]
    assert post["apiKeyRequired"] is False
    assert post["methodIntegration"]["type"] == "AWS_PROXY"  # type: ignore[index]
    assert post["methodIntegration"]["uri"] == events["methodIntegration"]["uri"]  # type: ignore[index]
    assert methods[f"OPTIONS {PLAUSIBLE_PATH}"]["methodIntegration"]["type"] == "MOCK"  # type: ignore[index]
    env = "prod" if spec == PROD else "dev"
    policy = json.loads(provider.client("lambda").get_policy(
        FunctionName=f"liveinsight-event-collector-{env}", Qualifier="live")["Policy"])
    arns = {st["Condition"]["ArnLike"]["AWS:SourceArn"].split("/", 1)[1]: st["Sid"] for st in policy["Statement"]}
    assert "*/POST/api/event" in arns and "*/POST/api/events" in arns
    assert len(set(arns.values())) == len(arns)  # one statement each, no Sid shared
    assert all(len(sid) <= 100 for sid in arns.values())  # AddPermission's StatementId limit


@pytest.mark.parametrize("prefix", ["", "/dev"])
def test_the_local_gateway_hands_plausibles_path_to_the_collector(site: Site, prefix: str) -> None:
    r = site.request("POST", prefix + PLAUSIBLE_PATH, {"Content-Type": "text/plain"}, b'{"n":"pageview"}')
    assert r.status == 200
    assert r.json()["function"] == "liveinsight-event-collector-dev"
    assert r.json()["event"]["resource"] == PLAUSIBLE_PATH


def test_prod_accepts_an_event_on_plausibles_path_without_a_key(prod_site: Site) -> None:
    r = prod_site.request("POST", PLAUSIBLE_PATH, {"Content-Type": "application/json", "User-Agent": "Mozilla/5.0"},
                          b'{"name":"pageview","url":"https://example.com/","domain":"example.com"}')
    assert r.status == 202, r.body
