"""Saved plans in the library: a plan read back from a file applies exactly, holds no secret, and is
refused when what it was made against changed (docs/saved-plans.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from liveinsight_infra import plan_file
from liveinsight_infra.aws.provider import AwsProvider
from liveinsight_infra.contract import Event
from liveinsight_infra.engine import Engine
from liveinsight_infra.plan import PlanStale
from liveinsight_infra.releases import Releases
from tests.conftest import apply_spec, make_engine

PARAM = "/liveinsight-dev/origin-secret"


def secrets_in_ssm(provider: AwsProvider) -> list[str]:
    value = provider.client("ssm").get_parameter(Name=PARAM, WithDecryption=True)["Parameter"]["Value"]
    return [s for s in json.loads(value).values() if s]


def test_a_saved_rotation_holds_no_secret_and_apply_makes_its_own(provider: AwsProvider, tmp_path: Path) -> None:
    apply_spec(provider)
    (old,) = secrets_in_ssm(provider)
    plan = make_engine(provider, rotate_origin_secret=True).plan()
    assert {c.resource for c in plan} >= {"ssm.parameter", "apigateway.stage", "cloudfront.distribution"}
    saved = tmp_path / "rotate.plan.json"
    plan_file.save(plan, saved)
    text = saved.read_text()
    assert old not in text and '"$sensitive": true' in text
    make_engine(provider).apply(plan_file.load(saved))
    new, previous = secrets_in_ssm(provider)
    assert previous == old and new != old
    assert new not in text  # made by the apply, never by the plan


def test_a_plan_read_back_converges_and_changes_only_what_it_shows(provider: AwsProvider, tmp_path: Path) -> None:
    apply_spec(provider)
    group = "/aws/lambda/liveinsight-stats-api-dev"
    provider.client("logs").put_retention_policy(logGroupName=group, retentionInDays=30)
    saved = tmp_path / "p.json"
    plan_file.save(make_engine(provider).plan(), saved)
    plan = plan_file.load(saved)
    assert [c.address for c in plan] == [f"logs.log_group.{group}"]
    provider.counter.reset()
    make_engine(provider).apply(plan)
    assert provider.counter.writes == 1
    assert {svc for svc, _ in provider.counter.calls} == {"logs"}  # the one kind it changes
    assert make_engine(provider).plan().empty


def test_a_plan_whose_inputs_changed_on_disk_is_refused(provider: AwsProvider, project_copy: Path,
                                                        tmp_path: Path) -> None:
    spec = project_copy / "specs" / "dev.yaml"
    apply_spec(provider, spec)
    handler = project_copy / "handlers" / "stats_api.py"
    handler.write_text(handler.read_text() + "\n# v2\n")
    saved = tmp_path / "p.json"
    plan_file.save(make_engine(provider, spec).plan(), saved)
    handler.write_text(handler.read_text() + "\n# v3, not the reviewed code\n")
    with pytest.raises(PlanStale, match="code_sha256"):
        make_engine(provider, spec).apply(plan_file.load(saved))


def test_rollback_runs_through_the_executor(provider: AwsProvider, project_copy: Path) -> None:
    spec = project_copy / "specs" / "dev.yaml"
    apply_spec(provider, spec)
    handler = project_copy / "handlers" / "stats_api.py"
    handler.write_text(handler.read_text() + "\n# v2\n")
    apply_spec(provider, spec)
    events: list[Event] = []
    engine: Engine = make_engine(provider, spec, emit=events.append)
    releases = Releases(engine)
    rollback = releases.plan_rollback()
    releases.execute(rollback)
    done = [e.change.address for e in events if e.type == "change-done" and e.change is not None]
    # The executor's dependency graph: the alias first, then the stage whose snapshot invokes it.
    assert done == ["lambda.alias.liveinsight-stats-api-dev:live", "apigateway.stage.dev"]
    assert all(isinstance(rollback.plan.desired[c.address], dict) for c in rollback.plan)


def test_encoding_masks_secrets_and_unknowns() -> None:
    from liveinsight_infra.plan import REDACTED, UNKNOWN
    from liveinsight_infra.sensitive import Sensitive

    value: dict[str, Any] = {"a": Sensitive("s3cr3t-value"), "b": [UNKNOWN, 1], "c": ("x",)}
    encoded = plan_file.encode(value)
    assert "s3cr3t" not in json.dumps(encoded)
    assert plan_file.decode(encoded) == {"a": REDACTED, "b": [UNKNOWN, 1], "c": ["x"]}
    assert plan_file.differs(plan_file.decode(encoded), {"a": Sensitive("other"), "b": [5, 1], "c": ["x"]}) is None
    assert plan_file.differs(plan_file.decode(encoded), {"a": Sensitive("x"), "b": [5, 2], "c": ["x"]}) == "b.1"
