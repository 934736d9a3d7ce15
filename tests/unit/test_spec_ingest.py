"""The ingest setting: ``direct`` by default, ``stream`` with Kinesis and event-source-mapping limits."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from liveinsight_infra.errors import SpecError
from liveinsight_infra.spec import load_spec, parse_spec

ROOT = Path(__file__).resolve().parents[2]
STREAM_TEXT = (ROOT / "specs" / "stream.yaml").read_text()


def with_ingest(ingest: object, drop_aggregator: bool = False) -> str:
    data = yaml.safe_load(STREAM_TEXT)
    data["ingest"] = ingest
    if drop_aggregator:
        del data["functions"]["aggregator"]
        data["alarms"] = [a for a in data["alarms"] if a["target"] not in ("aggregator", "failure-queue")]
    return yaml.safe_dump(data, sort_keys=False)


def problems(text: str) -> list[str]:
    with pytest.raises(SpecError) as info:
        parse_spec(text, "stream.yaml")
    return info.value.problems


def test_direct_is_the_default_and_the_shorthand() -> None:
    dev = load_spec(ROOT / "specs" / "dev.yaml").spec
    assert dev.ingest.mode == "direct" and not dev.streamed
    assert parse_spec(with_ingest("direct", drop_aggregator=True), "x.yaml").ingest.mode == "direct"


def test_the_shipped_stream_spec() -> None:
    spec = load_spec(ROOT / "specs" / "stream.yaml").spec
    dev = load_spec(ROOT / "specs" / "dev.yaml").spec
    assert spec.streamed and spec.environment != dev.environment
    assert spec.ingest.shards == "on_demand" and spec.ingest.aggregator in spec.functions
    assert {a.metric for a in spec.alarms} >= {"IteratorAge", "ApproximateNumberOfMessagesVisible"}


@pytest.mark.parametrize(("ingest", "field", "words"), [
    ({"mode": "stream", "batch_size": 0}, "ingest.batch_size", "greater than or equal to 1"),
    ({"mode": "stream", "batch_size": 10001}, "ingest.batch_size", "less than or equal to 10000"),
    ({"mode": "stream", "batching_window_s": 301}, "ingest.batching_window_s", "less than or equal to 300"),
    ({"mode": "stream", "batching_window_s": -1}, "ingest.batching_window_s", "greater than or equal to 0"),
    ({"mode": "stream", "shards": 0}, "ingest.shards", "at least 1"),
    ({"mode": "stream", "shards": "many"}, "ingest.shards", "on_demand"),
    ({"mode": "stream", "retention_hours": 12}, "ingest.retention_hours", "greater than or equal to 24"),
    ({"mode": "direct", "shards": 2}, "ingest", "only with mode: stream"),
    ({"mode": "kafka"}, "ingest.mode", "direct"),
    ("kafka", "ingest.mode", "direct"),
    ({"mode": "stream", "aggregator": "summer"}, "ingest.aggregator", "unknown function 'summer'"),
    ({"mode": "stream", "aggregator": "event-collector"}, "ingest.aggregator", "another function"),
    ({"mode": "stream", "aggregator": "stats-api"}, "ingest.aggregator", "no route may call it"),
])
def test_bad_ingest_names_the_field(ingest: object, field: str, words: str) -> None:
    found = problems(with_ingest(ingest))
    assert any(f": {field}: " in p and words in p for p in found), found


def test_the_failure_queue_alarm_needs_the_stream() -> None:
    data = yaml.safe_load(STREAM_TEXT)
    data["ingest"] = "direct"
    found = problems(yaml.safe_dump(data, sort_keys=False))
    assert any("failure queue exists only with ingest: stream" in p for p in found), found


def test_queue_metrics_only_on_the_queue() -> None:
    data = yaml.safe_load(STREAM_TEXT)
    data["alarms"][0]["metric"] = "ApproximateNumberOfMessagesVisible"
    found = problems(yaml.safe_dump(data, sort_keys=False))
    assert any("does not exist for target" in p for p in found), found
