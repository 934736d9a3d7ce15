"""The stack's outputs as users see them, derived from live state (never from a file)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict

from . import naming
from .reconcilers.base import Outputs
from .spec.model import StackSpec


class FunctionOutput(TypedDict):
    name: str
    live_version: str | None  # the version the live alias points at; None before the function exists


class StackOutputs(TypedDict, total=False):
    """What ``outputs`` shows. A value is None when its resource does not exist (a stack partly
    destroyed); the last three keys come with an API key or alarm notifications only. Empty after a
    destroy."""

    stack: str
    region: str
    dashboard_url: str | None
    api_url: str | None
    same_origin_api_url: str | None
    api_id: str | None
    bucket: str | None
    distribution_id: str | None
    distribution_domain: str | None
    functions: dict[str, FunctionOutput]
    table: str
    log_groups: list[str]
    alarms: dict[str, str | None]  # name -> OK, ALARM or INSUFFICIENT_DATA
    api_key_id: str | None
    api_key: str  # hidden unless asked (show_secrets)
    alerts_topic: str


def stack_outputs(spec: StackSpec, outputs: Outputs) -> StackOutputs:
    fns = outputs.get("lambda.function", {})
    functions: dict[str, FunctionOutput] = {
        key: {"name": naming.function_name(spec, key),
              "live_version": fns.get(naming.function_name(spec, key), {}).get("live_version")}
        for key in spec.functions}
    alarms = {name: o.get("state") for name, o in outputs.get("cloudwatch.alarm", {}).items()}
    stage = outputs.get("apigateway.stage", {}).get(spec.api.stage, {})
    api = outputs.get("apigateway.rest_api", {}).get(naming.api_name(spec), {})
    dist = next(iter(outputs.get("cloudfront.distribution", {}).values()), {})
    bucket = next(iter(outputs.get("s3.bucket", {}).values()), {})
    domain = dist.get("domain")
    result: StackOutputs = {
        "stack": naming.stack_id(spec),
        "region": spec.region,
        "dashboard_url": f"https://{domain}/" if isinstance(domain, str) else None,
        "api_url": stage.get("invoke_url"),
        "same_origin_api_url": f"https://{domain}/api" if isinstance(domain, str) else None,
        "api_id": api.get("id"),
        "bucket": bucket.get("name"),
        "distribution_id": dist.get("id"),
        "distribution_domain": domain,
        "functions": functions,
        "table": naming.table_name(spec),
        "log_groups": sorted(outputs.get("logs.log_group", {})),
        "alarms": alarms,
    }
    plans = outputs.get("apigateway.usage_plan", {})
    if plans:
        plan = next(iter(plans.values()))
        result["api_key_id"] = plan.get("api_key_id")
        result["api_key"] = "(hidden: outputs --show-secrets)"
    topics = outputs.get("sns.topic", {})
    if topics:
        result["alerts_topic"] = next(iter(topics.values()))["arn"]
    return result


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested outputs as ``a.b.c = value`` lines for the text view."""
    flat: dict[str, Any] = {}
    for key, val in data.items():
        path = f"{prefix}{key}"
        if isinstance(val, dict) and val:
            flat.update(flatten(val, f"{path}."))
        elif isinstance(val, list):
            flat[path] = ", ".join(map(str, val))
        else:
            flat[path] = val
    return flat
