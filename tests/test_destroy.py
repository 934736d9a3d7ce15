"""Destroy tells the truth: what it keeps is in the plan with the reason, and it never stops halfway."""

from __future__ import annotations

import boto3

from liveinsight_infra.aws.provider import AwsProvider
from liveinsight_infra.plan import Action
from tests.conftest import PROD, apply_spec, make_engine
from tests.test_engine import inventory


def test_a_prod_destroy_keeps_the_protected_table_says_so_and_finishes_the_rest(provider: AwsProvider) -> None:
    apply_spec(provider, PROD)
    engine = make_engine(provider, PROD)
    plan = engine.plan(destroy=True)
    assert "dynamodb.table" not in {c.resource for c in plan}, "the protected table is listed among the deletions"
    assert plan.notes == ("dynamodb.table liveinsight-events-prod has deletion protection, so it is kept; "
                          "destroy --force deletes it",)
    assert all(c.action is Action.DELETE for c in plan) and len(plan) > 20
    engine.apply(plan)  # no error: everything else is deleted
    left = inventory(provider)
    assert left["tables"] == ["liveinsight-events-prod"]
    assert left["log_groups"] == [] and left["functions"] == [] and left["alarms"] == []
    assert left["roles"] == ["liveinsight-apigateway-logs"] and left["buckets"] == [] and left["rest_apis"] == []
    again = make_engine(provider, PROD).plan(destroy=True)
    assert again.empty and again.notes == plan.notes


def test_destroy_force_turns_the_protection_off_and_deletes_the_table(provider: AwsProvider) -> None:
    apply_spec(provider, PROD)
    engine = make_engine(provider, PROD, force=True)
    plan = engine.plan(destroy=True)
    assert [c.reason for c in plan if c.resource == "dynamodb.table"] == [
        "has deletion protection: deleted (--force)"]
    engine.apply(plan)
    assert inventory(provider)["tables"] == []


def test_the_cli_prod_destroy_exits_0_and_names_what_it_kept(moto_endpoint: str) -> None:
    from tests.cli.test_cli_e2e import run

    assert run("apply", "specs/prod.yaml", "--no-wait", endpoint=moto_endpoint).returncode == 0
    done = run("destroy", "specs/prod.yaml", "--yes", endpoint=moto_endpoint)
    assert done.returncode == 0, done.stderr
    assert "- dynamodb.table" not in done.stdout
    assert "dynamodb.table liveinsight-events-prod has deletion protection, so it is kept" in done.stdout
    assert "1 kept" in done.stdout
    logs = boto3.client("logs", endpoint_url=moto_endpoint, region_name="us-east-1")
    assert logs.describe_log_groups()["logGroups"] == []
