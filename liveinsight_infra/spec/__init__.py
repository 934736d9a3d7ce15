"""Desired state: the spec model and its loader."""

from .loader import LoadedSpec, load_spec, parse_spec
from .model import (
    AlarmSpec,
    AlertsSpec,
    ApiSpec,
    BucketSpec,
    CorsSpec,
    DistributionSpec,
    FunctionSpec,
    LogsSpec,
    RouteSpec,
    StackSpec,
    TableSpec,
    ThrottlingSpec,
)

__all__ = ["AlarmSpec", "AlertsSpec", "ApiSpec", "BucketSpec", "CorsSpec", "DistributionSpec",
           "FunctionSpec", "LoadedSpec", "LogsSpec", "RouteSpec", "StackSpec", "TableSpec",
           "ThrottlingSpec", "load_spec", "parse_spec"]
