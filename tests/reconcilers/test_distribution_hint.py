"""The distribution's tags and config are read from the id in the bucket policy while
ListDistributions is on its way; the listed distribution, confirmed by its tag, still decides."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from botocore.exceptions import ClientError

from liveinsight_infra import naming
from liveinsight_infra.aws.provider import AwsProvider
from liveinsight_infra.contract import Context
from liveinsight_infra.plan import Action
from liveinsight_infra.reconcilers.bucket_policy_read import distribution_arn_hint
from liveinsight_infra.reconcilers.cloudfront import DistributionReconciler, find_distribution, marker
from liveinsight_infra.reconcilers.s3_site import bucket_policy
from liveinsight_infra.spec import load_spec
from tests.conftest import DEV, SESSION, apply_spec, make_engine

ACCOUNT = "123456789012"
OURS = f"arn:aws:cloudfront::{ACCOUNT}:distribution/EOURS1"
OTHER = f"arn:aws:cloudfront::{ACCOUNT}:distribution/EOTHER2"


class FakeCloudFront:
    """Answers ListDistributions only once a config read has been sent (or after ``list_waits_s``)."""

    def __init__(self, listed: list[dict[str, Any]], tags: dict[str, dict[str, str]], list_waits_s: float):
        self.listed, self.tags, self.calls = listed, tags, []  # type: ignore[var-annotated]
        self.config_sent = threading.Event()
        self.list_waited_for_config: bool | None = None
        self.list_waits_s = list_waits_s

    def get_paginator(self, _name: str) -> Any:
        fake = self

        class Pages:
            def paginate(self) -> list[dict[str, Any]]:
                fake.calls.append(("ListDistributions",))
                fake.list_waited_for_config = fake.config_sent.wait(fake.list_waits_s)
                return [{"DistributionList": {"Items": fake.listed}}]
        return Pages()

    def list_tags_for_resource(self, Resource: str) -> dict[str, Any]:
        self.calls.append(("ListTagsForResource", Resource))
        if Resource not in self.tags:
            raise ClientError({"Error": {"Code": "NoSuchResource"}}, "ListTagsForResource")
        return {"Tags": {"Items": [{"Key": k, "Value": v} for k, v in self.tags[Resource].items()]}}

    def get_distribution_config(self, Id: str) -> dict[str, Any]:
        self.calls.append(("GetDistributionConfig", Id))
        self.config_sent.set()
        if not any(d["Id"] == Id for d in self.listed):
            raise ClientError({"Error": {"Code": "NoSuchDistribution"}}, "GetDistributionConfig")
        return {"DistributionConfig": {"Comment": Id}, "ETag": "E1"}


class FakeS3:
    def __init__(self, policy: str | None):
        self.policy = policy

    def get_bucket_policy(self, Bucket: str) -> dict[str, Any]:
        if self.policy is None:
            raise ClientError({"Error": {"Code": "NoSuchBucketPolicy"}}, "GetBucketPolicy")
        return {"Policy": self.policy}


def reconciler(cf: FakeCloudFront, s3: FakeS3) -> DistributionReconciler:
    ctx = Context(load_spec(DEV), AwsProvider("us-east-1", session=SESSION), account=ACCOUNT)
    r = DistributionReconciler(ctx)
    r.client = {"cloudfront": cf, "s3": s3}.get  # type: ignore[assignment,method-assign]
    return r


def summary(r: DistributionReconciler, arn: str, comment: str | None = None) -> dict[str, Any]:
    return {"Id": arn.rsplit("/", 1)[1], "ARN": arn, "Comment": comment or marker(r.spec),
            "DomainName": "d.cloudfront.net", "Status": "Deployed"}


def policy_naming(arn: str) -> str:
    return json.dumps(bucket_policy("b", arn, False))


def setup(policy_arn: str | None, listed: list[tuple[str, str | None]],
          owned: tuple[str, ...]) -> tuple[DistributionReconciler, FakeCloudFront]:
    spec = load_spec(DEV).spec
    # With a policy, the config read is expected while the list waits: 30 s only bounds that wait on a
    # loaded machine (3 s could run out before the other thread sent it). Without one, none is expected.
    cf = FakeCloudFront([], {arn: naming.resource_tags(spec) if arn in owned else {"team": "other"}
                             for arn, _ in listed}, list_waits_s=30 if policy_arn else 0)
    r = reconciler(cf, FakeS3(policy_naming(policy_arn) if policy_arn else None))
    cf.listed = [summary(r, arn, comment) for arn, comment in listed]
    return r, cf


def test_the_config_is_read_from_the_policys_id_while_the_list_is_on_its_way() -> None:
    r, cf = setup(OURS, [(OURS, None)], owned=(OURS,))
    found = find_distribution(r)
    assert cf.list_waited_for_config is True  # the config read went out before the list answered
    assert found is not None and found["Id"] == "EOURS1" and found["_config"]["ETag"] == "E1"
    # Each read once: the hinted ones are kept, not made again.
    assert sorted(c[0] for c in cf.calls) == ["GetDistributionConfig", "ListDistributions", "ListTagsForResource"]


def test_a_stale_id_in_the_policy_is_only_a_wasted_read() -> None:
    gone = f"arn:aws:cloudfront::{ACCOUNT}:distribution/EGONE3"
    r, cf = setup(gone, [(OURS, None)], owned=(OURS,))
    found = find_distribution(r)
    assert found is not None and found["ARN"] == OURS and found["_config"]["DistributionConfig"]["Comment"] == "EOURS1"
    assert ("GetDistributionConfig", "EOURS1") in cf.calls


def test_a_foreign_distribution_in_the_policy_is_not_taken() -> None:
    # The policy names someone else's distribution (listed, with another Comment, not tagged ours).
    r, _ = setup(OTHER, [(OTHER, "theirs"), (OURS, None)], owned=(OURS,))
    found = find_distribution(r)
    assert found is not None and found["ARN"] == OURS


def test_a_hinted_distribution_with_our_comment_but_not_our_tag_is_not_ours() -> None:
    r, cf = setup(OTHER, [(OTHER, None)], owned=())
    assert find_distribution(r) is None
    assert cf.list_waited_for_config is True


def test_without_a_policy_the_list_decides_as_before() -> None:
    r, cf = setup(None, [(OURS, None)], owned=(OURS,))
    found = find_distribution(r)
    assert found is not None and found["ARN"] == OURS
    assert cf.calls[0] == ("ListDistributions",)


@pytest.mark.parametrize("policy", [None, "", "not json", "[]", '{"Statement": {"Condition": 3}}',
                                    json.dumps(bucket_policy("b", "arn:aws:s3:::elsewhere", False))])
def test_a_policy_without_one_distribution_arn_gives_no_hint(policy: str | None) -> None:
    assert distribution_arn_hint(policy) is None


def test_two_distributions_in_the_policy_give_no_hint() -> None:
    doc = bucket_policy("b", OURS, False)
    doc["Statement"][0]["Condition"]["StringEquals"]["AWS:SourceArn"] = [OURS, OTHER]
    assert distribution_arn_hint(json.dumps(doc)) is None
    assert distribution_arn_hint(policy_naming(OURS)) == OURS


def test_on_moto_a_converged_plan_reads_the_policy_once_and_a_stale_policy_is_drift(provider: AwsProvider) -> None:
    apply_spec(provider)
    provider.counter.reset()
    assert make_engine(provider).plan().empty
    calls = provider.counter.calls
    assert calls[("s3", "GetBucketPolicy")] == 1 and calls[("cloudfront", "GetDistributionConfig")] == 1
    assert calls[("cloudfront", "ListTagsForResource")] == 1
    engine = make_engine(provider)
    bucket = naming.bucket_name(engine.ctx.spec, engine.ctx.account_id)
    stale = f"arn:aws:cloudfront::{engine.ctx.account_id}:distribution/EGONE3"
    provider.client("s3").put_bucket_policy(Bucket=bucket, Policy=json.dumps(bucket_policy(bucket, stale, False)))
    plan = engine.plan()
    assert [(c.resource, c.action) for c in plan] == [("s3.bucket_policy", Action.UPDATE)]
    engine.apply(plan)
    assert make_engine(provider).plan().empty
