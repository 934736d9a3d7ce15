"""The CLI end to end: real subprocesses against a moto server started by the test (AWS_ENDPOINT_URL)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from tests.conftest import ROOT


def run(*args: str, endpoint: str | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1",
               NO_COLOR="1")
    if endpoint:
        env["AWS_ENDPOINT_URL"] = endpoint
    return subprocess.run([sys.executable, "-m", "liveinsight_infra", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def calls(stderr: str) -> tuple[int, int]:
    m = re.search(r"AWS calls: \d+ \((\d+) reads, (\d+) writes", stderr)
    assert m, stderr
    return int(m.group(1)), int(m.group(2))


def test_apply_then_converged_plan_and_zero_write_reapply(moto_endpoint: str) -> None:
    first = run("apply", "specs/dev.yaml", "-v", endpoint=moto_endpoint)
    assert first.returncode == 0, first.stderr
    planned = len(re.findall(r"^  \+ ", first.stdout, re.M))
    assert planned > 25
    assert f"{planned} created, 0 updated, 0 replaced, 0 deleted" in first.stdout
    assert "+ lambda.function liveinsight-event-collector-dev" in first.stdout
    assert "functions.stats-api.live_version" in first.stdout

    plan = run("plan", "specs/dev.yaml", "--detailed-exitcode", endpoint=moto_endpoint)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "No changes" in plan.stdout

    again = run("apply", "specs/dev.yaml", "-v", endpoint=moto_endpoint)
    assert again.returncode == 0, again.stderr
    assert "No changes" in again.stdout
    reads, writes = calls(again.stderr)
    assert writes == 0 and reads > 0


def test_plan_json_and_detailed_exitcode_show_drift(moto_endpoint: str) -> None:
    assert run("apply", "specs/dev.yaml", endpoint=moto_endpoint).returncode == 0
    logs = boto3.client("logs", endpoint_url=moto_endpoint, region_name="us-east-1")
    logs.put_retention_policy(logGroupName="/aws/lambda/liveinsight-stats-api-dev", retentionInDays=30)
    res = run("plan", "specs/dev.yaml", "--json", "--detailed-exitcode", endpoint=moto_endpoint)
    assert res.returncode == 2, res.stderr
    data = json.loads(res.stdout)
    assert data["changes"] == [{"action": "update", "resource": "logs.log_group",
                                "name": "/aws/lambda/liveinsight-stats-api-dev",
                                "diffs": [{"path": "retention_days", "before": 30, "after": 7}],
                                "reason": "differs from the spec"}]
    text = run("plan", "specs/dev.yaml", endpoint=moto_endpoint)
    assert "~ logs.log_group /aws/lambda/liveinsight-stats-api-dev" in text.stdout
    assert "retention_days: 30 → 7" in text.stdout


def test_destroy_needs_confirmation_then_removes_the_stack(moto_endpoint: str) -> None:
    assert run("apply", "specs/dev.yaml", endpoint=moto_endpoint).returncode == 0
    refused = run("destroy", "specs/dev.yaml", endpoint=moto_endpoint)
    assert refused.returncode == 1 and "--yes" in refused.stderr
    done = run("destroy", "specs/dev.yaml", "--yes", endpoint=moto_endpoint)
    assert done.returncode == 0, done.stderr
    deleted = len(re.findall(r"^  - ", done.stdout, re.M))
    assert deleted > 20 and f"Destroy complete: {deleted} resources deleted" in done.stdout
    missing = run("outputs", "specs/dev.yaml", endpoint=moto_endpoint)
    assert missing.returncode == 1 and "does not exist" in missing.stderr


def test_outputs_json_reads_the_live_stack(moto_endpoint: str) -> None:
    assert run("apply", "specs/dev.yaml", endpoint=moto_endpoint).returncode == 0
    res = run("outputs", "specs/dev.yaml", "--json", endpoint=moto_endpoint)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["table"] == "liveinsight-events-dev"
    assert out["functions"]["event-collector"] == {"name": "liveinsight-event-collector-dev", "live_version": "1"}
    assert len(out["alarms"]) == 8 and len(out["log_groups"]) == 4


@pytest.mark.parametrize(("text", "expected"), [
    ("environment: dev\nfunctions: [\n", "YAML syntax error"),
    ("environment: dev\n", "api: required field is missing"),
])
def test_bad_spec_exits_1_with_the_field_and_no_traceback(tmp_path: Path, text: str, expected: str) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text(text)
    res = run("plan", str(spec))
    assert res.returncode == 1
    assert expected in res.stderr and str(spec) in res.stderr
    assert "Traceback" not in res.stderr + res.stdout


def test_embedded_moto_apply() -> None:
    """The README's first command: the whole stack created on the embedded moto, then its outputs."""
    res = run("apply", "specs/dev.yaml", "--moto")
    assert res.returncode == 0, res.stderr
    planned = len(re.findall(r"^  \+ ", res.stdout, re.M))
    assert planned > 25
    assert re.search(rf"^Apply complete in [0-9.]+s: {planned} created, 0 updated, 0 replaced, 0 deleted\.$",
                     res.stdout, re.M), res.stdout[-2000:]
    outputs = dict(re.findall(r"^  ([\w.:-]+) += (.*)$", res.stdout.split("\nOutputs:\n", 1)[1], re.M))
    assert outputs["table"] == "liveinsight-events-dev"
    assert outputs["functions.stats-api.live_version"] == "1"
    assert re.fullmatch(r"https://[a-z0-9]+\.cloudfront\.net/", outputs["dashboard_url"])
    assert len([k for k in outputs if k.startswith("alarms.")]) == 8


