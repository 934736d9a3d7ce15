"""Drift on every managed attribute (docs/drift.md): each row changes one attribute out of band with a
real boto3 client on moto, then ``plan`` must name that resource and attribute, ``apply`` must put it
back, and the next plan must be empty.

A row names the change it expects: (action, kind, resource name, the diff paths). Other changes may
come along only where the row lists their kinds (a site object that changes also invalidates the
distribution's cache; a function that publishes a version also makes the stage record a release).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from liveinsight_infra.aws.provider import AwsProvider
from liveinsight_infra.plan import Plan
from tests.conftest import apply_spec, make_engine

ACCOUNT = "123456789012"
BUCKET = "liveinsight-static-dev-9a3dc808"
STATS = "liveinsight-stats-api-dev"
COLLECTOR = "liveinsight-event-collector-dev"


@dataclass(frozen=True)
class Row:
    id: str
    drift: Callable[[AwsProvider], None]
    action: str
    kind: str
    name: str
    paths: frozenset[str]
    companions: frozenset[str] = field(default_factory=frozenset)
    check: Callable[[AwsProvider], None] | None = None  # what AWS shows after apply, when not obvious


def rest_api_id(p: AwsProvider) -> str:
    return str(p.client("apigateway").get_rest_apis()["items"][0]["id"])


# -- s3.object ------------------------------------------------------------------------------------
def object_metadata_replaced(p: AwsProvider) -> None:
    """A copy onto itself with new metadata keeps the bytes, so the ETag (the MD5) does not change."""
    p.client("s3").copy_object(Bucket=BUCKET, Key="dashboard.html", MetadataDirective="REPLACE",
                               CopySource={"Bucket": BUCKET, "Key": "dashboard.html"},
                               ContentType="text/plain", Metadata={"owner": "someone"})


def object_metadata_restored(p: AwsProvider) -> None:
    head = p.client("s3").head_object(Bucket=BUCKET, Key="dashboard.html")
    assert (head["ContentType"], head.get("CacheControl"), head["Metadata"]) == (
        "text/html; charset=utf-8", "no-cache", {})


# -- lambda.function ------------------------------------------------------------------------------
def reserved_concurrency_zero(p: AwsProvider) -> None:
    p.client("lambda").put_function_concurrency(FunctionName=COLLECTOR, ReservedConcurrentExecutions=0)


def reserved_concurrency_removed(p: AwsProvider) -> None:
    got = p.client("lambda").get_function_concurrency(FunctionName=COLLECTOR)
    assert got.get("ReservedConcurrentExecutions") is None, got


# -- lambda.permission ----------------------------------------------------------------------------
def anyone_may_invoke(p: AwsProvider) -> None:
    p.client("lambda").add_permission(FunctionName=STATS, Qualifier="live", StatementId="open-to-all",
                                      Action="lambda:InvokeFunction", Principal="*")


def anyone_may_invoke_latest(p: AwsProvider) -> None:
    p.client("lambda").add_permission(FunctionName=STATS, StatementId="open-to-all",
                                      Action="lambda:InvokeFunction", Principal="*")


def only_declared_statements(p: AwsProvider) -> None:
    policy = json.loads(p.client("lambda").get_policy(FunctionName=STATS, Qualifier="live")["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["liveinsight-api-GET-api-stats"]


BY_HAND: dict[str, str] = {}  # what a drift made, for its check


# -- apigateway.stage -----------------------------------------------------------------------------
def stage_on_another_deployment(p: AwsProvider) -> None:
    """A deployment made by hand that copies the served one's description: only its id tells it apart."""
    ag = p.client("apigateway")
    api = rest_api_id(p)
    served = ag.get_stage(restApiId=api, stageName="dev")["deploymentId"]
    description = ag.get_deployment(restApiId=api, deploymentId=served)["description"]
    other = ag.create_deployment(restApiId=api, description=description)["id"]
    BY_HAND["deployment"] = other
    ag.update_stage(restApiId=api, stageName="dev",
                    patchOperations=[{"op": "replace", "path": "/deploymentId", "value": other}])


def stage_on_a_new_deployment(p: AwsProvider) -> None:
    ag = p.client("apigateway")
    api = rest_api_id(p)
    ids = {d["id"] for d in ag.get_deployments(restApiId=api)["items"]}
    assert len(ids) == 3  # the first apply's, the one made by hand, the one apply made to repair
    stage = ag.get_stage(restApiId=api, stageName="dev")
    assert stage["deploymentId"] != BY_HAND["deployment"]
    assert stage["description"].endswith(f"deployment={stage['deploymentId']}")


# A function with a planned change may publish a version, so the stage plans to record the release.
RELEASE = frozenset({"apigateway.stage"})

ROWS = [
    Row("s3.object content type and metadata", object_metadata_replaced, "update", "s3.object", "dashboard.html",
        frozenset({"content_type", "cache_control", "metadata"}), frozenset({"cloudfront.invalidation"}),
        object_metadata_restored),
    Row("lambda.function reserved concurrency 0", reserved_concurrency_zero, "update", "lambda.function",
        COLLECTOR, frozenset({"reserved_concurrency"}), RELEASE, reserved_concurrency_removed),
    Row("lambda.permission undeclared statement", anyone_may_invoke, "delete", "lambda.permission",
        f"{STATS}/open-to-all", frozenset(), check=only_declared_statements),
    Row("lambda.permission undeclared statement on the function", anyone_may_invoke_latest, "delete",
        "lambda.permission", f"{STATS}:$LATEST/open-to-all", frozenset(), check=only_declared_statements),
    Row("apigateway.stage another deployment", stage_on_another_deployment, "update", "apigateway.stage", "dev",
        frozenset({"deployment"}), check=stage_on_a_new_deployment),
]


def changes_of(plan: Plan) -> list[tuple[str, str, str, frozenset[str]]]:
    return [(c.action.value, c.resource, c.name, frozenset(d.path.split(".")[0] for d in c.diffs))
            for c in plan.changes]


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_an_out_of_band_change_is_planned_and_undone(provider: AwsProvider, row: Row) -> None:
    apply_spec(provider)
    assert make_engine(provider).plan().empty, "a fresh stack plans no change"
    row.drift(provider)
    engine = make_engine(provider)
    plan = engine.plan()
    seen = changes_of(plan)
    assert (row.action, row.kind, row.name, row.paths) in seen, seen
    others = [c for c in seen if c != (row.action, row.kind, row.name, row.paths)]
    assert {kind for _, kind, _, _ in others} <= row.companions, others
    engine.apply(plan)
    after = make_engine(provider).plan()
    assert after.empty, [c.address for c in after]
    if row.check is not None:
        row.check(provider)
