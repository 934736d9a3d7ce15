"""The execute-api URL cannot forge the visitor: ``serve``'s stage path ``/dev/api/...`` plays it.

Anyone can call the stage URL with any header. Only requests that carry the stack's origin secret,
which CloudFront adds (``serve`` adds it on ``/api/...`` only), may name the viewer's address and
country; the others are counted by the address that connected (docs/security.md, "Threat model:
the edge").
"""

from __future__ import annotations

import json
import time

from tests.local.conftest import Site

SITE = "forged.example"
UA = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"


def pageview(i: int) -> bytes:
    return json.dumps({"name": "pageview", "url": f"https://{SITE}/p{i}", "domain": SITE,
                       "ts": int(time.time() * 1000)}).encode()


def stats(site: Site) -> dict[str, object]:
    r = site.request("GET", f"/api/stats?site={SITE}&period=day")
    assert r.status == 200, r.body
    answer: dict[str, object] = r.json()
    return answer


def test_forged_viewer_headers_on_the_stage_path_make_one_visitor(live: Site) -> None:
    for i in range(20):
        forged = {"Content-Type": "application/json", "User-Agent": UA,
                  "CloudFront-Viewer-Address": f"198.51.100.{i + 1}:443", "CloudFront-Viewer-Country": "NZ",
                  "X-Origin-Verify": "guessed"}
        r = live.request("POST", "/dev/api/events", forged, pageview(i))
        assert r.status == 202, r.body
    answer = stats(live)
    assert answer["pageviews"] == 20
    assert answer["visitors"] == 1  # every request came from 127.0.0.1 with one User-Agent
    assert answer["countries"] == []  # a client's country header is not CloudFront's


def test_through_the_local_cloudfront_the_viewer_headers_count(live: Site) -> None:
    """``/api/...`` is CloudFront: it sets the viewer's address itself and passes a country."""
    for i, country in enumerate(["NZ", "NZ", "DE"]):
        headers = {"Content-Type": "application/json", "User-Agent": f"{UA} v{i}",
                   "CloudFront-Viewer-Country": country, "CloudFront-Viewer-Address": "203.0.113.9:1"}
        r = live.request("POST", "/api/events", headers, pageview(i))
        assert r.status == 202, r.body
    answer = stats(live)
    assert answer["visitors"] == 3
    assert {c["country"]: c["visitors"] for c in answer["countries"]} == {"NZ": 2, "DE": 1}  # type: ignore[attr-defined]
