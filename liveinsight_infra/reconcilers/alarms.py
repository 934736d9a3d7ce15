"""CloudWatch metric alarms on the functions and the API.

All alarms of a stack share the name prefix ``{project}-{env}-``, so one paginated
``describe_alarms(AlarmNamePrefix=…)`` reads them all. Observed alarms are normalised (AWS defaults
filled, server-owned fields dropped) and ``put_metric_alarm`` — an upsert that overwrites the
whole definition — is sent only when a field differs.
"""

from __future__ import annotations

from typing import Any

from .. import naming
from ..diff import dict_to_tag_list
from ..plan import FieldDiff
from ..spec.model import AlarmSpec
from .base import Observed, Outputs, Reconciler
from .kind_outputs import AlarmOutputs, keys


class AlarmReconciler(Reconciler):
    kind = "cloudwatch.alarm"
    output_keys = keys(AlarmOutputs)
    depends_on = ("sns.topic", "lambda.function")

    def names(self) -> list[str]:
        return [naming.alarm_name(self.spec, a.name) for a in self.spec.alarms]

    def _spec_for(self, name: str) -> AlarmSpec:
        return next(a for a in self.spec.alarms if naming.alarm_name(self.spec, a.name) == name)

    def desired(self, name: str, outputs: Outputs) -> dict[str, Any]:
        a = self._spec_for(name)
        if a.target == "api":
            namespace = "AWS/ApiGateway"
            dims = {"ApiName": naming.api_name(self.spec), "Stage": self.spec.api.stage}
        elif a.target == "failure-queue":
            namespace = "AWS/SQS"
            dims = {"QueueName": naming.failure_queue_name(self.spec)}
        else:
            namespace = "AWS/Lambda"
            dims = {"FunctionName": naming.function_name(self.spec, a.target)}
        topics = [o["arn"] for o in self.upstream(outputs, "sns.topic").values()]
        return {
            "namespace": namespace, "metric": a.metric, "dimensions": dims,
            "statistic": a.statistic, "period_s": a.period_s, "evaluation_periods": a.evaluation_periods,
            "datapoints_to_alarm": a.evaluation_periods, "threshold": float(a.threshold),
            "comparison": a.comparison, "treat_missing_data": a.treat_missing_data,
            "description": a.description, "actions_enabled": True,
            "alarm_actions": topics, "ok_actions": topics, "insufficient_data_actions": [],
        }

    def observe(self, for_destroy: bool = False) -> dict[str, Observed]:
        cw = self.client("cloudwatch")
        prefix = naming.alarm_prefix(self.spec)
        with self.calling(prefix + "*", "DescribeAlarms"):
            pages = cw.get_paginator("describe_alarms").paginate(AlarmNamePrefix=prefix,
                                                                 AlarmTypes=["MetricAlarm"])
            alarms = [a for p in pages for a in p.get("MetricAlarms", [])]
        wanted = set(self.names())

        def read(a: dict[str, Any]) -> tuple[str, Observed]:
            obs = Observed(_normalise(a), {"arn": a["AlarmArn"], "state": a.get("StateValue")})
            if for_destroy or a["AlarmName"] not in wanted:
                # Only alarms this stack owns may be deleted: confirm from the tags.
                with self.calling(a["AlarmName"], "ListTagsForResource"):
                    tags = cw.list_tags_for_resource(ResourceARN=a["AlarmArn"]).get("Tags", [])
                obs.owned = naming.is_owned(self.spec, {t["Key"]: t["Value"] for t in tags})
            return a["AlarmName"], obs

        return dict(self.parallel(read, alarms))  # the tag reads at once

    def read_owned(self, name: str, current: Observed) -> bool | None:
        with self.calling(name, "ListTagsForResource"):
            tags = self.client("cloudwatch").list_tags_for_resource(ResourceARN=current.meta["arn"]).get("Tags", [])
        return naming.is_owned(self.spec, {t["Key"]: t["Value"] for t in tags})

    def take_ownership(self, name: str, current: Observed) -> Observed:
        # PutMetricAlarm ignores Tags when the alarm exists: tag it with TagResource
        # (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html).
        with self.calling(name, "TagResource"):
            self.client("cloudwatch").tag_resource(ResourceARN=current.meta["arn"],
                                                   Tags=dict_to_tag_list(naming.resource_tags(self.spec)))
        return Observed(current.state, current.meta, True)

    def create(self, name: str, desired: dict[str, Any]) -> Observed:
        self._put(name, desired)
        return Observed(dict(desired), {"state": "INSUFFICIENT_DATA"}, True)  # AWS's initial state

    def update(self, name: str, desired: dict[str, Any], current: Observed,
               diffs: tuple[FieldDiff, ...]) -> Observed:
        self._put(name, desired)
        return Observed(dict(desired), current.meta, current.owned)

    def delete(self, name: str, current: Observed) -> None:
        with self.calling(name, "DeleteAlarms"):
            self.client("cloudwatch").delete_alarms(AlarmNames=[name])

    def outputs(self, name: str, current: Observed | None) -> AlarmOutputs:
        return {"name": name, "state": current.meta.get("state") if current else None}

    def _put(self, name: str, d: dict[str, Any]) -> None:
        args: dict[str, Any] = {
            "AlarmName": name, "AlarmDescription": d["description"], "Namespace": d["namespace"],
            "MetricName": d["metric"],
            "Dimensions": [{"Name": k, "Value": v} for k, v in sorted(d["dimensions"].items())],
            "Period": d["period_s"], "EvaluationPeriods": d["evaluation_periods"],
            "DatapointsToAlarm": d["datapoints_to_alarm"], "Threshold": d["threshold"],
            "ComparisonOperator": d["comparison"], "TreatMissingData": d["treat_missing_data"],
            "ActionsEnabled": d["actions_enabled"], "AlarmActions": d["alarm_actions"],
            "OKActions": d["ok_actions"], "InsufficientDataActions": d["insufficient_data_actions"],
            "Tags": dict_to_tag_list(naming.resource_tags(self.spec)),
        }
        if d["statistic"].startswith("p"):
            args["ExtendedStatistic"] = d["statistic"]
        else:
            args["Statistic"] = d["statistic"]
        with self.calling(name, "PutMetricAlarm"):
            self.client("cloudwatch").put_metric_alarm(**args)


def _normalise(a: dict[str, Any]) -> dict[str, Any]:
    return {
        "namespace": a.get("Namespace"), "metric": a.get("MetricName"),
        "dimensions": {d["Name"]: d["Value"] for d in a.get("Dimensions", [])},
        "statistic": a.get("ExtendedStatistic") or a.get("Statistic"),
        "period_s": a.get("Period"), "evaluation_periods": a.get("EvaluationPeriods"),
        # AWS omits DatapointsToAlarm when it equals EvaluationPeriods.
        "datapoints_to_alarm": a.get("DatapointsToAlarm") or a.get("EvaluationPeriods"),
        "threshold": float(a["Threshold"]) if a.get("Threshold") is not None else None,
        "comparison": a.get("ComparisonOperator"),
        "treat_missing_data": a.get("TreatMissingData") or "missing",
        "description": a.get("AlarmDescription") or "", "actions_enabled": a.get("ActionsEnabled", True),
        "alarm_actions": sorted(a.get("AlarmActions", [])), "ok_actions": sorted(a.get("OKActions", [])),
        "insufficient_data_actions": sorted(a.get("InsufficientDataActions", [])),
    }
