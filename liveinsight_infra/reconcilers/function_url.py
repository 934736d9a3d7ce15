"""The collector's Lambda function URL: the event path's origin with ``ingest.front: function_url``.

CloudFront sends ``POST /api/event`` and ``/api/events`` to it (``cloudfront.py``, the ``event``
origin) with the origin secret in ``X-Origin-Verify``; the collector answers 403 to a request
without a secret it accepts (handlers/shared/front.py). The URL's auth type is ``NONE``: CloudFront
origin access control would need AWS_IAM, and Lambda then wants every POST's body hash in
``x-amz-content-sha256``, which Plausible's tracker cannot send (docs/ingest-front.md).

One URL, on the ``live`` alias of the function the event routes call, found again by that name
(a URL has no tags: it is a part of the stack's function, so it is never adopted, and destroy
leaves it to the function's delete). With it, two statements on the alias's resource policy, the
pair AWS asks of a public function URL since October 2025
(https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html): ``lambda:InvokeFunctionUrl`` for
anyone with ``lambda:FunctionUrlAuthType`` = ``NONE``, and ``lambda:InvokeFunction`` for anyone
only through the URL (``lambda:InvokedViaFunctionUrl``). Their ids start ``liveinsight-url-``, so
the route permissions (``liveinsight-api-``, ``permissions.py``) never take them for theirs.

CORS is the spec's ``api.cors``, as the REST API's preflight answers it: the URL answers a
preflight itself. ``OPTIONS`` is left out of its methods (Lambda takes only GET, PUT, HEAD, POST,
PATCH, DELETE or ``*``: a preflight's method is implied).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from .. import naming
from ..diff import entries, fields_of
from ..errors import LiveInsightError
from ..plan import UNKNOWN, FieldDiff
from ..spec.model import EVENT_PATHS
from .base import Observed, Outputs, Reconciler
from .kind_outputs import FunctionUrlOutputs, keys
from .lambda_ import ALIAS
from .permissions import URL_SID_PREFIX

PUBLIC_URL_SID = URL_SID_PREFIX + "public"  # lambda:InvokeFunctionUrl, auth type NONE
URL_INVOKE_SID = URL_SID_PREFIX + "invoke"  # lambda:InvokeFunction, only through the URL
_STATEMENTS = {
    PUBLIC_URL_SID: {"action": "lambda:InvokeFunctionUrl", "principal": "*", "condition": "auth_type=NONE"},
    URL_INVOKE_SID: {"action": "lambda:InvokeFunction", "principal": "*", "condition": "via_url"},
}


def url_cors(spec: Any) -> dict[str, Any]:
    """The URL's CORS settings from ``api.cors``, normalised (as they are compared)."""
    cors = spec.api.cors
    return {"allow_origins": sorted(cors.allow_origins),
            "allow_methods": sorted(m for m in cors.allow_methods if m != "OPTIONS"),
            "allow_headers": sorted(h.lower() for h in cors.allow_headers),
            "expose_headers": [], "max_age": cors.max_age_s, "allow_credentials": cors.allow_credentials}


def _cors_of(found: dict[str, Any] | None) -> dict[str, Any]:
    c = found or {}
    return {"allow_origins": sorted(c.get("AllowOrigins") or []),
            "allow_methods": sorted(m.upper() for m in c.get("AllowMethods") or []),
            "allow_headers": sorted(h.lower() for h in c.get("AllowHeaders") or []),
            "expose_headers": sorted(h.lower() for h in c.get("ExposeHeaders") or []),
            "max_age": int(c.get("MaxAge") or 0), "allow_credentials": bool(c.get("AllowCredentials"))}


def _cors_param(d: dict[str, Any]) -> dict[str, Any]:
    return {"AllowOrigins": d["allow_origins"], "AllowMethods": d["allow_methods"],
            "AllowHeaders": d["allow_headers"], "ExposeHeaders": d["expose_headers"], "MaxAge": d["max_age"],
            "AllowCredentials": d["allow_credentials"]}


