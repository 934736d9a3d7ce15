"""The price arithmetic of bench/cost.py: what a measured run used, times the list prices of
bench/prices.py, in dollars per million events (or per million of whatever the run counted).

Pure: no AWS call, no I/O. bench/cost.py measures a ``Usage`` by running the real handlers on moto;
a ``Front`` says what the requests pay before they reach the collector (CloudFront, an API Gateway,
Lambda@Edge), so a new ingest front is one more ``Front`` (or ``--front NAME=FEE+FEE``) priced against
the same measured usage.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from prices import FLAT_RATE_PLANS, HOURS_PER_MONTH, PRICES, Price

GIB = 1 << 30
MILLION = 1_000_000
LOG_EVENT_OVERHEAD = 26  # bytes CloudWatch Logs counts for each log event besides its message
ITEM_OVERHEAD = 100  # bytes DynamoDB adds to each item for storage (indexing)
FULL_VCPU_MB = 1_769  # Lambda's CPU grows with memory: a whole vCPU at 1,769 MB
USED_MB = 80  # "Max Memory Used" in a REPORT line: what a warm Python function with boto3 takes
DAYS_PER_MONTH = 365 / 12
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600
COLLECTOR = "event-collector"
_REQUEST_ID = "6f2a8f0e-3b7c-4d8a-9b1e-2c4d5e6f7a8b"  # a request id is a 36-character UUID

Prices = Mapping[str, Price]


@dataclass(frozen=True)
class FunctionUse:
    """One function's part of a run."""

    invocations: int
    billed_ms: float  # the mean of each invocation's billed duration (each rounded up to 1 ms)
    memory_mb: int
    architecture: str = "arm64"
    log_events: int = 0  # the lines the function printed, over all invocations
    log_bytes: int = 0


@dataclass(frozen=True)
class Usage:
    """What a run used for ``events`` units (events, or dashboard views)."""

    events: int
    requests: int  # HTTP requests to the front
    functions: Mapping[str, FunctionUse] = field(default_factory=dict)
    write_units: float = 0
    read_units: float = 0
    stream_records: int = 0
    stream_kb: int = 0  # each record's bytes rounded up to 1 KB: on-demand data in
    stream_bytes: int = 0  # data read back once, by the aggregator: on-demand data out
    stream_put_units: int = 0  # each record's bytes in 25 KB units: provisioned PUT payload units
    request_bytes: int = 0  # what viewers sent (bodies and headers)
    response_bytes: int = 0  # what viewers got back
    stored_bytes: int = 0  # what the table keeps until the event TTL (items and their overhead)


@dataclass(frozen=True)
class Front:
    """What the requests go through before the collector."""

    key: str
    title: str
    fees: tuple[str, ...]  # price keys paid once per request
    collector: bool = True  # a collector function runs for each request
    cloudfront: bool = True  # behind CloudFront: AWS WAF can be attached; its transfer rates
    access_log_bytes: int = 0  # the front's own log line per request (API Gateway's access log)
    edge_ms: int = 0  # a Lambda@Edge function per request, billed ms at 128 MB
    edge_log_bytes: int = 0  # that function's log lines per request
    loses: str = ""  # what of the event API's promises the front gives up (docs/cost.md); "" for none


@dataclass(frozen=True)
class Options:
    """How the stack is set up, and the traffic the fees are spread over."""

    rate: float = 1_000.0  # events per second, on average
    waf: bool = False
    waf_rules: int = 2
    alarms: int = 0
    stream: str = "on_demand"  # or "provisioned"
    peak_to_average: float = 2.0  # provisioned shards must carry the peak
    log_class: str = "standard"  # or "ia" (Infrequent Access)
    platform_logs: bool = True  # Lambda's START, END and REPORT lines (off: JSON format, system level WARN)
    app_logs: bool = True  # the handlers' own lines
    access_logs: bool = True  # the front's access log
    log_retention_days: int = 7
    event_ttl_days: int = 30
    pitr: bool = True


COMPONENTS = ("requests", "waf", "lambda requests", "lambda duration", "dynamodb writes", "dynamodb reads",
              "dynamodb storage", "kinesis", "stream hours", "logs", "data transfer", "fixed")


