"""Every request apply and the handlers make fits the botocore model of the declared floor version.

Recorded: the three specs applied cold, then a change of each (code, site, spec fields and
out-of-band drift that apply repairs), then the handlers on both ingest paths (collector, aggregator,
realtime, stats). Each request is checked with botocore's ParamValidator against the model of the
lowest botocore that setup.cfg allows (tests/request_models.py); the same requests against the
botocore just below the floor must fail, so the floor is the lowest that works, not a guess.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from liveinsight_infra.aws.provider import AwsProvider
from tests import request_models
from tests.conftest import make_engine
from tests.handlers.test_stream_path import Path as StreamPath
from tests.handlers.test_stream_path import pageviews, path, post_all  # noqa: F401  (fixture)

# The release just below the floor: it lacks Tags on kinesis:CreateStream, which we send (the Tags of
# lambda:CreateEventSourceMapping are older), so our requests must fail against it.
BELOW_FLOOR = "1.35.25"


def change(project: Path) -> None:
    """Spec, code and site changes that make apply update what it created."""
    for spec in ("dev", "prod", "stream"):
        f = project / "specs" / f"{spec}.yaml"
        text = f.read_text()
        text = text.replace("memory_mb: 128", "memory_mb: 192", 1)
        text = re.sub(r"retention_days: \d+", "retention_days: 14", text, count=1)
        text = re.sub(r"price_class: \w+", "price_class: PriceClass_200", text, count=1)
        text = text.replace("threshold: 5,", "threshold: 6,", 1)
        f.write_text(text)
    f = project / "specs" / "stream.yaml"
    f.write_text(f.read_text().replace("shards: on_demand", "shards: 2").replace("retention_hours: 24",
                                                                                 "retention_hours: 48")
                 .replace("batch_size: 1000", "batch_size: 500"))
    handler = project / "handlers" / "stats_api.py"
    handler.write_text(handler.read_text() + "\n# v2\n")
    page = project / "site" / "dashboard.html"
    page.write_text(page.read_text() + "\n<!-- v2 -->\n")


def drift() -> None:
    iam = boto3.client("iam", region_name="us-east-1")
    for env in ("dev", "prod", "stream"):
        iam.delete_role_permissions_boundary(RoleName=f"liveinsight-stats-api-{env}")
        iam.tag_role(RoleName=f"liveinsight-stats-api-{env}", Tags=[{"Key": "extra", "Value": "x"}])


@pytest.fixture
def recording() -> Iterator[request_models.Recording]:
    """Active before the stream path's fixture, so its setup (the stream's creation) is recorded too."""
    with request_models.Recording().active() as rec:
        yield rec


@pytest.fixture
def recorded(recording: request_models.Recording, provider: AwsProvider, project_copy: Path,
             path: StreamPath, monkeypatch: pytest.MonkeyPatch) -> request_models.Recording:  # noqa: F811
    specs = [project_copy / "specs" / f"{env}.yaml" for env in ("dev", "prod", "stream")]
    for spec in specs:  # cold
        engine = make_engine(provider, spec)
        engine.apply(engine.plan())
    change(project_copy)
    drift()
    for spec in specs:  # the change
        engine = make_engine(provider, spec)
        plan = engine.plan()
        assert not plan.empty
        engine.apply(plan)
    # The handlers: stream path (collector puts on the stream, the aggregator writes counters) ...
    post_all(path, pageviews("a.example", 3, ips=2))
    path.poller.drain()
    path.stats("a.example")
    path.api.realtime("a.example")
    # ... and the direct path (the collector writes the table itself).
    from shared import store
    monkeypatch.setenv("LIVEINSIGHT_INGEST", "direct")
    store.reset_for_tests()
    post_all(path, pageviews("b.example", 3))
    path.api.post([{"name": "signup", "url": "https://b.example/join", "domain": "b.example"}])
    return recording


def test_every_request_fits_the_floor_botocore_model(recorded: request_models.Recording) -> None:
    floor = request_models.declared_floors()["botocore"]
    assert request_models.declared_floors()["boto3"] == floor  # boto3 X.Y.Z pins botocore X.Y.Z
    ops = recorded.operations()
    for must in ("kinesis:CreateStream", "lambda:CreateEventSourceMapping", "lambda:UpdateFunctionCode",
                 "lambda:UpdateFunctionConfiguration", "lambda:UpdateEventSourceMapping", "kinesis:UpdateStreamMode",
                 "iam:PutRolePermissionsBoundary", "cloudfront:UpdateDistribution", "cloudfront:CreateInvalidation",
                 "kinesis:PutRecords", "dynamodb:TransactWriteItems", "dynamodb:Query", "logs:PutRetentionPolicy"):
        assert must in ops, (must, sorted(ops))
    print(f"{len(recorded.requests)} requests, {len(ops)} operations checked against botocore {floor}")
    assert request_models.problems(recorded.requests, floor) == []


def test_the_same_requests_fail_just_below_the_floor(recorded: request_models.Recording) -> None:
    found = request_models.problems(recorded.requests, BELOW_FLOOR)
    assert any(line.startswith("kinesis:CreateStream") and "Unknown parameter" in line and "Tags" in line
               for line in found), found
