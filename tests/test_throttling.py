"""A throttling storm is absorbed within the retry bounds; a permanent error fails fast and names itself."""

from __future__ import annotations

import types
from typing import Any

import botocore.endpoint
import pytest

from liveinsight_infra.aws.provider import AwsProvider
from liveinsight_infra.errors import AwsCallError
from tests.conftest import make_engine
from tests.faults import Deny, ThrottleStorm


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(botocore.endpoint, "time", types.SimpleNamespace(sleep=lambda _s: None))


def inventory(p: AwsProvider) -> tuple[int, int, int]:
    return (len(p.client("apigateway").get_rest_apis()["items"]),
            len(p.client("cloudfront").list_distributions()["DistributionList"].get("Items", [])),
            len(p.client("lambda").list_functions()["Functions"]))


def test_a_30_percent_throttling_storm_converges(provider: AwsProvider, no_backoff: Any) -> None:
    storm = ThrottleStorm(rate=0.3, seed=20261126)
    provider.register("before-send.*.*", storm, first=True)
    engine = make_engine(provider)
    engine.apply(engine.plan())
    injected = sum(storm.injected.values())
    assert injected > 30, storm.injected
    assert sum(provider.counter.retries.values()) >= injected  # every injected error was retried, and counted
    storm.rate = 0.0
    assert make_engine(provider).plan().empty
    assert inventory(provider) == (1, 1, 3)
    print(f"throttled calls survived: {injected} ({len(storm.injected)} operations)")


def test_access_denied_fails_fast_with_resource_call_and_hint(provider: AwsProvider, no_backoff: Any) -> None:
    deny = Deny("CreateRestApi")
    provider.register("before-send.*.*", deny, first=True)
    engine = make_engine(provider)
    with pytest.raises(AwsCallError) as info:
        engine.apply(engine.plan())
    err = info.value
    assert deny.calls == 1  # not retried
    assert err.operation == "CreateRestApi" and err.resource == "apigateway.rest_api liveinsight-api-dev"
    assert "AccessDenied" in err.code and "deployer-policy.json" in err.hint
    deny.operation = "-"  # permission granted: the stack is re-applicable
    fresh = make_engine(provider)
    fresh.apply(fresh.plan())
    assert make_engine(provider).plan().empty
