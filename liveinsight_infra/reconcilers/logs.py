"""CloudWatch log groups for each function and for the API's access logs.

Created before the functions, so Lambda never creates them itself with no expiry. One
``describe_log_groups`` per group (exact-name prefix); tags are set at creation and read only to
confirm ownership for destroy. Use ``logGroupArn`` (no ``:*``) for tag calls (docs/moto-gaps.md).
"""

from __future__ import annotations

from typing import Any

from .. import naming
from ..plan import FieldDiff
from .base import Observed, Outputs, Reconciler
from .kind_outputs import NameArnOutputs, keys


class LogGroupReconciler(Reconciler):
    kind = "logs.log_group"
    output_keys = keys(NameArnOutputs)

    def names(self) -> list[str]:
        groups = [naming.function_log_group(self.spec, key) for key in self.spec.functions]
        return [*groups, naming.api_log_group(self.spec)]

    def desired(self, name: str, outputs: Outputs) -> dict[str, Any]:
        return {"retention_days": self.spec.logs.retention_days}

    def observe(self, for_destroy: bool = False) -> dict[str, Observed]:
        """One paginated ``describe_log_groups`` for all of them. ``logGroupNamePattern`` is a
        substring filter on AWS (moto ignores it); names are matched exactly here either way."""
        logs = self.client("logs")
        wanted = set(self.names())
        found: dict[str, Observed] = {}
        with self.calling(f"{self.spec.project}-*", "DescribeLogGroups"):
            pages = logs.get_paginator("describe_log_groups").paginate(logGroupNamePattern=f"{self.spec.project}-")
            for page in pages:
                for group in page["logGroups"]:
                    if group["logGroupName"] in wanted:
                        arn = group.get("logGroupArn") or group["arn"].removesuffix(":*")
                        found[group["logGroupName"]] = Observed({"retention_days": group.get("retentionInDays")},
                                                                {"arn": arn})
        if for_destroy:
            def owned(item: tuple[str, Observed]) -> None:
                with self.calling(item[0], "ListTagsForResource"):
                    tags = logs.list_tags_for_resource(resourceArn=item[1].meta["arn"]).get("tags", {})
                item[1].owned = naming.is_owned(self.spec, tags)

            self.parallel(owned, list(found.items()))
        return found

    def read_owned(self, name: str, current: Observed) -> bool | None:
        with self.calling(name, "ListTagsForResource"):
            tags = self.client("logs").list_tags_for_resource(resourceArn=current.meta["arn"]).get("tags", {})
        return naming.is_owned(self.spec, tags)

    def take_ownership(self, name: str, current: Observed) -> Observed:
        with self.calling(name, "TagResource"):
            self.client("logs").tag_resource(resourceArn=current.meta["arn"], tags=naming.resource_tags(self.spec))
        return Observed(current.state, current.meta, True)

    def create(self, name: str, desired: dict[str, Any]) -> Observed:
        logs = self.client("logs")
        # Already there: a race with Lambda's own logging, or an interrupted earlier apply.
        with self.calling(name, "CreateLogGroup", ignore=("ResourceAlreadyExistsException",)):
            logs.create_log_group(logGroupName=name, tags=naming.resource_tags(self.spec))
        self._put_retention(name, desired["retention_days"])
        return Observed(dict(desired), {"arn": self._arn(name)})

    def update(self, name: str, desired: dict[str, Any], current: Observed,
               diffs: tuple[FieldDiff, ...]) -> Observed:
        self._put_retention(name, desired["retention_days"])
        return Observed(dict(desired), current.meta, current.owned)

    def delete(self, name: str, current: Observed) -> None:
        with self.calling(name, "DeleteLogGroup", ignore=("ResourceNotFoundException",)):
            self.client("logs").delete_log_group(logGroupName=name)

    def outputs(self, name: str, current: Observed | None) -> NameArnOutputs:
        return {"name": name, "arn": self._arn(name)}

    def _put_retention(self, name: str, days: int) -> None:
        with self.calling(name, "PutRetentionPolicy"):
            self.client("logs").put_retention_policy(logGroupName=name, retentionInDays=days)

    def _arn(self, name: str) -> str:
        return f"arn:aws:logs:{self.ctx.region}:{self.ctx.account_id}:log-group:{name}"
