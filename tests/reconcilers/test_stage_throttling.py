"""Default stage throttling stays on: a spec without a ``throttling`` block gets it, a spec cannot turn
it off, and a stage whose limits were changed out of band is put back by the next apply.

The stage's default method throttling bounds the rate the execute-api URL passes to the functions,
the one limit that also covers callers who bypass CloudFront (and its WAF): docs/security.md,
"Threat model: the edge"."""

from __future__ import annotations

from pathlib import Path

import pytest

from liveinsight_infra.aws.provider import AwsProvider
from liveinsight_infra.errors import SpecError
from liveinsight_infra.plan import Action
from liveinsight_infra.spec import load_spec
from tests.conftest import apply_spec, make_engine


def throttling(p: AwsProvider) -> tuple[float, int]:
    ag = p.client("apigateway")
    api = next(a for a in ag.get_rest_apis()["items"] if a["name"] == "liveinsight-api-dev")
    settings = ag.get_stage(restApiId=api["id"], stageName="dev")["methodSettings"]["*/*"]
    return settings["throttlingRateLimit"], settings["throttlingBurstLimit"]


def without_throttling(project: Path) -> Path:
    path = project / "specs" / "dev.yaml"
    text = path.read_text()
    assert "  throttling: {rate_limit: 100, burst_limit: 200}\n" in text
    path.write_text(text.replace("  throttling: {rate_limit: 100, burst_limit: 200}\n", ""))
    return path


def test_a_spec_without_throttling_gets_the_default_limits(provider: AwsProvider, project_copy: Path) -> None:
    apply_spec(provider, without_throttling(project_copy))
    assert throttling(provider) == (100.0, 200)


@pytest.mark.parametrize("value", ["{rate_limit: 0, burst_limit: 200}", "{rate_limit: 100, burst_limit: 0}",
                                   "null"])
def test_throttling_cannot_be_switched_off(project_copy: Path, value: str) -> None:
    path = without_throttling(project_copy)
    path.write_text(path.read_text().replace("  cors:\n", f"  throttling: {value}\n  cors:\n", 1))
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert any("api.throttling" in p for p in caught.value.problems), caught.value.problems


def test_limits_raised_out_of_band_are_put_back(provider: AwsProvider) -> None:
    apply_spec(provider)
    ag = provider.client("apigateway")
    api = next(a for a in ag.get_rest_apis()["items"] if a["name"] == "liveinsight-api-dev")
    ag.update_stage(restApiId=api["id"], stageName="dev", patchOperations=[
        {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "10000"},
        {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "5000"}])
    engine = make_engine(provider)
    plan = engine.plan()
    assert [(c.action, c.resource) for c in plan] == [(Action.UPDATE, "apigateway.stage")]
    engine.apply(plan)
    assert throttling(provider) == (100.0, 200)
