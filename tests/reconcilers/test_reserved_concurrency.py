"""functions.*.reserved_concurrency: the collector's throttle when no stage throttles it (ingest.front:
function_url, docs/ingest-front.md). Set, repaired when changed out of band, removed when unset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from liveinsight_infra.aws.provider import AwsProvider
from liveinsight_infra.plan import Action
from liveinsight_infra.spec.loader import LoadedSpec, load_spec
from tests.conftest import ROOT, apply_spec, make_engine

COLLECTOR = "liveinsight-event-collector-dev"


def spec_with(folder: Path, reserved: int | None) -> LoadedSpec:
    data: dict[str, Any] = yaml.safe_load((ROOT / "specs" / "dev.yaml").read_text())
    if reserved is not None:
        data["functions"]["event-collector"]["reserved_concurrency"] = reserved
    path = folder / "specs" / "dev.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_spec(path)


def reserved(p: AwsProvider) -> int | None:
    got = p.client("lambda").get_function_concurrency(FunctionName=COLLECTOR)
    return got.get("ReservedConcurrentExecutions")


def test_reserved_concurrency_is_set_repaired_and_removed(provider: AwsProvider, project_copy: Path) -> None:
    loaded = spec_with(project_copy, 100)
    apply_spec(provider, loaded)
    assert reserved(provider) == 100
    assert make_engine(provider, loaded).plan().empty
    provider.client("lambda").put_function_concurrency(FunctionName=COLLECTOR, ReservedConcurrentExecutions=5)
    (change,) = make_engine(provider, loaded).plan().for_kind("lambda.function")
    assert change.action is Action.UPDATE and [d.path for d in change.diffs] == ["reserved_concurrency"]
    apply_spec(provider, loaded)
    assert reserved(provider) == 100
    unset = spec_with(project_copy, None)
    apply_spec(provider, unset)
    assert reserved(provider) is None
    assert make_engine(provider, unset).plan().empty
