"""The stack's Lambda functions, each with published versions and a ``live`` alias.

Code is uploaded only when the package's base64 SHA-256 differs from ``CodeSha256``; configuration
is diffed field by field. After every write the function is waited on (``function_updated_v2``)
before the next one, and writes retry, within a deadline, while IAM propagates or a previous
update is still in progress. ``live`` points at a published version equal to ``$LATEST``; the
previous versions stay, so a rollback can point ``live`` back.

A function's reserved concurrency is the spec's (``functions.*.reserved_concurrency``, none by
default): any other value set out of band (0 stops the function altogether) is drift, read with
``GetFunctionConcurrency`` and put back. It belongs to the
function, not to a version, so removing it publishes nothing.
"""

from __future__ import annotations

from typing import Any

from .. import naming
from ..aws.retry import IAM_PROPAGATION, LAMBDA_CONFLICT, RetryRule, with_retries
from ..constants import ORIGIN_DIGESTS_ENV
from ..contract import Event
from ..diff import fields_of, user_tags
from ..plan import UNKNOWN, FieldDiff
from .base import Observed, Outputs, Reconciler
from .kind_outputs import FunctionOutputs, keys

ALIAS = "live"
_NOT_FOUND = ("ResourceNotFoundException",)  # no such function (or no such alias on it)
_CONFIG_FIELDS = ("runtime", "handler", "role", "memory_mb", "timeout_s", "description", "architectures",
                  "environment")


def _config_of(cfg: dict[str, Any]) -> dict[str, Any]:
    return {"runtime": cfg.get("Runtime"), "handler": cfg.get("Handler"), "role": cfg.get("Role"),
            "memory_mb": cfg.get("MemorySize"), "timeout_s": cfg.get("Timeout"),
            "description": cfg.get("Description") or "",
            "architectures": list(cfg.get("Architectures") or ["x86_64"]),
            "environment": dict((cfg.get("Environment") or {}).get("Variables") or {}),
            "code_sha256": cfg.get("CodeSha256")}


