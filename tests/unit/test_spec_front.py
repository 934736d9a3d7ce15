"""``ingest.front``: the REST API by default, or the collector's function URL behind CloudFront."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from liveinsight_infra.errors import SpecError
from liveinsight_infra.spec import load_spec, parse_spec

ROOT = Path(__file__).resolve().parents[2]


def spec_text(name: str = "dev", **changes: Any) -> str:
    data = yaml.safe_load((ROOT / "specs" / f"{name}.yaml").read_text())
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = data
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = value
    return yaml.safe_dump(data, sort_keys=False)


def problems(text: str) -> list[str]:
    with pytest.raises(SpecError) as info:
        parse_spec(text, "x.yaml")
    return info.value.problems


def test_the_rest_api_stays_the_default() -> None:
    for name in ("dev", "prod", "stream"):
        spec = load_spec(ROOT / "specs" / f"{name}.yaml").spec
        assert spec.ingest.front == "rest" and spec.event_function is None


def test_function_url_with_either_mode_names_the_collector() -> None:
    direct = parse_spec(spec_text(ingest={"mode": "direct", "front": "function_url"}), "x.yaml")
    assert direct.ingest.front == "function_url" and direct.event_function == "event-collector"
    streamed = yaml.safe_load(spec_text("stream"))
    streamed["ingest"]["front"] = "function_url"
    spec = parse_spec(yaml.safe_dump(streamed, sort_keys=False), "x.yaml")
    assert spec.streamed and spec.event_function == spec.ingest.collector


def test_function_url_needs_the_distribution() -> None:
    found = problems(spec_text(ingest={"front": "function_url"}, distribution__enabled=False))
    assert any("function_url needs the CloudFront distribution" in p and "origin secret" in p for p in found), found


def test_function_url_needs_one_function_behind_the_event_routes() -> None:
    data = yaml.safe_load(spec_text(ingest={"front": "function_url"}))
    data["api"]["routes"] = [r for r in data["api"]["routes"] if not r["path"].startswith("/api/event")]
    found = problems(yaml.safe_dump(data, sort_keys=False))
    assert any("declare POST routes" in p and "found: none" in p for p in found), found
    data = yaml.safe_load(spec_text(ingest={"front": "function_url"}))
    for r in data["api"]["routes"]:
        if r["path"] == "/api/event":
            r["function"] = "stats-api"
    found = problems(yaml.safe_dump(data, sort_keys=False))
    assert any("all calling the same function" in p for p in found), found


def test_an_unknown_front_is_refused() -> None:
    found = problems(spec_text(ingest={"front": "http"}))
    assert any("ingest.front" in p and "function_url" in p for p in found), found
