"""A local API Gateway: executes the REST API definition that is actually in AWS (or moto).

moto cannot execute MOCK or AWS_PROXY integrations (docs/moto-gaps.md), so this module reads the
definition back (resources with their methods, integrations and integration responses; gateway
responses; each integrated function's ``Handler``, environment and ``CodeSha256`` from Lambda)
and executes it as API Gateway does:

* MOCK: the request template gives the status (no parsable ``statusCode``: 500, as on AWS); the
  matching integration response maps the headers and renders its template (VTL).
* AWS_PROXY: the function's handler is imported from its deployed package, with its Lambda
  environment, and called with a version 1.0 proxy event. An exception or a malformed result is a
  502. A package whose SHA-256 differs from the sources here cannot be run, and is also a 502.
* Unknown path or method: 403 ``{"message":"Missing Authentication Token"}``.

Proxy events carry the stage's variables, as API Gateway's do. The custom headers of the
distribution's API origin (the origin secret) are read too, for the local server, which plays
CloudFront on ``/api/...`` and adds them there.

Errors go through the gateway responses (DEFAULT_4XX / DEFAULT_5XX), so they carry their CORS
headers. This module makes AWS reads only; it never prints (``log`` receives messages).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import re
import sys
import tempfile
import threading
import time
import traceback
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any
from urllib.parse import parse_qsl

from .. import naming
from ..aws.provider import AwsProvider
from ..build.package import build_function
from ..environ import patched_environ
from ..errors import LiveInsightError
from ..spec.loader import LoadedSpec
from .vtl import VtlError, render

_FUNCTION_IN_URI = re.compile(r"functions/(arn:aws[\w-]*:lambda:[^/]+)/invocations$")
_IMPORT_LOCK = threading.Lock()
_ENV_LOCK = threading.RLock()


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # the resource path, without the stage
    headers: list[tuple[str, str]] = field(default_factory=list)
    query: str = ""
    body: bytes = b""
    source_ip: str = "127.0.0.1"
    stage: str = ""
    scheme: str = "http"  # how the client reached the gateway (X-Forwarded-Proto)
    port: int = 0  # the gateway's port the client reached (X-Forwarded-Port)

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FunctionTarget:
    arn: str
    name: str
    handler: str
    environment: dict[str, str]
    code_sha256: str
    timeout_s: int
    memory_mb: int
    package_dir: Path | None = None
    problem: str = ""
    _callable: Callable[..., Any] | None = None
    _modules: dict[str, ModuleType] = field(default_factory=dict)  # the package's own modules


@dataclass
class ApiDefinition:
    api_id: str
    stage: str
    region: str
    account_id: str
    methods: dict[tuple[str, str], dict[str, Any]]  # (path, VERB) -> method
    gateway_responses: dict[str, dict[str, Any]]
    functions: dict[str, FunctionTarget]  # by invoked ARN
    api_keys: frozenset[str] = frozenset()  # enabled keys of the usage plans of this stage
    stage_variables: dict[str, str] = field(default_factory=dict)
    # What CloudFront adds to each request for the API (its origin custom headers); secret values.
    origin_headers: dict[str, str] = field(default_factory=dict, repr=False)
    # ingest.front: function_url: the collector's URL, served by function_url.py; None with the REST front.
    function_url: FunctionUrl | None = None


@dataclass
class FunctionUrl:
    """The stack's function URL as read back: its function, CORS setting, and what CloudFront adds to
    each request it sends there (the event origin's custom headers: the origin secret)."""

    url: str
    target: FunctionTarget
    cors: dict[str, Any]
    origin_headers: dict[str, str] = field(default_factory=dict, repr=False)


def read_definition(aws: AwsProvider, loaded: LoadedSpec) -> ApiDefinition:
    """Read the stack's REST API and its functions back from AWS (reads only)."""
    spec = loaded.spec
    ag, lam = aws.client("apigateway"), aws.client("lambda")
    name = naming.api_name(spec)
    apis = [a for p in ag.get_paginator("get_rest_apis").paginate() for a in p.get("items", [])
            if a.get("name") == name and naming.is_owned(spec, a.get("tags"))]
    if len(apis) != 1:
        raise LiveInsightError(f"REST API {name}: found {len(apis)} for this stack; run apply first")
    api_id = apis[0]["id"]
    resources = [r for p in ag.get_paginator("get_resources").paginate(restApiId=api_id, embed=["methods"])
                 for r in p.get("items", [])]
    methods = {(r["path"], verb): m for r in resources for verb, m in (r.get("resourceMethods") or {}).items()}
    gateway = {g["responseType"]: g for g in ag.get_gateway_responses(restApiId=api_id).get("items", [])}
    functions: dict[str, FunctionTarget] = {}
    for m in methods.values():
        integ = m.get("methodIntegration") or {}
        match = _FUNCTION_IN_URI.search(integ.get("uri") or "")
        if integ.get("type") == "AWS_PROXY" and match and match.group(1) not in functions:
            arn = match.group(1)
            cfg = lam.get_function_configuration(FunctionName=arn)
            target = FunctionTarget(arn, cfg["FunctionName"], cfg["Handler"],
                                    dict((cfg.get("Environment") or {}).get("Variables") or {}),
                                    cfg["CodeSha256"], cfg.get("Timeout", 3), cfg.get("MemorySize", 128))
            _attach_package(target, loaded)
            functions[arn] = target
    variables = dict(ag.get_stage(restApiId=api_id, stageName=spec.api.stage).get("variables") or {})
    return ApiDefinition(api_id, spec.api.stage, spec.region, aws.account_id(), methods, gateway, functions,
                         _stage_keys(ag, api_id, spec.api.stage), variables, _origin_headers(aws, loaded),
                         _function_url(aws, loaded, functions))


def _function_url(aws: AwsProvider, loaded: LoadedSpec, functions: dict[str, FunctionTarget]) -> FunctionUrl | None:
    """The collector's function URL (ingest.front: function_url), on its ``live`` alias, or None."""
    from ..reconcilers.cloudfront import EVENT_ORIGIN
    from ..reconcilers.lambda_ import ALIAS

    key = loaded.spec.event_function
    if key is None:
        return None
    lam = aws.client("lambda")
    name = naming.function_name(loaded.spec, key)
    config = lam.get_function_url_config(FunctionName=name, Qualifier=ALIAS)
    cfg = lam.get_function_configuration(FunctionName=name, Qualifier=ALIAS)
    arn = str(cfg["FunctionArn"])
    target = functions.get(arn)
    if target is None:
        target = FunctionTarget(arn, cfg["FunctionName"], cfg["Handler"],
                                dict((cfg.get("Environment") or {}).get("Variables") or {}),
                                cfg["CodeSha256"], cfg.get("Timeout", 3), cfg.get("MemorySize", 128))
        _attach_package(target, loaded)
    return FunctionUrl(str(config["FunctionUrl"]), target, dict(config.get("Cors") or {}),
                       _origin_headers(aws, loaded, EVENT_ORIGIN))


def _origin_headers(aws: AwsProvider, loaded: LoadedSpec, origin_id: str = "") -> dict[str, str]:
    """The custom headers of an origin (the API's by default) of this stack's distribution (none
    without one)."""
    from ..reconcilers.cloudfront import API_ORIGIN, marker

    origin_id = origin_id or API_ORIGIN
    cf = aws.client("cloudfront")
    ours = [d for p in cf.get_paginator("list_distributions").paginate()
            for d in (p.get("DistributionList", {}).get("Items") or []) if d.get("Comment") == marker(loaded.spec)]
    if len(ours) != 1:
        return {}
    config = cf.get_distribution_config(Id=ours[0]["Id"])["DistributionConfig"]
    api: dict[str, Any] = next((o for o in config["Origins"].get("Items") or [] if o.get("Id") == origin_id), {})
    return {h["HeaderName"]: h["HeaderValue"] for h in (api.get("CustomHeaders") or {}).get("Items") or []}


def _stage_keys(ag: Any, api_id: str, stage: str) -> frozenset[str]:
    """The values of the enabled API keys in usage plans that cover this stage, as API Gateway checks."""
    values: set[str] = set()
    for page in ag.get_paginator("get_usage_plans").paginate():
        for plan in page.get("items", []):
            if not any(s.get("apiId") == api_id and s.get("stage") == stage for s in plan.get("apiStages", [])):
                continue
            for key in ag.get_usage_plan_keys(usagePlanId=plan["id"]).get("items", []):
                full = ag.get_api_key(apiKey=key["id"], includeValue=True)
                if full.get("enabled", True) and full.get("value"):
                    values.add(full["value"])
    return frozenset(values)


def _attach_package(target: FunctionTarget, loaded: LoadedSpec) -> None:
    """Unpack the deployed package, after checking that the sources here build the same bytes."""
    key = next((k for k in loaded.spec.functions if naming.function_name(loaded.spec, k) == target.name), None)
    if key is None:
        target.problem = f"function {target.name} is not in the spec"
        return
    package = build_function(loaded.code_dir, key, loaded.spec.functions[key])
    if package.code_sha256 != target.code_sha256:
        target.problem = (f"the code deployed to {target.name} ({target.code_sha256}) is not what "
                          f"{loaded.code_dir} builds ({package.code_sha256}): run apply")
        return
    folder = Path(tempfile.mkdtemp(prefix=f"liveinsight-{key}-"))
    with zipfile.ZipFile(io.BytesIO(package.data)) as zf:
        zf.extractall(folder)
    target.package_dir = folder


class LocalGateway:
    def __init__(self, definition: ApiDefinition, log: Callable[[str], None] = lambda _m: None):
        self.d = definition
        self.log = log

    @classmethod
    def from_aws(cls, aws: AwsProvider, loaded: LoadedSpec, log: Callable[[str], None] = lambda _m: None
                 ) -> LocalGateway:
        return cls(read_definition(aws, loaded), log)

    # -- dispatch ------------------------------------------------------------------------------
    def handle(self, req: Request) -> Response:
        request_id = str(uuid.uuid4())
        method = self.d.methods.get((req.path.rstrip("/") or "/", req.method.upper()))
        if method is None:
            return self._gateway_error(req, "DEFAULT_4XX", 403, "Missing Authentication Token")
        if method.get("apiKeyRequired") and req.header("X-API-Key") not in self.d.api_keys:
            return self._gateway_error(req, "DEFAULT_4XX", 403, "Forbidden", "ForbiddenException")
        integ = method.get("methodIntegration") or {}
        try:
            if integ.get("type") == "MOCK":
                return self._mock(req, method, integ)
            if integ.get("type") == "AWS_PROXY":
                return self._proxy(req, method, integ, request_id)
        except _ConfigurationError as exc:
            self.log(f"{req.method} {req.path}: Execution failed due to configuration error: {exc}")
            return self._gateway_error(req, "DEFAULT_5XX", 500, "Internal server error")
        self.log(f"{req.method} {req.path}: integration type {integ.get('type')} is not supported locally")
        return self._gateway_error(req, "DEFAULT_5XX", 500, "Internal server error")

    # -- MOCK -----------------------------------------------------------------------------------
    def _mock(self, req: Request, method: dict[str, Any], integ: dict[str, Any]) -> Response:
        templates = integ.get("requestTemplates") or {}
        content_type = (req.header("Content-Type") or "application/json").split(";")[0].strip()
        template = templates.get(content_type)
        if template is None:
            if integ.get("passthroughBehavior") == "NEVER" and templates:
                return self._gateway_error(req, "DEFAULT_4XX", 415, "Unsupported Media Type")
            template = templates.get("application/json") if len(templates) == 1 else None
        rendered = self._render(template or "", req, {})[0] if template else ""
        try:
            status = int(json.loads(rendered)["statusCode"])
        except (ValueError, KeyError, TypeError) as exc:
            raise _ConfigurationError("statusCode should be an integer which defined in request template") from exc
        responses = integ.get("integrationResponses") or {}
        chosen = responses.get(str(status)) or next(
            (r for r in responses.values() if not r.get("selectionPattern")), None)
        if chosen is None:
            raise _ConfigurationError("No match for output mapping and no default output mapping configured")
        out_status = int(chosen.get("statusCode", status))
        declared = (method.get("methodResponses") or {}).get(str(out_status), {}).get("responseParameters") or {}
        headers = {"Content-Type": "application/json"}
        for target, source in (chosen.get("responseParameters") or {}).items():
            name = target.removeprefix("method.response.header.")
            if target not in declared:
                raise _ConfigurationError(f"header {name} is mapped but not declared in the method response")
            value = self._source(source, req)
            if value is not None:
                headers[name] = value
        body_template = (chosen.get("responseTemplates") or {}).get("application/json") or ""
        body, overrides = self._render(body_template, req, {})
        headers.update(overrides.headers)
        return Response(overrides.status or out_status, headers, body.strip().encode())

    # -- AWS_PROXY -----------------------------------------------------------------------------
    def _proxy(self, req: Request, method: dict[str, Any], integ: dict[str, Any], request_id: str) -> Response:
        match = _FUNCTION_IN_URI.search(integ.get("uri") or "")
        target = self.d.functions.get(match.group(1)) if match else None
        if target is None:
            raise _ConfigurationError(f"integration URI {integ.get('uri')} names no function")
        if target.problem:
            self.log(f"{req.method} {req.path}: {target.problem}")
            return self._gateway_error(req, "DEFAULT_5XX", 502, "Internal server error")
        event = self._event(req, request_id)
        try:
            result = self.invoke(target, event, request_id)
        except Exception:  # the function failed: API Gateway answers 502
            self.log(f"{req.method} {req.path}: {target.name} failed:\n{traceback.format_exc()}")
            return self._gateway_error(req, "DEFAULT_5XX", 502, "Internal server error")
        try:
            return _proxy_response(result)
        except ValueError as exc:
            self.log(f"{req.method} {req.path}: Malformed Lambda proxy response from {target.name}: {exc}")
            return self._gateway_error(req, "DEFAULT_5XX", 502, "Internal server error")

    def invoke(self, target: FunctionTarget, event: dict[str, Any], request_id: str) -> Any:
        """Call the function's handler with ``event``, in its package and Lambda environment (raises
        what the handler raises)."""
        fn = self._load(target)
        context = SimpleNamespace(
            function_name=target.name, function_version=target.arn.rsplit(":", 1)[-1],
            invoked_function_arn=target.arn, memory_limit_in_mb=target.memory_mb,
            aws_request_id=request_id, log_group_name=f"/aws/lambda/{target.name}",
            log_stream_name="local", get_remaining_time_in_millis=_deadline(target.timeout_s))
        with self._environment(target), self._package(target):
            return fn(event, context)

    def _event(self, req: Request, request_id: str) -> dict[str, Any]:
        multi: dict[str, list[str]] = {}
        for k, v in _forwarding_headers(req):
            multi.setdefault(k, []).append(v)
        query = parse_qsl(req.query, keep_blank_values=True)
        multi_query: dict[str, list[str]] = {}
        for k, v in query:
            multi_query.setdefault(k, []).append(v)
        resource = req.path.rstrip("/") or "/"
        now_ms = int(time.time() * 1000)
        try:
            body: str | None = req.body.decode("utf-8") if req.body else None
            is_b64 = False
        except UnicodeDecodeError:
            import base64
            body, is_b64 = base64.b64encode(req.body).decode(), True
        return {
            "resource": resource, "path": resource, "httpMethod": req.method.upper(),
            "headers": {k: v[-1] for k, v in multi.items()} or None, "multiValueHeaders": multi or None,
            "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": None, "stageVariables": dict(self.d.stage_variables) or None, "body": body,
            "isBase64Encoded": is_b64,
            "requestContext": {
                "resourcePath": resource, "httpMethod": req.method.upper(), "path": f"/{self.d.stage}{resource}",
                "stage": self.d.stage, "requestId": request_id, "extendedRequestId": request_id,
                "accountId": self.d.account_id, "apiId": self.d.api_id, "protocol": "HTTP/1.1",
                "domainName": f"{self.d.api_id}.execute-api.{self.d.region}.amazonaws.com",
                "domainPrefix": self.d.api_id,
                "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now_ms / 1000)),
                "requestTimeEpoch": now_ms,
                "identity": {"sourceIp": req.source_ip, "userAgent": req.header("User-Agent")},
            },
        }

    def _load(self, target: FunctionTarget) -> Callable[..., Any]:
        if target._callable is not None:
            return target._callable
        module_name, _, func = target.handler.rpartition(".")
        if target.package_dir is None:  # no package to run (target.problem says why)
            raise ImportError(f"Runtime.ImportModuleError: Unable to import module '{module_name}': "
                              f"{target.problem or 'no package'}")
        path = target.package_dir / f"{module_name.replace('.', '/')}.py"
        if not path.is_file():
            raise ImportError(f"Runtime.ImportModuleError: Unable to import module '{module_name}'")
        with self._environment(target), self._package(target):
            spec = importlib.util.spec_from_file_location(f"_liveinsight_{uuid.uuid4().hex}", path)
            if spec is None or spec.loader is None:
                raise ImportError(f"Runtime.ImportModuleError: Unable to import module '{module_name}'")
            module: ModuleType = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        fn: Callable[..., Any] | None = getattr(module, func, None)
        if fn is None or not callable(fn):
            raise ImportError(f"Runtime.HandlerNotFound: {target.handler} is undefined or not exported")
        target._callable = fn
        return fn

    @contextlib.contextmanager
    def _package(self, target: FunctionTarget) -> Iterator[None]:
        """The function's package on the path, with its own modules, as in its Lambda container.

        Handlers import lazily (a small cold start), so the package must be importable during
        calls too. Between calls its modules leave ``sys.modules``, so two functions never share
        them. Calls are serialised (``_ENV_LOCK``).
        """
        folder = str(target.package_dir)
        own = {p.stem for p in Path(folder).iterdir()}  # the package's top-level module names
        with _IMPORT_LOCK:
            saved = {name: module for name, module in sys.modules.items()
                     if name in target._modules or name.split(".")[0] in own}
            for name in saved:  # same-named modules from elsewhere must not shadow the package's
                del sys.modules[name]
            sys.modules.update(target._modules)
            sys.path.insert(0, folder)
            try:
                yield
            finally:
                sys.path.remove(folder)
                for name, module in list(sys.modules.items()):
                    if folder in str(getattr(module, "__file__", "") or ""):
                        target._modules[name] = module
                        del sys.modules[name]
                sys.modules.update(saved)

    @contextlib.contextmanager
    def _environment(self, target: FunctionTarget) -> Iterator[None]:
        """The function's Lambda environment, for the duration of a call (calls are serialised)."""
        variables = {**target.environment, "AWS_REGION": self.d.region, "AWS_DEFAULT_REGION": self.d.region,
                     "AWS_LAMBDA_FUNCTION_NAME": target.name}
        if "LIVEINSIGHT_SITES" in variables:  # served locally: the spec's sites, and pages on localhost
            variables["LIVEINSIGHT_SITES"] = _with_localhost(variables["LIVEINSIGHT_SITES"])
        with _ENV_LOCK, patched_environ(variables):
            yield

    # -- shared ----------------------------------------------------------------------------------
    def _gateway_error(self, req: Request, kind: str, status: int, message: str, error_type: str = "") -> Response:
        response = self.d.gateway_responses.get(kind) or {}
        headers = {"Content-Type": "application/json", "x-amzn-ErrorType": error_type or _error_type(status)}
        for target, source in (response.get("responseParameters") or {}).items():
            value = self._source(source, req)
            if value is not None:
                headers[target.removeprefix("gatewayresponse.header.")] = value
        template = (response.get("responseTemplates") or {}).get("application/json")
        if template:
            context = {"error": {"message": message, "messageString": json.dumps(message)}}
            body = self._render(template, req, context)[0]
        else:
            body = json.dumps({"message": message})
        return Response(int(response.get("statusCode") or status), headers, body.encode())

    def _source(self, source: str, req: Request) -> str | None:
        if source.startswith("'") and source.endswith("'"):
            return source[1:-1]
        if source.lower().startswith("method.request.header."):
            return req.header(source.split(".", 3)[3])
        return None

    def _render(self, template: str, req: Request, context: dict[str, Any]) -> tuple[str, Any]:
        headers = {k: v for k, v in req.headers}
        variables = {"input": {"params": lambda *a: {"header": headers, "querystring": dict(parse_qsl(req.query)),
                                                     "path": {}},
                               "body": req.body.decode("utf-8", "replace")},
                     "context": {"stage": self.d.stage, "httpMethod": req.method, **context}}
        try:
            return render(template, variables)
        except VtlError as exc:
            raise _ConfigurationError(f"mapping template: {exc}") from exc


class _ConfigurationError(Exception):
    pass


def _forwarding_headers(req: Request) -> list[tuple[str, str]]:
    """The request's headers with those API Gateway adds before calling an integration.

    ``X-Forwarded-For`` gets the caller's address appended (a client's own value is kept in
    front, so it proves nothing); ``X-Amzn-Trace-Id`` is the X-Ray format
    (https://docs.aws.amazon.com/xray/latest/devguide/xray-concepts.html#xray-concepts-tracingheader).
    """
    added = {"x-forwarded-for", "x-forwarded-proto", "x-forwarded-port"}
    sent_for = [v for k, v in req.headers if k.lower() == "x-forwarded-for"]
    out = [(k, v) for k, v in req.headers if k.lower() not in added]
    out.append(("X-Forwarded-For", ", ".join([*sent_for, req.source_ip])))
    out.append(("X-Forwarded-Proto", req.scheme))
    if req.port:
        out.append(("X-Forwarded-Port", str(req.port)))
    if req.header("X-Amzn-Trace-Id") is None:
        out.append(("X-Amzn-Trace-Id", f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"))
    return out


def _deadline(timeout_s: int) -> Callable[[], int]:
    end = time.monotonic() + timeout_s
    return lambda: max(0, int((end - time.monotonic()) * 1000))


def _error_type(status: int) -> str:
    return {403: "MissingAuthenticationTokenException", 502: "InternalServerErrorException"}.get(
        status, "InternalServerErrorException" if status >= 500 else "BadRequestException")


def _proxy_response(result: Any) -> Response:
    """Validate a proxy result as API Gateway does (anything off is a 502)."""
    if not isinstance(result, dict):
        raise ValueError(f"the result is a {type(result).__name__}, not an object")
    allowed = {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded", "cookies"}
    extra = set(result) - allowed
    if extra:
        raise ValueError(f"unexpected fields {sorted(extra)}")
    status = result.get("statusCode")
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise ValueError(f"statusCode {status!r} is not an HTTP status")
    headers = result.get("headers") or {}
    if not isinstance(headers, dict):
        raise ValueError("headers is not an object")
    out = {str(k): str(v) for k, v in headers.items()}
    for k, values in (result.get("multiValueHeaders") or {}).items():
        out[str(k)] = ", ".join(map(str, values))
    body = result.get("body")
    if body is not None and not isinstance(body, str):
        raise ValueError("body is not a string")
    data = (body or "").encode()
    if result.get("isBase64Encoded"):
        import base64
        data = base64.b64decode(body or "")
    return Response(status, out, data)


def _with_localhost(sites: str) -> str:
    """The accepted sites (handlers/shared/sites.py) with ``localhost`` added."""
    try:
        accepted = json.loads(sites)
    except ValueError:
        return sites
    return json.dumps({"localhost": "localhost", **accepted}, separators=(",", ":"), sort_keys=True) \
        if isinstance(accepted, dict) else sites