class FunctionReconciler(Reconciler):
    kind = "lambda.function"
    output_keys = keys(FunctionOutputs)
    depends_on = ("iam.role", "logs.log_group", "dynamodb.table", "ssm.parameter")

    def names(self) -> list[str]:
        return [naming.function_name(self.spec, key) for key in self.spec.functions]

    def _key(self, name: str) -> str:
        return next(k for k in self.spec.functions if naming.function_name(self.spec, k) == name)

    def environment(self, key: str) -> dict[str, str]:
        """The function's variables: the spec's, then those the tool sets (CORS, table, stack)."""
        return naming.function_environment(self.spec, key)

    def desired(self, name: str, outputs: Outputs) -> dict[str, Any]:
        key = self._key(name)
        fn = self.spec.functions[key]
        role = self.upstream(outputs, "iam.role").get(naming.role_name(self.spec, key), {}).get("arn")
        return {"runtime": fn.runtime, "handler": fn.handler, "role": role, "memory_mb": fn.memory_mb,
                "timeout_s": fn.timeout_s, "description": fn.description,
                "architectures": [fn.architecture], "environment": {**self.environment(key),
                                                                     **self._origin_digests(key, outputs)},
                "code_sha256": self.ctx.package(key).code_sha256,
                "tags": naming.resource_tags(self.spec), "reserved_concurrency": fn.reserved_concurrency,
                "live_alias": "current"}

    def _origin_digests(self, key: str, outputs: Outputs) -> dict[str, Any]:
        """The function URL front's collector learns the accepted origin secrets' digests here (there
        is no stage to hand them over per request): ``ORIGIN_DIGESTS_ENV``, rotated like the stage's."""
        if key != self.spec.event_function:
            return {}
        secret = next(iter(self.upstream(outputs, "ssm.parameter").values()), {})
        return {ORIGIN_DIGESTS_ENV: secret.get("digests", UNKNOWN)}

    def observe(self, for_destroy: bool = False) -> dict[str, Observed]:
        lam = self.client("lambda")

        def read(name: str) -> tuple[str, Observed | None]:
            fn = self.read(name, "GetFunction", lambda: lam.get_function(FunctionName=name), absent=_NOT_FOUND)
            if fn is None:
                return name, None
            latest = _config_of(fn["Configuration"])
            aliased, reserved = self.concurrently([lambda: self._aliased(name), lambda: self._reserved(name)])
            live_version: str | None = None
            live = "missing"
            if aliased is not None:
                live_version = str(aliased.get("Version"))
                live = "current" if _config_of(aliased) == latest else f"stale (version {live_version})"
            tags = fn.get("Tags") or {}
            state = {**latest, "tags": user_tags(tags), "live_alias": live, "reserved_concurrency": reserved}
            meta = {"arn": fn["Configuration"]["FunctionArn"], "live_version": live_version}
            return name, Observed(state, meta, naming.is_owned(self.spec, tags))

        return {n: o for n, o in self.parallel(read, self.names()) if o is not None}

    def _aliased(self, name: str) -> dict[str, Any] | None:
        """The configuration of the version ``live`` serves; None when there is no alias."""
        lam = self.client("lambda")
        return self.read(name, "GetFunctionConfiguration", lambda: lam.get_function_configuration(
            FunctionName=name, Qualifier=ALIAS), absent=_NOT_FOUND)

    def _reserved(self, name: str) -> int | None:
        """The function's reserved concurrency, None when it has none. GetFunctionConcurrency, not
        GetFunction's ``Concurrency``: moto omits that one when it is 0 (docs/moto-gaps.md)."""
        lam = self.client("lambda")
        got = self.read(name, "GetFunctionConcurrency", lambda: lam.get_function_concurrency(FunctionName=name),
                        absent=_NOT_FOUND)
        reserved = (got or {}).get("ReservedConcurrentExecutions")
        return None if reserved is None else int(reserved)

    # -- writes ------------------------------------------------------------------------------
    def _retrying(self, name: str, operation: str, call: Any, *rules: RetryRule,
                  ignore: tuple[str, ...] = ()) -> Any:
        """Call with the named retries; None when the error code is one of ``ignore``."""
        def on_retry(rule: RetryRule, attempt: int, delay: float) -> None:
            self.ctx.emit(Event("retry", f"{self.kind} {name}: {operation}: {rule.name}, "
                                         f"retry {attempt} in {delay:.0f}s"))
        with self.calling(name, operation, ignore=ignore):
            return with_retries(call, *rules, sleep=self.ctx.sleep, on_retry=on_retry)
        return None

    def _wait(self, name: str) -> None:
        with self.calling(name, "GetFunction (waiting for the update)"):
            self.client("lambda").get_waiter("function_updated_v2").wait(
                FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 300})

    def create(self, name: str, desired: dict[str, Any]) -> Observed:
        lam = self.client("lambda")
        key = self._key(name)
        created = self._retrying(name, "CreateFunction", lambda: lam.create_function(
            FunctionName=name, Runtime=desired["runtime"], Role=desired["role"],
            Handler=desired["handler"], Code={"ZipFile": self.ctx.package(key).data},
            Description=desired["description"], Timeout=desired["timeout_s"],
            MemorySize=desired["memory_mb"], Architectures=desired["architectures"],
            Environment={"Variables": desired["environment"]}, Tags=desired["tags"], Publish=False),
            IAM_PROPAGATION, ignore=("ResourceConflictException",))
        if created is None:  # an interrupted apply created it: reconcile it as it is
            current = dict(self.observe()).get(name)
            if current is not None:
                self.refuse_foreign(name, current.owned is not False)
                return self.converge(name, desired, current)
        with self.calling(name, "GetFunction (waiting for Active)"):
            lam.get_waiter("function_active_v2").wait(FunctionName=name,
                                                     WaiterConfig={"Delay": 1, "MaxAttempts": 300})
        version = self._publish(name, desired["code_sha256"])
        self.point_alias(name, version, exists=False)
        if desired["reserved_concurrency"] is not None:
            self._reserve(name, desired["reserved_concurrency"])
        return Observed(dict(desired), {"arn": self._arn(name), "live_version": version}, True)

    def update(self, name: str, desired: dict[str, Any], current: Observed,
               diffs: tuple[FieldDiff, ...]) -> Observed:
        lam = self.client("lambda")
        key = self._key(name)
        have = current.state
        fields = fields_of(diffs)
        # Architectures is a parameter of UpdateFunctionCode only (not of UpdateFunctionConfiguration),
        # so an architecture change sends the package again even when the code is unchanged:
        # https://docs.aws.amazon.com/lambda/latest/api/API_UpdateFunctionCode.html
        if fields & {"code_sha256", "architectures"}:
            self._retrying(name, "UpdateFunctionCode", lambda: lam.update_function_code(
                FunctionName=name, ZipFile=self.ctx.package(key).data,
                Architectures=desired["architectures"]), LAMBDA_CONFLICT)
            self._wait(name)
        if fields & set(_CONFIG_FIELDS):
            self._retrying(name, "UpdateFunctionConfiguration", lambda: lam.update_function_configuration(
                FunctionName=name, Runtime=desired["runtime"], Role=desired["role"],
                Handler=desired["handler"], Description=desired["description"],
                Timeout=desired["timeout_s"], MemorySize=desired["memory_mb"],
                Environment={"Variables": desired["environment"]}), LAMBDA_CONFLICT, IAM_PROPAGATION)
            self._wait(name)
        if "tags" in fields:
            arn = current.meta["arn"]
            self.sync_tags(name, have.get("tags") or {}, desired["tags"],
                           lambda t: lam.tag_resource(Resource=arn, Tags=t),
                           lambda keys: lam.untag_resource(Resource=arn, TagKeys=keys))
        if "reserved_concurrency" in fields:
            self._reserve(name, desired["reserved_concurrency"])
        version = current.meta.get("live_version")
        if fields & {*_CONFIG_FIELDS, "code_sha256", "live_alias"}:
            version = self._publish(name, desired["code_sha256"])
            self.point_alias(name, version, exists=have.get("live_alias") != "missing")
        return Observed(dict(desired), {**current.meta, "live_version": version}, True)

    def _reserve(self, name: str, want: int | None) -> None:
        """The function's reserved concurrency (a setting of the function, not of a version)."""
        lam = self.client("lambda")
        if want is None:
            with self.calling(name, "DeleteFunctionConcurrency", ignore=("ResourceNotFoundException",)):
                lam.delete_function_concurrency(FunctionName=name)
            return
        with self.calling(name, "PutFunctionConcurrency"):
            lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=want)

    def _publish(self, name: str, code_sha256: str) -> str:
        lam = self.client("lambda")
        published = self._retrying(name, "PublishVersion", lambda: lam.publish_version(
            # No Description: it would override the function's, and the version would never equal
            # $LATEST when compared.
            FunctionName=name, CodeSha256=code_sha256), LAMBDA_CONFLICT)
        return str(published["Version"])

    def point_alias(self, name: str, version: str, exists: bool) -> None:
        lam = self.client("lambda")
        if exists:
            with self.calling(name, "UpdateAlias"):
                lam.update_alias(FunctionName=name, Name=ALIAS, FunctionVersion=version)
            return
        # Exists already (an interrupted apply, or a lost answer): update it instead. moto spells the
        # error ConflictException, AWS ResourceConflictException.
        with self.calling(name, "CreateAlias", ignore=("ResourceConflictException", "ConflictException")):
            lam.create_alias(FunctionName=name, Name=ALIAS, FunctionVersion=version,
                             Description="the version API Gateway invokes")
            return
        with self.calling(name, "UpdateAlias"):  # it existed after all (interrupted apply)
            lam.update_alias(FunctionName=name, Name=ALIAS, FunctionVersion=version)

    def delete(self, name: str, current: Observed) -> None:
        with self.calling(name, "DeleteFunction", ignore=("ResourceNotFoundException",)):
            self.client("lambda").delete_function(FunctionName=name)

    def outputs(self, name: str, current: Observed | None) -> FunctionOutputs:
        arn = self._arn(name)
        if current is None or (name in self.planned and name not in self.executed):
            version: Any = UNKNOWN  # a version is published by the planned change
        else:
            version = current.meta.get("live_version")
        return {"name": name, "arn": arn, "alias_arn": f"{arn}:{ALIAS}", "live_version": version}

    def _arn(self, name: str) -> str:
        return function_arn(self.ctx.region, self.ctx.account_id, name)


def function_arn(region: str, account: str, name: str) -> str:
    """A function's ARN, known before it exists (names are deterministic)."""
    return f"arn:aws:lambda:{region}:{account}:function:{name}"
