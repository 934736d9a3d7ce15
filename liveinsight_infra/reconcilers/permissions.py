"""Lambda invoke permissions for API Gateway: exactly one statement per route, on the ``live`` alias.

Each is scoped to this API, any stage, the route's method and path
(``arn:aws:execute-api:{region}:{account}:{api}/*/{METHOD}/api/...``). One ``get_policy`` per
function reads them. A statement is added only when it is missing, because moto accepts a
duplicate StatementId (docs/moto-gaps.md). Statements carry the ``liveinsight-api-`` Sid prefix,
which is how the ones this stack owns are told apart.
"""

from __future__ import annotations

import json
from typing import Any

from .. import naming
from ..plan import UNKNOWN, FieldDiff
from .base import Observed, Outputs, Reconciler
from .lambda_ import ALIAS

# Built in naming (the spec's checks use them too: a StatementId has at most 100 characters).
SID_PREFIX = naming.LAMBDA_SID_PREFIX
statement_id = naming.statement_id


class PermissionReconciler(Reconciler):
    kind = "lambda.permission"
    depends_on = ("lambda.function", "apigateway.rest_api")

    def _routes(self) -> dict[str, tuple[str, str, str]]:
        """Resource name ``function/sid`` → (function name, method, path)."""
        out: dict[str, tuple[str, str, str]] = {}
        for r in self.spec.api.routes:
            fn = naming.function_name(self.spec, r.function)
            out[f"{fn}/{statement_id(r.method, r.path)}"] = (fn, r.method, r.path)
        return out

    def names(self) -> list[str]:
        return list(self._routes())

    def desired(self, name: str, outputs: Outputs) -> dict[str, Any]:
        _, method, path = self._routes()[name]
        api = self.upstream(outputs, "apigateway.rest_api").get(naming.api_name(self.spec), {})
        arn = api.get("execution_arn", UNKNOWN)
        return {"principal": "apigateway.amazonaws.com", "action": "lambda:InvokeFunction",
                "source_arn": f"{arn}/*/{method}{path}" if isinstance(arn, str) else UNKNOWN}

    def observe(self, for_destroy: bool = False) -> dict[str, Observed]:
        if for_destroy:
            # Statements belong to their function: deleting the stack's function deletes them, and a
            # same-named function the stack does not own keeps its own (docs/adoption.md).
            return {}
        lam = self.client("lambda")

        def read(fn: str) -> dict[str, Observed]:
            policy: dict[str, Any] = {}
            with self.calling(fn, "GetPolicy", ignore=("ResourceNotFoundException",)):
                policy = json.loads(lam.get_policy(FunctionName=fn, Qualifier=ALIAS)["Policy"])
            found = {}
            for st in policy.get("Statement", []):
                sid = st.get("Sid", "")
                if not sid.startswith(SID_PREFIX):
                    continue
                principal = st.get("Principal")
                cond = (st.get("Condition") or {}).get("ArnLike") or {}
                found[f"{fn}/{sid}"] = Observed({
                    "principal": principal.get("Service") if isinstance(principal, dict) else principal,
                    "action": st.get("Action"), "source_arn": cond.get("AWS:SourceArn")}, {}, True)
            return found

        functions = [naming.function_name(self.spec, k) for k in self.spec.functions]
        merged: dict[str, Observed] = {}
        for part in self.parallel(read, functions):
            merged.update(part)
        return merged

    def create(self, name: str, desired: dict[str, Any]) -> Observed:
        fn, sid = name.split("/", 1)
        with self.calling(name, "AddPermission", ignore=("ResourceConflictException",)):
            self.client("lambda").add_permission(
                FunctionName=fn, Qualifier=ALIAS, StatementId=sid, Action=desired["action"],
                Principal=desired["principal"], SourceArn=desired["source_arn"])
        return Observed(dict(desired), {}, True)

    def update(self, name: str, desired: dict[str, Any], current: Observed,
               diffs: tuple[FieldDiff, ...]) -> Observed:
        self.delete(name, current)
        return self.create(name, desired)

    def delete(self, name: str, current: Observed) -> None:
        fn, sid = name.split("/", 1)
        with self.calling(name, "RemovePermission", ignore=("ResourceNotFoundException",)):
            self.client("lambda").remove_permission(FunctionName=fn, Qualifier=ALIAS, StatementId=sid)
