"""`serve` sends the dashboard's security headers, the same ones CloudFront's policy sends."""

from __future__ import annotations

from liveinsight_infra.reconcilers.response_headers import headers_of
from tests.local.conftest import Site

HEADERS = ("content-security-policy", "strict-transport-security", "x-content-type-options", "x-frame-options",
           "referrer-policy")


def test_the_dashboard_and_its_files_carry_the_security_headers(site: Site) -> None:
    for path in ("/", "/dashboard.js", "/dashboard.css", "/tracker.js", "/missing.html"):
        r = site.request("GET", path)
        assert r.status in (200, 404), path
        h = r.headers
        assert "default-src 'none'" in h["content-security-policy"], path
        assert "frame-ancestors 'none'" in h["content-security-policy"], path
        assert h["x-frame-options"] == "DENY" and h["x-content-type-options"] == "nosniff", path
        assert int(h["strict-transport-security"].split(";")[0].removeprefix("max-age=")) >= 31536000
        assert h["referrer-policy"] == "no-referrer", path
    tracker = site.request("GET", "/tracker.js")
    assert tracker.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert tracker.headers.get("cross-origin-resource-policy", "cross-origin") == "cross-origin"


def test_serve_sends_what_the_cloudfront_policy_in_the_stack_sends(site: Site) -> None:
    cf = site.provider.client("cloudfront")
    (item,) = cf.list_response_headers_policies(Type="custom")["ResponseHeadersPolicyList"]["Items"]
    sent_by_cloudfront, _ = headers_of(item["ResponseHeadersPolicy"]["ResponseHeadersPolicyConfig"])
    r = site.request("GET", "/")
    assert {k.lower(): v for k, v in sent_by_cloudfront.items()} == {k: r.headers[k] for k in HEADERS}


def test_api_answers_are_not_given_the_dashboards_policy(site: Site) -> None:
    r = site.request("OPTIONS", "/api/events")
    assert "content-security-policy" not in r.headers  # the /api/* behavior has no such policy


def test_api_answers_of_the_functions_carry_nosniff_through_serve(prod_site: Site) -> None:
    for method, path in (("POST", "/api/events"), ("POST", "/api/event")):
        r = prod_site.request(method, path, {"Content-Type": "application/json", "Origin": "https://example.com"},
                              b'{"name":"pageview","url":"https://example.com/","domain":"example.com"}')
        assert r.headers.get("x-content-type-options") == "nosniff", (path, r.status, r.headers)
