"""The proxy events the local gateway hands to functions are what API Gateway sends.

Checked against aws-lambda-powertools' ``APIGatewayProxyEventModel`` (a model kept by a third
party from API Gateway's documented payload) and the headers API Gateway adds:
https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html
"""

from __future__ import annotations

import http.client
import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventModel

from tests.local.conftest import PATHS, Site

TRACE_ID = re.compile(r"^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$")


def send(site: Site, method: str, path: str, headers: dict[str, str]) -> tuple[dict[str, Any], int]:
    """The event the function got, and the client's own port (what CloudFront reports)."""
    host, port = site.server.server_address[:2]
    conn = http.client.HTTPConnection(str(host), int(port), timeout=10)
    conn.connect()
    client_port = conn.sock.getsockname()[1]
    conn.request(method, path, body=b"{}" if method == "POST" else None, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    assert resp.status == 200, data
    return json.loads(data)["event"], client_port


@pytest.mark.parametrize("path", sorted(PATHS))
@pytest.mark.parametrize("prefix", ["", "/dev"])
def test_every_route_gets_an_event_that_passes_the_powertools_model(echo_site: Site, path: str,
                                                                   prefix: str) -> None:
    event, _ = send(echo_site, PATHS[path], prefix + path, {"User-Agent": "ua"})
    model = APIGatewayProxyEventModel.model_validate(event)
    ctx = event["requestContext"]
    when = datetime.strptime(ctx["requestTime"], "%d/%b/%Y:%H:%M:%S %z")
    assert abs(when.timestamp() * 1000 - ctx["requestTimeEpoch"]) < 1000
    assert model.requestContext.requestTimeEpoch.tzinfo is not None
    assert abs((datetime.now(UTC) - when).total_seconds()) < 60
    assert ctx["path"] == f"/dev{path}" and ctx["resourcePath"] == path
    assert ctx["domainName"] == f"{ctx['apiId']}.execute-api.us-east-1.amazonaws.com"


@pytest.mark.parametrize("path", sorted(PATHS))
def test_api_gateway_adds_its_forwarding_and_trace_headers(echo_site: Site, path: str) -> None:
    port = echo_site.server.server_address[1]
    event, _ = send(echo_site, PATHS[path], "/dev" + path, {"User-Agent": "ua"})
    headers = event["headers"]
    assert headers["X-Forwarded-For"] == "127.0.0.1"
    assert headers["X-Forwarded-Proto"] == "http"
    assert headers["X-Forwarded-Port"] == str(port)
    assert TRACE_ID.match(headers["X-Amzn-Trace-Id"]), headers["X-Amzn-Trace-Id"]
    assert event["multiValueHeaders"]["X-Forwarded-For"] == ["127.0.0.1"]
    # A client's own X-Forwarded-For is kept, with the address API Gateway saw appended.
    sent, _ = send(echo_site, PATHS[path], "/dev" + path, {"X-Forwarded-For": "203.0.113.9"})
    assert sent["headers"]["X-Forwarded-For"] == "203.0.113.9, 127.0.0.1"
    assert sent["requestContext"]["identity"]["sourceIp"] == "127.0.0.1"


def test_through_the_cloudfront_path_the_viewer_address_is_the_peer_whatever_the_client_sends(
        echo_site: Site) -> None:
    spoof = {"CloudFront-Viewer-Address": "198.51.100.7:1", "CloudFront-Viewer-Country": "DE"}
    event, client_port = send(echo_site, "POST", "/api/events", spoof)
    assert event["headers"]["CloudFront-Viewer-Address"] == f"127.0.0.1:{client_port}"
    assert event["multiValueHeaders"]["CloudFront-Viewer-Address"] == [f"127.0.0.1:{client_port}"]
    assert event["headers"]["CloudFront-Viewer-Country"] == "DE"
    lower, client_port = send(echo_site, "POST", "/api/event", {"cloudfront-viewer-address": "198.51.100.7:1"})
    assert [v for k, v in lower["headers"].items() if k.lower() == "cloudfront-viewer-address"] == [
        f"127.0.0.1:{client_port}"]


def test_on_the_execute_api_path_client_headers_are_left_and_the_source_is_the_peer(echo_site: Site) -> None:
    spoof = {"CloudFront-Viewer-Address": "198.51.100.7:1", "CloudFront-Viewer-Country": "DE"}
    event, _ = send(echo_site, "POST", "/dev/api/events", spoof)
    assert event["headers"]["CloudFront-Viewer-Address"] == "198.51.100.7:1"
    assert event["headers"]["CloudFront-Viewer-Country"] == "DE"
    assert event["requestContext"]["identity"]["sourceIp"] == "127.0.0.1"
