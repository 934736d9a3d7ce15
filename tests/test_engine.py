"""The engine's promises: idempotence, ownership-limited destroy, isolation, resumable applies."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest

from liveinsight_infra.aws.provider import AwsProvider
from liveinsight_infra.plan import Action
from tests.conftest import DEV, PROD, ROOT, SESSION, apply_spec, make_engine

STREAM = ROOT / "specs" / "stream.yaml"


def inventory(p: AwsProvider) -> dict[str, Any]:
    lam, iam, cw, logs, ddb = (p.client(s) for s in ("lambda", "iam", "cloudwatch", "logs", "dynamodb"))
    ag, cf, s3 = p.client("apigateway"), p.client("cloudfront"), p.client("s3")
    functions = sorted(f["FunctionName"] for f in lam.list_functions()["Functions"])
    permissions = {}
    for fn in functions:
        try:
            permissions[fn] = len(json.loads(lam.get_policy(FunctionName=fn, Qualifier="live")["Policy"])["Statement"])
        except lam.exceptions.ResourceNotFoundException:
            permissions[fn] = 0
    return {
        "functions": functions,
        "permissions": permissions,
        "roles": sorted(r["RoleName"] for r in iam.list_roles()["Roles"]),
        "alarms": sorted(a["AlarmName"] for a in cw.describe_alarms()["MetricAlarms"]),
        "log_groups": sorted(g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]),
        "tables": sorted(ddb.list_tables()["TableNames"]),
        "rest_apis": sorted(a["name"] for a in ag.get_rest_apis()["items"]),
        "distributions": len(cf.list_distributions()["DistributionList"].get("Items", [])),
        "oacs": len(cf.list_origin_access_controls()["OriginAccessControlList"].get("Items", [])),
        "response_headers_policies": len(cf.list_response_headers_policies(Type="custom")
                                         ["ResponseHeadersPolicyList"].get("Items") or []),
        "origin_request_policies": len(cf.list_origin_request_policies(Type="custom")
                                       ["OriginRequestPolicyList"].get("Items") or []),
        "buckets": sorted(b["Name"] for b in s3.list_buckets()["Buckets"]),
        "streams": sorted(p.client("kinesis").list_streams()["StreamNames"]),
        "queues": sorted(u.rsplit("/", 1)[-1] for u in p.client("sqs").list_queues().get("QueueUrls", [])),
        "mappings": sorted((m["EventSourceArn"].rsplit("/", 1)[-1], m["FunctionArn"].split(":")[6])
                           for m in lam.list_event_source_mappings()["EventSourceMappings"]),
    }


@pytest.mark.parametrize("spec", [DEV, STREAM], ids=["direct", "stream"])
def test_second_apply_makes_zero_write_calls(provider: AwsProvider, spec: Any) -> None:
    apply_spec(provider, spec)
    provider.counter.reset()
    engine = make_engine(provider, spec)
    plan = engine.plan()
    engine.apply(plan)
    assert plan.empty
    assert provider.counter.writes == 0, provider.counter.write_calls()
    assert provider.counter.reads > 0


def test_cold_apply_creates_the_whole_stack(provider: AwsProvider) -> None:
    plan = make_engine(provider).plan()
    assert all(c.action is Action.CREATE for c in plan)
    kinds = [c.resource for c in plan]
    # Dependency order: log groups before functions (Lambda would create them without expiry),
    # roles before functions, alarms last.
    assert kinds.index("logs.log_group") < kinds.index("lambda.function")
    assert kinds.index("iam.role") < kinds.index("lambda.function") < kinds.index("cloudwatch.alarm")
    apply_spec(provider)
    inv = inventory(provider)
    assert inv["functions"] == ["liveinsight-event-collector-dev", "liveinsight-realtime-api-dev",
                                "liveinsight-stats-api-dev"]
    assert len(inv["alarms"]) == 8 and len(inv["log_groups"]) == 4 and inv["tables"] == ["liveinsight-events-dev"]
    groups = provider.client("logs").describe_log_groups()["logGroups"]
    assert {g["retentionInDays"] for g in groups} == {7}


def test_destroy_removes_what_the_stack_owns_and_nothing_else(provider: AwsProvider) -> None:
    cw, logs, lam, iam = (provider.client(s) for s in ("cloudwatch", "logs", "lambda", "iam"))
    # Unrelated resources, some with names that look like ours.
    cw.put_metric_alarm(AlarmName="liveinsight-dev-someone-elses", Namespace="AWS/Lambda", MetricName="Errors",
                        Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1,
                        ComparisonOperator="GreaterThanThreshold")
    cw.put_metric_alarm(AlarmName="billing", Namespace="AWS/Billing", MetricName="EstimatedCharges",
                        Statistic="Maximum", Period=21600, EvaluationPeriods=1, Threshold=100,
                        ComparisonOperator="GreaterThanThreshold")
    logs.create_log_group(logGroupName="/aws/lambda/other-app")
    role = iam.create_role(RoleName="other-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam.create_function(FunctionName="other-fn", Runtime="python3.12", Role=role, Handler="a.b",
                        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18})
    before = inventory(provider)
    apply_spec(provider)
    engine = make_engine(provider)
    plan = engine.plan(destroy=True)
    assert all(c.action is Action.DELETE for c in plan)
    assert "liveinsight-dev-someone-elses" not in {c.name for c in plan}
    engine.apply(plan)
    after = inventory(provider)
    # The API Gateway account's logging role is account setup, shared by every environment: kept.
    after["roles"].remove("liveinsight-apigateway-logs")
    assert after == before
    assert make_engine(provider).plan(destroy=True).empty


def test_destroy_of_dev_leaves_prod_untouched(provider: AwsProvider) -> None:
    apply_spec(provider, DEV)
    apply_spec(provider, PROD)
    engine = make_engine(provider, DEV)
    engine.apply(engine.plan(destroy=True))
    assert make_engine(provider, PROD).plan().empty
    inv = inventory(provider)
    names = [n for v in inv.values() if isinstance(v, list) for n in v]
    ours = [n for n in names if "liveinsight" in n and n != "liveinsight-apigateway-logs"]
    assert ours and all("prod" in name for name in ours)
    assert inv["distributions"] == inv["oacs"] == 1 and set(inv["permissions"]) == {
        "liveinsight-event-collector-prod", "liveinsight-realtime-api-prod", "liveinsight-stats-api-prod"}


def test_destroy_keeps_a_table_with_data_unless_forced(provider: AwsProvider) -> None:

    apply_spec(provider)
    provider.client("dynamodb").put_item(TableName="liveinsight-events-dev",
                                         Item={"pk": {"S": "site#a"}, "sk": {"S": "x"}})
    engine = make_engine(provider)
    plan = engine.plan(destroy=True)
    assert "dynamodb.table" not in {c.resource for c in plan}
    assert plan.notes == (
        "dynamodb.table liveinsight-events-dev holds data, so it is kept; destroy --force deletes it",)
    engine.apply(plan)
    assert provider.client("dynamodb").list_tables()["TableNames"] == ["liveinsight-events-dev"]
    forced = make_engine(provider, force=True)
    forced_plan = forced.plan(destroy=True)
    assert [c.reason for c in forced_plan if c.resource == "dynamodb.table"] == ["holds data: deleted (--force)"]
    forced.apply(forced_plan)
    assert provider.client("dynamodb").list_tables()["TableNames"] == []


class Crash(Exception):
    pass


def count_cold_writes(provider: AwsProvider, spec: Any = DEV) -> int:
    engine = make_engine(provider, spec)
    provider.counter.reset()
    engine.apply(engine.plan())
    return provider.counter.writes


def fault_then_apply_again(p: AwsProvider, event: str, fault: Any, spec: Any = DEV) -> AwsProvider:
    """Apply with ``fault`` hooked on ``event`` (it must raise Crash), then apply again with a clean
    provider on the same moto state; returns that provider."""
    from tests.conftest import SESSION

    p.register(event, fault)
    with pytest.raises(Crash):
        engine = make_engine(p, spec)
        engine.apply(engine.plan())
    fresh = AwsProvider("us-east-1", session=SESSION)
    engine = make_engine(fresh, spec)
    engine.apply(engine.plan())
    return fresh


@functools.cache
def cold_apply(spec: Any = DEV) -> tuple[int, dict[str, Any]]:
    """The number of writes and the inventory of a cold apply of a spec (dev by default)."""
    from moto import mock_aws

    from tests.conftest import SESSION

    with mock_aws():
        cold = AwsProvider("us-east-1", session=SESSION)
        return count_cold_writes(cold, spec), inventory(cold)


@pytest.mark.parametrize("spec", [DEV, STREAM], ids=["direct", "stream"])
def test_an_apply_interrupted_at_any_write_is_finished_by_the_next(spec: Any) -> None:
    """Crash at the k-th write of a cold apply, for every k; apply again must converge exactly."""
    from moto import mock_aws

    from tests.conftest import SESSION

    total, expected = cold_apply(spec)
    env = "dev" if spec == DEV else "stream"
    assert total > 20
    assert expected["rest_apis"] == [f"liveinsight-api-{env}"] and expected["distributions"] == expected["oacs"] == 1
    assert len(expected["buckets"]) == 1
    if spec == DEV:
        assert len(expected["functions"]) == 3 and len(expected["alarms"]) == 8
        assert expected["streams"] == expected["queues"] == expected["mappings"] == []
    else:
        assert len(expected["functions"]) == 4 and len(expected["alarms"]) == 11
        assert expected["streams"] == ["liveinsight-ingest-stream"]
        assert expected["queues"] == ["liveinsight-ingest-failures-stream"]
        assert expected["mappings"] == [("liveinsight-ingest-stream", "liveinsight-aggregator-stream")]
    assert expected["response_headers_policies"] == expected["origin_request_policies"] == 1
    # one statement per route: the event collector has two (/api/events and Plausible's /api/event);
    # the aggregator is fed by its event source mapping, not by the API
    assert expected["permissions"] == {f"liveinsight-event-collector-{env}": 2, f"liveinsight-realtime-api-{env}": 1,
                                       f"liveinsight-stats-api-{env}": 1,
                                       **({} if spec == DEV else {"liveinsight-aggregator-stream": 0})}
    covered = 0
    for k in range(1, total + 1):
        with mock_aws():
            p = AwsProvider("us-east-1", session=SESSION)
            seen = {"n": 0}

            def crash_at_k(model: Any, k: int = k, seen: dict[str, int] = seen, **_: Any) -> None:
                from liveinsight_infra.aws.provider import is_read
                if not is_read(model.name):
                    seen["n"] += 1
                    if seen["n"] == k:
                        raise Crash(f"crash at write {k}: {model.name}")

            fresh = fault_then_apply_again(p, "before-call.*.*", crash_at_k, spec)
            assert make_engine(fresh, spec).plan().empty, f"not converged after a crash at write {k}"
            assert inventory(fresh) == expected, f"duplicates or orphans after a crash at write {k}"
            covered += 1
    assert covered == total
    print(f"crash points covered: {covered} of {total} writes of a cold apply")


STREAM_LOST_ANSWERS = ["CreateStream", "StartStreamEncryption", "CreateQueue", "CreateEventSourceMapping",
                       "PutRolePolicy"]
LOST_ANSWERS = ["CreateRole", "CreateFunction", "PublishVersion", "CreateAlias", "AddPermission", "CreateRestApi",
                "CreateResource", "CreateDeployment", "CreateStage", "CreateTable", "CreateLogGroup", "PutMetricAlarm",
                "CreateBucket", "CreateOriginAccessControl", "CreateResponseHeadersPolicy",
                "CreateOriginRequestPolicy", "CreateDistributionWithTags", "PutObject", "PutGatewayResponse"]
# (A cold apply makes no TagResource: a new distribution is created with its site version tag.)


@pytest.mark.parametrize(("operation", "spec"), [*((o, DEV) for o in LOST_ANSWERS),
                                                 *((o, STREAM) for o in STREAM_LOST_ANSWERS)],
                         ids=[*LOST_ANSWERS, *(f"stream-{o}" for o in STREAM_LOST_ANSWERS)])
def test_a_lost_answer_is_finished_by_the_next_apply(operation: str, spec: Any) -> None:
    """The call went through but its answer never came back (a timeout): no duplicates afterwards."""
    from moto import mock_aws

    from tests.conftest import SESSION

    with mock_aws():
        p = AwsProvider("us-east-1", session=SESSION)
        lost = {"done": False}

        def lose(model: Any, **_: Any) -> None:
            if model.name == operation and not lost["done"]:
                lost["done"] = True
                raise Crash(f"the answer of {operation} was lost")

        fresh = fault_then_apply_again(p, "after-call.*.*", lose, spec)
        assert lost["done"], f"{operation} was never called"
        assert make_engine(fresh, spec).plan().empty
        assert inventory(fresh) == cold_apply(spec)[1], f"duplicates or orphans after losing {operation}'s answer"


def test_a_lost_invalidation_answer_is_finished_and_each_batch_has_its_own_reference(
        provider: AwsProvider, project_copy: Path) -> None:
    """CreateInvalidation went through but its answer was lost: the next apply invalidates again, and a
    different path set never reuses the lost call's CallerReference (AWS would refuse it:
    https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_CreateInvalidation.html)."""
    spec = project_copy / "specs" / "dev.yaml"
    apply_spec(provider, spec)
    (project_copy / "site" / "dashboard.html").write_text("<!doctype html><title>v2</title>\n")
    sent: list[tuple[str, tuple[str, ...]]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        batch = params["InvalidationBatch"]
        sent.append((batch["CallerReference"], tuple(batch["Paths"]["Items"])))

    def lose(model: Any, **_: Any) -> None:
        if model.name == "CreateInvalidation":
            raise Crash("the answer of CreateInvalidation was lost")

    provider.register("provide-client-params.cloudfront.CreateInvalidation", record)
    provider.register("after-call.cloudfront.CreateInvalidation", lose)
    with pytest.raises(Crash):
        apply_spec(provider, spec)
    fresh = AwsProvider("us-east-1", session=SESSION)
    fresh.register("provide-client-params.cloudfront.CreateInvalidation", record)
    apply_spec(fresh, spec)
    assert make_engine(fresh, spec).plan().empty
    assert [paths for _, paths in sent] == [("/", "/dashboard.html"), ("/*",)]
    assert sent[0][0] != sent[1][0]


def test_a_plan_builds_the_packages_while_it_reads_and_other_reads_build_nothing(provider: AwsProvider) -> None:
    engine = make_engine(provider)
    engine.observe()  # outputs, releases: reads only
    assert engine.ctx.packages == {}
    engine.observe(build=True)  # what a plan does
    assert set(engine.ctx.packages) == set(engine.ctx.spec.functions)
    built = dict(engine.ctx.packages)
    plan = engine.plan()
    assert all(engine.ctx.packages[k] is p for k, p in built.items())  # built once per run
    code = {c.name: d.after for c in plan for d in c.diffs if d.path == "code_sha256"}
    assert code and all(code.values())


def test_a_package_that_fails_to_build_during_the_reads_fails_the_plan_as_before(
        provider: AwsProvider, monkeypatch: pytest.MonkeyPatch) -> None:
    from liveinsight_infra import contract
    from liveinsight_infra.errors import BuildError

    def broken(*_: Any) -> Any:
        raise BuildError("handlers/collector.py does not exist")

    monkeypatch.setattr(contract, "build_function", broken)
    with pytest.raises(BuildError, match="does not exist"):
        make_engine(provider).plan()
