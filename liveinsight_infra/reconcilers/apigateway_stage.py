"""The API's stage: which deployment it serves, and its throttling, metrics and access logs.

Its variable ``liveinsightOriginVerify`` lists the SHA-256 digests of the origin secrets the functions
accept (``origin_secret.py``). Stage variables reach the functions in every proxy event and belong
to the stage, not to a deployment: changing them needs no redeployment, and a rollback (which
points the stage at an older deployment) keeps them.

A deployment is created only when the API's definition changed. The definition's canonical hash
is recorded in the deployment's description. A stage whose deployment carries the desired hash
is left alone, so re-applying an unchanged spec creates no deployment. Deployments are never
deleted here: the previous one is what a rollback returns to.

A description can be copied onto any deployment, so the stage's deployment is also compared by id:
the stage's own description records the id of the deployment apply pointed it at (set in the same
``UpdateStage`` call). A stage that serves any other deployment (pointed elsewhere in the console,
or rolled back) plans as drift on ``deployment``, and apply deploys again.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .. import naming
from ..constants import ORIGIN_DIGESTS_VARIABLE
from ..diff import diff_state, fields_of
from ..plan import UNKNOWN, FieldDiff
from .apigateway import find_rest_api
from .base import Observed, Outputs, Reconciler
from .kind_outputs import StageOutputs, keys

_HASH = re.compile(r"definition=([0-9a-f]{16})")
_FUNCTIONS = re.compile(r"functions=(\S*)")
_RECORDED = re.compile(r"deployment=(\w+)")
ROLLED_BACK_FROM = "liveinsightRolledBackFrom"  # stage variable: the release a rollback left
# No IP address: LiveInsight never stores visitors' IPs, the access log included.
ACCESS_LOG_FORMAT = json.dumps({
    "requestId": "$context.requestId", "time": "$context.requestTime", "method": "$context.httpMethod",
    "path": "$context.path", "status": "$context.status", "latencyMs": "$context.responseLatency",
    "integrationLatencyMs": "$context.integrationLatency", "responseLength": "$context.responseLength",
    "error": "$context.error.message"}, separators=(",", ":"))


def deployment_description(digest: str, stack: str, functions: dict[str, str]) -> str:
    versions = ",".join(f"{k}:{v}" for k, v in sorted(functions.items()))
    return f"liveinsight {stack} definition={digest} functions={versions}"


def stage_description(stack: str, deployment_id: str) -> str:
    """The stage's description: the stack, and the id of the deployment apply made it serve."""
    return f"LiveInsight {stack} deployment={deployment_id}"


def parse_description(description: str) -> tuple[str | None, dict[str, str]]:
    """(definition hash, {function key: version}) recorded in a deployment's description."""
    digest = _HASH.search(description or "")
    functions = _FUNCTIONS.search(description or "")
    versions = dict(part.split(":", 1) for part in functions.group(1).split(",") if ":" in part) if functions else {}
    return (digest.group(1) if digest else None), versions