def fronts(access_log_bytes: int, edge_log_bytes: int) -> list[Front]:
    """The ingest fronts docs/cost.md compares; ``access_log_bytes`` is an API Gateway access log
    line as the stage writes it, ``edge_log_bytes`` a Lambda@Edge invocation's platform lines."""
    return [
        Front("rest", "CloudFront -> REST API -> collector (today)", ("cloudfront_request", "apigw_rest_request"),
              access_log_bytes=access_log_bytes),
        Front("http", "CloudFront -> HTTP API -> collector", ("cloudfront_request", "apigw_http_request"),
              access_log_bytes=access_log_bytes),
        Front("url-oac", "CloudFront + Lambda@Edge (body hash) -> function URL with OAC",
              ("cloudfront_request", "lambda_edge_request"), edge_ms=5, edge_log_bytes=edge_log_bytes),
        Front("url-header", "CloudFront -> function URL, secret origin header", ("cloudfront_request",)),
        Front("url", "function URL alone, no CloudFront", (), cloudfront=False,
              loses="countries, the dashboard's domain for the trackers, AWS WAF"),
        Front("http-kinesis", "CloudFront -> HTTP API -> Kinesis, no collector",
              ("cloudfront_request", "apigw_http_request"), collector=False, access_log_bytes=access_log_bytes,
              loses="validation and 4xx answers, exactly-once, the IP kept off the stream"),
    ]


def parse_front(text: str, prices: Prices = PRICES) -> Front:
    """``NAME=FEE+FEE``, each FEE a key of the price table: a front of the command line."""
    name, sep, fees = text.partition("=")
    if not sep or not name or not fees:
        raise ValueError(f"--front: NAME=FEE+FEE expected (fees: {', '.join(sorted(prices))}), got {text!r}")
    keys = tuple(f.strip() for f in fees.split("+"))
    for k in keys:
        if k not in prices:
            raise ValueError(f"--front {name}: unknown fee {k!r}; known: {', '.join(sorted(prices))}")
    return Front(name, f"{name} (--front)", keys, cloudfront=any(k.startswith("cloudfront") for k in keys))


def override_prices(prices: Prices, settings: Iterable[str]) -> dict[str, Price]:
    """The table with ``KEY=USD`` settings of the command line applied (a copy)."""
    table = dict(prices)
    for s in settings:
        key, _, value = s.partition("=")
        if key not in table:
            raise ValueError(f"--price {key}: unknown price; known: {', '.join(sorted(table))}")
        try:
            usd = float(value)
        except ValueError:
            raise ValueError(f"--price {key}: a number of dollars expected, got {value!r}") from None
        if not math.isfinite(usd) or usd < 0:
            raise ValueError(f"--price {key}: a number of dollars expected, got {value!r}")
        table[key] = replace(table[key], usd=usd, source="--price")
    return table


def platform_lines(duration_ms: float, memory_mb: int, used_mb: int = USED_MB) -> list[int]:
    """The bytes of the START, END and REPORT lines Lambda writes for an invocation in its (default)
    text format (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html)."""
    billed = max(1, math.ceil(duration_ms))
    return [len(f"START RequestId: {_REQUEST_ID} Version: 12\n"),
            len(f"END RequestId: {_REQUEST_ID}\n"),
            len(f"REPORT RequestId: {_REQUEST_ID}\tDuration: {duration_ms:.2f} ms\tBilled Duration: {billed} ms\t"
                f"Memory Size: {memory_mb} MB\tMax Memory Used: {used_mb} MB\t\n")]


def lambda_ms(own_ms: float, waits_ms: float, memory_mb: int, core_ratio: float = 1.0) -> int:
    """An invocation's billed milliseconds on Lambda from what was measured here: the time the
    handler computed (``own_ms``, on this machine's core) stretched by Lambda's share of a vCPU at
    ``memory_mb`` (memory / 1,769 MB; ``core_ratio`` is a Lambda core's time for this core's
    second), plus the time it waits for AWS calls; rounded up to 1 ms as Lambda bills."""
    scale = max(1.0, FULL_VCPU_MB / memory_mb) * core_ratio
    return max(1, math.ceil(own_ms * scale + waits_ms))


def query_read_units(sizes: Iterable[int], consistent: bool) -> float:
    """One Query page: the items' total size in 4 KB units, at least one; halved when eventually
    consistent (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html)."""
    units = max(1, math.ceil(sum(sizes) / 4096))
    return units if consistent else units / 2


def item_read_units(size: int | None, consistent: bool) -> float:
    """One GetItem (or one item of a BatchGetItem); an item not found still costs the minimum."""
    units = max(1, math.ceil((size or 0) / 4096))
    return units if consistent else units / 2


