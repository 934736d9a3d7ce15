"""The event source mapping that feeds the ingest stream to the aggregator's ``live`` alias
(``ingest: stream``), absent otherwise.

How a failing batch is handled (https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html):
the aggregator reports the records it could not process (``ReportBatchItemFailures``), so Lambda
retries from the first of them; a batch that keeps failing is split in two
(``BisectBatchOnFunctionError``) until the poison record is alone; after ``max_retries`` its
description goes to the failure queue and the shard moves on. Records start at ``TRIM_HORIZON``:
nothing put on the stream before the mapping existed is skipped.

A mapping has no name: it is found by listing the mappings of the stream and picking the one
whose function is the aggregator. ``CreateEventSourceMapping`` does not refuse a second identical
mapping everywhere (moto does not), so create looks first. The starting position cannot change in
place: a difference there is a replace.
"""

from __future__ import annotations

from typing import Any

from .. import naming
from ..aws.retry import ESM_IN_USE, ESM_ROLE_PROPAGATION, RetryRule, with_retries
from ..diff import fields_of, user_tags
from ..plan import UNKNOWN, FieldDiff
from .base import Observed, Outputs, Reconciler
from .kind_outputs import MappingOutputs, keys
from .lambda_ import ALIAS

_SETTLING = ("Creating", "Enabling", "Updating", "Disabling")
_GONE = ("ResourceNotFoundException",)


