"""A role's inline policies through the shared diff: the plan names the policy that differs, with its
old and new value and why, and apply writes or deletes exactly the policies the diffs name."""

from __future__ import annotations

import json
from typing import Any

from liveinsight_infra.aws.provider import AwsProvider
from liveinsight_infra.contract import Context
from liveinsight_infra.diff import NOT_DECLARED, normalize_policy
from liveinsight_infra.plan import Action, FieldDiff
from liveinsight_infra.reconcilers.iam import POLICY_NAME, POLICY_PUT_BACK, RoleReconciler
from liveinsight_infra.spec import load_spec
from tests.conftest import DEV

ROLE = "liveinsight-stats-api-dev"
DEBUG = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}


def role_reconciler(provider: AwsProvider) -> RoleReconciler:
    r = RoleReconciler(Context(load_spec(DEV), provider, sleep=lambda _s: None, account="123456789012"))
    r.names = lambda: [ROLE]  # type: ignore[method-assign]  # one role is enough here
    return r


def created(provider: AwsProvider) -> RoleReconciler:
    r = role_reconciler(provider)
    r.create(ROLE, r.desired(ROLE, {}))
    return role_reconciler(provider)


def planned(r: RoleReconciler) -> list[Any]:
    r.observed = r.observe()
    return r.plan({})


def test_a_widened_inline_policy_is_planned_field_by_field_with_why(provider: AwsProvider) -> None:
    r = created(provider)
    iam = provider.client("iam")
    doc = iam.get_role_policy(RoleName=ROLE, PolicyName=POLICY_NAME)["PolicyDocument"]
    before = normalize_policy(doc)
    widened = {**doc, "Statement": [*doc["Statement"], {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    iam.put_role_policy(RoleName=ROLE, PolicyName=POLICY_NAME, PolicyDocument=json.dumps(widened))
    (change,) = planned(r)
    assert before is not None
    assert (change.action, change.diffs) == (Action.UPDATE, (FieldDiff(
        f"inline_policies.{POLICY_NAME}.Statement", normalize_policy(widened)["Statement"],  # type: ignore[index]
        before["Statement"], POLICY_PUT_BACK),))
    r.execute(change, {})
    assert planned(role_reconciler(provider)) == []


def test_an_inline_policy_added_out_of_band_is_planned_and_only_it_deleted(provider: AwsProvider) -> None:
    r = created(provider)
    iam = provider.client("iam")
    iam.put_role_policy(RoleName=ROLE, PolicyName="debug", PolicyDocument=json.dumps(DEBUG))
    (change,) = planned(r)
    assert change.diffs == (FieldDiff("inline_policies.debug", normalize_policy(DEBUG), None, NOT_DECLARED),)
    r.execute(change, {})
    assert iam.list_role_policies(RoleName=ROLE)["PolicyNames"] == [POLICY_NAME]
    assert planned(role_reconciler(provider)) == []


def test_an_update_writes_only_the_policies_its_diffs_name(provider: AwsProvider) -> None:
    """The update decides its calls from the diffs, not from comparing states again."""
    r = created(provider)
    iam = provider.client("iam")
    iam.put_role_policy(RoleName=ROLE, PolicyName="debug", PolicyDocument=json.dumps(DEBUG))
    iam.put_role_policy(RoleName=ROLE, PolicyName=POLICY_NAME, PolicyDocument=json.dumps(DEBUG))
    r.observed = r.observe()
    current = r.observed[ROLE]
    want = r.desired(ROLE, {})
    only_debug = (FieldDiff("inline_policies.debug", normalize_policy(DEBUG), None, NOT_DECLARED),)
    r.update(ROLE, want, current, only_debug)
    assert iam.list_role_policies(RoleName=ROLE)["PolicyNames"] == [POLICY_NAME]
    left = iam.get_role_policy(RoleName=ROLE, PolicyName=POLICY_NAME)["PolicyDocument"]
    assert normalize_policy(left) == normalize_policy(DEBUG)