class StageReconciler(Reconciler):
    kind = "apigateway.stage"
    output_keys = keys(StageOutputs)
    depends_on = ("apigateway.rest_api", "logs.log_group", "apigateway.account", "lambda.function", "ssm.parameter")

    def names(self) -> list[str]:
        return [self.spec.api.stage]

    def desired(self, name: str, outputs: Outputs) -> dict[str, Any]:
        api = self.upstream(outputs, "apigateway.rest_api").get(naming.api_name(self.spec), {})
        group = self.upstream(outputs, "logs.log_group").get(naming.api_log_group(self.spec), {})
        t = self.spec.api.throttling
        fns = self.upstream(outputs, "lambda.function")
        versions = {k: fns.get(naming.function_name(self.spec, k), {}).get("live_version", UNKNOWN)
                    for k in self.spec.functions}
        release: Any = dict(sorted(versions.items())) if not any(v is UNKNOWN for v in versions.values()) \
            else UNKNOWN
        secret = next(iter(self.upstream(outputs, "ssm.parameter").values()), {})
        return {"api_id": api.get("id", UNKNOWN), "deployment": api.get("revision", UNKNOWN),
                "functions": release,
                "throttling_rate": float(t.rate_limit), "throttling_burst": t.burst_limit,
                "metrics": self.spec.api.metrics_enabled,
                "access_log_arn": group.get("arn", UNKNOWN), "access_log_format": ACCESS_LOG_FORMAT,
                "origin_verify": secret.get("digests", UNKNOWN), "rolled_back_from": None}

    def observe(self, for_destroy: bool = False) -> dict[str, Observed]:
        api = find_rest_api(self)
        if api is None:
            return {}
        ag = self.client("apigateway")
        name = self.spec.api.stage
        stage: dict[str, Any] | None = self.read(name, "GetStage", lambda: ag.get_stage(
            restApiId=api["id"], stageName=name), absent=("NotFoundException",))
        if stage is None:
            return {}
        deployment = self.read(name, "GetDeployment", lambda: ag.get_deployment(
            restApiId=api["id"], deploymentId=stage["deploymentId"]), absent=("NotFoundException",))
        description = (deployment or {}).get("description", "")
        digest, versions = parse_description(description)
        recorded = _RECORDED.search(stage.get("description") or "")
        served: Any = digest
        if recorded is None or recorded.group(1) != stage["deploymentId"]:
            made = recorded.group(1) if recorded else "none recorded"
            served = f"{digest} (deployment {stage['deploymentId']}; apply made {made})"
        settings = (stage.get("methodSettings") or {}).get("*/*", {})
        logs = stage.get("accessLogSettings") or {}
        state = {"api_id": api["id"], "deployment": served, "functions": versions,
                 "throttling_rate": float(settings.get("throttlingRateLimit", -1)),
                 "throttling_burst": settings.get("throttlingBurstLimit"),
                 "metrics": bool(settings.get("metricsEnabled", False)),
                 "access_log_arn": logs.get("destinationArn"), "access_log_format": logs.get("format"),
                 "origin_verify": (stage.get("variables") or {}).get(ORIGIN_DIGESTS_VARIABLE),
                 "rolled_back_from": (stage.get("variables") or {}).get(ROLLED_BACK_FROM)}
        return {name: Observed(state, {"deployment_id": stage["deploymentId"]}, True)}

    def _deploy(self, name: str, desired: dict[str, Any]) -> str:
        digest = str(desired["deployment"]).split("+", 1)[0]
        description = deployment_description(digest, naming.stack_id(self.spec), desired["functions"])
        with self.calling(name, "CreateDeployment"):
            dep = self.client("apigateway").create_deployment(restApiId=desired["api_id"], description=description)
        return str(dep["id"])

    def _settings_ops(self, d: dict[str, Any], have: dict[str, Any], changed: set[str]) -> list[dict[str, str]]:
        ops = []
        if have.get("rolled_back_from"):  # apply returns the stage to the spec: the rollback is over
            ops.append({"op": "remove", "path": f"/variables/{ROLLED_BACK_FROM}"})
        fields = [("throttling_rate", "/*/*/throttling/rateLimit", str(d["throttling_rate"])),
                  ("throttling_burst", "/*/*/throttling/burstLimit", str(d["throttling_burst"])),
                  ("metrics", "/*/*/metrics/enabled", str(d["metrics"]).lower()),
                  ("access_log_arn", "/accessLogSettings/destinationArn", d["access_log_arn"]),
                  ("access_log_format", "/accessLogSettings/format", d["access_log_format"]),
                  ("origin_verify", f"/variables/{ORIGIN_DIGESTS_VARIABLE}", d["origin_verify"])]
        for field, path, value in fields:
            if field in changed:
                ops.append({"op": "replace", "path": path, "value": value})
        return ops

    def create(self, name: str, desired: dict[str, Any]) -> Observed:
        ag = self.client("apigateway")
        api_id = desired["api_id"]
        dep_id = self._deploy(name, desired)
        with self.calling(name, "CreateStage", ignore=("ConflictException",)):
            ag.create_stage(restApiId=api_id, stageName=name, deploymentId=dep_id,
                            description=stage_description(naming.stack_id(self.spec), dep_id),
                            tags=naming.resource_tags(self.spec))
        made = Observed({"api_id": api_id}, {}, True)
        return self._update_stage(name, desired, made, dep_id, fields_of(diff_state(desired, made.state)))

    def update(self, name: str, desired: dict[str, Any], current: Observed,
               diffs: tuple[FieldDiff, ...]) -> Observed:
        fields = fields_of(diffs)
        dep_id = self._deploy(name, desired) if fields & {"deployment", "functions"} else None
        return self._update_stage(name, desired, current, dep_id, fields)

    def _update_stage(self, name: str, desired: dict[str, Any], current: Observed, dep_id: str | None,
                      changed: set[str]) -> Observed:
        ops = self._settings_ops(desired, current.state, changed)
        if dep_id is not None:
            ops[:0] = [{"op": "replace", "path": "/deploymentId", "value": dep_id},
                       {"op": "replace", "path": "/description",
                        "value": stage_description(naming.stack_id(self.spec), dep_id)}]
        if ops:
            with self.calling(name, "UpdateStage"):
                self.client("apigateway").update_stage(restApiId=desired["api_id"], stageName=name,
                                                       patchOperations=ops)
        state = {**desired, "deployment": str(desired["deployment"]).split("+", 1)[0]}
        meta = {**current.meta, "deployment_id": dep_id or current.meta.get("deployment_id")}
        return Observed(state, meta, True)

    def delete(self, name: str, current: Observed) -> None:
        with self.calling(name, "DeleteStage", ignore=("NotFoundException",)):
            self.client("apigateway").delete_stage(restApiId=current.state["api_id"], stageName=name)

    def outputs(self, name: str, current: Observed | None) -> StageOutputs:
        if current is None:
            return {"invoke_url": UNKNOWN}
        api_id = current.state["api_id"]
        return {"invoke_url": f"https://{api_id}.execute-api.{self.ctx.region}.amazonaws.com/{name}",
                "deployment_id": current.meta.get("deployment_id"), "api_id": api_id}

    # -- releases (used by ``rollback``; not part of plan/apply) ----------------------------------
    def list_deployments(self, api_id: str) -> list[dict[str, Any]]:
        with self.calling(self.spec.api.stage, "GetDeployments"):
            pages = self.client("apigateway").get_paginator("get_deployments").paginate(restApiId=api_id)
            return [d for p in pages for d in p.get("items", [])]

    def read_stage(self, api_id: str) -> dict[str, Any]:
        with self.calling(self.spec.api.stage, "GetStage"):
            return self.client("apigateway").get_stage(restApiId=api_id, stageName=self.spec.api.stage)  # type: ignore

    def point_to(self, api_id: str, deployment_id: str, rolled_back_from: str | None) -> None:
        """Serve ``deployment_id``; remember (or forget) the release a rollback left."""
        ops = [{"op": "replace", "path": "/deploymentId", "value": deployment_id}]
        if rolled_back_from:
            ops.append({"op": "replace", "path": f"/variables/{ROLLED_BACK_FROM}", "value": rolled_back_from})
        else:
            ops.append({"op": "remove", "path": f"/variables/{ROLLED_BACK_FROM}"})
        with self.calling(self.spec.api.stage, "UpdateStage"):
            self.client("apigateway").update_stage(restApiId=api_id, stageName=self.spec.api.stage,
                                                   patchOperations=ops)
