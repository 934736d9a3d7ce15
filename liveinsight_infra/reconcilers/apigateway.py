"""The REST API: its resources, methods, integrations, CORS preflights and gateway responses.

The API is found by name *and* this stack's ownership tag over every page of ``get_rest_apis``;
more than one match is an error that names them (never "take the first"). Reads: that listing,
``get_resources(embed=["methods"])`` (always with embed: AWS returns stubs without it) and
``get_gateway_responses``.

Writes are targeted, and independent ones run a few at a time (``WRITES_AT_ONCE``): resources
level by level (parents first), then each method with its responses and integration, and the
gateway responses. ``PutRestApi`` with an OpenAPI body would be one call, but moto 5.2.5's
``put_rest_api`` fails on a MOCK integration without a ``uri`` (the CORS preflights), so the
per-call path stays. Only integrations or integration responses differ: ``put_integration`` and
``put_integration_response`` (upserts on AWS and moto). A method-level field differs: delete the
method and put it again whole. moto has no ``update_method``, and ``put_method`` on an existing
method drops its integration there (docs/moto-gaps.md). A deployment is the stage's business
(``apigateway_stage.py``).
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from .. import naming
from ..apigw.definition import definition_hash, desired_definition, observed_definition
from ..aws.retry import RetryRule, with_retries
from ..diff import entries, fields_below, fields_of
from ..errors import LiveInsightError
from ..plan import UNKNOWN, FieldDiff
from .base import Observed, Outputs, Reconciler
from .kind_outputs import RestApiOutputs, keys
from .lambda_ import ALIAS, function_arn

# Writes to one API run a few at a time: API Gateway's control plane allows about 10 requests a
# second per account with a burst of 40 (https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html),
# and a create is about 40 calls. botocore's throttling retries catch whatever still goes over.
WRITES_AT_ONCE = 3


class Write(Protocol):
    """One API Gateway write of an update, within its budget of calls in flight."""

    def __call__(self, operation: str, call: Callable[[], Any], ignore: tuple[str, ...] = ()) -> Any: ...


def _chain(method: dict[str, Any], changed: set[str] | None) -> int:
    """How many calls in a row writing this method takes (its method and integration responses)."""
    calls = 1 + len(method["integration_responses"])
    return calls + 1 + len(method["method_responses"]) if changed is None else calls
# Two writes that touch one REST API at the same time can get ConflictException "Unable to complete
# operation due to concurrent modification"; that write was not applied and can be sent again.
CONCURRENT_MODIFICATION = RetryRule("apigateway-concurrent-modification", frozenset({"ConflictException"}),
                                    re.compile(r"concurrent modification", re.I), deadline_s=60.0,
                                    first_delay_s=0.5, max_delay_s=4.0)
# A method-level field cannot be patched in place (moto has no UpdateMethod, and put_method on an
# existing method drops its integration there): the method is deleted and put back with everything.
METHOD_LEVEL = frozenset({"authorization", "api_key_required", "method_responses"})
PUT_BACK_WHOLE = "the method is deleted and put back whole"


def find_rest_api(reconciler: Reconciler) -> dict[str, Any] | None:
    """This stack's REST API (read once per run, shared by the API and stage reconcilers)."""
    ctx = reconciler.ctx

    def read() -> dict[str, Any] | None:
        name = naming.api_name(ctx.spec)
        with reconciler.calling(name, "GetRestApis"):
            pages = reconciler.client("apigateway").get_paginator("get_rest_apis").paginate()
            items = [a for p in pages for a in p.get("items", [])]
        ours = [a for a in items if a.get("name") == name and naming.is_owned(ctx.spec, a.get("tags"))]
        if len(ours) > 1:
            ids = ", ".join(sorted(a["id"] for a in ours))
            raise LiveInsightError(
                f"apigateway.rest_api {name}: {len(ours)} REST APIs carry this stack's tag ({ids}). "
                "Delete the extra ones (keep the one the stage serves), then run again.")
        return ours[0] if ours else None

    return ctx.shared_read("rest_api", read)


