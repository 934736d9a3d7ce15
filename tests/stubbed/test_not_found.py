"""Not found is a result of the observe step: the read that asks "is it there?" answers the kind's
not-found code, the resource is absent from what observe returns, and nothing more is read of it.
Any other error on that read is an error naming the resource and the call, never "absent"."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from liveinsight_infra.errors import LiveInsightError
from liveinsight_infra.reconcilers.base import Reconciler
from liveinsight_infra.reconcilers.dynamodb import TableReconciler
from liveinsight_infra.reconcilers.iam import RoleReconciler
from liveinsight_infra.reconcilers.iam_boundary import BoundaryReconciler
from liveinsight_infra.reconcilers.kinesis import StreamReconciler
from liveinsight_infra.reconcilers.lambda_ import FunctionReconciler
from liveinsight_infra.reconcilers.s3_bucket import BucketReconciler
from liveinsight_infra.reconcilers.sqs import QueueReconciler
from tests.conftest import DEV, ROOT
from tests.stubbed.conftest import stubbed

STREAM = ROOT / "specs" / "stream.yaml"

# kind: (reconciler, service, its existence reads in order, the not-found code, the name in errors, spec)
CASES: dict[str, tuple[type[Reconciler], str, list[str], str, str, Path]] = {
    "dynamodb.table": (TableReconciler, "dynamodb", ["describe_table"], "ResourceNotFoundException",
                       "liveinsight-events-dev", DEV),
    "s3.bucket": (BucketReconciler, "s3", ["head_bucket"], "404", "liveinsight-static-dev-", DEV),
    "iam.boundary": (BoundaryReconciler, "iam", ["get_policy"], "NoSuchEntity", "liveinsight-boundary-dev", DEV),
    "iam.role": (RoleReconciler, "iam", ["get_role", "list_role_policies", "list_attached_role_policies",
                                         "get_role_policy"],  # the tool's own inline policy, in the same round
                 "NoSuchEntity", "liveinsight-stats-api-dev", DEV),
    "lambda.function": (FunctionReconciler, "lambda", ["get_function"], "ResourceNotFoundException",
                        "liveinsight-stats-api-dev", DEV),
    "kinesis.stream": (StreamReconciler, "kinesis", ["describe_stream_summary"], "ResourceNotFoundException",
                       "liveinsight-ingest-stream", STREAM),
    "sqs.queue": (QueueReconciler, "sqs", ["get_queue_url"], "AWS.SimpleQueueService.NonExistentQueue",
                  "liveinsight-ingest-failures-stream", STREAM),
}


def one_at_a_time(r: Reconciler, name_part: str) -> None:
    """One resource of the kind, its reads one after another (Stubber answers in order)."""
    def sequential(fn: Callable[[Any], Any], items: Iterable[Any], limit: int = 8) -> list[Any]:
        return [fn(i) for i in items]
    r.parallel = sequential  # type: ignore[method-assign]
    names = [n for n in r.names() if n.startswith(name_part)]
    r.names = lambda: names  # type: ignore[method-assign]


@pytest.mark.parametrize("kind", sorted(CASES))
def test_a_resource_that_is_not_there_is_absent_and_read_no_further(kind: str) -> None:
    cls, service, reads, code, name, spec = CASES[kind]
    for r, stub, _, _ in stubbed(cls, service, spec):
        one_at_a_time(r, name)
        for op in reads:
            stub.add_client_error(op, code, "not found", 404 if code == "404" else 400)
        assert r.observe() == {}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_another_error_on_that_read_is_an_error_naming_the_resource_and_call(kind: str) -> None:
    cls, service, reads, _, name, spec = CASES[kind]
    for r, stub, _, _ in stubbed(cls, service, spec):
        one_at_a_time(r, name)
        stub.add_client_error(reads[0], "AccessDenied", "denied", 403)
        with pytest.raises(LiveInsightError, match=rf"{kind} {name}.*AccessDenied"):
            r.observe()