def shards(rate: float, peak_to_average: float) -> int:
    """Provisioned shards for ``rate`` events per second: one record per event, 1,000 records a
    second per shard, at the peak."""
    return max(1, math.ceil(rate * peak_to_average / 1000))


def flat_rate_plan(requests_per_month: float) -> tuple[str, float] | None:
    """The cheapest CloudFront flat-rate plan whose allowance holds the month's requests."""
    for name, usd, allowance in FLAT_RATE_PLANS:
        if requests_per_month <= allowance:
            return name, usd
    return None


def costs(usage: Usage, front: Front, options: Options, prices: Prices = PRICES) -> dict[str, float]:
    """Dollars per million ``usage.events``, by component (``COMPONENTS``)."""
    p = {k: v.usd for k, v in prices.items()}
    requests = usage.requests
    functions = {k: f for k, f in usage.functions.items() if front.collector or k != COLLECTOR}
    out = dict.fromkeys(COMPONENTS, 0.0)
    out["requests"] = requests * sum(p[k] for k in front.fees) / MILLION
    if options.waf and front.cloudfront:
        out["waf"] = requests * p["waf_request"] / MILLION
    out["lambda requests"] = sum(f.invocations for f in functions.values()) * p["lambda_request"] / MILLION
    out["lambda duration"] = sum(f.invocations * f.billed_ms / 1000 * f.memory_mb / 1024
                                 * p[f"lambda_gb_s_{f.architecture}"] for f in functions.values())
    out["lambda duration"] += requests * front.edge_ms / 1000 * 128 / 1024 * p["lambda_edge_gb_s"]
    out["dynamodb writes"] = usage.write_units * p["dynamodb_write_unit"] / MILLION
    out["dynamodb reads"] = usage.read_units * p["dynamodb_read_unit"] / MILLION
    kept = p["dynamodb_storage_gb_month"] + (p["dynamodb_pitr_gb_month"] if options.pitr else 0)
    out["dynamodb storage"] = usage.stored_bytes / GIB * kept * options.event_ttl_days / DAYS_PER_MONTH
    hours = usage.events / (options.rate * 3600)  # the hours these events take to arrive
    if usage.stream_records:
        if options.stream == "provisioned":
            out["kinesis"] = usage.stream_put_units * p["kinesis_put_unit"] / MILLION
            out["stream hours"] = hours * shards(options.rate, options.peak_to_average) * p["kinesis_shard_hour"]
        else:
            out["kinesis"] = (usage.stream_kb * 1024 * p["kinesis_in_gb"]
                              + usage.stream_bytes * p["kinesis_out_gb"]) / GIB
            out["stream hours"] = hours * p["kinesis_stream_hour"]
    log_bytes = 0
    for f in functions.values():
        if options.app_logs:
            log_bytes += f.log_bytes + f.log_events * LOG_EVENT_OVERHEAD
        if options.platform_logs:
            log_bytes += f.invocations * sum(n + LOG_EVENT_OVERHEAD for n in platform_lines(f.billed_ms, f.memory_mb))
    if options.access_logs and front.access_log_bytes:
        log_bytes += requests * (front.access_log_bytes + LOG_EVENT_OVERHEAD)
    if options.platform_logs:
        log_bytes += requests * front.edge_log_bytes
    ingest = p["logs_ia_gb"] if options.log_class == "ia" else p["logs_standard_gb"]
    out["logs"] = log_bytes / GIB * (ingest + p["logs_storage_gb_month"] * options.log_retention_days / DAYS_PER_MONTH)
    if front.cloudfront:
        out["data transfer"] = (usage.request_bytes * p["cloudfront_to_origin_gb"]
                                + usage.response_bytes * p["cloudfront_out_gb"]) / GIB
    else:
        out["data transfer"] = usage.response_bytes * p["internet_out_gb"] / GIB
    monthly = options.alarms * p["alarm_month"]
    if options.waf and front.cloudfront:
        monthly += p["waf_web_acl_month"] + options.waf_rules * p["waf_rule_month"]
    out["fixed"] = monthly * hours / HOURS_PER_MONTH
    return {k: v / usage.events * MILLION for k, v in out.items()}


def month(usage: Usage, front: Front, options: Options, events: float, prices: Prices = PRICES) -> float:
    """Dollars for a month of ``events``, at the rate they make: fixed fees once, the rest per event."""
    at = replace(options, rate=events / SECONDS_PER_MONTH)
    return sum(costs(usage, front, at, prices).values()) * events / MILLION
