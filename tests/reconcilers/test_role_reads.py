"""A function role's reads: one round when it holds only the tool's policy, a second one for others."""

from __future__ import annotations

import json
import threading
from typing import Any

from liveinsight_infra.aws.provider import AwsProvider
from liveinsight_infra.diff import normalize_policy
from liveinsight_infra.reconcilers.iam import POLICY_NAME
from tests.reconcilers.test_role_policies_diff import DEBUG, ROLE, created, role_reconciler

ROUND = ("GetRole", "ListRolePolicies", "ListAttachedRolePolicies", "GetRolePolicy")


def test_the_role_its_lists_and_the_tool_s_policy_are_read_in_one_round(provider: AwsProvider) -> None:
    r = created(provider)
    seen: list[str] = []
    barrier = threading.Barrier(len(ROUND), timeout=20)  # sequential reads never all get here

    def hold(model: Any, **_: Any) -> None:
        seen.append(model.name)
        barrier.wait()
    provider.register("before-call.iam.*", hold)
    observed = r.observe()[ROLE]
    assert sorted(seen) == sorted(ROUND)
    assert observed.state["inline_policies"] == {POLICY_NAME: r.desired(ROLE, {})["inline_policies"][POLICY_NAME]}


def test_another_inline_policy_is_read_too(provider: AwsProvider) -> None:
    r = created(provider)
    provider.client("iam").put_role_policy(RoleName=ROLE, PolicyName="debug", PolicyDocument=json.dumps(DEBUG))
    inline = r.observe()[ROLE].state["inline_policies"]
    assert inline == {POLICY_NAME: r.desired(ROLE, {})["inline_policies"][POLICY_NAME],
                      "debug": normalize_policy(DEBUG)}


def test_a_role_without_the_tool_s_policy_reads_without_it(provider: AwsProvider) -> None:
    r = created(provider)
    provider.client("iam").delete_role_policy(RoleName=ROLE, PolicyName=POLICY_NAME)
    assert r.observe()[ROLE].state["inline_policies"] == {}


def test_no_role_reads_as_absent(provider: AwsProvider) -> None:
    assert role_reconciler(provider).observe() == {}
