"""The stack's permissions boundary: a customer-managed policy that caps every function role.

A role's effective permissions are the intersection of its own policies and its boundary
(https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html). The deployer
policy (docs/deployer-policy.json) lets the deployer create and change roles only when they carry
this boundary, so a deployer cannot mint a role that does more than write the stack's function
logs and use the stack's table, whatever inline policy it writes.

The policy is named ``{project}-boundary-{env}`` at the roles' path ``/{project}-{env}/``, tagged
with the stack, and reconciled like any resource: a changed document is drift (repaired with a new
default version; IAM keeps at most five, so the oldest spare one is deleted first), and destroy
removes it after the roles (the registry orders it before them).
"""

from __future__ import annotations

import json
from typing import Any

from .. import naming
from ..diff import dict_to_tag_list, fields_of, normalize_policy, tag_list_to_dict, user_tags
from ..plan import FieldDiff
from ..spec.model import TABLE_ACTIONS
from .base import Observed, Outputs, Reconciler
from .kind_outputs import ArnOutputs, keys

MAX_VERSIONS = 5  # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html


def boundary_document(spec: Any, region: str, account: str) -> dict[str, Any]:
    """The most any function role of the stack may do: its own logs, the stack's table, and on the
    stream path its stream and failure queue."""
    log_groups = f"/aws/lambda/{spec.project}-*-{spec.environment}"
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "FunctionLogs", "Effect": "Allow",
         "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": f"arn:aws:logs:{region}:{account}:log-group:{log_groups}:*"},
        {"Sid": "StackTable", "Effect": "Allow",
         "Action": [f"dynamodb:{a}" for a in sorted(TABLE_ACTIONS)],
         "Resource": f"arn:aws:dynamodb:{region}:{account}:table/{naming.table_name(spec)}"},
        *_stream_statements(spec, region, account),
    ]}


# What the collector and the aggregator's event source mapping do with the stream path's stream and
# failure queue (https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-create.html); nothing
# without ``ingest: stream``.
STREAM_ACTIONS = ("kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords",
                  "kinesis:GetShardIterator", "kinesis:ListShards", "kinesis:PutRecords")


def _stream_statements(spec: Any, region: str, account: str) -> list[dict[str, Any]]:
    if not spec.streamed:
        return []
    return [{"Sid": "StackStream", "Effect": "Allow", "Action": list(STREAM_ACTIONS),
             "Resource": f"arn:aws:kinesis:{region}:{account}:stream/{naming.stream_name(spec)}"},
            {"Sid": "StackFailureQueue", "Effect": "Allow", "Action": ["sqs:SendMessage"],
             "Resource": f"arn:aws:sqs:{region}:{account}:{naming.failure_queue_name(spec)}"}]


class BoundaryReconciler(Reconciler):
    kind = "iam.boundary"
    output_keys = keys(ArnOutputs)
    replace_fields = frozenset({"path", "description"})  # IAM cannot change either in place

    def names(self) -> list[str]:
        return [naming.boundary_name(self.spec)]

    def arn(self) -> str:
        return naming.boundary_arn(self.spec, self.ctx.account_id)

    def desired(self, name: str, outputs: Outputs) -> dict[str, Any]:
        return {"path": naming.role_path(self.spec),
                "description": f"Permissions boundary of the {naming.stack_id(self.spec)} function roles",
                "document": normalize_policy(boundary_document(self.spec, self.ctx.region, self.ctx.account_id)),
                "tags": naming.resource_tags(self.spec)}

    def observe(self, for_destroy: bool = False) -> dict[str, Observed]:
        iam, name, arn = self.client("iam"), naming.boundary_name(self.spec), self.arn()
        found = self.read(name, "GetPolicy", lambda: iam.get_policy(PolicyArn=arn), absent=("NoSuchEntity",))
        if found is None:
            return {}
        policy = found["Policy"]
        with self.calling(name, "GetPolicyVersion"):
            version = iam.get_policy_version(PolicyArn=arn, VersionId=policy["DefaultVersionId"])
        doc = version["PolicyVersion"]["Document"]
        if isinstance(doc, str):
            doc = json.loads(doc)
        tags = tag_list_to_dict(policy.get("Tags"))
        state = {"path": policy["Path"], "description": policy.get("Description", ""),
                 "document": normalize_policy(doc), "tags": user_tags(tags)}
        return {name: Observed(state, {"arn": arn}, naming.is_owned(self.spec, tags))}

    def create(self, name: str, desired: dict[str, Any]) -> Observed:
        with self.calling(name, "CreatePolicy", ignore=("EntityAlreadyExists",)):
            self.client("iam").create_policy(PolicyName=name, Path=desired["path"],
                                             PolicyDocument=json.dumps(desired["document"]),
                                             Description=desired["description"],
                                             Tags=dict_to_tag_list(desired["tags"]))
        return Observed(dict(desired), {"arn": self.arn()}, True)

    def update(self, name: str, desired: dict[str, Any], current: Observed,
               diffs: tuple[FieldDiff, ...]) -> Observed:
        iam, arn = self.client("iam"), self.arn()
        fields = fields_of(diffs)
        if "document" in fields:
            self._make_room(name)
            with self.calling(name, "CreatePolicyVersion"):
                iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(desired["document"]),
                                          SetAsDefault=True)
        if "tags" in fields:
            self.sync_tags(name, current.state["tags"], desired["tags"],
                           lambda t: iam.tag_policy(PolicyArn=arn, Tags=dict_to_tag_list(t)),
                           lambda keys: iam.untag_policy(PolicyArn=arn, TagKeys=keys))
        return Observed(dict(desired), current.meta, True)

    def delete(self, name: str, current: Observed) -> None:
        iam, arn = self.client("iam"), self.arn()
        for version in self._spare_versions(name):
            with self.calling(name, "DeletePolicyVersion", ignore=("NoSuchEntity",)):
                iam.delete_policy_version(PolicyArn=arn, VersionId=version)
        with self.calling(name, "DeletePolicy", ignore=("NoSuchEntity",)):
            iam.delete_policy(PolicyArn=arn)

    def outputs(self, name: str, current: Observed | None) -> ArnOutputs:
        return {"arn": self.arn()}

    def _spare_versions(self, name: str) -> list[str]:
        """The versions that are not the default, oldest first."""
        iam = self.client("iam")
        found = self.read(name, "ListPolicyVersions", lambda: iam.list_policy_versions(PolicyArn=self.arn()),
                          absent=("NoSuchEntity",))
        versions = found["Versions"] if found is not None else []  # no policy: no versions
        spare = sorted((v for v in versions if not v["IsDefaultVersion"]),
                       key=lambda v: int(str(v["VersionId"]).lstrip("v")))  # v1, v2, ...: oldest first
        return [v["VersionId"] for v in spare]

    def _make_room(self, name: str) -> None:
        spare = self._spare_versions(name)
        if len(spare) + 1 >= MAX_VERSIONS:
            with self.calling(name, "DeletePolicyVersion", ignore=("NoSuchEntity",)):
                self.client("iam").delete_policy_version(PolicyArn=self.arn(), VersionId=spare[0])
