"""CloudFront's viewer headers are believed only with the origin secret that CloudFront adds.

The stage variable ``liveinsightOriginVerify`` lists the SHA-256 digests of the secrets accepted now
(two while a rotation is under way); the header ``X-Origin-Verify`` carries the secret itself.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from shared import visitors
from tests.handlers.conftest import Api
from tests.handlers.test_input import GOOD

SECRET, OLD = "s3cr3t-value-from-cloudfront", "the-one-before"


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def event(headers: dict[str, str], accepted: list[str] | None = None, source: str = "130.176.0.1") -> dict[str, Any]:
    return {"headers": headers, "requestContext": {"identity": {"sourceIp": source}},
            "stageVariables": {"liveinsightOriginVerify": ",".join(accepted)} if accepted is not None else None}


VIEWER = {"CloudFront-Viewer-Address": "198.51.100.9:443", "CloudFront-Viewer-Country": "DE"}


def test_without_the_secret_the_viewer_address_is_the_source_ip() -> None:
    assert visitors.client_ip(event(VIEWER, [digest(SECRET)])) == "130.176.0.1"
    assert visitors.client_ip(event({**VIEWER, "X-Origin-Verify": "guess"}, [digest(SECRET)])) == "130.176.0.1"


def test_a_stage_without_accepted_digests_trusts_no_viewer_header() -> None:
    assert visitors.client_ip(event({**VIEWER, "X-Origin-Verify": SECRET})) == "130.176.0.1"
    assert visitors.client_ip(event({**VIEWER, "X-Origin-Verify": SECRET}, [])) == "130.176.0.1"
    assert visitors.client_ip(event({**VIEWER, "X-Origin-Verify": ""}, [""])) == "130.176.0.1"


def test_the_digest_itself_is_not_the_secret() -> None:
    """The stage variable is readable by whoever can read the API: its value must not open the door."""
    assert visitors.client_ip(event({**VIEWER, "X-Origin-Verify": digest(SECRET)}, [digest(SECRET)])) == "130.176.0.1"


@pytest.mark.parametrize("name", ["X-Origin-Verify", "x-origin-verify"])
def test_with_the_secret_the_viewer_address_is_cloudfronts(name: str) -> None:
    assert visitors.client_ip(event({**VIEWER, name: SECRET}, [digest(SECRET)])) == "198.51.100.9"


def test_during_a_rotation_both_secrets_are_accepted() -> None:
    accepted = [digest(SECRET), digest(OLD)]
    for sent in (SECRET, OLD):
        assert visitors.client_ip(event({**VIEWER, "X-Origin-Verify": sent}, accepted)) == "198.51.100.9"
    assert visitors.client_ip(event({**VIEWER, "X-Origin-Verify": "third"}, accepted)) == "130.176.0.1"


def test_the_country_is_dropped_without_the_secret() -> None:
    kept = visitors.viewer_headers(event({**VIEWER, "X-Origin-Verify": SECRET, "User-Agent": "ua"},
                                         [digest(SECRET)]))
    assert kept["CloudFront-Viewer-Country"] == "DE" and kept["User-Agent"] == "ua"
    dropped = visitors.viewer_headers(event({**VIEWER, "cloudfront-viewer-country": "NZ", "User-Agent": "ua"},
                                            [digest(SECRET)]))
    assert dropped == {"User-Agent": "ua"}


def test_forged_viewer_addresses_on_the_execute_api_url_make_one_visitor(api: Api) -> None:
    for i in range(20):
        forged = {"CloudFront-Viewer-Address": f"198.51.100.{i + 1}:443", "CloudFront-Viewer-Country": "NZ"}
        status, body, _ = api.post(GOOD, ip="203.0.113.7", headers=forged, cloudfront=False)
        assert status == 202 and body["accepted"] == 1, body
    answer = api.stats("example.com")
    assert answer["visitors"] == 1 and answer["countries"] == []


def test_the_tool_and_the_functions_use_the_same_names() -> None:
    from liveinsight_infra import constants

    assert (visitors.ORIGIN_HEADER, visitors.ORIGIN_DIGESTS) == (constants.ORIGIN_HEADER,
                                                                 constants.ORIGIN_DIGESTS_VARIABLE)
