"""The desired state of one LiveInsight stack, as Pydantic models.

Pure data: frozen, ``extra="forbid"``, every limit AWS enforces on a field checked here so that nothing
is refused halfway through an apply (limits on the names derived from several fields: ``aws_limits``).
The loader validates strictly (no text to number, no boolean to number). No AWS calls and no file
access in this module.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

# CloudWatch Logs accepts only these retention values (PutRetentionPolicy).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
                      2192, 2557, 2922, 3288, 3653)

TAGS_DOC = "https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html"
_TAG_PUNCTUATION = frozenset("_.:/=+-@")


def _tag_text(text: str) -> str:
    """AWS tags allow letters, digits, spaces and ``_ . : / = + - @`` (Unicode classes L, Z, N)."""
    bad = sorted({c for c in text if c not in _TAG_PUNCTUATION and unicodedata.category(c)[0] not in "LZN"})
    if bad:
        raise ValueError(f"{''.join(bad)!r}: a tag has only letters, digits, spaces and _ . : / = + - @ ({TAGS_DOC})")
    return text


Key = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,29}$")]
EnvVarName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,127}$")]
TagKey = Annotated[str, StringConstraints(min_length=1, max_length=128), AfterValidator(_tag_text)]
TagValue = Annotated[str, StringConstraints(max_length=256), AfterValidator(_tag_text)]

LAMBDA_METRICS = ("Errors", "Throttles", "Duration", "Invocations", "ConcurrentExecutions", "IteratorAge")
# The failure queue of the stream path (alarm target ``failure-queue``).
QUEUE_METRICS = ("ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage", "NumberOfMessagesSent")
API_METRICS = ("5XXError", "4XXError", "Latency", "IntegrationLatency", "Count")
TABLE_ACTIONS = ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "BatchGetItem",
                 "Query", "ConditionCheckItem")
_STATISTIC = re.compile(r"^(Sum|Average|Minimum|Maximum|SampleCount|p(\d{1,2}(\.\d{1,2})?|100))$")


class Model(BaseModel):
    # No NaN or infinity: a threshold of .nan never equals what AWS returns, so every plan would differ.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class FunctionSpec(Model):
    """One Lambda function; its package is built from ``code_dir``."""

    handler: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$",
                         description="module.function inside the package, e.g. event_collector.handler")
    description: str = Field(default="", max_length=256)
    runtime: Literal["python3.11", "python3.12", "python3.13"] = "python3.12"
    architecture: Literal["arm64", "x86_64"] = "arm64"
    memory_mb: int = Field(default=128, ge=128, le=10240)
    timeout_s: int = Field(default=10, ge=1, le=900)
    environment: dict[EnvVarName, Annotated[str, StringConstraints(max_length=2048)]] = Field(
        default_factory=dict)
    table_actions: tuple[Literal[TABLE_ACTIONS], ...] = Field(  # type: ignore[valid-type]
        default=(), description="DynamoDB actions this function may call on the stack's table")
    table_key_prefixes: tuple[Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9#_.-]{1,64}$")], ...] = Field(
        default=(), description="partition-key prefixes those actions may touch (IAM dynamodb:LeadingKeys); "
                                "empty: any key")
    reserved_concurrency: int | None = Field(
        default=None, ge=1, le=10000, description="concurrent executions set aside for this function, and its "
        "ceiling: a flood beyond it is refused (429) instead of taking the account's pool from the others; the "
        "collector's throttle with ingest.front: function_url, where no stage throttles (docs/ingest-front.md)")
    requirements: tuple[Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")], ...] = Field(
        default=(), description="projects pinned in code_dir/requirements.lock that this function's package "
                                "vendors (pure-Python wheels only, each with what it requires)")

    @field_validator("environment")
    @classmethod
    def _no_reserved_env(cls, env: dict[str, str]) -> dict[str, str]:
        reserved = sorted(k for k in env if k.startswith("AWS_") or k.startswith("LIVEINSIGHT_"))
        if reserved:
            raise ValueError(f"variables {reserved} are reserved (set by AWS or by this tool)")
        return env


class TableSpec(Model):
    ttl_attribute: str = Field(default="expires_at", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")
    event_ttl_days: int = Field(default=30, ge=1, le=3650)
    point_in_time_recovery: bool = True
    deletion_protection: bool = False
    counter_shards: int = Field(default=4, ge=1, le=64, description="write shards per hot counter: one "
                                "partition takes about 1,000 writes per second (docs/storage.md)")


class LogsSpec(Model):
    retention_days: int = 7

    @field_validator("retention_days")
    @classmethod
    def _allowed(cls, v: int) -> int:
        if v not in LOG_RETENTION_DAYS:
            raise ValueError(f"{v} is not a retention CloudWatch Logs accepts; use one of "
                             f"{', '.join(map(str, LOG_RETENTION_DAYS))}")
        return v


class RouteSpec(Model):
    path: str = Field(pattern=r"^(/[A-Za-z0-9._-]+)+$")
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
    function: Key
    api_key_required: bool = Field(default=False, description="callers must send the stack's API key in X-API-Key")


QUOTA_MAX = 2**31 - 1
QUOTA_DOC = "https://docs.aws.amazon.com/apigateway/latest/api/API_QuotaSettings.html"


class UsagePlanSpec(Model):
    """Limits for callers of the routes that require the API key (the dashboard)."""

    rate_limit: float = Field(default=20.0, gt=0, le=10000)
    burst_limit: int = Field(default=40, ge=1, le=5000)
    quota_per_day: int = Field(default=100_000, ge=1, json_schema_extra={"maximum": QUOTA_MAX})

    @field_validator("quota_per_day")
    @classmethod
    def _quota(cls, v: int) -> int:
        if v > QUOTA_MAX:
            raise ValueError(f"{v:,} is more than API Gateway accepts: a quota limit is a 32-bit integer, at most "
                             f"{QUOTA_MAX} ({QUOTA_DOC})")
        return v


_HTTP_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
CORS_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


class CorsSpec(Model):
    allow_origins: tuple[str, ...] = ("*",)
    allow_headers: tuple[str, ...] = ("Content-Type", "X-API-Key", "Authorization")
    allow_methods: tuple[str, ...] = ("GET", "POST", "OPTIONS")
    max_age_s: int = Field(default=86400, ge=0, le=86400)
    allow_credentials: bool = False

    # These values go verbatim into API Gateway's static header values and the functions'
    # environment, so each must be a valid header value item (RFC 9110).
    @field_validator("allow_headers")
    @classmethod
    def _headers(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for h in v:
            if not _HTTP_TOKEN.fullmatch(h):
                raise ValueError(f"{h!r} is not a header name: letters, digits and !#$%&'*+-.^_`|~ only, no spaces, "
                                 "commas or line breaks (https://www.rfc-editor.org/rfc/rfc9110#name-tokens)")
        return v

    @field_validator("allow_methods")
    @classmethod
    def _methods(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for m in v:
            if m not in CORS_METHODS:
                raise ValueError(f"{m!r} is not an HTTP method: use {', '.join(CORS_METHODS)} (upper case)")
        return v

    @field_validator("allow_origins")
    @classmethod
    def _origins(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if not v:
            raise ValueError("at least one origin is required")
        for o in v:
            if o != "*" and not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:\d+)?", o):
                raise ValueError(f"{o!r} is not an origin (scheme://host[:port], no path) or '*'")
        if "*" in v and len(v) > 1:
            raise ValueError("'*' cannot be combined with other origins")
        return v

    @model_validator(mode="after")
    def _credentials(self) -> CorsSpec:
        if self.allow_credentials and "*" in self.allow_origins:
            raise ValueError("allow_credentials needs explicit origins: browsers refuse '*' with credentials")
        return self


class ThrottlingSpec(Model):
    rate_limit: float = Field(default=100.0, gt=0, le=10000)
    burst_limit: int = Field(default=200, ge=1, le=5000)


class ApiSpec(Model):
    stage: str = Field(default="dev", pattern=r"^[A-Za-z0-9_]{1,64}$")
    routes: tuple[RouteSpec, ...]
    cors: CorsSpec = CorsSpec()
    throttling: ThrottlingSpec = ThrottlingSpec()
    metrics_enabled: bool = True
    usage_plan: UsagePlanSpec = UsagePlanSpec()
    trust_forwarded_for: bool = Field(
        default=False, description="count visitors by the first address in X-Forwarded-For, for a server "
        "that posts events on its visitors' behalf (Plausible's Events API). Any client can then claim "
        "any address and inflate the visitor count; off, the viewer is CloudFront-Viewer-Address or "
        "API Gateway's sourceIp (docs/http-api.md)")

    @field_validator("routes")
    @classmethod
    def _unique(cls, routes: tuple[RouteSpec, ...]) -> tuple[RouteSpec, ...]:
        seen: set[tuple[str, str]] = set()
        for r in routes:
            if (r.path, r.method) in seen:
                raise ValueError(f"route {r.method} {r.path} is listed twice")
            seen.add((r.path, r.method))
        return routes


class BucketSpec(Model):
    public_website: bool = Field(default=False, description="the seed's public S3 website mode; off by "
                                 "default: a public bucket is a liability")
    versioning: bool = True


CachePolicyName = Literal["CachingOptimized", "CachingDisabled"]
WAF_RATE_DOC = "https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-rate-based-high-level-settings.html"


class WafSpec(Model):
    """An AWS WAF web ACL on the distribution with one rate-based rule: a viewer address that sends
    more than ``rate_limit`` requests to ``/api/*`` within ``evaluation_window_s`` gets 429 until its
    rate falls. About 6 USD a month plus 0.60 USD per million requests (docs/security.md)."""

    enabled: bool = Field(default=False, description="create the web ACL (scope CLOUDFRONT, in us-east-1) and "
                          "associate it with the distribution; off, the API's stage throttling is the only limit")
    rate_limit: int = Field(default=2000, ge=10, le=2_000_000_000,
                            description=f"requests to /api/* per viewer IP address in one evaluation window "
                                        f"(AWS WAF allows 10 at least: {WAF_RATE_DOC})")
    evaluation_window_s: Literal[60, 120, 300, 600] = Field(
        default=300, description="how far back AWS WAF counts each address's requests, in seconds")


class DistributionSpec(Model):
    enabled: bool = True
    price_class: Literal["PriceClass_100", "PriceClass_200", "PriceClass_All"] = "PriceClass_100"
    default_root_object: str = "dashboard.html"
    cache_policy: CachePolicyName = "CachingOptimized"
    api_cache_policy: CachePolicyName = "CachingDisabled"
    api_origin_request_policy: Literal["stack", "AllViewerExceptHostHeader"] = Field(
        default="stack", description="what CloudFront sends the API: 'stack' is the stack's own policy, which "
        "lists the headers the API needs plus CloudFront-Viewer-Address and CloudFront-Viewer-Country; the "
        "managed AllViewerExceptHostHeader sends the viewer's headers but not those two (docs/architecture.md, "
        "\"Viewer headers through CloudFront\")")
    waf: WafSpec = Field(default=WafSpec(), description="an optional AWS WAF rate-based rule per viewer address "
                         "(docs/security.md, \"Threat model: the edge\")")


class AlertsSpec(Model):
    topic: bool = Field(default=False, description="create an SNS topic and send every alarm to it")
    emails: tuple[Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")], ...] = ()


EVENT_PATHS = ("/api/event", "/api/events")  # what the function_url front sends to the collector


class IngestSpec(Model):
    """How posted events reach the counters: ``direct`` (the collector writes them) or ``stream``
    (the collector puts them on a Kinesis stream; an aggregator function sums each batch before
    writing). Costs and when to switch: docs/storage.md. Written ``ingest: direct`` or
    ``ingest: {mode: stream, ...}``. ``front`` is what a tracker's POST passes before the collector
    (docs/ingest-front.md), with either mode."""

    mode: Literal["direct", "stream"] = "direct"
    front: Literal["rest", "function_url"] = Field(
        default="rest", description="what CloudFront sends POST /api/event and /api/events to: 'rest', the "
        "REST API (API Gateway's stage throttling, access log and request fee), or 'function_url', the "
        "collector's Lambda function URL (auth type NONE) behind CloudFront, which only requests carrying "
        "the origin secret pass; no API Gateway fee on the event path (docs/ingest-front.md)")
    shards: int | Literal["on_demand"] = Field(
        default="on_demand", description="provisioned shards (≥ 1, each 1 MB/s or 1,000 records/s in) or "
        "on_demand (Kinesis scales it)")
    retention_hours: int = Field(default=24, ge=24, le=8760, description="how long the stream keeps records")
    batch_size: int = Field(default=1000, ge=1, le=10000, description="records per aggregator invocation at most")
    batching_window_s: int = Field(default=1, ge=0, le=300, description="seconds the event source mapping "
                                   "gathers records before invoking the aggregator")
    max_retries: int = Field(default=10, ge=0, le=10000, description="retries of a failing batch before its "
                             "records go to the failure queue")
    collector: Key = Field(default="event-collector", description="the function that puts events on the stream")
    aggregator: Key = Field(default="aggregator", description="the function the stream feeds")

    @field_validator("shards", mode="before")
    @classmethod
    def _shards(cls, v: object) -> object:
        if v == "on_demand":
            return v
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ValueError(f"must be on_demand or a number of shards, at least 1 (got {v!r})")
        return v

    @model_validator(mode="after")
    def _direct_has_no_settings(self) -> IngestSpec:
        extra = sorted(self.model_fields_set - {"mode", "front"})
        if self.mode == "direct" and extra:
            raise ValueError(f"{', '.join(extra)}: only with mode: stream")
        return self


def _ingest_shorthand(value: object) -> object:
    return {"mode": value} if isinstance(value, str) else value


ALARM_DOC = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html"


class AlarmSpec(Model):
    name: Key
    target: str = Field(description="'api', 'failure-queue' (stream ingest) or the key of a function")
    metric: str
    statistic: str = "Sum"
    period_s: int = 300
    evaluation_periods: int = Field(default=2, ge=1, le=100)
    threshold: float
    comparison: Literal["GreaterThanThreshold", "GreaterThanOrEqualToThreshold", "LessThanThreshold",
                        "LessThanOrEqualToThreshold"] = "GreaterThanThreshold"
    treat_missing_data: Literal["breaching", "notBreaching", "ignore", "missing"] = "notBreaching"
    description: str = Field(default="", max_length=1024)

    @field_validator("statistic")
    @classmethod
    def _statistic(cls, v: str) -> str:
        if not _STATISTIC.match(v):
            raise ValueError("must be Sum, Average, Minimum, Maximum, SampleCount or a percentile like p95")
        return v

    @field_validator("period_s")
    @classmethod
    def _period(cls, v: int) -> int:
        if v not in (10, 20, 30) and (v < 60 or v % 60):
            raise ValueError("must be 10, 20, 30 or a multiple of 60 seconds")
        return v

    @model_validator(mode="after")
    def _evaluation_range(self) -> AlarmSpec:
        total = self.period_s * self.evaluation_periods
        limit, rule = ((86_400, "one day for a period of less than one hour") if self.period_s < 3600
                       else (604_800, "seven days"))
        if total > limit:
            raise ValueError(f"period_s x evaluation_periods is {total:,} s; CloudWatch allows at most {limit:,} s "
                             f"({rule}; {ALARM_DOC})")
        return self

    @model_validator(mode="after")
    def _metric(self) -> AlarmSpec:
        allowed = {"api": API_METRICS, "failure-queue": QUEUE_METRICS}.get(self.target, LAMBDA_METRICS)
        if self.metric not in allowed:
            raise ValueError(f"metric {self.metric!r} does not exist for target {self.target!r}; "
                             f"use one of {', '.join(allowed)}")
        return self


SiteDomain = Annotated[str, StringConstraints(
    pattern=r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$", max_length=253)]


class SiteSpec(Model):
    """A site the stack counts: events whose ``domain`` is the site or one of its aliases are stored
    under the site; events for any other domain are dropped before any write (docs/security.md)."""

    domain: SiteDomain
    aliases: tuple[SiteDomain, ...] = Field(default=(), max_length=10, description="other domains counted as this "
                                            "site, such as www.example.com")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, v: object) -> object:
        return {"domain": v} if isinstance(v, str) else v

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> dict[str, Any]:
        """The schema says what the spec accepts: a domain alone, or ``{domain, aliases}``."""
        full: dict[str, Any] = handler.resolve_ref_schema(handler(core_schema))
        # properties, required and additionalProperties apply to objects only: a string passes them.
        shape = {k: v for k, v in full.items() if k != "type"}
        return {**shape, "anyOf": [full["properties"]["domain"], {"type": "object"}]}


class CapsSpec(Model):
    """Distinct values kept per site, day and dimension; past a cap new values count under
    ``(other)`` (docs/analytics.md, "Caps"). Headline totals stay exact."""

    pages: int = Field(default=300, ge=10, le=100_000, description="distinct paths (pages, entry and exit pages)")
    sources: int = Field(default=100, ge=10, le=100_000, description="distinct sources; and, apart, referrers")
    utm: int = Field(default=100, ge=10, le=100_000, description="distinct values per UTM field")
    goals: int = Field(default=30, ge=1, le=10_000, description="distinct goal names")
    prop_keys: int = Field(default=30, ge=1, le=10_000, description="distinct props keys (goal and key pairs)")
    prop_values: int = Field(default=20, ge=1, le=100_000, description="distinct values per props key")


class StackSpec(Model):
    """The whole stack. Names of AWS resources derive from ``project`` and ``environment``."""

    project: str = Field(default="liveinsight", pattern=r"^[a-z][a-z0-9]{1,19}$")
    environment: str = Field(pattern=r"^[a-z][a-z0-9]{1,9}$")
    region: str = Field(default="us-east-1", pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
    tags: dict[TagKey, TagValue] = Field(default_factory=dict)
    code_dir: str = Field(default="../handlers", description="handlers, relative to the spec file; a folder "
                          "inside the project (the folder that holds the spec's folder)")
    site_dir: str = Field(default="../site", description="dashboard files, relative to the spec file; a folder "
                          "inside the project that holds the dashboard and tracker.js")
    functions: dict[Key, FunctionSpec] = Field(min_length=1, max_length=20)
    table: TableSpec = TableSpec()
    logs: LogsSpec = LogsSpec()
    api: ApiSpec
    bucket: BucketSpec = BucketSpec()
    distribution: DistributionSpec = DistributionSpec()
    alerts: AlertsSpec = AlertsSpec()
    alarms: tuple[AlarmSpec, ...] = ()
    ingest: IngestSpec = Field(default=IngestSpec(), description="direct, or {mode: stream, ...}")
    sites: tuple[SiteSpec, ...] = Field(default=(), max_length=100, description="the sites whose events are "
                                        "stored (a domain, or {domain, aliases}); none: every event is dropped")
    caps: CapsSpec = Field(default=CapsSpec(), description="distinct values kept per site, day and dimension")

    @field_validator("ingest", mode="before")
    @classmethod
    def _ingest(cls, v: object) -> object:
        return _ingest_shorthand(v)

    @field_validator("tags")
    @classmethod
    def _tags(cls, tags: dict[str, str]) -> dict[str, str]:
        bad = sorted(k for k in tags if k.lower().startswith("aws:") or k.startswith("liveinsight:"))
        if bad:
            raise ValueError(f"tag keys {bad} are reserved (aws: and liveinsight: prefixes)")
        if len(tags) > 40:
            raise ValueError("at most 40 tags (AWS allows 50; the tool adds its own)")
        return tags

    @model_validator(mode="after")
    def _references(self) -> StackSpec:
        for i, route in enumerate(self.api.routes):
            if route.function not in self.functions:
                raise ValueError(f"api.routes.{i}.function: unknown function {route.function!r}; "
                                 f"known: {', '.join(sorted(self.functions))}")
        names: set[str] = set()
        for i, alarm in enumerate(self.alarms):
            if alarm.target == "failure-queue" and self.ingest.mode != "stream":
                raise ValueError(f"alarms.{i}.target: the failure queue exists only with ingest: stream")
            if alarm.target not in ("api", "failure-queue") and alarm.target not in self.functions:
                raise ValueError(f"alarms.{i}.target: unknown function {alarm.target!r}; use 'api' or one "
                                 f"of {', '.join(sorted(self.functions))}")
            if alarm.name in names:
                raise ValueError(f"alarms.{i}.name: {alarm.name!r} is used twice")
            names.add(alarm.name)
        self._check_ingest()
        self._check_front()
        accepted = [d for site in self.sites for d in (site.domain, *site.aliases)]
        twice = sorted({d for d in accepted if accepted.count(d) > 1})
        if twice:
            raise ValueError(f"sites: {', '.join(twice)} listed more than once")
        if self.alerts.emails and not self.alerts.topic:
            raise ValueError("alerts.emails: needs alerts.topic: true")
        return self

    def _check_ingest(self) -> None:
        ingest = self.ingest
        if ingest.mode != "stream":
            return
        for field_name in ("collector", "aggregator"):
            key = getattr(ingest, field_name)
            if key not in self.functions:
                raise ValueError(f"ingest.{field_name}: unknown function {key!r}; known: "
                                 f"{', '.join(sorted(self.functions))}")
        if ingest.collector == ingest.aggregator:
            raise ValueError("ingest.aggregator: must be another function than the collector")
        if any(r.function == ingest.aggregator for r in self.api.routes):
            raise ValueError(f"ingest.aggregator: {ingest.aggregator!r} is fed by the stream; no route may call it")
        timeout = self.functions[ingest.aggregator].timeout_s
        if timeout < 10:
            raise ValueError(f"functions.{ingest.aggregator}.timeout_s: an aggregator needs at least 10 s to "
                             "write a batch")

    def _check_front(self) -> None:
        if self.ingest.front != "function_url":
            return
        if not self.distribution.enabled:
            raise ValueError("ingest.front: function_url needs the CloudFront distribution (distribution.enabled: "
                             "true): the function URL takes any caller, and the origin secret CloudFront adds is "
                             "the only thing that lets a request through to the collector (docs/ingest-front.md)")
        targets = {r.function for r in self.api.routes if r.method == "POST" and r.path in EVENT_PATHS}
        if len(targets) != 1:
            found = ", ".join(sorted(targets)) or "none"
            raise ValueError(f"ingest.front: function_url sends {' and '.join(EVENT_PATHS)} to one function's URL: "
                             f"declare POST routes for them, all calling the same function (found: {found})")
        if self.streamed and targets != {self.ingest.collector}:
            raise ValueError(f"ingest.front: the event routes call {next(iter(targets))!r}, but ingest.collector "
                             f"is {self.ingest.collector!r}: the function URL must be the collector's")

    @property
    def event_function(self) -> str | None:
        """The key of the function behind the function URL front (ingest.front: function_url), else None."""
        if self.ingest.front != "function_url":
            return None
        return next(r.function for r in self.api.routes if r.method == "POST" and r.path in EVENT_PATHS)

    @property
    def streamed(self) -> bool:
        """Whether events go through the Kinesis stream (ingest: stream)."""
        return self.ingest.mode == "stream"
