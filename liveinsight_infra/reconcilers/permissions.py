"""Lambda invoke permissions for API Gateway: exactly one statement per route, on the ``live`` alias.

Each is scoped to this API, any stage, the route's method and path
(``arn:aws:execute-api:{region}:{account}:{api}/*/{METHOD}/api/...``). One ``get_policy`` per
function reads them. A statement is added only when it is missing, because moto accepts a
duplicate StatementId (docs/moto-gaps.md). Statements carry the ``liveinsight-api-`` Sid prefix.

The stack owns the functions' resource policies, the alias's and the function's own (unqualified,
which also covers ``$LATEST``): a statement the spec does not declare (say ``Principal: "*"``, added
in the console) is drift, planned as a delete and removed. Those are named ``{function}/{sid}`` on
the alias and ``{function}:$LATEST/{sid}`` on the function. Which policy a statement belongs to is
read from its ``Resource``, not from the call that returned it (moto returns one policy for all
qualifiers). Versions' own policies are not read: nothing invokes a version by number. With ``ingest.front:
function_url`` the alias's ``liveinsight-url-`` pair is the function URL's (``function_url.py``)
and left to it; with the REST front such statements are undeclared like any other.
"""

from __future__ import annotations

import json
from typing import Any

from .. import naming
from ..plan import UNKNOWN, Action, Change, FieldDiff
from .base import Observed, Outputs, Reconciler
from .lambda_ import ALIAS

# Built in naming (the spec's checks use them too: a StatementId has at most 100 characters).
SID_PREFIX = naming.LAMBDA_SID_PREFIX
statement_id = naming.statement_id
URL_SID_PREFIX = "liveinsight-url-"  # function_url.py's statements (ingest.front: function_url)
UNQUALIFIED = "$LATEST"  # how a statement of the function's own policy is named
UNDECLARED = "not declared in the spec: the stack owns the function's resource policy"


def _target(name: str) -> tuple[str, str | None, str]:
    """(function, qualifier for the call or None for the function's own policy, statement id)."""
    target, sid = name.rsplit("/", 1)
    fn, _, qualifier = target.partition(":")
    return fn, (None if qualifier == UNQUALIFIED else qualifier or ALIAS), sid


def qualifier_of(resource: str) -> str:
    """The qualifier a statement's ``Resource`` names (``$LATEST`` for the function itself).

    Read from the ARN's fields (``arn:aws:lambda:region:account:function:name[:qualifier]``), not
    by comparing with the ARN we would build: the policy's own ARN is what AWS wrote.
    """
    parts = resource.split(":")
    return parts[7] if len(parts) > 7 and parts[7] else UNQUALIFIED


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

        def read(target: tuple[str, str | None]) -> dict[str, Observed]:
            fn, qualifier = target
            args = {"Qualifier": qualifier} if qualifier else {}
            # No function, or no resource policy on it yet: no statements.
            got = self.read(fn, "GetPolicy", lambda: lam.get_policy(FunctionName=fn, **args),
                            absent=("ResourceNotFoundException",))
            policy: dict[str, Any] = json.loads(got["Policy"]) if got is not None else {}
            found = {}
            url_front = self.spec.ingest.front == "function_url"
            for st in policy.get("Statement", []):
                sid = st.get("Sid", "")
                resource = str(st.get("Resource", ""))
                on = qualifier_of(resource)
                if url_front and on == ALIAS and sid.startswith(URL_SID_PREFIX):
                    continue  # the function URL's pair, declared and kept by function_url.py
                principal = st.get("Principal")
                if isinstance(principal, dict):
                    principal = principal.get("Service") or principal
                cond = (st.get("Condition") or {}).get("ArnLike") or {}
                name = f"{fn}/{sid}" if on == ALIAS else f"{fn}:{on}/{sid}"
                found[name] = Observed({"principal": principal, "action": st.get("Action"),
                                        "source_arn": cond.get("AWS:SourceArn")}, {}, True)
            return found

        functions = [naming.function_name(self.spec, k) for k in self.spec.functions]
        merged: dict[str, Observed] = {}
        for part in self.parallel(read, [(fn, q) for fn in functions for q in (ALIAS, None)]):
            merged.update(part)
        return merged

    def plan(self, outputs: Outputs, destroy: bool = False) -> list[Change]:
        """A statement this tool never makes is said to be undeclared (a route's is "no longer in the spec")."""
        def ours(name: str) -> bool:
            _, qualifier, sid = _target(name)
            return qualifier == ALIAS and sid.startswith(SID_PREFIX)
        return [Change(c.action, c.resource, c.name, c.diffs, UNDECLARED)
                if c.action is Action.DELETE and not ours(c.name) else c for c in super().plan(outputs, destroy)]

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
        fn, qualifier, sid = _target(name)
        args = {"Qualifier": qualifier} if qualifier else {}
        with self.calling(name, "RemovePermission", ignore=("ResourceNotFoundException",)):
            self.client("lambda").remove_permission(FunctionName=fn, StatementId=sid, **args)