class RestApiReconciler(Reconciler):
    kind = "apigateway.rest_api"
    output_keys = keys(RestApiOutputs)
    # A changed endpoint type is possible in place on AWS, but not worth the risk: replace.
    replace_fields = frozenset({"endpoint"})
    # The integrations name each function's ``live`` alias by its ARN, which is known before the
    # function exists, and API Gateway does not look the function up until a call comes in; so the
    # API is built while the functions are, and the stage (which deploys) waits for both.

    def names(self) -> list[str]:
        return [naming.api_name(self.spec)]

    def desired(self, name: str, outputs: Outputs) -> dict[str, Any]:
        arns = {key: f"{function_arn(self.ctx.region, self.ctx.account_id, naming.function_name(self.spec, key))}"
                     f":{ALIAS}" for key in self.spec.functions}
        return {**desired_definition(self.spec, arns), "endpoint": "REGIONAL",
                "tags": naming.resource_tags(self.spec)}

    def observe(self, for_destroy: bool = False) -> dict[str, Observed]:
        api = find_rest_api(self)
        if api is None:
            return {}
        ag = self.client("apigateway")
        name = api["name"]

        def resources() -> Any:
            with self.calling(name, "GetResources"):
                pages = ag.get_paginator("get_resources").paginate(restApiId=api["id"], embed=["methods"])
                return [r for p in pages for r in p.get("items", [])]

        def responses() -> Any:
            with self.calling(name, "GetGatewayResponses"):
                return ag.get_gateway_responses(restApiId=api["id"]).get("items", [])

        items, gateway = self.parallel(lambda f: f(), [resources, responses])
        state = {**observed_definition(items, gateway),
                 "endpoint": ",".join((api.get("endpointConfiguration") or {}).get("types", [])),
                 "tags": dict(api.get("tags") or {})}
        ids = {r["path"]: r["id"] for r in items}
        return {name: Observed(state, {"id": api["id"], "resource_ids": ids}, True)}

    def outputs(self, name: str, current: Observed | None) -> RestApiOutputs:
        """``revision`` is what the stage deploys: the definition's hash; "(known after apply)" while
        a change is planned; marked ``+redeploy`` once this run changed the API, so the stage
        takes a new snapshot even when the repaired definition hashes the same as before."""
        want = desired_definition(self.spec, {k: "" for k in self.spec.functions})
        digest = definition_hash(want)
        api_id = current.meta["id"] if current else UNKNOWN
        execution_arn = (f"arn:aws:execute-api:{self.ctx.region}:{self.ctx.account_id}:{api_id}"
                         if current else UNKNOWN)
        if name in self.executed:  # written in this run: the stage must take a new snapshot
            revision: Any = f"{digest}+redeploy"
        elif name in self.planned:
            revision = UNKNOWN
        else:
            revision = digest
        return {"id": api_id, "name": name, "execution_arn": execution_arn, "definition_hash": digest,
                "revision": revision}

    # -- writes ------------------------------------------------------------------------------
    def create(self, name: str, desired: dict[str, Any]) -> Observed:
        ag = self.client("apigateway")
        with self.calling(name, "CreateRestApi"):
            api = ag.create_rest_api(
                name=name, description=f"LiveInsight API ({naming.stack_id(self.spec)})",
                endpointConfiguration={"types": ["REGIONAL"]}, apiKeySource="HEADER", tags=desired["tags"])
        root = api.get("rootResourceId")  # in CreateRestApi's answer (AWS and moto): no GetResources
        if root:
            items = [{"path": "/", "id": root}]
        else:
            with self.calling(name, "GetResources"):
                items = ag.get_resources(restApiId=api["id"], embed=["methods"])["items"]
        empty = {"resources": [], "methods": {}, "gateway_responses": {}, "endpoint": "REGIONAL",
                 "tags": desired["tags"]}
        current = Observed(empty, {"id": api["id"], "resource_ids": {r["path"]: r["id"] for r in items}}, True)
        return self.converge(name, desired, current)

    def explain(self, diffs: tuple[FieldDiff, ...], desired: dict[str, Any]) -> tuple[FieldDiff, ...]:
        out = []
        for d in diffs:
            entry = next(iter(entries((d,), "methods", desired["methods"])), None)
            if entry is not None and not d.why and fields_below((d,), f"methods.{entry}") & METHOD_LEVEL:
                d = d.because(PUT_BACK_WHOLE)
            out.append(d)
        return tuple(out)

    def update(self, name: str, desired: dict[str, Any], current: Observed,
               diffs: tuple[FieldDiff, ...]) -> Observed:
        """Writes what ``diffs`` name: each method, gateway response and resource they touch."""
        ag = self.client("apigateway")
        api_id = current.meta["id"]
        ids: dict[str, str] = dict(current.meta["resource_ids"])
        have, want = current.state, desired
        fields = fields_of(diffs)
        methods = entries(diffs, "methods", {*have["methods"], *want["methods"]})
        # 1. the gateway responses need only the API: they are written while the resources are made.
        # Every write below takes a place in one budget of WRITES_AT_ONCE calls in flight.
        budget = threading.BoundedSemaphore(WRITES_AT_ONCE)

        def write(operation: str, call: Callable[[], Any], ignore: tuple[str, ...] = ()) -> Any:
            with budget:
                return self._write(name, operation, call, ignore)

        responses: list[Callable[[], Any]] = []
        for kind in entries(diffs, "gateway_responses", want["gateway_responses"]):
            response = want["gateway_responses"][kind]
            responses.append(functools.partial(write, f"PutGatewayResponse {kind}", functools.partial(
                ag.put_gateway_response, restApiId=api_id, responseType=kind,
                responseParameters=response["parameters"], responseTemplates=response["templates"])))
        with ThreadPoolExecutor(max_workers=max(1, len(responses))) as pool:
            written = [pool.submit(call) for call in responses]
            # 2. resources the routes need, parents first (the ones at one depth at once)
            missing = [p for p in want["resources"] if p not in ids] if "resources" in fields else []
            for depth in sorted({p.count("/") for p in missing}):
                level = [p for p in missing if p.count("/") == depth]

                def create_resource(path: str) -> tuple[str, str]:
                    parent, _, part = path.rpartition("/")
                    created = write(f"CreateResource {path}", lambda: ag.create_resource(
                        restApiId=api_id, parentId=ids[parent or "/"], pathPart=part))
                    return path, created["id"]

                ids.update(self.parallel(create_resource, level, limit=WRITES_AT_ONCE))
            # 3. methods, each one's calls in order, all side by side (the longest chains first)
            work: list[tuple[int, Callable[[], None]]] = []
            for key, method_diffs in methods.items():
                if key in want["methods"]:
                    changed = fields_below(method_diffs, f"methods.{key}") if key in have["methods"] else None
                    work.append((_chain(want["methods"][key], changed), functools.partial(
                        self._sync_method, name, api_id, ids, key, want["methods"][key], changed, write)))
            work.sort(key=lambda w: -w[0])
            self.concurrently([w for _, w in work], limit=max(1, len(work)))
        for done in written:
            done.result()
        # 4. methods and resources no longer wanted (deepest resources first)
        for key in sorted(k for k in methods if k not in want["methods"]):
            verb, path = key.split(" ", 1)
            if path in want["resources"]:
                with self.calling(name, f"DeleteMethod {key}", ignore=("NotFoundException",)):
                    ag.delete_method(restApiId=api_id, resourceId=ids[path], httpMethod=verb)
        stale = [p for p in have["resources"] if p not in want["resources"]] if "resources" in fields else []
        for path in stale:
            if path in ids and not any(path.startswith(s + "/") for s in stale):  # an ancestor takes it along
                with self.calling(name, f"DeleteResource {path}", ignore=("NotFoundException",)):
                    ag.delete_resource(restApiId=api_id, resourceId=ids.pop(path))
        # 5. tags (moto cannot tag a REST API by ARN: docs/moto-gaps.md)
        if "tags" in fields:
            arn = f"arn:aws:apigateway:{self.ctx.region}::/restapis/{api_id}"
            self.sync_tags(name, have["tags"], want["tags"],
                           lambda t: ag.tag_resource(resourceArn=arn, tags=t),
                           lambda keys: ag.untag_resource(resourceArn=arn, tagKeys=keys))
        return Observed({**desired}, {"id": api_id, "resource_ids": ids}, True)

    def _write(self, name: str, operation: str, call: Callable[[], Any], ignore: tuple[str, ...] = ()) -> Any:
        """One write, translated into AwsCallError, sent again on a concurrent-modification conflict."""
        with self.calling(name, operation, ignore=ignore):
            return with_retries(call, CONCURRENT_MODIFICATION, sleep=self.ctx.sleep)
        return None

    def _sync_method(self, name: str, api_id: str, ids: dict[str, str], key: str, method: dict[str, Any],
                     changed: set[str] | None, write: Write) -> None:
        """Write one method: whole when it is new (``changed`` None) or a method-level field changed,
        else only its integration and integration responses."""
        ag = self.client("apigateway")
        verb, path = key.split(" ", 1)
        rid = ids[path]
        if changed is not None and changed & METHOD_LEVEL:
            write(f"DeleteMethod {key}", lambda: ag.delete_method(
                restApiId=api_id, resourceId=rid, httpMethod=verb), ("NotFoundException",))
            changed = None
        if changed is None:
            self._put_method(api_id, rid, verb, method, write)
        else:
            self._put_integration(api_id, rid, verb, method, write)

    def _put_method(self, api_id: str, rid: str, verb: str, m: dict[str, Any], write: Write) -> None:
        ag = self.client("apigateway")
        write(f"PutMethod {verb}", lambda: ag.put_method(
            restApiId=api_id, resourceId=rid, httpMethod=verb, authorizationType=m["authorization"],
            apiKeyRequired=m["api_key_required"]))
        for code, params in m["method_responses"].items():
            write(f"PutMethodResponse {verb} {code}",
                  functools.partial(ag.put_method_response, restApiId=api_id, resourceId=rid,
                                    httpMethod=verb, statusCode=code, responseParameters=params))
        self._put_integration(api_id, rid, verb, m, write)

    def _put_integration(self, api_id: str, rid: str, verb: str, m: dict[str, Any], write: Write) -> None:
        ag = self.client("apigateway")
        integ = m["integration"]
        args: dict[str, Any] = {"restApiId": api_id, "resourceId": rid, "httpMethod": verb, "type": integ["type"]}
        if integ["type"] == "AWS_PROXY":
            args.update(integrationHttpMethod=integ["http_method"], uri=integ["uri"],
                        timeoutInMillis=integ["timeout_ms"])
        else:
            args.update(requestTemplates=integ["request_templates"], passthroughBehavior=integ["passthrough"])
        write(f"PutIntegration {verb}", lambda: ag.put_integration(**args))
        # put_integration replaces the integration and its responses: put them all back.
        for code, resp in m["integration_responses"].items():
            write(f"PutIntegrationResponse {verb} {code}",
                  functools.partial(ag.put_integration_response, restApiId=api_id, resourceId=rid,
                                    httpMethod=verb, statusCode=code, responseParameters=resp["parameters"],
                                    responseTemplates=resp["templates"]))

    def delete(self, name: str, current: Observed) -> None:
        with self.calling(name, "DeleteRestApi", ignore=("NotFoundException",)):
            self.client("apigateway").delete_rest_api(restApiId=current.meta["id"])
