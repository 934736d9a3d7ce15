"""Apply, destroy, apply again: the second distribution is a new creation, found again by its tag."""

from __future__ import annotations

from typing import Any

from liveinsight_infra.aws.provider import AwsProvider
from liveinsight_infra.naming import TAG_STACK
from tests.conftest import DEV, apply_spec, make_engine


def test_a_stack_destroyed_and_applied_again_gets_a_new_distribution(provider: AwsProvider) -> None:
    references: list[str] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        references.append(params["DistributionConfigWithTags"]["DistributionConfig"]["CallerReference"])

    provider.register("provide-client-params.cloudfront.CreateDistributionWithTags", record)
    cf = provider.client("cloudfront")
    first = apply_spec(provider, DEV).current_outputs()["cloudfront.distribution"]["liveinsight-dev"]["id"]
    destroy = make_engine(provider, DEV)
    destroy.apply(destroy.plan(destroy=True))
    assert cf.list_distributions()["DistributionList"].get("Items", []) == []
    second = apply_spec(provider, DEV).current_outputs()["cloudfront.distribution"]["liveinsight-dev"]["id"]
    assert second != first
    # Two creations, two references: AWS would answer a reused one with the deleted distribution or
    # DistributionAlreadyExists (tests/stubbed/test_cloudfront.py).
    assert len(references) == 2 and references[0] != references[1], references
    # Found again by its Comment marker, confirmed by its tag: the next plan changes nothing.
    (item,) = cf.list_distributions()["DistributionList"]["Items"]
    tags = cf.list_tags_for_resource(Resource=item["ARN"])["Tags"]["Items"]
    assert {"Key": TAG_STACK, "Value": "liveinsight-dev"} in tags
    assert make_engine(provider, DEV).plan().empty
