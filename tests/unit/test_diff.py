"""Pure diff helpers: field diffs, tags, policies compared as structures."""

from __future__ import annotations

import json

from liveinsight_infra.diff import compare_tags, diff_state, entries, fields_below, normalize_policy
from liveinsight_infra.plan import UNKNOWN, Action, Change, FieldDiff, Plan


def test_diff_state_reports_nested_paths_and_ignores_unmanaged_fields() -> None:
    desired = {"memory": 128, "environment": {"A": "1", "B": "2"}}
    observed = {"memory": 256, "environment": {"A": "1", "C": "3"}, "last_modified": "x"}
    diffs = diff_state(desired, observed)
    assert [(d.path, d.before, d.after) for d in diffs] == [
        ("environment.B", None, "2"), ("environment.C", "3", None), ("memory", 256, 128)]


def test_equal_states_have_no_diff_and_unknown_always_differs() -> None:
    assert diff_state({"a": [1, 2], "b": {"c": 1}}, {"a": [1, 2], "b": {"c": 1}}) == ()
    (d,) = diff_state({"role": UNKNOWN}, {"role": "arn:old"})
    assert d.path == "role" and d.after is UNKNOWN


def test_compare_tags_never_touches_aws_tags() -> None:
    to_set, to_unset = compare_tags({"a": "1", "b": "2", "aws:cloudformation:stack": "x"}, {"a": "1", "c": "3"})
    assert to_set == {"c": "3"}
    assert to_unset == ["b"]


def test_policies_compare_as_structures() -> None:
    a = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["logs:PutLogEvents", "logs:CreateLogStream"], "Resource": "r1"},
        {"Effect": "Allow", "Action": "dynamodb:Query", "Resource": ["r2"]}]}
    b = {"Version": "2012-10-17", "Statement": [
        {"Resource": "r2", "Action": ["dynamodb:Query"], "Effect": "Allow"},
        {"Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Effect": "Allow", "Resource": "r1"}]}
    assert normalize_policy(a) == normalize_policy(json.dumps(b))
    c = json.loads(json.dumps(b))
    c["Statement"][0]["Action"] = ["dynamodb:Query", "dynamodb:Scan"]
    assert normalize_policy(a) != normalize_policy(c)


def test_plan_json_shape() -> None:
    plan = Plan((Change(Action.UPDATE, "logs.log_group", "/aws/lambda/x", (FieldDiff("retention_days", 30, 7),)),
                 Change(Action.CREATE, "lambda.function", "f", (FieldDiff("role", None, UNKNOWN),))),
                stack="liveinsight-dev")
    data = json.loads(json.dumps(plan.to_json()))
    assert data["summary"] == {"create": 1, "update": 1, "replace": 0, "delete": 0, "adopt": 0}
    first, second = data["changes"]
    assert first == {"action": "update", "resource": "logs.log_group", "name": "/aws/lambda/x",
                     "diffs": [{"path": "retention_days", "before": 30, "after": 7}]}
    assert second["diffs"][0]["after"] == "(known after apply)"


def test_fields_of_names_the_top_level_fields_a_diff_touches() -> None:
    from liveinsight_infra.diff import fields_of

    diffs = diff_state({"environment": {"STAGE": "dev", "LOG": "1"}, "timeout_s": 3, "tags": {"a": "1"}},
                       {"environment": {"STAGE": "prod", "LOG": "1"}, "timeout_s": 3, "tags": {}})
    assert [d.path for d in diffs] == ["environment.STAGE", "tags.a"]
    assert fields_of(diffs) == {"environment", "tags"}


def test_entries_group_diffs_by_entries_whose_names_hold_dots() -> None:
    """A route path may hold a dot: the diff goes to the longest entry its path starts with."""
    desired = {"methods": {"GET /v1": {"auth": "NONE", "uri": "a"}, "GET /v1.0": {"auth": "NONE", "uri": "b"}}}
    observed = {"methods": {"GET /v1": {"auth": "NONE", "uri": "a"}, "GET /v1.0": {"auth": "IAM", "uri": "x"}},
                "tags": {}}
    grouped = entries(diff_state(desired, observed), "methods", desired["methods"])
    assert [(k, [d.path for d in ds]) for k, ds in grouped.items()] == [
        ("GET /v1.0", ["methods.GET /v1.0.auth", "methods.GET /v1.0.uri"])]
    assert fields_below(grouped["GET /v1.0"], "methods.GET /v1.0") == {"auth", "uri"}


def test_an_entry_added_or_removed_whole_has_no_fields_below_it() -> None:
    diffs = diff_state({"policies": {"a": {"x": 1}}}, {"policies": {"b": {"x": 1}}})
    grouped = entries(diffs, "policies", ["a", "b"])
    assert sorted(grouped) == ["a", "b"]
    assert fields_below(grouped["a"], "policies.a") == set()
