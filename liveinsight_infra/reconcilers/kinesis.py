"""The Kinesis data stream of the stream ingest path (``ingest: stream``), absent otherwise.

On-demand or provisioned shards as the spec says, encrypted with the AWS-managed key
``alias/aws/kinesis`` (no key policy to manage; producers and consumers need no KMS permission:
https://docs.aws.amazon.com/streams/latest/dev/permissions-user-key-KMS.html), a retention period,
tags given at creation. A stream goes through UPDATING after each change and refuses another
one meanwhile, so every write waits until it is ACTIVE again (``stream_exists`` waiter).
"""

from __future__ import annotations

from typing import Any

from .. import naming
from ..diff import fields_of, user_tags
from ..plan import FieldDiff
from .base import Observed, Outputs, Reconciler
from .kind_outputs import NameArnOutputs, keys

KEY = "alias/aws/kinesis"
ENCRYPTION = f"KMS {KEY}"


class StreamReconciler(Reconciler):
    kind = "kinesis.stream"
    output_keys = keys(NameArnOutputs)

    def names(self) -> list[str]:
        return [naming.stream_name(self.spec)] if self.spec.streamed else []

    def desired(self, name: str, outputs: Outputs) -> dict[str, Any]:
        ingest = self.spec.ingest
        on_demand = ingest.shards == "on_demand"
        return {"mode": "ON_DEMAND" if on_demand else "PROVISIONED",
                # On-demand streams scale their shards themselves: the count is not ours to compare.
                "shards": None if on_demand else ingest.shards,
                "retention_hours": ingest.retention_hours, "encryption": ENCRYPTION,
                "tags": naming.resource_tags(self.spec)}

    def observe(self, for_destroy: bool = False) -> dict[str, Observed]:
        kinesis = self.client("kinesis")
        name = naming.stream_name(self.spec)
        found = self.read(name, "DescribeStreamSummary", lambda: kinesis.describe_stream_summary(StreamName=name),
                          absent=("ResourceNotFoundException",))
        if found is None:
            return {}
        summary = found["StreamDescriptionSummary"]
        tags = self._tags(name)
        mode = (summary.get("StreamModeDetails") or {}).get("StreamMode", "PROVISIONED")
        encryption = summary.get("EncryptionType") or "NONE"
        if encryption != "NONE":
            encryption = f"{encryption} {summary.get('KeyId')}"
        state = {"mode": mode, "shards": summary.get("OpenShardCount") if mode == "PROVISIONED" else None,
                 "retention_hours": summary.get("RetentionPeriodHours"), "encryption": encryption,
                 "tags": user_tags(tags)}
        meta = {"arn": summary["StreamARN"], "status": summary.get("StreamStatus")}
        return {name: Observed(state, meta, naming.is_owned(self.spec, tags))}

    def _tags(self, name: str) -> dict[str, str]:
        kinesis = self.client("kinesis")
        tags: dict[str, str] = {}
        start: dict[str, str] = {}
        while True:
            with self.calling(name, "ListTagsForStream"):
                page = kinesis.list_tags_for_stream(StreamName=name, Limit=50, **start)
            tags.update({t["Key"]: t.get("Value", "") for t in page.get("Tags", [])})
            if not page.get("HasMoreTags") or not page.get("Tags"):
                return tags
            start = {"ExclusiveStartTagKey": page["Tags"][-1]["Key"]}

    def _wait(self, name: str) -> None:
        with self.calling(name, "DescribeStream (waiting until ACTIVE)"):
            self.client("kinesis").get_waiter("stream_exists").wait(
                StreamName=name, WaiterConfig={"Delay": 2, "MaxAttempts": 150})

    def create(self, name: str, desired: dict[str, Any]) -> Observed:
        kinesis = self.client("kinesis")
        args: dict[str, Any] = {"StreamName": name, "StreamModeDetails": {"StreamMode": desired["mode"]},
                                "Tags": desired["tags"]}
        if desired["shards"] is not None:
            args["ShardCount"] = desired["shards"]
        created = False
        with self.calling(name, "CreateStream", ignore=("ResourceInUseException",)):
            kinesis.create_stream(**args)
            created = True
        if not created:  # there already: an interrupted apply of this stack, or somebody else's
            self.refuse_foreign(name, naming.is_owned(self.spec, self._tags(name)))
        self._wait(name)
        current = self.observe()[name]
        return self.converge(name, desired, current)

    def update(self, name: str, desired: dict[str, Any], current: Observed,
               diffs: tuple[FieldDiff, ...]) -> Observed:
        kinesis = self.client("kinesis")
        have = current.state
        arn = current.meta["arn"]
        self._wait(name)
        fields = fields_of(diffs)
        if "mode" in fields:
            with self.calling(name, "UpdateStreamMode"):
                kinesis.update_stream_mode(StreamARN=arn, StreamModeDetails={"StreamMode": desired["mode"]})
            self._wait(name)
        if fields & {"mode", "shards"} and desired["shards"] is not None \
                and desired["shards"] != self._open_shards(name, have, desired):  # as it is after a mode change
            with self.calling(name, "UpdateShardCount"):
                kinesis.update_shard_count(StreamName=name, TargetShardCount=desired["shards"],
                                           ScalingType="UNIFORM_SCALING")
            self._wait(name)
        if "retention_hours" in fields:
            if desired["retention_hours"] > (have["retention_hours"] or 24):
                with self.calling(name, "IncreaseStreamRetentionPeriod"):
                    kinesis.increase_stream_retention_period(StreamName=name,
                                                             RetentionPeriodHours=desired["retention_hours"])
            else:
                with self.calling(name, "DecreaseStreamRetentionPeriod"):
                    kinesis.decrease_stream_retention_period(StreamName=name,
                                                             RetentionPeriodHours=desired["retention_hours"])
            self._wait(name)
        if "encryption" in fields:
            with self.calling(name, "StartStreamEncryption"):
                kinesis.start_stream_encryption(StreamName=name, EncryptionType="KMS", KeyId=KEY)
            self._wait(name)
        if "tags" in fields:
            self.sync_tags(name, have["tags"], desired["tags"],
                           lambda t: kinesis.add_tags_to_stream(StreamName=name, Tags=t),
                           lambda keys: kinesis.remove_tags_from_stream(StreamName=name, TagKeys=keys))
        return Observed(dict(desired), current.meta, True)

    def _open_shards(self, name: str, have: dict[str, Any], desired: dict[str, Any]) -> int | None:
        if have["mode"] == desired["mode"]:
            return have["shards"]  # type: ignore[no-any-return]
        with self.calling(name, "DescribeStreamSummary"):  # after a mode change, as it is now
            summary = self.client("kinesis").describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
        return summary.get("OpenShardCount")  # type: ignore[no-any-return]

    def delete(self, name: str, current: Observed) -> None:
        with self.calling(name, "DeleteStream", ignore=("ResourceNotFoundException",)):
            # Consumers registered out of band would block the delete; the stack has none of its own.
            self.client("kinesis").delete_stream(StreamName=name, EnforceConsumerDeletion=True)

    def outputs(self, name: str, current: Observed | None) -> dict[str, Any]:
        return {"name": name, "arn": self.arn(name)}

    def arn(self, name: str) -> str:
        return f"arn:aws:kinesis:{self.ctx.region}:{self.ctx.account_id}:stream/{name}"
