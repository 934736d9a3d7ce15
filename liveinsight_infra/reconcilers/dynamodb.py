"""The stack's DynamoDB table: on-demand, TTL on raw events, point-in-time recovery, tags.

Key schema (``pk``/``sk``, both strings) cannot change in place: a difference there is a replace.
The table design and its access patterns are in docs/storage.md.
"""

from __future__ import annotations

from typing import Any

from .. import naming
from ..diff import dict_to_tag_list, diff_state, fields_of, tag_list_to_dict, user_tags
from ..errors import LiveInsightError
from ..plan import FieldDiff
from .base import Observed, Outputs, Reconciler
from .kind_outputs import NameArnOutputs, keys

KEY_SCHEMA = "pk:S:HASH,sk:S:RANGE"


class TableReconciler(Reconciler):
    kind = "dynamodb.table"
    output_keys = keys(NameArnOutputs)
    replace_fields = frozenset({"key_schema"})

    def names(self) -> list[str]:
        return [naming.table_name(self.spec)]

    def desired(self, name: str, outputs: Outputs) -> dict[str, Any]:
        t = self.spec.table
        return {"key_schema": KEY_SCHEMA, "billing_mode": "PAY_PER_REQUEST",
                "ttl_attribute": t.ttl_attribute, "point_in_time_recovery": t.point_in_time_recovery,
                "deletion_protection": t.deletion_protection, "tags": naming.resource_tags(self.spec)}

    def observe(self, for_destroy: bool = False) -> dict[str, Observed]:
        ddb = self.client("dynamodb")
        name = self.names()[0]
        found = self.read(name, "DescribeTable", lambda: ddb.describe_table(TableName=name),
                          absent=("ResourceNotFoundException",))
        if found is None:
            return {}
        observed = self._read_rest(name, found["Table"])
        if for_destroy:  # ItemCount lags by hours on AWS: look for one real item instead
            with self.calling(name, "Scan"):
                observed.meta["holds_data"] = ddb.scan(TableName=name, Limit=1, Select="COUNT")["Count"] > 0
        return {name: observed}

    def keep_on_delete(self, current: Observed) -> str | None:
        if "holds_data" not in current.meta:  # asked for a replace outside destroy: look now, once
            ddb = self.client("dynamodb")
            name = self.names()[0]
            with self.calling(name, "Scan"):
                current.meta["holds_data"] = ddb.scan(TableName=name, Limit=1, Select="COUNT")["Count"] > 0
        return _why_kept(current)

    def _read_rest(self, name: str, table: dict[str, Any]) -> Observed:
        ddb = self.client("dynamodb")
        arn = table["TableArn"]

        def ttl() -> Any:
            with self.calling(name, "DescribeTimeToLive"):
                return ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]

        def pitr() -> Any:
            with self.calling(name, "DescribeContinuousBackups"):
                desc = ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
            return desc.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus")

        def tags() -> Any:
            with self.calling(name, "ListTagsOfResource"):
                return tag_list_to_dict(ddb.list_tags_of_resource(ResourceArn=arn).get("Tags", []))

        ttl_desc, pitr_status, tag_map = self.parallel(lambda f: f(), [ttl, pitr, tags])
        keys = {a["AttributeName"]: a["AttributeType"] for a in table.get("AttributeDefinitions", [])}
        schema = ",".join(f"{k['AttributeName']}:{keys.get(k['AttributeName'], '?')}:{k['KeyType']}"
                          for k in table["KeySchema"])
        ttl_on = ttl_desc.get("TimeToLiveStatus") in ("ENABLED", "ENABLING")
        state = {
            "key_schema": schema,
            "billing_mode": table.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED"),
            "ttl_attribute": ttl_desc.get("AttributeName") if ttl_on else None,
            "point_in_time_recovery": pitr_status in ("ENABLED", "ENABLING"),
            "deletion_protection": bool(table.get("DeletionProtectionEnabled", False)),
            "tags": user_tags(tag_map),
        }
        meta = {"arn": arn, "status": table.get("TableStatus")}
        return Observed(state, meta, naming.is_owned(self.spec, tag_map))

    def create(self, name: str, desired: dict[str, Any]) -> Observed:
        ddb = self.client("dynamodb")
        with self.calling(name, "CreateTable", ignore=("ResourceInUseException",)):
            ddb.create_table(
                TableName=name, BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                      {"AttributeName": "sk", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                           {"AttributeName": "sk", "KeyType": "RANGE"}],
                DeletionProtectionEnabled=desired["deletion_protection"],
                Tags=dict_to_tag_list(desired["tags"]))
        with self.calling(name, "DescribeTable (waiting for ACTIVE)"):
            ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 2, "MaxAttempts": 150})
            table = ddb.describe_table(TableName=name)["Table"]
        current = self._read_rest(name, table)
        diffs = diff_state(desired, current.state)
        return self.update(name, desired, current, diffs) if diffs else current

    def update(self, name: str, desired: dict[str, Any], current: Observed,
               diffs: tuple[FieldDiff, ...]) -> Observed:
        ddb = self.client("dynamodb")
        fields = fields_of(diffs)
        if "billing_mode" in fields:
            with self.calling(name, "UpdateTable"):
                ddb.update_table(TableName=name, BillingMode="PAY_PER_REQUEST")
        if "deletion_protection" in fields:
            with self.calling(name, "UpdateTable"):
                ddb.update_table(TableName=name, DeletionProtectionEnabled=desired["deletion_protection"])
        if "ttl_attribute" in fields:
            old = current.state.get("ttl_attribute")
            if old:  # AWS allows one TTL attribute: disable the old one first
                with self.calling(name, "UpdateTimeToLive"):
                    ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={
                        "Enabled": False, "AttributeName": old})
            with self.calling(name, "UpdateTimeToLive"):
                ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={
                    "Enabled": True, "AttributeName": desired["ttl_attribute"]})
        if "point_in_time_recovery" in fields:
            with self.calling(name, "UpdateContinuousBackups"):
                ddb.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={
                    "PointInTimeRecoveryEnabled": desired["point_in_time_recovery"]})
        if "tags" in fields:
            arn = current.meta["arn"]
            self.sync_tags(name, current.state.get("tags", {}), desired["tags"],
                           lambda t: ddb.tag_resource(ResourceArn=arn, Tags=dict_to_tag_list(t)),
                           lambda keys: ddb.untag_resource(ResourceArn=arn, TagKeys=keys))
        return Observed(dict(desired), current.meta, True)

    def delete(self, name: str, current: Observed) -> None:
        ddb = self.client("dynamodb")
        if current.meta.get("holds_data") and not self.ctx.force:  # never planned so; a last guard
            raise LiveInsightError(f"{self.kind} {name} holds data, so it is kept; destroy --force deletes it")
        if current.state.get("deletion_protection"):
            if not self.ctx.force:
                raise LiveInsightError(f"{self.kind} {name} has deletion protection; run destroy with "
                                       "--force to turn it off and delete the table")
            with self.calling(name, "UpdateTable"):
                ddb.update_table(TableName=name, DeletionProtectionEnabled=False)
        with self.calling(name, "DeleteTable", ignore=("ResourceNotFoundException",)):
            ddb.delete_table(TableName=name)

    def outputs(self, name: str, current: Observed | None) -> NameArnOutputs:
        return {"name": name,
                "arn": f"arn:aws:dynamodb:{self.ctx.region}:{self.ctx.account_id}:table/{name}"}


def _why_kept(table: Observed) -> str | None:
    """What keeps a table out of a destroy without ``--force``: its data, or its deletion protection
    (DeleteTable refuses a protected table; the plan says so up front instead of failing halfway)."""
    reasons = [r for r, on in (("holds data", table.meta.get("holds_data")),
                               ("has deletion protection", table.state.get("deletion_protection"))) if on]
    return " and ".join(reasons) or None
