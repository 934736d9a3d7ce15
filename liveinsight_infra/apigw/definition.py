"""The REST API as one normalised document: desired (from the spec) and observed (from AWS).

Both sides use the same shape, so a plain field diff says exactly which method, integration or
gateway response differs::

    {"resources": ["/api", "/api/events", ...],
     "methods": {"POST /api/events": {...}, "OPTIONS /api/events": {...}},
     "gateway_responses": {"DEFAULT_4XX": {...}, "DEFAULT_5XX": {...}}}

The CORS preflight follows
https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-cors.html: an OPTIONS method
per resource with a MOCK integration
whose request template is ``{"statusCode": 200}``, a 200 method response declaring the headers, and
a 200 integration response giving their values. With a list of origins, the integration
response's template echoes the request's ``Origin`` when it is in the list
(``$context.responseOverride``), with ``Vary: Origin``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ..spec.model import CorsSpec, StackSpec

MOCK_TEMPLATE = '{"statusCode": 200}'
PROXY_TIMEOUT_MS = 29000
CORS_HEADERS = ("Access-Control-Allow-Headers", "Access-Control-Allow-Methods", "Access-Control-Allow-Origin",
                "Access-Control-Max-Age")
ERROR_TEMPLATE = '{"message":$context.error.messageString}'


def integration_uri(region: str, function_arn: str) -> str:
    return f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{function_arn}/invocations"


def resource_paths(spec: StackSpec) -> list[str]:
    """Every resource path the routes need, parents included, sorted so parents come first."""
    paths: set[str] = set()
    for route in spec.api.routes:
        parts = route.path.strip("/").split("/")
        for i in range(1, len(parts) + 1):
            paths.add("/" + "/".join(parts[:i]))
    return sorted(paths, key=lambda p: (p.count("/"), p))


def _quote(value: str) -> str:
    return f"'{value}'"


def origin_template(origins: tuple[str, ...]) -> str:
    """VTL that echoes an allowed Origin (API Gateway has no static mapping for that).

    Velocity leaves a variable unchanged when ``#set`` is given null, so the header is tested for
    presence first, in both spellings (HTTP/2 clients send lower-case names).
    """
    cond = " || ".join(f'$origin == "{o}"' for o in origins)
    return ('#set($origin = "")\n'
            '#set($h = $input.params().header)\n'
            '#if($h.get("Origin"))#set($origin = $h.get("Origin"))'
            '#elseif($h.get("origin"))#set($origin = $h.get("origin"))#end\n'
            f"#if({cond})\n"
            "#set($context.responseOverride.header.Access-Control-Allow-Origin = $origin)\n"
            "#end\n")


def preflight(cors: CorsSpec) -> dict[str, Any]:
    wildcard = "*" in cors.allow_origins
    declared = {f"method.response.header.{h}": False for h in CORS_HEADERS}
    values = {
        "method.response.header.Access-Control-Allow-Headers": _quote(",".join(cors.allow_headers)),
        "method.response.header.Access-Control-Allow-Methods": _quote(",".join(cors.allow_methods)),
        "method.response.header.Access-Control-Max-Age": _quote(str(cors.max_age_s)),
    }
    if wildcard:
        values["method.response.header.Access-Control-Allow-Origin"] = "'*'"
        template = ""
    else:
        declared["method.response.header.Vary"] = False
        values["method.response.header.Vary"] = "'Origin'"
        template = origin_template(cors.allow_origins)
    return {
        "authorization": "NONE", "api_key_required": False,
        "method_responses": {"200": dict(sorted(declared.items()))},
        "integration": {"type": "MOCK", "request_templates": {"application/json": MOCK_TEMPLATE},
                        "passthrough": "WHEN_NO_MATCH"},
        "integration_responses": {"200": {"parameters": dict(sorted(values.items())),
                                          "templates": {"application/json": template}}},
    }


def proxy_method(uri: str, api_key_required: bool = False) -> dict[str, Any]:
    return {"authorization": "NONE", "api_key_required": api_key_required, "method_responses": {},
            "integration": {"type": "AWS_PROXY", "http_method": "POST", "uri": uri,
                            "timeout_ms": PROXY_TIMEOUT_MS},
            "integration_responses": {}}


def gateway_responses(cors: CorsSpec) -> dict[str, Any]:
    if "*" in cors.allow_origins:
        params = {"gatewayresponse.header.Access-Control-Allow-Origin": "'*'"}
    else:
        # A gateway response cannot check the Origin against a list, and echoing it would grant any
        # origin. So the errors the gateway itself answers name the first listed origin (the
        # dashboard's). Handlers echo every listed origin, and the preflight does too.
        params = {"gatewayresponse.header.Access-Control-Allow-Origin": _quote(cors.allow_origins[0]),
                  "gatewayresponse.header.Vary": "'Origin'"}
    params["gatewayresponse.header.Access-Control-Allow-Headers"] = _quote(",".join(cors.allow_headers))
    params["gatewayresponse.header.Access-Control-Allow-Methods"] = _quote(",".join(cors.allow_methods))
    entry = {"parameters": dict(sorted(params.items())), "templates": {"application/json": ERROR_TEMPLATE}}
    return {"DEFAULT_4XX": entry, "DEFAULT_5XX": entry}


def desired_definition(spec: StackSpec, function_arns: dict[str, Any]) -> dict[str, Any]:
    """``function_arns`` maps a function key to the ARN API Gateway invokes (its ``live`` alias)."""
    methods: dict[str, Any] = {}
    for route in spec.api.routes:
        arn = function_arns[route.function]
        uri = integration_uri(spec.region, arn) if isinstance(arn, str) else arn
        methods[f"{route.method} {route.path}"] = proxy_method(uri, route.api_key_required)
    for path in resource_paths(spec):
        if any(r.path == path for r in spec.api.routes):
            methods[f"OPTIONS {path}"] = preflight(spec.api.cors)
    return {"resources": resource_paths(spec), "methods": dict(sorted(methods.items())),
            "gateway_responses": gateway_responses(spec.api.cors)}


def definition_hash(definition: dict[str, Any]) -> str:
    """A canonical digest of what a deployment would snapshot."""
    canon = json.dumps({k: definition[k] for k in ("resources", "methods", "gateway_responses")},
                       sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canon.encode()).hexdigest()[:16]


# -- observed -----------------------------------------------------------------------------------

def _templates(value: dict[str, Any] | None) -> dict[str, str]:
    # An empty template reads back as null (docs/moto-gaps.md): "" and None are the same.
    return {k: v or "" for k, v in (value or {}).items()}


def normalise_method(method: dict[str, Any]) -> dict[str, Any]:
    integ = method.get("methodIntegration") or {}
    kind = integ.get("type")
    if kind == "AWS_PROXY":
        integration: dict[str, Any] = {"type": kind, "http_method": integ.get("httpMethod"),
                                       "uri": integ.get("uri"),
                                       "timeout_ms": integ.get("timeoutInMillis") or PROXY_TIMEOUT_MS}
    elif kind == "MOCK":
        integration = {"type": kind, "request_templates": _templates(integ.get("requestTemplates")),
                       "passthrough": integ.get("passthroughBehavior") or "WHEN_NO_MATCH"}
    else:
        integration = {"type": kind, "uri": integ.get("uri")} if kind else {}
    return {
        "authorization": method.get("authorizationType", "NONE"),
        "api_key_required": bool(method.get("apiKeyRequired", False)),
        "method_responses": {code: dict(sorted((r.get("responseParameters") or {}).items()))
                             for code, r in (method.get("methodResponses") or {}).items()},
        "integration": integration,
        "integration_responses": {
            code: {"parameters": dict(sorted((r.get("responseParameters") or {}).items())),
                   "templates": _templates(r.get("responseTemplates"))}
            for code, r in (integ.get("integrationResponses") or {}).items()},
    }


def observed_definition(resources: list[dict[str, Any]], responses: list[dict[str, Any]]) -> dict[str, Any]:
    methods = {f"{verb} {r['path']}": normalise_method(m)
               for r in resources for verb, m in (r.get("resourceMethods") or {}).items()}
    gateway = {g["responseType"]: {"parameters": dict(sorted((g.get("responseParameters") or {}).items())),
                                   "templates": _templates(g.get("responseTemplates"))}
               for g in responses if g.get("responseType") in ("DEFAULT_4XX", "DEFAULT_5XX")}
    paths = sorted((r["path"] for r in resources if r["path"] != "/"), key=lambda p: (p.count("/"), p))
    return {"resources": paths, "methods": dict(sorted(methods.items())), "gateway_responses": gateway}
