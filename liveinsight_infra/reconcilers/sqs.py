"""The failure queue of the stream ingest path: where the event source mapping sends the records
the aggregator could not process (``ingest: stream``), absent otherwise.

Encrypted at rest with SQS-managed keys (SSE-SQS: no key to manage, no KMS permission for the
sender: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-server-side-encryption.html).
The messages are kept for the longest period SQS allows (14 days), so somebody has time to look.
Messages in it are data: destroy keeps a queue that holds some, unless ``--force``.
"""

from __future__ import annotations

from typing import Any

from .. import naming
from ..diff import fields_of, user_tags
from ..plan import FieldDiff
from .base import Observed, Outputs, Reconciler
from .kind_outputs import NameArnOutputs, keys

RETENTION_S = 14 * 24 * 3600  # SQS's maximum
_MISSING = ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")


class QueueReconciler(Reconciler):
    kind = "sqs.queue"
    output_keys = keys(NameArnOutputs)

    def names(self) -> list[str]:
        return [naming.failure_queue_name(self.spec)] if self.spec.streamed else []

    def desired(self, name: str, outputs: Outputs) -> dict[str, Any]:
        return {"sse": True, "retention_s": RETENTION_S, "visibility_timeout_s": 30,
                "tags": naming.resource_tags(self.spec)}

    def observe(self, for_destroy: bool = False) -> dict[str, Observed]:
        name = naming.failure_queue_name(self.spec)
        url = self._url(name)
        return {name: self._read(name, url)} if url is not None else {}

    def _url(self, name: str) -> str | None:
        """The queue's URL, or None when there is no such queue."""
        sqs = self.client("sqs")
        found = self.read(name, "GetQueueUrl", lambda: sqs.get_queue_url(QueueName=name), absent=_MISSING)
        return str(found["QueueUrl"]) if found is not None else None

    def _read(self, name: str, url: str) -> Observed:
        sqs = self.client("sqs")
        with self.calling(name, "GetQueueAttributes"):
            attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        with self.calling(name, "ListQueueTags"):
            tags = sqs.list_queue_tags(QueueUrl=url).get("Tags", {})
        state = {"sse": attrs.get("SqsManagedSseEnabled") == "true",
                 "retention_s": int(attrs.get("MessageRetentionPeriod", 345600)),
                 "visibility_timeout_s": int(attrs.get("VisibilityTimeout", 30)), "tags": user_tags(tags)}
        held = sum(int(attrs.get(a, 0)) for a in ("ApproximateNumberOfMessages",
                                                  "ApproximateNumberOfMessagesNotVisible"))
        return Observed(state, {"url": url, "arn": attrs["QueueArn"], "messages": held},
                        naming.is_owned(self.spec, tags))

    def keep_on_delete(self, current: Observed) -> str | None:
        n = current.meta.get("messages", 0)
        return f"holds {n} failed records" if n else None

    def _attributes(self, desired: dict[str, Any]) -> dict[str, str]:
        return {"SqsManagedSseEnabled": "true" if desired["sse"] else "false",
                "MessageRetentionPeriod": str(desired["retention_s"]),
                "VisibilityTimeout": str(desired["visibility_timeout_s"])}

    def create(self, name: str, desired: dict[str, Any]) -> Observed:
        sqs = self.client("sqs")
        # Look first: CreateQueue answers an existing queue with the same attributes as if it had
        # made it (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html),
        # so only a read tells an interrupted apply's queue from somebody else's.
        url = self._url(name)
        if url is not None:
            current = self._read(name, url)
            self.refuse_foreign(name, bool(current.owned))
            return self.converge(name, desired, current)
        # It fails with QueueAlreadyExists when one with other attributes appeared meanwhile: read it.
        with self.calling(name, "CreateQueue", ignore=("QueueAlreadyExists", "QueueNameExists")):
            url = sqs.create_queue(QueueName=name, Attributes=self._attributes(desired),
                                   tags=desired["tags"])["QueueUrl"]
        if url is None:
            with self.calling(name, "GetQueueUrl"):
                url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        current = self._read(name, url)
        self.refuse_foreign(name, bool(current.owned))
        return self.converge(name, desired, current)

    def update(self, name: str, desired: dict[str, Any], current: Observed,
               diffs: tuple[FieldDiff, ...]) -> Observed:
        sqs = self.client("sqs")
        url = current.meta["url"]
        have = current.state
        fields = fields_of(diffs)
        if fields & {"sse", "retention_s", "visibility_timeout_s"}:
            with self.calling(name, "SetQueueAttributes"):
                sqs.set_queue_attributes(QueueUrl=url, Attributes=self._attributes(desired))
        if "tags" in fields:
            self.sync_tags(name, have["tags"], desired["tags"],
                           lambda t: sqs.tag_queue(QueueUrl=url, Tags=t),
                           lambda keys: sqs.untag_queue(QueueUrl=url, TagKeys=keys))
        return Observed(dict(desired), current.meta, True)

    def delete(self, name: str, current: Observed) -> None:
        # AWS refuses a queue of the same name for 60 s after this (CreateQueue's documentation).
        with self.calling(name, "DeleteQueue", ignore=_MISSING):
            self.client("sqs").delete_queue(QueueUrl=current.meta["url"])

    def outputs(self, name: str, current: Observed | None) -> dict[str, Any]:
        return {"name": name, "arn": self.arn(name)}

    def arn(self, name: str) -> str:
        return f"arn:aws:sqs:{self.ctx.region}:{self.ctx.account_id}:{name}"
