"""One IAM role per function, least privilege: write to its own log group, the table actions its
spec lists on the stack's table (limited to the partition-key prefixes it lists), nothing else.
Every role carries the stack's permissions boundary (``iam_boundary.py``); a boundary removed or
changed out of band is drift, put back with ``PutRolePermissionsBoundary``.

Policies are compared as structures (statement and action order never show as drift). Extra
inline or attached policies added out of band are drift too, and are removed by apply.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .. import naming
from ..diff import dict_to_tag_list, entries, fields_of, normalize_policy, tag_list_to_dict, user_tags
from ..errors import LiveInsightError
from ..plan import FieldDiff
from .base import Observed, Outputs, Reconciler
from .kind_outputs import NameArnOutputs, keys

POLICY_NAME = "liveinsight-function"
# PutRolePolicy replaces a policy's whole document: whatever was added to it out of band goes.
POLICY_PUT_BACK = "the policy's whole document is put back"
ASSUME_ROLE = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


class RoleReconciler(Reconciler):
    kind = "iam.role"
    depends_on = ("iam.boundary",)
    output_keys = keys(NameArnOutputs)
    replace_fields = frozenset({"path"})

    def names(self) -> list[str]:
        return [naming.role_name(self.spec, key) for key in self.spec.functions]

    def _key(self, name: str) -> str:
        return next(k for k in self.spec.functions if naming.role_name(self.spec, k) == name)

    def policy_for(self, key: str) -> dict[str, Any]:
        region, account = self.ctx.region, self.ctx.account_id
        log_group = naming.function_log_group(self.spec, key)
        statements: list[dict[str, Any]] = [{
            "Sid": "OwnLogs", "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"arn:aws:logs:{region}:{account}:log-group:{log_group}:*"}]
        fn = self.spec.functions[key]
        if fn.table_actions:
            table: dict[str, Any] = {
                "Sid": "OwnTable", "Effect": "Allow",
                "Action": [f"dynamodb:{a}" for a in sorted(fn.table_actions)],
                "Resource": f"arn:aws:dynamodb:{region}:{account}:table/{naming.table_name(self.spec)}"}
            if fn.table_key_prefixes:
                # Every partition key the request touches must start with one of the prefixes
                # (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html).
                table["Condition"] = {"ForAllValues:StringLike": {
                    "dynamodb:LeadingKeys": [f"{p}*" for p in sorted(fn.table_key_prefixes)]}}
            statements.append(table)
        statements += self._ingest_statements(key)
        return {"Version": "2012-10-17", "Statement": statements}

    def _ingest_statements(self, key: str) -> list[dict[str, Any]]:
        """The stream path (ingest: stream): the collector puts records on the stream; the aggregator's
        event source mapping reads it with the aggregator's role and sends failed records to the queue
        (https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-create.html)."""
        ingest = self.spec.ingest
        if not self.spec.streamed:
            return []
        region, account = self.ctx.region, self.ctx.account_id
        stream = f"arn:aws:kinesis:{region}:{account}:stream/{naming.stream_name(self.spec)}"
        if key == ingest.collector:
            return [{"Sid": "PutOnStream", "Effect": "Allow", "Action": ["kinesis:PutRecords"], "Resource": stream}]
        if key == ingest.aggregator:
            return [{"Sid": "ReadStream", "Effect": "Allow",
                     "Action": ["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords",
                                "kinesis:GetShardIterator", "kinesis:ListShards"],
                     "Resource": stream},
                    {"Sid": "FailedRecords", "Effect": "Allow", "Action": ["sqs:SendMessage"],
                     "Resource": f"arn:aws:sqs:{region}:{account}:{naming.failure_queue_name(self.spec)}"}]
        return []

    def desired(self, name: str, outputs: Outputs) -> dict[str, Any]:
        key = self._key(name)
        return {"path": naming.role_path(self.spec),
                "assume_role_policy": normalize_policy(ASSUME_ROLE),
                "description": f"LiveInsight {key} function ({naming.stack_id(self.spec)})",
                "max_session_s": 3600,
                "inline_policies": {POLICY_NAME: normalize_policy(self.policy_for(key))},
                "attached_policies": [],
                "permissions_boundary": naming.boundary_arn(self.spec, self.ctx.account_id),
                "tags": naming.resource_tags(self.spec)}

    def observe(self, for_destroy: bool = False) -> dict[str, Observed]:
        return {n: o for n, o in self.parallel(lambda n: (n, self._read_role(n)), self.names()) if o is not None}

    def _read_role(self, name: str) -> Observed | None:
        """The role with its policies and tags, or None when there is no such role."""
        iam = self.client("iam")

        # One round of calls per role when it has only the policy the tool puts there: the role, both
        # policy lists and that policy at once (its name is known beforehand); any other inline
        # policy the list names is read in a second round (IAM answers in about 120 ms per call).
        def get(op: str, call: Callable[[], Any]) -> Any:
            """The answer, or None when the role (or the policy) is not there."""
            return self.read(name, op, call, absent=("NoSuchEntity",))

        def policy(pname: str) -> tuple[str, Any]:
            doc = get("GetRolePolicy", lambda: iam.get_role_policy(RoleName=name, PolicyName=pname))
            return pname, normalize_policy(doc["PolicyDocument"]) if doc else None

        role_r, inline_r, attached_r, ours = self.concurrently([
            lambda: get("GetRole", lambda: iam.get_role(RoleName=name)),
            lambda: get("ListRolePolicies", lambda: iam.list_role_policies(RoleName=name)),
            lambda: get("ListAttachedRolePolicies", lambda: iam.list_attached_role_policies(RoleName=name)),
            lambda: policy(POLICY_NAME)])
        if role_r is None or inline_r is None or attached_r is None:
            return None
        role = role_r["Role"]
        listed = inline_r["PolicyNames"]
        others = [n for n in listed if n != POLICY_NAME]
        read = dict([ours] if POLICY_NAME in listed else []) | dict(self.parallel(policy, others))
        inline = {n: read[n] for n in listed if read[n] is not None}
        attached = attached_r["AttachedPolicies"]
        tags = tag_list_to_dict(role.get("Tags"))
        state = {"path": role["Path"],
                 "assume_role_policy": normalize_policy(role["AssumeRolePolicyDocument"]),
                 "description": role.get("Description", ""),
                 "max_session_s": role.get("MaxSessionDuration", 3600),
                 "inline_policies": inline,
                 "attached_policies": sorted(p["PolicyArn"] for p in attached),
                 "permissions_boundary": (role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn"),
                 "tags": user_tags(tags)}
        return Observed(state, {"arn": role["Arn"]}, naming.is_owned(self.spec, tags))

    def create(self, name: str, desired: dict[str, Any]) -> Observed:
        iam = self.client("iam")
        created = False
        with self.calling(name, "CreateRole", ignore=("EntityAlreadyExists",)):
            iam.create_role(RoleName=name, Path=desired["path"],
                            AssumeRolePolicyDocument=json.dumps(desired["assume_role_policy"]),
                            Description=desired["description"], MaxSessionDuration=desired["max_session_s"],
                            PermissionsBoundary=desired["permissions_boundary"],
                            Tags=dict_to_tag_list(desired["tags"]))
            created = True
        if not created:  # there already: ours from an interrupted apply, or somebody else's
            current = self._read_role(name)
            if current is None:  # deleted again since CreateRole answered
                raise LiveInsightError(f"{self.kind} {name}: CreateRole says the role exists, but GetRole does not "
                                       "find it. Nothing was changed; run apply again.")
            self.refuse_foreign(name, bool(current.owned))
            return self.converge(name, desired, current)
        for pname, doc in desired["inline_policies"].items():
            self._put_policy(name, pname, doc)
        return Observed(dict(desired), {"arn": self._arn(name)}, True)

    def update(self, name: str, desired: dict[str, Any], current: Observed,
               diffs: tuple[FieldDiff, ...]) -> Observed:
        iam = self.client("iam")
        fields = fields_of(diffs)
        if "permissions_boundary" in fields:  # first: the deployer may change a role only under it
            with self.calling(name, "PutRolePermissionsBoundary"):
                iam.put_role_permissions_boundary(RoleName=name, PermissionsBoundary=desired["permissions_boundary"])
        if "assume_role_policy" in fields:
            with self.calling(name, "UpdateAssumeRolePolicy"):
                iam.update_assume_role_policy(RoleName=name,
                                              PolicyDocument=json.dumps(desired["assume_role_policy"]))
        if {"description", "max_session_s"} & fields:
            with self.calling(name, "UpdateRole"):
                iam.update_role(RoleName=name, Description=desired["description"],
                                MaxSessionDuration=desired["max_session_s"])
        wanted = desired["inline_policies"]
        for pname in sorted(self._policies_in(diffs, current, desired)):
            if pname in wanted:
                self._put_policy(name, pname, wanted[pname])
            else:  # not declared in the spec
                with self.calling(name, "DeleteRolePolicy", ignore=("NoSuchEntity",)):
                    iam.delete_role_policy(RoleName=name, PolicyName=pname)
        for d in diffs:
            if d.path == "attached_policies":  # a list, compared whole: detach what the spec lacks
                for arn in sorted(set(d.before or ()) - set(d.after or ())):
                    with self.calling(name, "DetachRolePolicy", ignore=("NoSuchEntity",)):
                        iam.detach_role_policy(RoleName=name, PolicyArn=arn)
        if "tags" in fields:
            self.sync_tags(name, current.state["tags"], desired["tags"],
                           lambda t: iam.tag_role(RoleName=name, Tags=dict_to_tag_list(t)),
                           lambda keys: iam.untag_role(RoleName=name, TagKeys=keys))
        return Observed(dict(desired), current.meta, True)

    def explain(self, diffs: tuple[FieldDiff, ...], desired: dict[str, Any]) -> tuple[FieldDiff, ...]:
        declared = desired["inline_policies"]
        return tuple(d.because(POLICY_PUT_BACK) if not d.why and entries((d,), "inline_policies", declared) else d
                     for d in diffs)

    @staticmethod
    def _policies_in(diffs: tuple[FieldDiff, ...], current: Observed, desired: dict[str, Any]) -> set[str]:
        """The inline policies the diffs name (to put, or to delete when the spec lacks them)."""
        return set(entries(diffs, "inline_policies",
                           {*current.state["inline_policies"], *desired["inline_policies"]}))

    def delete(self, name: str, current: Observed) -> None:
        iam = self.client("iam")
        for pname in current.state.get("inline_policies", {}):
            with self.calling(name, "DeleteRolePolicy", ignore=("NoSuchEntity",)):
                iam.delete_role_policy(RoleName=name, PolicyName=pname)
        for arn in current.state.get("attached_policies", []):
            with self.calling(name, "DetachRolePolicy", ignore=("NoSuchEntity",)):
                iam.detach_role_policy(RoleName=name, PolicyArn=arn)
        with self.calling(name, "DeleteRole", ignore=("NoSuchEntity",)):
            iam.delete_role(RoleName=name)

    def outputs(self, name: str, current: Observed | None) -> NameArnOutputs:
        return {"name": name, "arn": current.meta["arn"] if current else self._arn(name)}

    def _arn(self, name: str) -> str:
        return f"arn:aws:iam::{self.ctx.account_id}:role{naming.role_path(self.spec)}{name}"

    def _put_policy(self, name: str, pname: str, doc: dict[str, Any]) -> None:
        with self.calling(name, "PutRolePolicy"):
            self.client("iam").put_role_policy(RoleName=name, PolicyName=pname, PolicyDocument=json.dumps(doc))
