"""The account-level setting API Gateway needs before any stage can write access logs.

On AWS, ``update_stage`` with access-log settings fails until the account's API Gateway settings
name a CloudWatch role ("CloudWatch Logs role ARN must be set in account settings"). The setting
is account-wide, shared by every stack and environment. So:

* if any role is already set, it is left alone (this tool never takes over someone else's);
* otherwise a project-level role ``{project}-apigateway-logs`` is created and the account is
  pointed at it.

The role: API Gateway may assume it; should API Gateway pass ``aws:SourceAccount``, only for this
account (against the confused deputy: https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html).
The condition is ``StringEqualsIfExists``: AWS documents this role's trust without any condition
(https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html), and the key is
in a request only when the calling service passes it
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-sourceaccount),
so requiring it could make the role unassumable (docs/aws-fidelity.md). Its permissions are the
actions AWS documents for API Gateway logging (those of the managed policy
AmazonAPIGatewayPushToCloudWatchLogs:
https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html), but on this
account's log groups only, not on ``*``; API Gateway checks the role against that list when the
setting is written. Its permissions boundary is that AWS-managed policy itself: AWS owns it, so
no deployer can widen it, and it is exactly the most this role should ever do.

The role carries the stack tag ``{project}-account``, not an environment's, so destroying dev or
prod never removes what the other still needs. The role is account setup, kept like the account
setting itself. When the account names *our* role (``{project}-apigateway-logs``), its trust
policy, inline policy and boundary are compared with the definition below and brought up to date
(a role made by an earlier version of the tool had no boundary, or required ``aws:SourceAccount``).
"""

from __future__ import annotations

import json
import re
from typing import Any

from .. import naming
from ..aws.retry import RetryRule, with_retries
from ..diff import dict_to_tag_list, fields_of, normalize_policy
from ..errors import LiveInsightError
from ..plan import FieldDiff
from .base import Observed, Outputs, Reconciler

# API Gateway checks the role when the setting is written; a new role is not assumable at once.
ROLE_PROPAGATION = RetryRule("iam-propagation", frozenset({"BadRequestException"}),
                             re.compile(r"role ARN does not have required permissions|trust", re.I),
                             deadline_s=120.0)
POLICY_NAME = "push-to-cloudwatch-logs"
LOGS_BOUNDARY = "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
LOGGING_ACTIONS = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogGroups",
                   "logs:DescribeLogStreams", "logs:FilterLogEvents", "logs:GetLogEvents", "logs:PutLogEvents"]
# Takes no resource type in AWS's Service Authorization Reference: granted on a log group's ARN it is
# not granted at all (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatchlogs.html).
UNSCOPED_ACTIONS = ["logs:DescribeLogGroups"]


def push_to_cloudwatch(account: str) -> dict[str, Any]:
    """API Gateway's logging actions, on this account's log groups and their streams (the list
    action, which takes no resource, on ``*``)."""
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "ApiGatewayLogging", "Effect": "Allow",
         "Action": [a for a in LOGGING_ACTIONS if a not in UNSCOPED_ACTIONS],
         "Resource": [f"arn:aws:logs:*:{account}:log-group:*", f"arn:aws:logs:*:{account}:log-group:*:log-stream:*"]},
        {"Sid": "ListLogGroups", "Effect": "Allow", "Action": UNSCOPED_ACTIONS, "Resource": "*"}]}


def assume_role(account: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"}, "Action": "sts:AssumeRole",
        "Condition": {"StringEqualsIfExists": {"aws:SourceAccount": account}}}]}