def _condition(st: dict[str, Any]) -> str | None:
    """``auth_type=NONE``, ``via_url`` or None, from a statement as Lambda returns it. moto keeps the
    AddPermission parameters as sent instead of a Condition (docs/moto-gaps.md); both are read."""
    keys_ = {str(k).lower(): str(v).lower() for op in (st.get("Condition") or {}).values() if isinstance(op, dict)
             for k, v in op.items()}
    auth = keys_.get("lambda:functionurlauthtype") or str(st.get("FunctionUrlAuthType") or "").lower()
    if auth:
        return f"auth_type={auth.upper()}"
    via = keys_.get("lambda:invokedviafunctionurl") or str(st.get("InvokedViaFunctionUrl") or "").lower()
    return "via_url" if via == "true" else None


BOTOCORE_TOO_OLD = (
    "ingest.front: function_url needs a botocore whose Lambda model has AddPermission's InvokedViaFunctionUrl "
    "(October 2025): without it the public lambda:InvokeFunction statement AWS asks of a function URL could not be "
    "limited to calls through the URL. Upgrade boto3 and botocore (pip install -U boto3), or keep ingest.front: rest.")


def supports_url_invoke_condition(lam: Any) -> bool:
    """Whether this botocore can send AddPermission's ``InvokedViaFunctionUrl`` (newer than the floor)."""
    shape = lam.meta.service_model.operation_model("AddPermission").input_shape
    return "InvokedViaFunctionUrl" in shape.members


def _principal(value: Any) -> Any:
    if isinstance(value, dict):
        return value.get("AWS") or value.get("Service") or value
    return value


