"""A create that meets a resource under the stack's deterministic name but without its ownership tags
(somebody made it after apply's last read) refuses, names it and says what to do, and changes nothing
of it; with --adopt the same create takes it over. Apply's re-read catches most such resources as a
stale plan (tests/test_adoption.py); this is the last guard, in the create itself."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from liveinsight_infra.aws.provider import AwsProvider
from liveinsight_infra.contract import Context
from liveinsight_infra.plan import Action, AdoptionRequired
from liveinsight_infra.reconcilers.base import Reconciler
from liveinsight_infra.reconcilers.iam import RoleReconciler
from liveinsight_infra.reconcilers.kinesis import StreamReconciler
from liveinsight_infra.reconcilers.sqs import QueueReconciler
from liveinsight_infra.spec import load_spec
from tests.conftest import DEV, ROOT

STREAM_SPEC = ROOT / "specs" / "stream.yaml"
TRUST = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def their_role(p: AwsProvider, name: str) -> Callable[[], Any]:
    iam = p.client("iam")
    iam.create_role(RoleName=name, Path="/liveinsight-dev/", AssumeRolePolicyDocument=json.dumps(TRUST),
                    Tags=[{"Key": "owner", "Value": "reporting"}])
    return lambda: (iam.list_role_policies(RoleName=name)["PolicyNames"],
                    iam.get_role(RoleName=name)["Role"].get("Tags"))


def their_queue(p: AwsProvider, name: str) -> Callable[[], Any]:
    sqs = p.client("sqs")
    url = sqs.create_queue(QueueName=name, tags={"owner": "reporting"})["QueueUrl"]
    return lambda: (sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"].get(
        "MessageRetentionPeriod"), sqs.list_queue_tags(QueueUrl=url).get("Tags"))


def their_stream(p: AwsProvider, name: str) -> Callable[[], Any]:
    kinesis = p.client("kinesis")
    kinesis.create_stream(StreamName=name, ShardCount=1)
    return lambda: (kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"].get(
        "RetentionPeriodHours"), kinesis.list_tags_for_stream(StreamName=name).get("Tags"))


CASES: dict[str, tuple[type[Reconciler], Path, Callable[[AwsProvider, str], Callable[[], Any]]]] = {
    "iam.role": (RoleReconciler, DEV, their_role),
    "sqs.queue": (QueueReconciler, STREAM_SPEC, their_queue),
    "kinesis.stream": (StreamReconciler, STREAM_SPEC, their_stream),
}


def planned_create(provider: AwsProvider, kind: str, adopt: bool = False) -> tuple[Reconciler, Any]:
    cls, spec, _ = CASES[kind]
    ctx = Context(load_spec(spec), provider, sleep=lambda _s: None, account="123456789012")
    r = cls(replace(ctx, adopt=adopt))
    r.observed = r.observe()
    change = r.plan({})[0]
    assert change.action is Action.CREATE
    return r, change


@pytest.mark.parametrize("kind", sorted(CASES))
def test_a_create_that_meets_a_foreign_resource_refuses_and_changes_nothing(provider: AwsProvider,
                                                                            kind: str) -> None:
    r, change = planned_create(provider, kind)
    look = CASES[kind][2](provider, change.name)  # somebody else makes it after apply's last read
    before = look()
    with pytest.raises(AdoptionRequired) as refused:
        r.execute(change, {})
    assert str(refused.value) == (
        f"{kind} {change.name} appeared after the plan, without this stack's ownership tag; nothing of it was "
        "changed. Run plan, then apply --adopt if it is meant to be this stack's.")
    assert look() == before


@pytest.mark.parametrize("kind", sorted(CASES))
def test_with_adopt_the_same_create_takes_it_over(provider: AwsProvider, kind: str) -> None:
    r, change = planned_create(provider, kind, adopt=True)
    CASES[kind][2](provider, change.name)
    r.execute(change, {})
    cls, spec, _ = CASES[kind]
    fresh = cls(Context(load_spec(spec), provider, sleep=lambda _s: None, account="123456789012"))
    fresh.observed = fresh.observe()
    assert fresh.observed[change.name].owned is True
