"""The alerts topic that alarms notify (``alerts.topic: true``), with its e-mail subscriptions.

Subscriptions are added when missing; e-mail endpoints stay "pending confirmation" until the
recipient confirms, which AWS shows as a pending subscription (not drift).
"""

from __future__ import annotations

from typing import Any

from .. import naming
from ..diff import dict_to_tag_list, fields_of, tag_list_to_dict, user_tags
from ..plan import FieldDiff
from .base import Observed, Outputs, Reconciler
from .kind_outputs import NameArnOutputs, keys


class TopicReconciler(Reconciler):
    kind = "sns.topic"
    output_keys = keys(NameArnOutputs)

    def names(self) -> list[str]:
        return [naming.topic_name(self.spec)] if self.spec.alerts.topic else []

    def desired(self, name: str, outputs: Outputs) -> dict[str, Any]:
        return {"emails": sorted(self.spec.alerts.emails), "tags": naming.resource_tags(self.spec)}

    def _arn(self, name: str) -> str:
        return f"arn:aws:sns:{self.ctx.region}:{self.ctx.account_id}:{name}"

    def observe(self, for_destroy: bool = False) -> dict[str, Observed]:
        sns = self.client("sns")
        name = naming.topic_name(self.spec)
        arn = self._arn(name)
        if self.read(name, "GetTopicAttributes", lambda: sns.get_topic_attributes(TopicArn=arn),
                     absent=("NotFound", "NotFoundException")) is None:
            return {}
        with self.calling(name, "ListTagsForResource"):
            tags = tag_list_to_dict(sns.list_tags_for_resource(ResourceArn=arn).get("Tags", []))
        with self.calling(name, "ListSubscriptionsByTopic"):
            pages = sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=arn)
            subs = [s for p in pages for s in p.get("Subscriptions", []) if s.get("Protocol") == "email"]
        state = {"emails": sorted({s["Endpoint"] for s in subs}), "tags": user_tags(tags)}
        return {name: Observed(state, {"arn": arn}, naming.is_owned(self.spec, tags))}

    def create(self, name: str, desired: dict[str, Any]) -> Observed:
        with self.calling(name, "CreateTopic"):  # idempotent for the same name and attributes
            arn = self.client("sns").create_topic(Name=name, Tags=dict_to_tag_list(desired["tags"]))["TopicArn"]
        for email in desired["emails"]:
            self._subscribe(name, arn, email)
        return Observed(dict(desired), {"arn": arn}, True)

    def update(self, name: str, desired: dict[str, Any], current: Observed,
               diffs: tuple[FieldDiff, ...]) -> Observed:
        sns = self.client("sns")
        arn = current.meta["arn"]
        fields = fields_of(diffs)
        for d in diffs:
            if d.path == "emails":  # a list, compared whole: subscribe the ones missing (none is removed)
                for email in sorted(set(d.after or ()) - set(d.before or ())):
                    self._subscribe(name, arn, email)
        if "tags" in fields:
            self.sync_tags(name, current.state["tags"], desired["tags"],
                           lambda t: sns.tag_resource(ResourceArn=arn, Tags=dict_to_tag_list(t)),
                           lambda keys: sns.untag_resource(ResourceArn=arn, TagKeys=keys))
        return Observed({**desired, "emails": sorted(set(desired["emails"]) | set(current.state["emails"]))},
                        current.meta, True)

    def _subscribe(self, name: str, arn: str, email: str) -> None:
        with self.calling(name, "Subscribe"):
            self.client("sns").subscribe(TopicArn=arn, Protocol="email", Endpoint=email)

    def delete(self, name: str, current: Observed) -> None:
        with self.calling(name, "DeleteTopic", ignore=("NotFound", "NotFoundException")):
            self.client("sns").delete_topic(TopicArn=current.meta["arn"])

    def outputs(self, name: str, current: Observed | None) -> NameArnOutputs:
        return {"name": name, "arn": self._arn(name)}
