"""The REST API: its resources, methods, integrations, CORS preflights and gateway responses.

The API is found by name *and* this stack's ownership tag over every page of ``get_rest_apis``;
more than one match is an error that names them (never "take the first"). Reads: that listing,
``get_resources(embed=["methods"])`` (always with embed: AWS returns stubs without it) and
``get_gateway_responses``.

Writes are targeted. Only integrations or integration responses differ: ``put_integration`` and
``put_integration_response`` (upserts on AWS and moto). A method-level field differs: delete the
method and put it again whole. moto has no ``update_method``, and ``put_method`` on an existing
method drops its integration there (docs/moto-gaps.md). A deployment is the stage's business
(``apigateway_stage.py``).
"""

from __future__ import annotations

from typing import Any

from .. import naming
from ..apigw.definition import definition_hash, desired_definition, observed_definition
from ..errors import LiveInsightError
from ..plan import UNKNOWN, FieldDiff
from .base import Observed, Outputs, Reconciler
from .kind_outputs import RestApiOutputs, keys


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
    depends_on = ("lambda.function",)
    # A changed endpoint type is possible in place on AWS, but not worth the risk: replace.
    replace_fields = frozenset({"endpoint"})

    def names(self) -> list[str]:
        return [naming.api_name(self.spec)]

    def desired(self, name: str, outputs: Outputs) -> dict[str, Any]:
        fns = self.upstream(outputs, "lambda.function")
        arns = {key: fns.get(naming.function_name(self.spec, key), {}).get("alias_arn", UNKNOWN)
                for key in self.spec.functions}
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
        with self.calling(name, "GetResources"):
            items = ag.get_resources(restApiId=api["id"], embed=["methods"])["items"]
        empty = {"resources": [], "methods": {}, "gateway_responses": {}, "endpoint": "REGIONAL",
                 "tags": desired["tags"]}
        current = Observed(empty, {"id": api["id"], "resource_ids": {r["path"]: r["id"] for r in items}}, True)
        return self.update(name, desired, current, ())

    def update(self, name: str, desired: dict[str, Any], current: Observed,
               diffs: tuple[FieldDiff, ...]) -> Observed:
        ag = self.client("apigateway")
        api_id = current.meta["id"]
        ids: dict[str, str] = dict(current.meta["resource_ids"])
        have, want = current.state, desired
        # 1. resources the routes need, parents first
        for path in want["resources"]:
            if path not in ids:
                parent, _, part = path.rpartition("/")
                with self.calling(name, f"CreateResource {path}"):
                    created = ag.create_resource(restApiId=api_id, parentId=ids[parent or "/"], pathPart=part)
                ids[path] = created["id"]
        # 2. methods
        for key, method in want["methods"].items():
            old = have["methods"].get(key)
            if old == method:
                continue
            verb, path = key.split(" ", 1)
            rid = ids[path]
            method_level = ("authorization", "api_key_required", "method_responses")
            if old is not None and any(old.get(f) != method[f] for f in method_level):
                with self.calling(name, f"DeleteMethod {key}", ignore=("NotFoundException",)):
                    ag.delete_method(restApiId=api_id, resourceId=rid, httpMethod=verb)
                old = None
            if old is None:
                self._put_method(name, api_id, rid, verb, method)
            else:
                self._put_integration(name, api_id, rid, verb, method)
        # 3. methods and resources no longer wanted (deepest resources first)
        for key in sorted(set(have["methods"]) - set(want["methods"])):
            verb, path = key.split(" ", 1)
            if path in want["resources"]:
                with self.calling(name, f"DeleteMethod {key}", ignore=("NotFoundException",)):
                    ag.delete_method(restApiId=api_id, resourceId=ids[path], httpMethod=verb)
        stale = [p for p in have["resources"] if p not in want["resources"]]
        for path in stale:
            if path in ids and not any(path.startswith(s + "/") for s in stale):  # an ancestor takes it along
                with self.calling(name, f"DeleteResource {path}", ignore=("NotFoundException",)):
                    ag.delete_resource(restApiId=api_id, resourceId=ids.pop(path))
        # 4. gateway responses
        for kind, response in want["gateway_responses"].items():
            if have["gateway_responses"].get(kind) != response:
                with self.calling(name, f"PutGatewayResponse {kind}"):
                    ag.put_gateway_response(restApiId=api_id, responseType=kind,
                                            responseParameters=response["parameters"],
                                            responseTemplates=response["templates"])
        # 5. tags (moto cannot tag a REST API by ARN: docs/moto-gaps.md)
        if want["tags"] != have["tags"]:
            arn = f"arn:aws:apigateway:{self.ctx.region}::/restapis/{api_id}"
            self.sync_tags(name, have["tags"], want["tags"],
                           lambda t: ag.tag_resource(resourceArn=arn, tags=t),
                           lambda keys: ag.untag_resource(resourceArn=arn, tagKeys=keys))
        return Observed({**desired}, {"id": api_id, "resource_ids": ids}, True)

    def _put_method(self, name: str, api_id: str, rid: str, verb: str, m: dict[str, Any]) -> None:
        ag = self.client("apigateway")
        with self.calling(name, f"PutMethod {verb}"):
            ag.put_method(restApiId=api_id, resourceId=rid, httpMethod=verb,
                          authorizationType=m["authorization"], apiKeyRequired=m["api_key_required"])
        for code, params in m["method_responses"].items():
            with self.calling(name, f"PutMethodResponse {verb} {code}"):
                ag.put_method_response(restApiId=api_id, resourceId=rid, httpMethod=verb, statusCode=code,
                                       responseParameters=params)
        self._put_integration(name, api_id, rid, verb, m)

    def _put_integration(self, name: str, api_id: str, rid: str, verb: str, m: dict[str, Any]) -> None:
        ag = self.client("apigateway")
        integ = m["integration"]
        args: dict[str, Any] = {"restApiId": api_id, "resourceId": rid, "httpMethod": verb, "type": integ["type"]}
        if integ["type"] == "AWS_PROXY":
            args.update(integrationHttpMethod=integ["http_method"], uri=integ["uri"],
                        timeoutInMillis=integ["timeout_ms"])
        else:
            args.update(requestTemplates=integ["request_templates"], passthroughBehavior=integ["passthrough"])
        with self.calling(name, f"PutIntegration {verb}"):
            ag.put_integration(**args)
        # put_integration replaces the integration and its responses: put them all back.
        for code, resp in m["integration_responses"].items():
            with self.calling(name, f"PutIntegrationResponse {verb} {code}"):
                ag.put_integration_response(restApiId=api_id, resourceId=rid, httpMethod=verb, statusCode=code,
                                            responseParameters=resp["parameters"],
                                            responseTemplates=resp["templates"])

    def delete(self, name: str, current: Observed) -> None:
        with self.calling(name, "DeleteRestApi", ignore=("NotFoundException",)):
            self.client("apigateway").delete_rest_api(restApiId=current.meta["id"])
