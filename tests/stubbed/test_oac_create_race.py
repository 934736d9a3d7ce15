"""The Origin Access Control's create when CloudFront says one by that name exists already (an
interrupted apply made it, or someone else did): finished only when it is the stack's, and a clear
error when the list does not show it yet (the list lags the create)."""

from __future__ import annotations

from typing import Any

import pytest

from liveinsight_infra.errors import LiveInsightError
from liveinsight_infra.plan import AdoptionRequired
from liveinsight_infra.reconcilers.cloudfront import OacReconciler
from tests.stubbed.conftest import stubbed

NAME = "liveinsight-dev-s3"


@pytest.fixture
def setup() -> Any:
    yield from stubbed(OacReconciler, "cloudfront")


def already_exists(stub: Any) -> None:
    stub.add_client_error("create_origin_access_control", "OriginAccessControlAlreadyExists",
                          "An origin access control with the same name already exists.", 409)


def listed(stub: Any, *items: dict[str, Any]) -> None:
    stub.add_response("list_origin_access_controls", {"OriginAccessControlList": {
        "Marker": "", "MaxItems": 100, "IsTruncated": False, "Quantity": len(items), "Items": list(items)}}, {})


def oac(description: str) -> dict[str, Any]:
    return {"Id": "OAC1", "Name": NAME, "Description": description, "SigningProtocol": "sigv4",
            "SigningBehavior": "always", "OriginAccessControlOriginType": "s3"}


def test_an_existing_oac_the_list_does_not_show_is_a_clear_error(setup: Any) -> None:
    r, stub, _, _ = setup
    already_exists(stub)
    listed(stub)
    with pytest.raises(LiveInsightError, match=r"cloudfront.oac liveinsight-dev-s3: .* exists, but the list "
                                               r".* does not show it yet.*run apply again"):
        r.create(NAME, r.desired(NAME, {}))


def test_the_stacks_own_oac_from_an_interrupted_apply_is_finished(setup: Any) -> None:
    r, stub, _, _ = setup
    want = r.desired(NAME, {})
    already_exists(stub)
    listed(stub, oac(want["description"]))
    got = r.create(NAME, want)
    assert (got.state, got.meta, got.owned) == (want, {"id": "OAC1"}, True)


def test_an_oac_of_somebody_else_by_the_stacks_name_is_refused(setup: Any) -> None:
    r, stub, _, _ = setup
    already_exists(stub)
    listed(stub, oac("the reporting team's"))
    stub.add_response("list_distributions", {"DistributionList": {
        "Marker": "", "MaxItems": 100, "IsTruncated": False, "Quantity": 0, "Items": []}}, {})
    with pytest.raises(AdoptionRequired, match=r"cloudfront.oac liveinsight-dev-s3 appeared after the plan"):
        r.create(NAME, r.desired(NAME, {}))