class EventSourceMappingReconciler(Reconciler):
    kind = "lambda.event_source_mapping"
    output_keys = keys(MappingOutputs)
    depends_on = ("kinesis.stream", "sqs.queue", "iam.role", "lambda.function")
    replace_fields = frozenset({"starting_position", "event_source"})

    def _function(self) -> str:
        return naming.function_name(self.spec, self.spec.ingest.aggregator)

    def names(self) -> list[str]:
        if not self.spec.streamed:
            return []
        return [f"{naming.stream_name(self.spec)}->{self._function()}"]

    def _stream_arn(self) -> str:
        return f"arn:aws:kinesis:{self.ctx.region}:{self.ctx.account_id}:stream/{naming.stream_name(self.spec)}"

    def _function_arn(self) -> str:
        return f"arn:aws:lambda:{self.ctx.region}:{self.ctx.account_id}:function:{self._function()}"

    def desired(self, name: str, outputs: Outputs) -> dict[str, Any]:
        ingest = self.spec.ingest
        queue = self.upstream(outputs, "sqs.queue").get(naming.failure_queue_name(self.spec), {}).get("arn", UNKNOWN)
        return {"event_source": self._stream_arn(), "function": f"{self._function_arn()}:{ALIAS}",
                "enabled": True, "batch_size": ingest.batch_size, "batching_window_s": ingest.batching_window_s,
                "starting_position": "TRIM_HORIZON", "bisect_on_error": True,
                "max_retries": ingest.max_retries, "on_failure": queue,
                "response_types": ["ReportBatchItemFailures"], "tags": naming.resource_tags(self.spec)}

    def observe(self, for_destroy: bool = False) -> dict[str, Observed]:
        names = self.names() or [f"{naming.stream_name(self.spec)}->{self._function()}"]
        name = names[0]
        found = self._find(name)
        return {name: found} if found is not None else {}

    def _find(self, name: str) -> Observed | None:
        lam = self.client("lambda")
        with self.calling(name, "ListEventSourceMappings"):
            pages = lam.get_paginator("list_event_source_mappings").paginate(EventSourceArn=self._stream_arn())
            mappings = [m for p in pages for m in p.get("EventSourceMappings", [])]
        # The function ARN comes back as given (the ":live" alias) on AWS; moto answers the
        # version the alias pointed at (docs/moto-gaps.md).
        ours = [m for m in mappings if m.get("FunctionArn", "").split(":")[6:7] == [self._function()]
                and m.get("State") != "Deleting"]
        if not ours:
            return None
        m = ours[0]
        with self.calling(name, "ListTags"):
            tags = lam.list_tags(Resource=m["EventSourceMappingArn"]).get("Tags", {})
        function = _qualified(m["FunctionArn"])
        state = {"event_source": m.get("EventSourceArn"), "function": function,
                 "enabled": m.get("State") not in ("Disabled", "Disabling"),
                 "batch_size": m.get("BatchSize"), "batching_window_s": m.get("MaximumBatchingWindowInSeconds", 0),
                 "starting_position": m.get("StartingPosition"),
                 "bisect_on_error": bool(m.get("BisectBatchOnFunctionError")),
                 "max_retries": m.get("MaximumRetryAttempts", -1),
                 "on_failure": ((m.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination"),
                 "response_types": sorted(m.get("FunctionResponseTypes") or []), "tags": user_tags(tags)}
        meta = {"uuid": m["UUID"], "arn": m["EventSourceMappingArn"], "state": m.get("State")}
        return Observed(state, meta, naming.is_owned(self.spec, tags))

    def _call(self, name: str, operation: str, call: Any, *rules: RetryRule, ignore: tuple[str, ...] = ()) -> Any:
        with self.calling(name, operation, ignore=ignore):
            return with_retries(call, *rules, sleep=self.ctx.sleep)
        return None

    def _settle(self, name: str, uuid: str) -> None:
        """Wait until the mapping is Enabled or Disabled (it refuses changes while it moves)."""
        lam = self.client("lambda")
        for _ in range(120):
            got = self.read(name, "GetEventSourceMapping", lambda: lam.get_event_source_mapping(UUID=uuid),
                            absent=_GONE)
            if got is None or got.get("State") not in _SETTLING:  # gone, or settled
                return
            self.ctx.sleep(2)

    def _settings(self, desired: dict[str, Any]) -> dict[str, Any]:
        return {"FunctionName": desired["function"], "Enabled": desired["enabled"],
                "BatchSize": desired["batch_size"], "MaximumBatchingWindowInSeconds": desired["batching_window_s"],
                "BisectBatchOnFunctionError": desired["bisect_on_error"],
                "MaximumRetryAttempts": desired["max_retries"],
                "DestinationConfig": {"OnFailure": {"Destination": desired["on_failure"]}},
                "FunctionResponseTypes": desired["response_types"]}

    def create(self, name: str, desired: dict[str, Any]) -> Observed:
        existing = self._find(name)  # an interrupted apply's mapping: finish it instead of a second one
        if existing is not None:
            self.refuse_foreign(name, bool(existing.owned))
            return self.converge(name, desired, existing)
        lam = self.client("lambda")
        made = self._call(name, "CreateEventSourceMapping", lambda: lam.create_event_source_mapping(
            EventSourceArn=desired["event_source"], StartingPosition=desired["starting_position"],
            Tags=desired["tags"], **self._settings(desired)), ESM_ROLE_PROPAGATION)
        self._settle(name, made["UUID"])
        return Observed(dict(desired), {"uuid": made["UUID"], "arn": made.get("EventSourceMappingArn")}, True)

    def update(self, name: str, desired: dict[str, Any], current: Observed,
               diffs: tuple[FieldDiff, ...]) -> Observed:
        lam = self.client("lambda")
        uuid = current.meta["uuid"]
        have = current.state
        fields = fields_of(diffs)
        if fields - {"tags", "event_source", "starting_position"}:
            self._settle(name, uuid)
            self._call(name, "UpdateEventSourceMapping", lambda: lam.update_event_source_mapping(
                UUID=uuid, **self._settings(desired)), ESM_IN_USE, ESM_ROLE_PROPAGATION)
        if "tags" in fields:
            arn = current.meta["arn"]
            self.sync_tags(name, have.get("tags") or {}, desired["tags"],
                           lambda t: lam.tag_resource(Resource=arn, Tags=t),
                           lambda keys: lam.untag_resource(Resource=arn, TagKeys=keys))
        return Observed(dict(desired), current.meta, True)

    def delete(self, name: str, current: Observed) -> None:
        self._settle(name, current.meta["uuid"])
        self._call(name, "DeleteEventSourceMapping",
                   lambda: self.client("lambda").delete_event_source_mapping(UUID=current.meta["uuid"]),
                   ESM_IN_USE, ignore=_GONE)

    def outputs(self, name: str, current: Observed | None) -> dict[str, Any]:
        return {"uuid": current.meta["uuid"] if current else UNKNOWN}


def _qualified(arn: str) -> str:
    """The mapping's function as the tool gave it: moto resolves the alias to a version number."""
    parts = arn.split(":")
    if len(parts) == 7:
        return f"{arn}:{ALIAS}"
    if parts[7].isdigit():
        return ":".join([*parts[:7], ALIAS])
    return arn
