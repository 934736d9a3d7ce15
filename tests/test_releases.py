"""Releases and rollback: apply → change a handler → apply → rollback → rollback again."""

from __future__ import annotations

from pathlib import Path

import pytest

from liveinsight_infra.aws.provider import AwsProvider
from liveinsight_infra.errors import LiveInsightError
from liveinsight_infra.releases import Releases
from tests.conftest import apply_spec, make_engine

FN = "liveinsight-stats-api-dev"


def live(p: AwsProvider) -> str:
    return str(p.client("lambda").get_alias(FunctionName=FN, Name="live")["FunctionVersion"])


def stage_deployment(p: AwsProvider) -> str:
    api_id = p.client("apigateway").get_rest_apis()["items"][0]["id"]
    return str(p.client("apigateway").get_stage(restApiId=api_id, stageName="dev")["deploymentId"])


def test_rollback_and_back_again(provider: AwsProvider, project_copy: Path) -> None:
    spec = project_copy / "specs" / "dev.yaml"
    apply_spec(provider, spec)
    first_deployment = stage_deployment(provider)
    handler = project_copy / "handlers" / "stats_api.py"
    handler.write_text(handler.read_text() + "\n# v2\n")
    apply_spec(provider, spec)
    second_deployment = stage_deployment(provider)
    assert live(provider) == "2" and second_deployment != first_deployment
    _, releases, _ = Releases(make_engine(provider, spec)).list()
    assert [(r.number, r.functions["stats-api"], r.current) for r in releases] == [(1, "1", False), (2, "2", True)]

    r = Releases(make_engine(provider, spec))
    rollback = r.plan_rollback()
    assert rollback.target.number == 1
    assert [(c.resource, c.name) for c in rollback.plan] == [("apigateway.stage", "dev"),
                                                             ("lambda.alias", f"{FN}:live")]
    assert not rollback.returning
    r.execute(rollback)
    assert live(provider) == "1" and stage_deployment(provider) == first_deployment
    # The stack no longer matches the spec, and plan says so.
    drift = {c.resource for c in make_engine(provider, spec).plan()}
    assert {"lambda.function", "apigateway.stage"} <= drift

    r = Releases(make_engine(provider, spec))
    back = r.plan_rollback()
    assert back.target.number == 2
    assert back.returning
    r.execute(back)
    assert live(provider) == "2" and stage_deployment(provider) == second_deployment
    assert make_engine(provider, spec).plan().empty  # back on the spec's release: nothing to do


def test_rollback_to_a_named_release_and_nothing_before_the_first(provider: AwsProvider) -> None:
    apply_spec(provider)
    with pytest.raises(LiveInsightError, match="the first one"):
        Releases(make_engine(provider)).plan_rollback()
    with pytest.raises(LiveInsightError, match="no release '9'"):
        Releases(make_engine(provider)).plan_rollback("9")
