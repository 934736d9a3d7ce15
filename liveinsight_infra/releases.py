"""Releases and rollback, with no local file: the record is in AWS itself.

A release is one API deployment. Its description records the API definition's hash and the
version each function's ``live`` alias served (``apigateway_stage.py``). A rollback makes the
stage serve an earlier deployment and moves each ``live`` alias to the version that release
recorded. The release it left is kept in a stage variable, so a second ``rollback`` returns to it.
The next ``apply`` makes the stack match the spec again (and forgets the rollback).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import naming
from .engine import Engine, execute, serialised
from .errors import LiveInsightError, StackNotFound
from .plan import Action, Change, FieldDiff, Plan
from .reconcilers.apigateway import find_rest_api
from .reconcilers.apigateway_stage import ROLLED_BACK_FROM, StageReconciler, parse_description
from .reconcilers.lambda_ import ALIAS, FunctionReconciler

ALIAS_KIND = "lambda.alias"  # a rollback's change to a function's live alias


@dataclass(frozen=True)
class Release:
    number: int  # 1 = the first deployment of this API
    deployment_id: str
    created: str
    definition: str | None
    functions: dict[str, str]
    current: bool

    def to_json(self) -> dict[str, Any]:
        return {"release": self.number, "deployment_id": self.deployment_id, "created": self.created,
                "definition": self.definition, "functions": self.functions, "current": self.current}


@dataclass(frozen=True)
class Rollback:
    plan: Plan
    api_id: str
    target: Release
    left: Release
    returning: bool = False  # to the release an earlier rollback left: this ends that rollback


class Releases:
    def __init__(self, engine: Engine):
        self.engine = engine
        self.stage = next(r for r in engine.reconcilers if isinstance(r, StageReconciler))
        self.functions = next(r for r in engine.reconcilers if isinstance(r, FunctionReconciler))

    def _api_id(self) -> str:
        api = find_rest_api(self.stage)
        if api is None:
            spec = self.engine.ctx.spec
            raise StackNotFound(f"stack {naming.stack_id(spec)} has no API in {spec.region}: run apply first")
        return str(api["id"])

    def list(self) -> tuple[str, list[Release], dict[str, Any]]:
        api_id = self._api_id()
        stage = self.stage.read_stage(api_id)
        deployments = self.stage.list_deployments(api_id)
        ordered = sorted(enumerate(deployments), key=lambda p: (str(p[1].get("createdDate", "")), p[0]))
        releases = []
        for number, (_, d) in enumerate(ordered, start=1):
            digest, functions = parse_description(d.get("description", ""))
            releases.append(Release(number, d["id"], str(d.get("createdDate", "")), digest, functions,
                                    d["id"] == stage.get("deploymentId")))
        return api_id, releases, stage

    def plan_rollback(self, to: str | None = None) -> Rollback:
        api_id, releases, stage = self.list()
        current = next((r for r in releases if r.current), None)
        if current is None:
            raise LiveInsightError("the stage serves no recorded release; run apply first")
        left_from = (stage.get("variables") or {}).get(ROLLED_BACK_FROM)
        if to:
            target = next((r for r in releases if to in (r.deployment_id, str(r.number))), None)
            if target is None:
                raise LiveInsightError(f"no release {to!r}; `releases` lists them")
        elif left_from:
            target = next((r for r in releases if r.deployment_id == left_from), None)
            if target is None:
                raise LiveInsightError(f"the release rolled back from ({left_from}) no longer exists; use --to")
        else:
            earlier = [r for r in releases if r.number < current.number]
            if not earlier:
                raise LiveInsightError(f"release {current.number} is the first one: there is nothing to roll back to")
            target = earlier[-1]
        if target.deployment_id == current.deployment_id:
            raise LiveInsightError(f"the stage already serves release {target.number}")
        spec = self.engine.ctx.spec
        # Returning to the release a rollback left ends the rollback; otherwise remember where we came from.
        returning = left_from == target.deployment_id
        stage_change = Change(Action.UPDATE, "apigateway.stage", spec.api.stage,
                              (FieldDiff("release", current.number, target.number),
                               FieldDiff("deployment", current.deployment_id, target.deployment_id)), "rollback")
        changes = [stage_change]
        desired: dict[str, dict[str, Any]] = {stage_change.address: {
            "api_id": api_id, "deployment_id": target.deployment_id,
            "rolled_back_from": None if returning else current.deployment_id}}
        for key, version in sorted(target.functions.items()):
            if current.functions.get(key) != version and key in spec.functions:
                function = naming.function_name(spec, key)
                change = Change(Action.UPDATE, ALIAS_KIND, f"{function}:{ALIAS}",
                                (FieldDiff("version", current.functions.get(key), version),), "rollback")
                changes.append(change)
                desired[change.address] = {"function": function, "version": version}
        plan = Plan(tuple(changes), stack=naming.stack_id(spec), desired=desired)
        return Rollback(plan, api_id, target, current, returning)

    def execute(self, rollback: Rollback) -> None:
        """Run the rollback's plan through the executor, as apply runs its own: the aliases first,
        then the stage (its snapshot invokes them)."""
        plan = rollback.plan

        def run(change: Change) -> None:
            want = plan.desired[change.address]
            if change.resource == ALIAS_KIND:
                self.functions.point_alias(str(want["function"]), str(want["version"]), exists=True)
            else:
                self.stage.point_to(str(want["api_id"]), str(want["deployment_id"]), want["rolled_back_from"])

        execute(plan.changes, {"apigateway.stage": (ALIAS_KIND,), ALIAS_KIND: ()}, run,
                serialised(self.engine.ctx.emit))
