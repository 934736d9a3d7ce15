"""Stubber tests: a reconciler on a real client whose answers the test scripts (no AWS, no moto)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from botocore.stub import Stubber

from liveinsight_infra.aws.provider import AwsProvider
from liveinsight_infra.contract import Context, Event
from liveinsight_infra.spec import load_spec
from tests.conftest import DEV, SESSION


def stubbed(reconciler: type[Any], service: str,
            spec: Path = DEV) -> Iterator[tuple[Any, Stubber, list[float], list[Event]]]:
    """(reconciler, stubber, sleeps, events); the stubber must be used up by the end of the test."""
    provider = AwsProvider("us-east-1", session=SESSION)
    sleeps: list[float] = []
    events: list[Event] = []
    ctx = Context(load_spec(spec), provider, emit=events.append, sleep=sleeps.append,
                  account="123456789012")  # no STS call
    stub = Stubber(provider.client(service))
    # Any other client answers nothing (an unstubbed call fails at once instead of reaching for AWS):
    # the distribution lookup reads the bucket policy too, only as a hint (bucket_policy_read.py).
    others = [Stubber(provider.client(s)) for s in ("s3",) if s != service]
    for other in others:
        other.activate()
    with stub:
        yield reconciler(ctx), stub, sleeps, events
    for other in others:
        other.deactivate()
    stub.assert_no_pending_responses()
