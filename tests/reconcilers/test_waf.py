"""The optional AWS WAF rate-based rule of the distribution (``distribution.waf``), on moto.

A web ACL for CloudFront has scope CLOUDFRONT and lives in us-east-1 whatever the stack's region
(https://docs.aws.amazon.com/waf/latest/developerguide/web-acl-associating-aws-resource.html); the
distribution names it in ``WebACLId``. It is found again by name and confirmed by the stack's tag,
and deleted only once the distribution has let go of it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from liveinsight_infra.aws.provider import AwsProvider
from liveinsight_infra.errors import SpecError
from liveinsight_infra.plan import Action
from liveinsight_infra.spec import load_spec
from tests.conftest import apply_spec, make_engine

ACL = "liveinsight-dev-edge"
WAF_ON = "\n  waf: {enabled: true, rate_limit: 500, evaluation_window_s: 120}\n"


def spec_with(project: Path, waf: str, name: str = "waf.yaml") -> Path:
    text = (project / "specs" / "dev.yaml").read_text()
    marker = "distribution:\n  price_class: PriceClass_100\n  cache_policy: CachingOptimized\n"
    assert marker in text
    path = project / "specs" / name
    path.write_text(text.replace(marker, marker.rstrip("\n") + waf))
    return path


def acls(p: AwsProvider) -> list[dict[str, Any]]:
    wafv2 = p.client("wafv2", region="us-east-1")
    return list(wafv2.list_web_acls(Scope="CLOUDFRONT")["WebACLs"])


def web_acl_id(p: AwsProvider) -> str:
    cf = p.client("cloudfront")
    (dist,) = cf.list_distributions()["DistributionList"]["Items"]
    return str(cf.get_distribution_config(Id=dist["Id"])["DistributionConfig"].get("WebACLId") or "")


class Calls:
    """(operation, client region) of every wafv2 and CloudFront write, in order."""

    def __init__(self, p: AwsProvider):
        self.seen: list[tuple[str, str]] = []
        p.register("provide-client-params.*.*", self.hook)

    def hook(self, model: Any, context: dict[str, Any] | None = None, **_: Any) -> None:
        if model.service_model.service_name in ("wafv2", "cloudfront"):
            self.seen.append((model.name, str((context or {}).get("client_region"))))

    def index(self, operation: str) -> int:
        return next(i for i, (op, _) in enumerate(self.seen) if op == operation)


def test_off_by_default_no_web_acl_and_the_distribution_names_none(provider: AwsProvider) -> None:
    apply_spec(provider)
    assert acls(provider) == [] and web_acl_id(provider) == ""


def test_on_a_web_acl_in_us_east_1_with_the_rate_rule_named_by_the_distribution(
        provider: AwsProvider, project_copy: Path) -> None:
    loaded = load_spec(spec_with(project_copy, WAF_ON), region="eu-west-1")
    calls = Calls(provider)
    engine = make_engine(provider, loaded)
    engine.apply(engine.plan())
    assert {region for op, region in calls.seen if op.endswith("WebACL") or op == "ListWebACLs"} == {"us-east-1"}
    (summary,) = acls(provider)
    assert summary["Name"] == ACL and ":global/webacl/" in summary["ARN"]
    wafv2 = provider.client("wafv2", region="us-east-1")
    acl = wafv2.get_web_acl(Name=ACL, Scope="CLOUDFRONT", Id=summary["Id"])["WebACL"]
    assert acl["DefaultAction"] == {"Allow": {}}
    (rule,) = acl["Rules"]
    rate = rule["Statement"]["RateBasedStatement"]
    assert (rate["Limit"], rate["AggregateKeyType"], rate["EvaluationWindowSec"]) == (500, "IP", 120)
    match = rate["ScopeDownStatement"]["ByteMatchStatement"]
    assert (match["SearchString"], match["PositionalConstraint"]) == (b"/api/", "STARTS_WITH")
    assert rule["Action"] == {"Block": {"CustomResponse": {"ResponseCode": 429}}}
    tags = {t["Key"]: t["Value"] for t in wafv2.list_tags_for_resource(
        ResourceARN=summary["ARN"])["TagInfoForResource"]["TagList"]}
    assert tags["liveinsight:stack"] == "liveinsight-dev"
    assert web_acl_id(provider) == summary["ARN"]
    assert make_engine(provider, loaded).plan().empty


def test_a_changed_limit_updates_the_rule_in_place(provider: AwsProvider, project_copy: Path) -> None:
    apply_spec(provider, spec_with(project_copy, WAF_ON))
    (before,) = acls(provider)
    engine = make_engine(provider, spec_with(project_copy, WAF_ON.replace("500", "800"), "waf2.yaml"))
    plan = engine.plan()
    (change,) = plan.changes
    assert (change.action, change.resource) == (Action.UPDATE, "wafv2.web_acl")
    assert [(d.path, d.before, d.after) for d in change.diffs] == [("rate_limit", 500, 800)]
    engine.apply(plan)
    (after,) = acls(provider)
    assert after["ARN"] == before["ARN"]
    wafv2 = provider.client("wafv2", region="us-east-1")
    rule = wafv2.get_web_acl(Name=ACL, Scope="CLOUDFRONT", Id=after["Id"])["WebACL"]["Rules"][0]
    assert rule["Statement"]["RateBasedStatement"]["Limit"] == 800


def test_switched_off_the_distribution_lets_go_before_the_web_acl_is_deleted(
        provider: AwsProvider, project_copy: Path) -> None:
    apply_spec(provider, spec_with(project_copy, WAF_ON))
    calls = Calls(provider)
    engine = make_engine(provider, project_copy / "specs" / "dev.yaml")
    plan = engine.plan()
    assert {(c.action, c.resource) for c in plan} == {(Action.UPDATE, "cloudfront.distribution"),
                                                      (Action.DELETE, "wafv2.web_acl")}
    engine.apply(plan)
    assert calls.index("UpdateDistribution") < calls.index("DeleteWebACL")
    assert acls(provider) == [] and web_acl_id(provider) == ""


def test_destroy_deletes_the_web_acl_after_the_distribution(provider: AwsProvider, project_copy: Path) -> None:
    spec = spec_with(project_copy, WAF_ON)
    apply_spec(provider, spec)
    calls = Calls(provider)
    engine = make_engine(provider, spec, force=True)
    engine.apply(engine.plan(destroy=True))
    assert calls.index("DeleteDistribution") < calls.index("DeleteWebACL")
    assert acls(provider) == []


def test_a_web_acl_of_that_name_without_the_stack_tag_is_not_taken(provider: AwsProvider,
                                                                    project_copy: Path) -> None:
    wafv2 = provider.client("wafv2", region="us-east-1")
    wafv2.create_web_acl(Name=ACL, Scope="CLOUDFRONT", DefaultAction={"Allow": {}},
                         VisibilityConfig={"SampledRequestsEnabled": False, "CloudWatchMetricsEnabled": False,
                                           "MetricName": "other"})
    plan = make_engine(provider, spec_with(project_copy, WAF_ON)).plan()
    assert [c.action for c in plan.for_kind("wafv2.web_acl")] == [Action.ADOPT]
    assert make_engine(provider).plan().for_kind("wafv2.web_acl") == ()  # off: someone else's is left alone


@pytest.mark.parametrize(("waf", "problem"), [
    ("{enabled: true, rate_limit: 5}", "rate_limit"),
    ("{enabled: true, evaluation_window_s: 30}", "evaluation_window_s"),
])
def test_limits_aws_waf_refuses_are_refused_in_the_spec(project_copy: Path, waf: str, problem: str) -> None:
    with pytest.raises(SpecError) as caught:
        load_spec(spec_with(project_copy, f"\n  waf: {waf}\n"))
    assert any(problem in p for p in caught.value.problems), caught.value.problems