def test_every_verb_the_help_lists_answers_its_own_help_and_is_in_the_readme(
        capsys: pytest.CaptureFixture[str]) -> None:
    """The help's list is the parser's (each verb it names runs), and the README's command list
    names each of them."""
    from liveinsight_infra.cli import main

    help_ = run("--help")
    assert help_.returncode == 0
    listed = re.findall(r"^    ([a-z]+)\b", help_.stdout.split("positional arguments:", 1)[1].split("options:", 1)[0],
                        re.M)
    assert len(listed) >= 10, help_.stdout
    readme = (ROOT / "README.md").read_text().split("## The commands", 1)[1].split("\n## ", 1)[0]
    for verb in listed:
        with pytest.raises(SystemExit) as done:
            main([verb, "--help"])
        assert done.value.code == 0
        assert capsys.readouterr().out.startswith(f"usage: liveinsight-infra {verb} ")
        assert f"liveinsight-infra {verb}" in readme, verb


def test_the_schema_accepts_the_shipped_specs_and_refuses_a_misspelt_field() -> None:
    """What `schema` prints is what editors and CI validate specs with: it must agree with the loader."""
    import jsonschema
    import yaml

    schema = json.loads(run("schema").stdout)
    validator = jsonschema.Draft202012Validator(schema)
    for spec in sorted((ROOT / "specs").glob("*.yaml")):
        assert not list(validator.iter_errors(yaml.safe_load(spec.read_text()))), spec.name
    misspelt = yaml.safe_load((ROOT / "specs" / "dev.yaml").read_text())
    misspelt["enviroment"] = misspelt.pop("environment")
    messages = [e.message for e in validator.iter_errors(misspelt)]
    assert any("'enviroment' was unexpected" in m for m in messages), messages


def test_build_writes_one_package_per_function(tmp_path: Path) -> None:
    build = run("build", "specs/dev.yaml", "--out", str(tmp_path))
    assert build.returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["event-collector.zip", "realtime-api.zip",
                                                          "stats-api.zip"]
    assert len(re.findall(r"sha256 [0-9a-f]{64}", build.stdout)) == 3


def test_outputs_json_has_every_key_and_releases_lists(moto_endpoint: str) -> None:
    assert run("apply", "specs/dev.yaml", endpoint=moto_endpoint).returncode == 0
    out = json.loads(run("outputs", "specs/dev.yaml", "--json", endpoint=moto_endpoint).stdout)
    for key in ("dashboard_url", "api_url", "same_origin_api_url", "bucket", "distribution_id",
                "distribution_domain", "functions", "table", "log_groups", "alarms"):
        assert out.get(key), key
    assert out["dashboard_url"].startswith("https://") and out["dashboard_url"].endswith(".cloudfront.net/")
    assert out["api_url"].endswith(".execute-api.us-east-1.amazonaws.com/dev")
    assert set(out["alarms"].values()) <= {"OK", "ALARM", "INSUFFICIENT_DATA"}
    rel = run("releases", "specs/dev.yaml", "--json", endpoint=moto_endpoint)
    (release,) = json.loads(rel.stdout)
    assert release["current"] and release["functions"] == {"event-collector": "1", "realtime-api": "1",
                                                           "stats-api": "1"}
    refused = run("rollback", "specs/dev.yaml", "--yes", endpoint=moto_endpoint)
    assert refused.returncode == 1 and "nothing to roll back to" in refused.stderr
