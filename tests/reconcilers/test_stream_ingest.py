"""The stream ingest path's resources (specs/stream.yaml): drift is seen and repaired field by field,
the roles carry exactly the stream and queue actions, destroy removes them and keeps a failure
queue that holds records."""

from __future__ import annotations

import json
from typing import Any

import pytest

from liveinsight_infra.aws.provider import AwsProvider
from liveinsight_infra.plan import Action, AdoptionRequired, PlanStale
from tests.conftest import ROOT, apply_spec, make_engine
from tests.reconcilers.test_drift import converge_after

STREAM = ROOT / "specs" / "stream.yaml"
STREAM_NAME = "liveinsight-ingest-stream"
QUEUE = "liveinsight-ingest-failures-stream"
ACCOUNT = "123456789012"


def mapping(p: AwsProvider) -> dict[str, Any]:
    (m,) = p.client("lambda").list_event_source_mappings()["EventSourceMappings"]
    return dict(m)


def test_the_mapping_is_configured_for_exactly_once_and_poison_records(provider: AwsProvider) -> None:
    apply_spec(provider, STREAM)
    m = mapping(provider)
    assert m["EventSourceArn"] == f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/{STREAM_NAME}"
    assert m["FunctionArn"].startswith(f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:liveinsight-aggregator-stream:")
    assert (m["BatchSize"], m["MaximumBatchingWindowInSeconds"], m["StartingPosition"]) == (1000, 1, "TRIM_HORIZON")
    assert m["BisectBatchOnFunctionError"] is True and m["MaximumRetryAttempts"] == 10
    assert m["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert m["DestinationConfig"] == {"OnFailure": {"Destination": f"arn:aws:sqs:us-east-1:{ACCOUNT}:{QUEUE}"}}
    tags = provider.client("lambda").list_tags(Resource=m["EventSourceMappingArn"])["Tags"]
    assert tags["liveinsight:stack"] == "liveinsight-stream"


def test_the_stream_and_queue_at_creation(provider: AwsProvider) -> None:
    apply_spec(provider, STREAM)
    kinesis, sqs = provider.client("kinesis"), provider.client("sqs")
    s = kinesis.describe_stream_summary(StreamName=STREAM_NAME)["StreamDescriptionSummary"]
    assert s["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}
    assert (s["EncryptionType"], s["KeyId"], s["RetentionPeriodHours"]) == ("KMS", "alias/aws/kinesis", 24)
    tags = {t["Key"]: t["Value"] for t in kinesis.list_tags_for_stream(StreamName=STREAM_NAME)["Tags"]}
    assert tags["liveinsight:stack"] == "liveinsight-stream" and tags["environment"] == "stream"
    url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["SqsManagedSseEnabled"] == "true" and attrs["MessageRetentionPeriod"] == "1209600"
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"]["liveinsight:stack"] == "liveinsight-stream"


def test_roles_have_exactly_the_stream_actions(provider: AwsProvider) -> None:
    apply_spec(provider, STREAM)
    iam = provider.client("iam")

    def statements(role: str) -> dict[str, tuple[list[str], str]]:
        doc = iam.get_role_policy(RoleName=role, PolicyName="liveinsight-function")["PolicyDocument"]
        doc = json.loads(doc) if isinstance(doc, str) else doc
        return {s["Sid"]: (sorted([s["Action"]] if isinstance(s["Action"], str) else s["Action"]), s["Resource"])
                for s in doc["Statement"]}

    stream_arn = f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/{STREAM_NAME}"
    collector = statements("liveinsight-event-collector-stream")
    assert collector["PutOnStream"] == (["kinesis:PutRecords"], stream_arn)
    aggregator = statements("liveinsight-aggregator-stream")
    assert aggregator["ReadStream"] == (["kinesis:DescribeStream", "kinesis:DescribeStreamSummary",
                                         "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards"],
                                        stream_arn)
    assert aggregator["FailedRecords"] == (["sqs:SendMessage"], f"arn:aws:sqs:us-east-1:{ACCOUNT}:{QUEUE}")
    assert "PutOnStream" not in aggregator and "ReadStream" not in collector
    assert not any("kinesis" in a for acts, _ in statements("liveinsight-stats-api-stream").values() for a in acts)


def test_the_collector_is_told_the_stream(provider: AwsProvider) -> None:
    apply_spec(provider, STREAM)
    lam = provider.client("lambda")
    env = lam.get_function_configuration(FunctionName="liveinsight-event-collector-stream")["Environment"]["Variables"]
    assert (env["LIVEINSIGHT_INGEST"], env["LIVEINSIGHT_STREAM"]) == ("stream", STREAM_NAME)
    other = lam.get_function_configuration(FunctionName="liveinsight-stats-api-stream")["Environment"]["Variables"]
    assert "LIVEINSIGHT_STREAM" not in other


def test_stream_retention_drift(provider: AwsProvider) -> None:
    def drift(p: AwsProvider) -> None:
        p.client("kinesis").increase_stream_retention_period(StreamName=STREAM_NAME, RetentionPeriodHours=48)

    assert converge_after(provider, drift, STREAM) == (
        "update", "kinesis.stream", STREAM_NAME, [("retention_hours", 48, 24)])


def test_stream_mode_drift(provider: AwsProvider) -> None:
    def drift(p: AwsProvider) -> None:
        p.client("kinesis").update_stream_mode(StreamARN=f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/{STREAM_NAME}",
                                               StreamModeDetails={"StreamMode": "PROVISIONED"})

    action, kind, name, diffs = converge_after(provider, drift, STREAM)
    assert (action, kind, name) == ("update", "kinesis.stream", STREAM_NAME)
    assert ("mode", "PROVISIONED", "ON_DEMAND") in diffs


def test_stream_tag_drift(provider: AwsProvider) -> None:
    def drift(p: AwsProvider) -> None:
        p.client("kinesis").add_tags_to_stream(StreamName=STREAM_NAME, Tags={"owner": "someone"})

    assert converge_after(provider, drift, STREAM) == (
        "update", "kinesis.stream", STREAM_NAME, [("tags.owner", "someone", "platform")])


def test_queue_encryption_drift(provider: AwsProvider) -> None:
    def drift(p: AwsProvider) -> None:
        sqs = p.client("sqs")
        sqs.set_queue_attributes(QueueUrl=sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"],
                                 Attributes={"SqsManagedSseEnabled": "false", "MessageRetentionPeriod": "60"})

    assert converge_after(provider, drift, STREAM) == (
        "update", "sqs.queue", QUEUE, [("retention_s", 60, 1209600), ("sse", False, True)])


def test_mapping_settings_drift(provider: AwsProvider) -> None:
    def drift(p: AwsProvider) -> None:
        p.client("lambda").update_event_source_mapping(UUID=mapping(p)["UUID"], BatchSize=100,
                                                       BisectBatchOnFunctionError=False, FunctionResponseTypes=[])

    action, kind, _, diffs = converge_after(provider, drift, STREAM)
    assert (action, kind) == ("update", "lambda.event_source_mapping")
    assert sorted(diffs) == [("batch_size", 100, 1000), ("bisect_on_error", False, True),
                             ("response_types", [], ["ReportBatchItemFailures"])]
    assert mapping(provider)["BatchSize"] == 1000


def test_mapping_deleted_is_created_once(provider: AwsProvider) -> None:
    def drift(p: AwsProvider) -> None:
        p.client("lambda").delete_event_source_mapping(UUID=mapping(p)["UUID"])

    action, kind, _, _ = converge_after(provider, drift, STREAM)
    assert (action, kind) == ("create", "lambda.event_source_mapping")
    assert len(provider.client("lambda").list_event_source_mappings()["EventSourceMappings"]) == 1


def test_switching_back_to_direct_removes_the_stream_path(provider: AwsProvider, project_copy: Any) -> None:
    apply_spec(provider, STREAM)
    direct = project_copy / "specs" / "direct.yaml"
    text = STREAM.read_text().replace("ingest:\n  mode: stream", "ingest:\n  mode: direct\n  # was stream")
    import yaml

    data = yaml.safe_load(text)
    data["ingest"] = "direct"
    data["alarms"] = [a for a in data["alarms"] if a["target"] != "failure-queue"]
    direct.write_text(yaml.safe_dump(data, sort_keys=False))
    engine = make_engine(provider, direct)
    plan = engine.plan()
    removed = {(c.action.value, c.resource) for c in plan if c.resource in
               ("kinesis.stream", "sqs.queue", "lambda.event_source_mapping")}
    assert removed == {("delete", "kinesis.stream"), ("delete", "sqs.queue"),
                       ("delete", "lambda.event_source_mapping")}
    engine.apply(plan)
    assert provider.client("kinesis").list_streams()["StreamNames"] == []
    assert provider.client("lambda").list_event_source_mappings()["EventSourceMappings"] == []
    assert make_engine(provider, direct).plan().empty


def test_destroy_keeps_a_failure_queue_that_holds_records(provider: AwsProvider) -> None:
    apply_spec(provider, STREAM)
    sqs = provider.client("sqs")
    sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"], MessageBody="{}")
    engine = make_engine(provider, STREAM)
    plan = engine.plan(destroy=True)
    assert "sqs.queue" not in {c.resource for c in plan}
    assert f"sqs.queue {QUEUE} holds 1 failed records, so it is kept; destroy --force deletes it" in plan.notes
    engine.apply(plan)
    assert provider.client("kinesis").list_streams()["StreamNames"] == []
    assert [u.rsplit("/", 1)[-1] for u in sqs.list_queues()["QueueUrls"]] == [QUEUE]


# -- adoption (docs/adoption.md): the stream path's resources under the stack's names, without its tag ------
def foreign_stream(p: AwsProvider) -> None:
    p.client("kinesis").create_stream(StreamName=STREAM_NAME, ShardCount=1)


def foreign_queue(p: AwsProvider) -> None:
    p.client("sqs").create_queue(QueueName=QUEUE)


FOREIGN = {"kinesis.stream": (foreign_stream, STREAM_NAME), "sqs.queue": (foreign_queue, QUEUE)}


def foreign_state(p: AwsProvider) -> dict[str, Any]:
    kinesis, sqs = p.client("kinesis"), p.client("sqs")
    out: dict[str, Any] = {}
    if STREAM_NAME in kinesis.list_streams()["StreamNames"]:
        out["stream_tags"] = kinesis.list_tags_for_stream(StreamName=STREAM_NAME)["Tags"]
    urls = [u for u in sqs.list_queues().get("QueueUrls", []) if u.endswith(f"/{QUEUE}")]
    if urls:
        out["queue_tags"] = sqs.list_queue_tags(QueueUrl=urls[0]).get("Tags", {})
    return out


@pytest.mark.parametrize("kind", sorted(FOREIGN))
def test_a_foreign_stream_resource_is_planned_as_adopt_and_refused_without_the_flag(
        provider: AwsProvider, kind: str) -> None:
    make, name = FOREIGN[kind]
    make(provider)
    before = foreign_state(provider)
    engine = make_engine(provider, STREAM)
    plan = engine.plan()
    assert [(c.resource, c.name) for c in plan if c.action is Action.ADOPT] == [(kind, name)]
    provider.counter.reset()
    with pytest.raises(AdoptionRequired, match=f"{kind} {name}"):
        engine.apply(plan)
    assert provider.counter.writes == 0, provider.counter.write_calls()
    assert foreign_state(provider) == before
    assert make_engine(provider, STREAM).plan(destroy=True).empty, "destroy never deletes what is not the stack's"


@pytest.mark.parametrize("kind", sorted(FOREIGN))
def test_apply_adopt_takes_over_a_stream_resource_and_destroy_then_removes_it(provider: AwsProvider, kind: str) -> None:
    FOREIGN[kind][0](provider)
    engine = make_engine(provider, STREAM, adopt=True)
    engine.apply(engine.plan())
    assert make_engine(provider, STREAM).plan().empty
    tags = foreign_state(provider)["stream_tags" if kind == "kinesis.stream" else "queue_tags"]
    tags = tags if isinstance(tags, dict) else {t["Key"]: t["Value"] for t in tags}
    assert tags["liveinsight:stack"] == "liveinsight-stream"
    assert kind in {c.resource for c in make_engine(provider, STREAM).plan(destroy=True)}


@pytest.mark.parametrize("kind", sorted(FOREIGN))
def test_a_stream_resource_that_appears_between_plan_and_apply_is_not_taken_over(
        provider: AwsProvider, kind: str) -> None:
    engine = make_engine(provider, STREAM)
    plan = engine.plan()
    FOREIGN[kind][0](provider)  # somebody else creates it meanwhile
    before = foreign_state(provider)
    with pytest.raises(PlanStale, match=f"{kind} {FOREIGN[kind][1]} changed since the plan"):
        engine.apply(plan)  # planned against a missing resource: stale, refused before any write
    key = "stream_tags" if kind == "kinesis.stream" else "queue_tags"
    assert foreign_state(provider)[key] == before[key] == ([] if kind == "kinesis.stream" else {})


def test_the_stacks_mapping_without_its_tag_is_adopted_only_on_purpose(provider: AwsProvider) -> None:
    apply_spec(provider, STREAM)
    lam = provider.client("lambda")
    arn = mapping(provider)["EventSourceMappingArn"]
    lam.untag_resource(Resource=arn, TagKeys=["liveinsight:stack"])
    plan = make_engine(provider, STREAM).plan()
    assert [(c.resource, c.action) for c in plan] == [("lambda.event_source_mapping", Action.ADOPT)]
    adopting = make_engine(provider, STREAM, adopt=True)
    adopting.apply(adopting.plan())
    assert lam.list_tags(Resource=arn)["Tags"]["liveinsight:stack"] == "liveinsight-stream"
    assert make_engine(provider, STREAM).plan().empty
