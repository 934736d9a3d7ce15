"""The API key that guards a site's numbers, and the usage plan that limits its callers.

Present only when a route requires the key (prod's realtime and stats). The key is created and kept
by the tool; its value is never printed, except by ``outputs --show-secrets``. moto cannot tag API
keys or usage plans by ARN (docs/moto-gaps.md), so tags are given at creation and ownership is read
from them.
"""

from __future__ import annotations

from typing import Any

from .. import naming
from ..diff import fields_of
from ..plan import UNKNOWN, FieldDiff
from .base import Observed, Outputs, Reconciler
from .kind_outputs import UsagePlanOutputs, keys


class UsagePlanReconciler(Reconciler):
    kind = "apigateway.usage_plan"
    output_keys = keys(UsagePlanOutputs)
    depends_on = ("apigateway.stage",)
    replace_fields = frozenset({"key"})

    def names(self) -> list[str]:
        needed = any(r.api_key_required for r in self.spec.api.routes)
        return [f"{naming.stack_id(self.spec)}-dashboard"] if needed else []

    def key_name(self) -> str:
        return f"{naming.stack_id(self.spec)}-dashboard-key"

    def desired(self, name: str, outputs: Outputs) -> dict[str, Any]:
        stage = self.upstream(outputs, "apigateway.stage").get(self.spec.api.stage, {})
        api_id = stage.get("api_id", UNKNOWN)
        u = self.spec.api.usage_plan
        return {"api_stage": f"{api_id}:{self.spec.api.stage}" if isinstance(api_id, str) else UNKNOWN,
                "rate_limit": float(u.rate_limit), "burst_limit": u.burst_limit, "quota_per_day": u.quota_per_day,
                "key": self.key_name()}

    def observe(self, for_destroy: bool = False) -> dict[str, Observed]:
        ag = self.client("apigateway")
        name = f"{naming.stack_id(self.spec)}-dashboard"
        with self.calling(name, "GetUsagePlans"):
            plans = [p for page in ag.get_paginator("get_usage_plans").paginate() for p in page.get("items", [])
                     if p.get("name") == name and naming.is_owned(self.spec, p.get("tags"))]
        if not plans:
            return {}
        plan = plans[0]
        with self.calling(name, "GetUsagePlanKeys"):
            keys = ag.get_usage_plan_keys(usagePlanId=plan["id"]).get("items", [])
        stages = [f"{s['apiId']}:{s['stage']}" for s in plan.get("apiStages", [])]
        throttle, quota = plan.get("throttle") or {}, plan.get("quota") or {}
        state = {"api_stage": stages[0] if len(stages) == 1 else stages,
                 "rate_limit": float(throttle.get("rateLimit", 0)), "burst_limit": throttle.get("burstLimit"),
                 "quota_per_day": quota.get("limit") if quota.get("period") == "DAY" else None,
                 "key": next((k["name"] for k in keys if k.get("name") == self.key_name()), None)}
        key_id = next((k["id"] for k in keys if k.get("name") == self.key_name()), None)
        return {name: Observed(state, {"id": plan["id"], "key_id": key_id}, True)}

    def _find_key(self) -> str | None:
        ag = self.client("apigateway")
        with self.calling(self.key_name(), "GetApiKeys"):
            items = ag.get_api_keys(nameQuery=self.key_name()).get("items", [])
        ours = [k for k in items if k.get("name") == self.key_name() and naming.is_owned(self.spec, k.get("tags"))]
        return str(ours[0]["id"]) if ours else None

    def create(self, name: str, desired: dict[str, Any]) -> Observed:
        ag = self.client("apigateway")
        api_id, stage = desired["api_stage"].split(":", 1)
        tags = naming.resource_tags(self.spec)
        key_id = self._find_key()  # an interrupted apply may have made it
        if key_id is None:
            with self.calling(self.key_name(), "CreateApiKey"):
                key_id = ag.create_api_key(name=self.key_name(), enabled=True, tags=tags,
                                           description=f"LiveInsight dashboard ({naming.stack_id(self.spec)})")["id"]
        with self.calling(name, "CreateUsagePlan"):
            plan = ag.create_usage_plan(
                name=name, description="callers of the routes that require the API key",
                apiStages=[{"apiId": api_id, "stage": stage}],
                throttle={"rateLimit": desired["rate_limit"], "burstLimit": desired["burst_limit"]},
                quota={"limit": desired["quota_per_day"], "period": "DAY"}, tags=tags)
        with self.calling(name, "CreateUsagePlanKey"):
            ag.create_usage_plan_key(usagePlanId=plan["id"], keyId=key_id, keyType="API_KEY")
        return Observed(dict(desired), {"id": plan["id"], "key_id": key_id}, True)

    def update(self, name: str, desired: dict[str, Any], current: Observed,
               diffs: tuple[FieldDiff, ...]) -> Observed:
        ag = self.client("apigateway")
        fields = fields_of(diffs)
        ops = []
        if "rate_limit" in fields:
            ops.append({"op": "replace", "path": "/throttle/rateLimit", "value": str(desired["rate_limit"])})
        if "burst_limit" in fields:
            ops.append({"op": "replace", "path": "/throttle/burstLimit", "value": str(desired["burst_limit"])})
        if "quota_per_day" in fields:
            ops.append({"op": "replace", "path": "/quota/limit", "value": str(desired["quota_per_day"])})
        if "api_stage" in fields:
            api_id, stage = desired["api_stage"].split(":", 1)
            ops.append({"op": "add", "path": "/apiStages", "value": f"{api_id}:{stage}"})
        if ops:
            with self.calling(name, "UpdateUsagePlan"):
                ag.update_usage_plan(usagePlanId=current.meta["id"], patchOperations=ops)
        return Observed(dict(desired), current.meta, True)

    def delete(self, name: str, current: Observed) -> None:
        ag = self.client("apigateway")
        if current.meta.get("key_id"):
            with self.calling(name, "DeleteUsagePlanKey", ignore=("NotFoundException",)):
                ag.delete_usage_plan_key(usagePlanId=current.meta["id"], keyId=current.meta["key_id"])
        with self.calling(name, "DeleteUsagePlan", ignore=("NotFoundException",)):
            ag.delete_usage_plan(usagePlanId=current.meta["id"])
        key_id = current.meta.get("key_id") or self._find_key()
        if key_id:
            with self.calling(self.key_name(), "DeleteApiKey", ignore=("NotFoundException",)):
                ag.delete_api_key(apiKey=key_id)

    def outputs(self, name: str, current: Observed | None) -> UsagePlanOutputs:
        return {"usage_plan_id": current.meta["id"] if current else UNKNOWN,
                "api_key_id": current.meta.get("key_id") if current else UNKNOWN}

    def api_key_value(self, key_id: str) -> str:
        """The secret itself: only for ``outputs --show-secrets`` and ``check``."""
        with self.calling(self.key_name(), "GetApiKey"):
            return str(self.client("apigateway").get_api_key(apiKey=key_id, includeValue=True)["value"])
