"""The local gateway over real HTTP, executing the REST API definition read back from moto."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pytest

from liveinsight_infra.aws.provider import AwsProvider
from liveinsight_infra.local.gateway import LocalGateway
from liveinsight_infra.spec import load_spec
from tests.local.conftest import PATHS, Site, start

PREFLIGHT = {"Origin": "https://example.com", "Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "content-type,x-api-key"}


@pytest.mark.parametrize("path", sorted(PATHS))
@pytest.mark.parametrize("prefix", ["", "/dev"])
def test_browser_preflight_answers_200_with_all_four_headers(site: Site, path: str, prefix: str) -> None:
    r = site.request("OPTIONS", prefix + path, PREFLIGHT)
    assert r.status == 200
    assert r.headers["access-control-allow-origin"] == "*"
    assert r.headers["access-control-allow-methods"] == "GET,POST,OPTIONS"
    assert r.headers["access-control-allow-headers"] == "Content-Type,X-API-Key,Authorization"
    assert r.headers["access-control-max-age"] == "86400"


def test_unknown_path_and_method_get_missing_authentication_token_with_cors(site: Site) -> None:
    for method, path in [("GET", "/api/nope"), ("GET", "/api/events"), ("DELETE", "/dev/api/stats")]:
        r = site.request(method, path)
        assert r.status == 403, (method, path)
        assert r.json() == {"message": "Missing Authentication Token"}
        assert r.headers["access-control-allow-origin"] == "*"


def test_proxy_event_and_lambda_environment_reach_the_handler(site: Site) -> None:
    r = site.request("POST", "/api/events?site=example.com&x=1&x=2",
                     {"Content-Type": "application/json", "User-Agent": "test-agent", "X-Forwarded-For": "1.2.3.4"},
                     b'{"name": "pageview"}')
    assert r.status == 200
    data = r.json()
    event = data["event"]
    assert event["httpMethod"] == "POST" and event["path"] == "/api/events" and event["resource"] == "/api/events"
    assert event["body"] == '{"name": "pageview"}' and event["isBase64Encoded"] is False
    assert event["queryStringParameters"] == {"site": "example.com", "x": "2"}
    assert event["multiValueQueryStringParameters"]["x"] == ["1", "2"]
    assert event["headers"]["User-Agent"] == "test-agent"
    assert event["multiValueHeaders"]["X-Forwarded-For"] == ["1.2.3.4, 127.0.0.1"]  # API Gateway appends
    assert event["requestContext"]["identity"]["sourceIp"] == "127.0.0.1"
    assert event["requestContext"]["stage"] == "dev"
    assert data["table"] == "liveinsight-events-dev"  # read back from Lambda's configuration
    assert data["function"] == "liveinsight-event-collector-dev"


@pytest.mark.parametrize("prefix", ["", "/dev"])
def test_a_client_country_header_reaches_the_handler_on_both_paths(site: Site, prefix: str) -> None:
    """Locally there is no geolocation: a client's CloudFront-Viewer-Country stands in for CloudFront's."""
    r = site.request("POST", prefix + "/api/events", {"CloudFront-Viewer-Country": "NZ"}, b"{}")
    assert r.status == 200
    headers = {k.lower(): v for k, v in r.json()["event"]["headers"].items()}
    assert headers["cloudfront-viewer-country"] == "NZ"


def test_handler_errors_are_502_with_cors_headers(site: Site) -> None:
    for path in ("/api/stats", "/api/realtime"):  # raises; returns a malformed result
        r = site.request("GET", path, {"Origin": "https://example.com"})
        assert r.status == 502, path
        assert r.json() == {"message": "Internal server error"}
        assert r.headers["access-control-allow-origin"] == "*"
    assert any("RuntimeError: boom" in line for line in site.logs)
    assert any("Malformed Lambda proxy response" in line for line in site.logs)


def test_a_mock_without_a_status_template_answers_500(site: Site) -> None:
    ag = site.provider.client("apigateway")
    gateway = site.server.gateway
    api_id = gateway.d.api_id
    rid = next(r["id"] for r in ag.get_resources(restApiId=api_id)["items"] if r["path"] == "/api/stats")
    ag.put_integration(restApiId=api_id, resourceId=rid, httpMethod="OPTIONS", type="MOCK",
                       passthroughBehavior="WHEN_NO_MATCH")
    site.server.gateway = LocalGateway.from_aws(site.provider, load_spec(_spec_of(site)))
    r = site.request("OPTIONS", "/api/stats", PREFLIGHT)
    assert r.status == 500
    assert r.json() == {"message": "Internal server error"}
    assert r.headers["access-control-allow-origin"] == "*"


def _spec_of(site: Site) -> Path:
    return Path(str(site.server.site_dir)).parent / "specs" / "dev.yaml"


def test_a_wrong_handler_path_fails_as_on_aws(site: Site) -> None:
    site.provider.client("lambda").update_function_configuration(
        FunctionName="liveinsight-event-collector-dev", Handler="event_collector.nothere")
    lam = site.provider.client("lambda")
    version = lam.publish_version(FunctionName="liveinsight-event-collector-dev")["Version"]
    lam.update_alias(FunctionName="liveinsight-event-collector-dev", Name="live", FunctionVersion=version)
    site.server.gateway = LocalGateway.from_aws(site.provider, load_spec(_spec_of(site)), log=site.logs.append)
    r = site.request("POST", "/api/events", body=b"{}")
    assert r.status == 502
    assert any("HandlerNotFound" in line for line in site.logs)


def test_prod_preflight_echoes_an_allowed_origin_only(prod_site: Site) -> None:
    ok = prod_site.request("OPTIONS", "/api/stats", {**PREFLIGHT, "Origin": "https://app.liveinsight.example"})
    assert ok.status == 200
    assert ok.headers["access-control-allow-origin"] == "https://app.liveinsight.example"
    assert ok.headers["vary"] == "Origin"
    other = prod_site.request("OPTIONS", "/api/stats", {**PREFLIGHT, "Origin": "https://evil.example"})
    assert other.status == 200 and "access-control-allow-origin" not in other.headers


def test_prod_handler_answers_echo_an_allowed_origin_with_vary(prod_site: Site) -> None:
    (key,) = prod_site.provider.client("apigateway").get_api_keys(includeValues=True)["items"]
    auth = {"X-API-Key": key["value"]}
    r = prod_site.request("GET", "/api/stats", {"Origin": "https://www.liveinsight.example", **auth})
    assert r.headers["access-control-allow-origin"] == "https://www.liveinsight.example"
    assert r.headers["vary"] == "Origin"
    other = prod_site.request("GET", "/api/stats", {"Origin": "https://evil.example", **auth})
    assert "access-control-allow-origin" not in other.headers
    # Errors answered by the gateway itself never grant an unlisted origin either.
    denied = prod_site.request("GET", "/api/stats", {"Origin": "https://evil.example"})
    assert denied.status == 403 and denied.headers["access-control-allow-origin"] == "https://app.liveinsight.example"


def test_the_dashboard_is_served_at_the_root(site: Site) -> None:
    r = site.request("GET", "/")
    assert r.status == 200 and r.headers["content-type"].startswith("text/html")
    assert b"LiveInsight" in r.body
    assert site.request("GET", "/../specs/dev.yaml").status == 404


UA_ECHO = '''
import json
def handler(event, context):
    import ua_parser  # vendored into the package, imported lazily as the collector does
    parsed = ua_parser.parse(event["headers"]["User-Agent"])
    return {"statusCode": 200, "body": json.dumps({"file": ua_parser.__file__, "os": parsed.os.family})}
'''


def test_vendored_requirements_are_imported_from_the_package(provider: AwsProvider, project_copy: Path) -> None:
    import ua_parser as ours  # the same name outside the package must not shadow the vendored copy

    (project_copy / "handlers" / "event_collector.py").write_text(UA_ECHO)
    for site in start(provider, project_copy / "specs" / "dev.yaml"):  # the collector's spec lists ua-parser
        r = site.request("POST", "/api/events", {"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like "
                                                               "Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                                                               "Version/17.4 Mobile/15E148 Safari/604.1"}, b"{}")
        assert r.status == 200, site.logs
        data = r.json()
        assert data["os"] == "iOS"
        assert data["file"].startswith(tempfile.gettempdir()) and "liveinsight-event-collector-" in data["file"]
        assert Path(data["file"]) != Path(ours.__file__)
    assert sys.modules["ua_parser"] is ours