class AccountReconciler(Reconciler):
    kind = "apigateway.account"
    adoptable = False  # account setup, shared by every stack: never any one stack's

    def names(self) -> list[str]:
        return ["cloudwatch-role"]

    def role_name(self) -> str:
        return f"{self.spec.project}-apigateway-logs"

    def role_arn(self) -> str:
        return f"arn:aws:iam::{self.ctx.account_id}:role/{self.role_name()}"

    def role_definition(self) -> dict[str, Any]:
        account = self.ctx.account_id
        return {"trust": normalize_policy(assume_role(account)),
                "policy": normalize_policy(push_to_cloudwatch(account)),
                "permissions_boundary": LOGS_BOUNDARY}

    def desired(self, name: str, outputs: Outputs) -> dict[str, Any]:
        current = self.observed.get(name)
        if current is not None and current.meta.get("ours"):
            return {"cloudwatch_role": "set", **self.role_definition()}
        return {"cloudwatch_role": "set"}

    def observe(self, for_destroy: bool = False) -> dict[str, Observed]:
        if for_destroy:
            return {}  # account setup is never part of a stack's destroy
        # The setting and our role's two reads at once: the role's name is known beforehand, so one
        # IAM round trip instead of GetAccount, then GetRole, then GetRolePolicy (the longest chain
        # of a converged plan's reads). The role's reads, and their errors, count only when the
        # setting names it.
        account, role = self.concurrently([self._read_account, self._read_role_or_error])
        arn = account.get("cloudwatchRoleArn")
        if not arn:
            return {}
        state: dict[str, Any] = {"cloudwatch_role": "set"}
        if arn == self.role_arn():
            if isinstance(role, LiveInsightError):
                raise role
            state.update(role)
        return {"cloudwatch-role": Observed(state, {"arn": arn, "ours": arn == self.role_arn()}, False)}

    def _read_account(self) -> dict[str, Any]:
        with self.calling("account", "GetAccount"):
            answer = self.client("apigateway").get_account()
        return dict(answer)

    def _read_role_or_error(self) -> dict[str, Any] | LiveInsightError:
        try:
            return self._read_role()
        except LiveInsightError as exc:
            return exc

    def _read_role(self) -> dict[str, Any]:
        iam, role = self.client("iam"), self.role_name()
        state: dict[str, Any] = {"trust": None, "policy": None, "permissions_boundary": None}
        found, policy = self.concurrently([
            lambda: self.read(role, "GetRole", lambda: iam.get_role(RoleName=role), absent=("NoSuchEntity",)),
            lambda: self.read(role, "GetRolePolicy",
                              lambda: iam.get_role_policy(RoleName=role, PolicyName=POLICY_NAME),
                              absent=("NoSuchEntity",))])
        if found is None:
            return state
        got = found["Role"]
        state["trust"] = normalize_policy(got["AssumeRolePolicyDocument"])
        state["permissions_boundary"] = (got.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
        if policy is not None:
            state["policy"] = normalize_policy(policy["PolicyDocument"])
        return state

    def create(self, name: str, desired: dict[str, Any]) -> Observed:
        iam, ag = self.client("iam"), self.client("apigateway")
        role = self.role_name()
        tags = {**self.spec.tags, naming.TAG_STACK: f"{self.spec.project}-account",
                naming.TAG_MANAGED_BY: naming.MANAGED_BY}
        with self.calling(role, "CreateRole", ignore=("EntityAlreadyExists",)):
            iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(assume_role(self.ctx.account_id)),
                            Tags=dict_to_tag_list(tags), PermissionsBoundary=LOGS_BOUNDARY,
                            Description="Lets API Gateway write access logs to CloudWatch (account setting)")
        with self.calling(role, "PutRolePolicy"):
            iam.put_role_policy(RoleName=role, PolicyName=POLICY_NAME,
                                PolicyDocument=json.dumps(push_to_cloudwatch(self.ctx.account_id)))
        arn = self.role_arn()
        with self.calling("account", "UpdateAccount"):
            with_retries(lambda: ag.update_account(patchOperations=[
                {"op": "replace", "path": "/cloudwatchRoleArn", "value": arn}]), ROLE_PROPAGATION,
                sleep=self.ctx.sleep)
        return Observed(dict(desired), {"arn": arn}, False)

    def update(self, name: str, desired: dict[str, Any], current: Observed,
               diffs: tuple[FieldDiff, ...]) -> Observed:
        if not current.meta.get("ours"):
            return current  # someone else's role: left alone
        if current.state.get("trust") is None:  # the account names our role, but it was deleted
            created = self.create(name, desired)
            return Observed(dict(desired), {**created.meta, "ours": True}, False)
        iam, role = self.client("iam"), self.role_name()
        fields = fields_of(diffs)
        if "permissions_boundary" in fields:  # first: the deployer may change the role only under it
            with self.calling(role, "PutRolePermissionsBoundary"):
                iam.put_role_permissions_boundary(RoleName=role, PermissionsBoundary=LOGS_BOUNDARY)
        if "trust" in fields:
            with self.calling(role, "UpdateAssumeRolePolicy"):
                iam.update_assume_role_policy(RoleName=role,
                                              PolicyDocument=json.dumps(assume_role(self.ctx.account_id)))
        if "policy" in fields:
            with self.calling(role, "PutRolePolicy"):
                iam.put_role_policy(RoleName=role, PolicyName=POLICY_NAME,
                                    PolicyDocument=json.dumps(push_to_cloudwatch(self.ctx.account_id)))
        return Observed(dict(desired), current.meta, False)

    def delete(self, name: str, current: Observed) -> None:
        raise AssertionError("account setup is never planned for deletion")