class FunctionUrlReconciler(Reconciler):
    kind = "lambda.function_url"
    depends_on = ("lambda.function",)
    adoptable = False  # a part of the stack's own function (see the module docstring)
    output_keys = keys(FunctionUrlOutputs)

    def names(self) -> list[str]:
        key = self.spec.event_function
        return [naming.function_name(self.spec, key)] if key is not None else []

    def _candidates(self) -> list[str]:
        """The functions that may carry this stack's URL: those the event routes call (so a URL left
        from an earlier ``function_url`` front is found and deleted after a switch back to ``rest``)."""
        keys_ = sorted({r.function for r in self.spec.api.routes if r.method == "POST" and r.path in EVENT_PATHS})
        return [naming.function_name(self.spec, k) for k in keys_]

    def desired(self, name: str, outputs: Outputs) -> dict[str, Any]:
        return {"auth_type": "NONE", "invoke_mode": "BUFFERED", "cors": url_cors(self.spec),
                "permissions": {sid: dict(st) for sid, st in _STATEMENTS.items()}}

    def observe(self, for_destroy: bool = False) -> dict[str, Observed]:
        if for_destroy:
            return {}  # the function's delete takes its URL and its policy with it
        lam = self.client("lambda")
        if self.names() and not supports_url_invoke_condition(lam):
            raise LiveInsightError(BOTOCORE_TOO_OLD)

        def read(fn: str) -> tuple[str, Observed | None]:
            found = self.read(fn, "GetFunctionUrlConfig", lambda: lam.get_function_url_config(
                FunctionName=fn, Qualifier=ALIAS), absent=("ResourceNotFoundException",))
            if found is None:
                return fn, None
            state = {"auth_type": found.get("AuthType"),
                     "invoke_mode": str(found.get("InvokeMode") or "BUFFERED").upper(),
                     "cors": _cors_of(found.get("Cors")), "permissions": self._permissions(fn)}
            return fn, Observed(state, {"url": found.get("FunctionUrl")}, True)

        return {fn: o for fn, o in self.parallel(read, self._candidates()) if o is not None}

    def _permissions(self, fn: str) -> dict[str, Any]:
        lam = self.client("lambda")
        got = self.read(fn, "GetPolicy", lambda: lam.get_policy(FunctionName=fn, Qualifier=ALIAS),
                        absent=("ResourceNotFoundException",))  # no resource policy: no statements
        policy: dict[str, Any] = json.loads(got["Policy"]) if got is not None else {}
        out: dict[str, Any] = {}
        for st in policy.get("Statement", []):
            sid = st.get("Sid", "")
            if sid in _STATEMENTS:
                out[sid] = {"action": st.get("Action"), "principal": _principal(st.get("Principal")),
                            "condition": _condition(st)}
        return out

    # -- writes ----------------------------------------------------------------------------------
    def create(self, name: str, desired: dict[str, Any]) -> Observed:
        lam = self.client("lambda")
        created = None
        with self.calling(name, "CreateFunctionUrlConfig", ignore=("ResourceConflictException",)):
            created = lam.create_function_url_config(FunctionName=name, Qualifier=ALIAS, AuthType=desired["auth_type"],
                                                     Cors=_cors_param(desired["cors"]),
                                                     InvokeMode=desired["invoke_mode"])
        if created is None:  # an interrupted apply made it: bring it to the spec
            current = self.observe().get(name)
            if current is not None:
                return self.converge(name, desired, current)
        url = (created or {}).get("FunctionUrl")
        self._sync_permissions(name, desired["permissions"], {})
        return Observed(dict(desired), {"url": url}, True)

    def update(self, name: str, desired: dict[str, Any], current: Observed,
               diffs: tuple[FieldDiff, ...]) -> Observed:
        have = current.state
        meta = dict(current.meta)
        if fields_of(diffs) & {"auth_type", "invoke_mode", "cors"}:
            with self.calling(name, "UpdateFunctionUrlConfig"):
                got = self.client("lambda").update_function_url_config(
                    FunctionName=name, Qualifier=ALIAS, AuthType=desired["auth_type"],
                    Cors=_cors_param(desired["cors"]), InvokeMode=desired["invoke_mode"])
                meta["url"] = got.get("FunctionUrl") or meta.get("url")
        have_permissions = have.get("permissions") or {}
        changed = entries(diffs, "permissions", {*desired["permissions"], *have_permissions})
        self._sync_permissions(name, {sid: desired["permissions"].get(sid) for sid in
                                      [*desired["permissions"], *have_permissions] if sid in changed},
                               have_permissions)
        return Observed(dict(desired), meta, True)

    def _sync_permissions(self, name: str, changed: dict[str, Any], have: dict[str, Any]) -> None:
        """Put back each statement in ``changed`` (removed first when there); None: remove it."""
        lam = self.client("lambda")
        for sid, st in changed.items():
            if sid in have:
                self._remove(name, sid)
            if st is None:
                continue
            extra: dict[str, Any] = ({"FunctionUrlAuthType": "NONE"} if st["condition"] == "auth_type=NONE"
                                     else {"InvokedViaFunctionUrl": True})
            with self.calling(name, "AddPermission", ignore=("ResourceConflictException",)):
                lam.add_permission(FunctionName=name, Qualifier=ALIAS, StatementId=sid, Action=st["action"],
                                   Principal=st["principal"], **extra)

    def _remove(self, name: str, sid: str) -> None:
        with self.calling(name, "RemovePermission", ignore=("ResourceNotFoundException",)):
            self.client("lambda").remove_permission(FunctionName=name, Qualifier=ALIAS, StatementId=sid)

    def delete(self, name: str, current: Observed) -> None:
        for sid in _STATEMENTS:  # first: no public statement outlives its URL
            if sid in (current.state.get("permissions") or {}):
                self._remove(name, sid)
        with self.calling(name, "DeleteFunctionUrlConfig", ignore=("ResourceNotFoundException",)):
            self.client("lambda").delete_function_url_config(FunctionName=name, Qualifier=ALIAS)

    def outputs(self, name: str, current: Observed | None) -> FunctionUrlOutputs:
        url = current.meta.get("url") if current is not None else None
        if not url:
            return {"url": UNKNOWN, "domain": UNKNOWN}
        return {"url": url, "domain": urlsplit(str(url)).hostname or UNKNOWN}
