"""The resource kinds in dependency order (reversed for destroy). One place decides the order."""

from __future__ import annotations

from .base import Reconciler


def ordered_kinds() -> list[type[Reconciler]]:
    from .alarms import AlarmReconciler
    from .apigateway import RestApiReconciler
    from .apigateway_account import AccountReconciler
    from .apigateway_stage import StageReconciler
    from .cloudfront import DistributionReconciler, OacReconciler
    from .dynamodb import TableReconciler
    from .event_source import EventSourceMappingReconciler
    from .function_url import FunctionUrlReconciler
    from .iam import RoleReconciler
    from .iam_boundary import BoundaryReconciler
    from .kinesis import StreamReconciler
    from .lambda_ import FunctionReconciler
    from .logs import LogGroupReconciler
    from .origin_request import OriginRequestPolicyReconciler
    from .origin_secret import OriginSecretReconciler
    from .permissions import PermissionReconciler
    from .response_headers import ResponseHeadersPolicyReconciler
    from .s3_bucket import BucketReconciler
    from .s3_site import BucketPolicyReconciler, InvalidationReconciler, ObjectReconciler
    from .sns import TopicReconciler
    from .sqs import QueueReconciler
    from .usage_plan import UsagePlanReconciler
    from .waf import WebAclReconciler

    kinds: list[type[Reconciler]] = [OriginSecretReconciler, TopicReconciler, LogGroupReconciler, TableReconciler,
                                     StreamReconciler, QueueReconciler, BoundaryReconciler, RoleReconciler,
                                     FunctionReconciler, EventSourceMappingReconciler, RestApiReconciler,
                                     PermissionReconciler, AccountReconciler, StageReconciler, UsagePlanReconciler,
                                     BucketReconciler, ObjectReconciler, OacReconciler, ResponseHeadersPolicyReconciler,
                                     WebAclReconciler, OriginRequestPolicyReconciler, DistributionReconciler,
                                     BucketPolicyReconciler, InvalidationReconciler, AlarmReconciler]
    kinds.insert(kinds.index(FunctionReconciler) + 1, FunctionUrlReconciler)  # ingest.front: function_url
    _check_order(kinds)
    return kinds


def _check_order(kinds: list[type[Reconciler]]) -> None:
    seen: set[str] = set()
    known = {k.kind for k in kinds}
    for k in kinds:
        missing = [d for d in k.depends_on if d in known and d not in seen]
        if missing:
            raise RuntimeError(f"registry order: {k.kind} comes before {missing}")
        seen.add(k.kind)
