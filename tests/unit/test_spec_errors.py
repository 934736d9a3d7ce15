"""Bad specs: every problem named by field (and line), never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from liveinsight_infra.errors import SpecError
from liveinsight_infra.spec import load_spec, parse_spec

ROOT = Path(__file__).resolve().parents[2]
DEV_TEXT = (ROOT / "specs" / "dev.yaml").read_text()
DEV = yaml.safe_load(DEV_TEXT)


def mutate(path: str, value: object) -> str:
    """The dev spec with one field set (``a.b.0.c``) or removed (value ``DELETE``)."""
    data = yaml.safe_load(DEV_TEXT)
    node = data
    parts = path.split(".")
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    last = parts[-1]
    if value == "DELETE":
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return yaml.safe_dump(data, sort_keys=False)


CASES = [
    # (field to change, new value, field path the message must name, words the reason must contain)
    ("environment", "DELETE", "environment", "required"),
    ("environment", "Dev!", "environment", "pattern"),
    ("project", 42, "project", "string"),
    ("region", "moon-1", "region", "pattern"),
    ("colour", "blue", "colour", "unknown field"),
    ("logs.retention_days", 15, "logs.retention_days", "not a retention"),
    ("logs.retention_days", "seven", "logs.retention_days", "integer"),
    ("functions.event-collector.memory_mb", 64, "functions.event-collector.memory_mb", "greater than"),
    ("functions.event-collector.timeout_s", 901, "functions.event-collector.timeout_s", "less than"),
    ("functions.event-collector.handler", "collector", "functions.event-collector.handler", "pattern"),
    ("functions.event-collector.runtime", "python2.7", "functions.event-collector.runtime", "python3.12"),
    ("functions.event-collector.table_actions", ["Scan"], "functions.event-collector.table_actions.0",
     "GetItem"),
    ("functions.event-collector.environment", {"AWS_REGION": "x"}, "functions.event-collector.environment",
     "reserved"),
    ("functions.event-collector.memroy_mb", 256, "functions.event-collector.memroy_mb", "unknown field"),
    ("functions", {}, "functions", "at least 1"),
    ("api.routes.0.function", "collector", "api.routes.0.function", "unknown function"),
    ("api.routes.1.method", "FETCH", "api.routes.1.method", "GET"),
    ("api.routes.2.path", "api/stats", "api.routes.2.path", "pattern"),
    ("api.cors.allow_origins", ["example.com"], "api.cors.allow_origins", "not an origin"),
    ("api.cors.allow_origins", ["*", "https://a.example"], "api.cors.allow_origins", "cannot be combined"),
    ("api.cors.max_age_s", 100000, "api.cors.max_age_s", "less than"),
    ("api.throttling.burst_limit", 0, "api.throttling.burst_limit", "greater than"),
    ("alarms.0.target", "nope", "alarms.0.target", "unknown function"),
    ("alarms.0.period_s", 90, "alarms.0.period_s", "multiple of 60"),
    ("alarms.0.statistic", "Median", "alarms.0.statistic", "percentile"),
    ("alarms.0.metric", "5XXError", "alarms.0", "does not exist for target"),
    ("alarms.1.name", "event-collector-errors", "alarms.1.name", "used twice"),
    ("tags", {"aws:owner": "x"}, "tags", "reserved"),
    ("distribution.price_class", "PriceClass_1", "distribution.price_class", "PriceClass_100"),
    ("distribution.cache_policy", "4135ea2d-6df8-44a3-9df3-4b5a84be39ad", "distribution.cache_policy",
     "CachingOptimized"),
]


@pytest.mark.parametrize(("path", "value", "field", "words"), CASES, ids=[f"{c[0]}={c[1]!r}" for c in CASES])
def test_bad_spec_names_the_field(path: str, value: object, field: str, words: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(mutate(path, value), "dev.yaml")
    problems = info.value.problems
    assert problems, "at least one problem is reported"
    matching = [p for p in problems if f": {field}: " in p]
    assert matching, f"no problem names {field!r}: {problems}"
    assert any(words.lower() in p.lower() for p in matching), problems
    assert all(p.startswith("dev.yaml") for p in problems)


def test_problem_lines_point_into_the_file() -> None:
    text = DEV_TEXT.replace("retention_days: 7", "retention_days: 15")
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "retention_days: 15" in t)
    with pytest.raises(SpecError) as info:
        parse_spec(text, "dev.yaml")
    assert info.value.problems == [
        f"dev.yaml:{line}: logs.retention_days: {info.value.problems[0].split(': ', 2)[2]}"]
    assert "15 is not a retention" in info.value.problems[0]


def test_yaml_syntax_error_names_the_line() -> None:
    with pytest.raises(SpecError) as info:
        parse_spec("environment: dev\nfunctions: [unclosed\n", "bad.yaml")
    (problem,) = info.value.problems
    assert problem.startswith("bad.yaml:3: YAML syntax error")


def test_several_problems_are_all_reported() -> None:
    text = mutate("logs.retention_days", 15).replace("memory_mb: 128", "memory_mb: 1", 1)
    with pytest.raises(SpecError) as info:
        parse_spec(text, "dev.yaml")
    fields = {p.split(": ")[1] for p in info.value.problems}
    assert {"logs.retention_days", "functions.event-collector.memory_mb"} <= fields


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "just a string"])
def test_a_spec_that_is_not_a_mapping(text: str) -> None:
    with pytest.raises(SpecError, match="must be a mapping"):
        parse_spec(text, "x.yaml")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no such file"):
        load_spec(tmp_path / "absent.yaml")


def test_shipped_specs_load() -> None:
    dev = load_spec(ROOT / "specs" / "dev.yaml").spec
    prod = load_spec(ROOT / "specs" / "prod.yaml").spec
    assert dev.logs.retention_days == 7 and len(dev.alarms) == 8
    assert prod.api.cors.allow_origins != ("*",) and prod.alerts.topic
    assert prod.logs.retention_days > dev.logs.retention_days


EC = "    memory_mb: 128\n    timeout_s: 10\n"


@pytest.mark.parametrize(("old", "new", "field", "expected"), [
    ("description: Serves aggregated", "description: 'yes' #", "description", "yes"),
    ("description: Serves aggregated", "description: '2024-01-01' #", "description", "2024-01-01"),
    ("description: Serves aggregated", 'description: "036" #', "description", "036"),
    ("description: Serves aggregated", "description: runs at 1:30 daily #", "description", "runs at 1:30 daily"),
    ("description: Serves aggregated", "description: 2024-01-01 release #", "description", "2024-01-01 release"),
    ("description: Serves aggregated", "description: _1 and a_b #", "description", "_1 and a_b"),
    (EC, EC.replace("128", "0x100"), "memory_mb", 256),
    (EC, EC.replace("10\n", "+10\n"), "timeout_s", 10),
    (EC, EC + "    environment: {FLAG: 'true', COUNT: '7'}\n", "environment", {"FLAG": "true", "COUNT": "7"}),
])
def test_unambiguous_values_are_read_as_yaml_1_2(old: str, new: str, field: str, expected: object) -> None:
    text = DEV_TEXT.replace(old, new, 1)
    assert text != DEV_TEXT
    spec = parse_spec(text, "dev.yaml")
    fn = spec.functions["stats-api" if "description" in old else "event-collector"]
    assert getattr(fn, field) == expected


@pytest.mark.parametrize(("value", "expected"), [("5.5", 5.5), ("1.5e3", 1500.0), ("-1", -1.0), ("0", 0.0)])
def test_thresholds_are_yaml_1_2_floats(value: str, expected: float) -> None:
    spec = parse_spec(DEV_TEXT.replace("threshold: 2000", f"threshold: {value}"), "dev.yaml")
    assert spec.alarms[7].threshold == expected


def test_quoted_tag_keys_and_values_are_text() -> None:
    spec = parse_spec(DEV_TEXT.replace("  owner: platform\n", "  owner: platform\n  '1': 'on'\n"), "dev.yaml")
    assert spec.tags["1"] == "on"
