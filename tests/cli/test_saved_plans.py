"""`plan -out FILE` then `apply FILE`, each in its own process, against a moto server (docs/saved-plans.md)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import boto3

from tests.cli.test_cli_e2e import run

GROUP = "/aws/lambda/liveinsight-stats-api-dev"
# What an apply reads besides the kinds its plan changes: who the credentials are, and the stack lock.
LOCK_AND_IDENTITY = {("sts", "GetCallerIdentity"), ("dynamodb", "GetItem")}


def retention(endpoint: str) -> int:
    logs = boto3.client("logs", endpoint_url=endpoint, region_name="us-east-1")
    group = logs.describe_log_groups(logGroupNamePrefix=GROUP)["logGroups"][0]
    return int(group["retentionInDays"])


def set_retention(endpoint: str, days: int) -> None:
    logs = boto3.client("logs", endpoint_url=endpoint, region_name="us-east-1")
    logs.put_retention_policy(logGroupName=GROUP, retentionInDays=days)


def read_calls(stderr: str) -> set[tuple[str, str]]:
    """The (service, operation) pairs of the read calls that `-v` lists."""
    calls = set(re.findall(r"^  (\w+):(\w+) x \d+$", stderr, re.M))
    return {(s, op) for s, op in calls if op.startswith(("Get", "Describe", "List"))}


def planned_drift(endpoint: str, tmp_path: Path) -> Path:
    """A deployed stack with one log group changed out of band, and the saved plan that repairs it."""
    assert run("apply", "specs/dev.yaml", endpoint=endpoint).returncode == 0
    set_retention(endpoint, 30)
    out = tmp_path / "drift.plan.json"
    planned = run("plan", "specs/dev.yaml", "-out", str(out), endpoint=endpoint)
    assert planned.returncode == 0, planned.stderr
    assert f"Saved the plan to {out}" in planned.stdout
    return out


def test_a_saved_plan_is_refused_when_a_resource_it_changes_changed_since(moto_endpoint: str,
                                                                          tmp_path: Path) -> None:
    saved = planned_drift(moto_endpoint, tmp_path)
    set_retention(moto_endpoint, 14)  # someone else changes the very resource the plan changes
    res = run("apply", str(saved), endpoint=moto_endpoint)
    assert res.returncode == 3, res.stdout + res.stderr
    assert res.stderr.strip().splitlines() == [
        f"error: logs.log_group {GROUP} changed since the plan was made; nothing was changed. Run plan again."]
    assert retention(moto_endpoint) == 14  # never planned again behind the reviewer's back


def test_a_saved_plan_applies_in_a_fresh_process_reading_only_what_it_changes(moto_endpoint: str,
                                                                               tmp_path: Path) -> None:
    saved = planned_drift(moto_endpoint, tmp_path)
    data = json.loads(saved.read_text())
    assert data["basis"]["reread"] == ["logs.log_group"]
    assert [(c["resource"], c["name"]) for c in data["changes"]] == [("logs.log_group", GROUP)]
    res = run("apply", str(saved), "-v", endpoint=moto_endpoint)
    assert res.returncode == 0, res.stderr
    assert "1 updated" in res.stdout
    assert retention(moto_endpoint) == 7
    # Reads: the log groups (the one kind the plan changes), the lock and who the credentials are.
    reads = read_calls(res.stderr)
    assert {s for s, _ in reads} <= {"logs", "sts", "dynamodb"}, reads
    assert {(s, op) for s, op in reads if s != "logs"} <= LOCK_AND_IDENTITY, reads
    assert any(s == "logs" for s, _ in reads)
    converged = run("plan", "specs/dev.yaml", "--detailed-exitcode", endpoint=moto_endpoint)
    assert converged.returncode == 0, converged.stdout + converged.stderr


def test_a_saved_plan_of_another_spec_or_tool_version_is_refused(moto_endpoint: str, tmp_path: Path) -> None:
    saved = planned_drift(moto_endpoint, tmp_path)
    data = json.loads(saved.read_text())
    other_version = tmp_path / "old-tool.plan.json"
    other_version.write_text(json.dumps({**data, "version": "0.0.1"}))
    res = run("apply", str(other_version), endpoint=moto_endpoint)
    assert res.returncode == 3 and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert "made by liveinsight-infra 0.0.1" in res.stderr
    other_spec = tmp_path / "other-spec.plan.json"
    other_spec.write_text(json.dumps({**data, "spec_hash": "0" * 64}))
    res = run("apply", str(other_spec), endpoint=moto_endpoint)
    assert res.returncode == 3 and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert "the spec changed since the plan was made" in res.stderr
    assert retention(moto_endpoint) == 30  # neither wrote anything
