"""ingest.front: function_url on moto: the collector's function URL with its two public statements,
the distribution's event origin and behavior carrying the origin secret, the digests in the
collector's environment; planned, applied and destroyed idempotently, and undone by a switch back."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from liveinsight_infra.aws.provider import AwsProvider
from liveinsight_infra.plan import Action
from liveinsight_infra.spec.loader import LoadedSpec, load_spec
from tests.conftest import ROOT, apply_spec, make_engine

COLLECTOR = "liveinsight-event-collector-dev"
PARAM = "/liveinsight-dev/origin-secret"


def front_spec(folder: Path, front: str = "function_url", base: str = "dev") -> LoadedSpec:
    data = yaml.safe_load((ROOT / "specs" / f"{base}.yaml").read_text())
    data["ingest"] = {**(data.get("ingest") if isinstance(data.get("ingest"), dict) else {}), "front": front}
    (folder / "specs").mkdir(exist_ok=True)
    path = folder / "specs" / f"{base}-{front}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_spec(path)


def url_config(p: AwsProvider) -> dict[str, Any] | None:
    lam = p.client("lambda")
    try:
        return dict(lam.get_function_url_config(FunctionName=COLLECTOR, Qualifier="live"))
    except lam.exceptions.ResourceNotFoundException:
        return None


def url_statements(p: AwsProvider) -> dict[str, dict[str, Any]]:
    policy = json.loads(p.client("lambda").get_policy(FunctionName=COLLECTOR, Qualifier="live")["Policy"])
    return {st["Sid"]: st for st in policy["Statement"] if st["Sid"].startswith("liveinsight-url-")}


def distribution_config() -> dict[str, Any]:
    cf = boto3.client("cloudfront", region_name="us-east-1")
    (dist,) = cf.list_distributions()["DistributionList"]["Items"]
    return dict(cf.get_distribution_config(Id=dist["Id"])["DistributionConfig"])


def secret() -> str:
    ssm = boto3.client("ssm", region_name="us-east-1")
    return str(json.loads(ssm.get_parameter(Name=PARAM, WithDecryption=True)["Parameter"]["Value"])["current"])


def test_the_function_url_front_is_built_and_converges(provider: AwsProvider, project_copy: Path) -> None:
    loaded = front_spec(project_copy)
    apply_spec(provider, loaded)
    cfg = url_config(provider)
    assert cfg is not None and cfg["AuthType"] == "NONE"
    cors = loaded.spec.api.cors
    assert sorted(cfg["Cors"]["AllowOrigins"]) == sorted(cors.allow_origins)
    assert sorted(cfg["Cors"]["AllowMethods"]) == ["GET", "POST"]  # OPTIONS is implied: Lambda refuses it
    assert cfg["Cors"]["MaxAge"] == cors.max_age_s
    statements = url_statements(provider)
    assert statements["liveinsight-url-public"]["Action"] == "lambda:InvokeFunctionUrl"
    assert statements["liveinsight-url-invoke"]["Action"] == "lambda:InvokeFunction"
    assert {st["Principal"] for st in statements.values()} == {"*"}

    config = distribution_config()
    origins = {o["Id"]: o for o in config["Origins"]["Items"]}
    domain = cfg["FunctionUrl"].split("//", 1)[1].rstrip("/")
    assert origins["event"]["DomainName"] == domain and origins["event"]["OriginPath"] == ""
    assert origins["event"]["CustomHeaders"]["Items"] == [{"HeaderName": "X-Origin-Verify", "HeaderValue": secret()}]
    assert origins["event"]["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    behaviors = config["CacheBehaviors"]["Items"]
    assert [b["PathPattern"] for b in behaviors][:2] == ["/api/event*", "/api/*"]  # the first match wins
    event_b, api_b = behaviors[0], behaviors[1]
    assert event_b["TargetOriginId"] == "event" and "POST" in event_b["AllowedMethods"]["Items"]
    assert event_b["OriginRequestPolicyId"] == api_b["OriginRequestPolicyId"]  # viewer address and country
    assert event_b["CachePolicyId"] == api_b["CachePolicyId"]

    env = provider.client("lambda").get_function_configuration(
        FunctionName=COLLECTOR, Qualifier="live")["Environment"]["Variables"]
    assert env["LIVEINSIGHT_ORIGIN_DIGESTS"] == hashlib.sha256(secret().encode()).hexdigest()
    stats_env = provider.client("lambda").get_function_configuration(
        FunctionName="liveinsight-stats-api-dev")["Environment"]["Variables"]
    assert "LIVEINSIGHT_ORIGIN_DIGESTS" not in stats_env  # only the function behind the URL

    assert make_engine(provider, loaded).plan().empty  # found again by its name: nothing to do


def test_drift_of_the_url_and_its_statements_is_repaired(provider: AwsProvider, project_copy: Path) -> None:
    loaded = front_spec(project_copy)
    apply_spec(provider, loaded)
    lam = provider.client("lambda")
    lam.update_function_url_config(FunctionName=COLLECTOR, Qualifier="live", AuthType="AWS_IAM",
                                   Cors={"AllowOrigins": ["https://evil.example"]})
    lam.remove_permission(FunctionName=COLLECTOR, Qualifier="live", StatementId="liveinsight-url-invoke")
    plan = make_engine(provider, loaded).plan()
    (change,) = plan.for_kind("lambda.function_url")
    assert change.action is Action.UPDATE
    paths = {d.path for d in change.diffs}
    assert {"auth_type", "cors.allow_origins", "permissions.liveinsight-url-invoke"} <= paths, paths
    apply_spec(provider, loaded)
    assert url_config(provider)["AuthType"] == "NONE"  # type: ignore[index]
    assert set(url_statements(provider)) == {"liveinsight-url-public", "liveinsight-url-invoke"}
    assert make_engine(provider, loaded).plan().empty


def test_a_switch_back_to_rest_removes_the_url_and_the_event_path(provider: AwsProvider, project_copy: Path) -> None:
    apply_spec(provider, front_spec(project_copy))
    rest = front_spec(project_copy, "rest")
    plan = make_engine(provider, rest).plan()
    assert [c.action for c in plan.for_kind("lambda.function_url")] == [Action.DELETE]
    assert [c.action for c in plan.for_kind("cloudfront.distribution")] == [Action.UPDATE]
    apply_spec(provider, rest)
    assert url_config(provider) is None
    assert url_statements(provider) == {}
    config = distribution_config()
    assert [o["Id"] for o in config["Origins"]["Items"]] == ["site", "api"]
    assert [b["PathPattern"] for b in config["CacheBehaviors"]["Items"]] == ["/api/*"]
    env = provider.client("lambda").get_function_configuration(FunctionName=COLLECTOR)["Environment"]["Variables"]
    assert "LIVEINSIGHT_ORIGIN_DIGESTS" not in env
    assert make_engine(provider, rest).plan().empty


def test_the_rest_front_plans_no_url(provider: AwsProvider) -> None:
    apply_spec(provider)
    assert url_config(provider) is None
    assert [o["Id"] for o in distribution_config()["Origins"]["Items"]] == ["site", "api"]
    assert make_engine(provider).plan().empty


def test_destroy_takes_the_url_with_the_function(provider: AwsProvider, project_copy: Path) -> None:
    loaded = front_spec(project_copy)
    apply_spec(provider, loaded)
    engine = make_engine(provider, loaded)
    plan = engine.plan(destroy=True)
    assert plan.for_kind("lambda.function_url") == ()  # the function's delete takes it
    engine.apply(plan)
    lam = provider.client("lambda")
    assert not [f for f in lam.list_functions()["Functions"] if f["FunctionName"].startswith("liveinsight-")]
    assert make_engine(provider, loaded).plan(destroy=True).empty


def test_a_rotation_reaches_the_collector_before_cloudfront_sends_the_new_secret(
        provider: AwsProvider, project_copy: Path) -> None:
    from liveinsight_infra.contract import Event

    loaded = front_spec(project_copy)
    apply_spec(provider, loaded)
    old = secret()
    seen: list[str] = []

    def watch(event: Event) -> None:
        if event.type == "change-done" and event.change and event.change.resource == "cloudfront.distribution":
            seen.append(provider.client("lambda").get_function_configuration(
                FunctionName=COLLECTOR, Qualifier="live")["Environment"]["Variables"]["LIVEINSIGHT_ORIGIN_DIGESTS"])

    engine = make_engine(provider, loaded, rotate_origin_secret=True, emit=watch)
    engine.apply(engine.plan())
    new = secret()
    assert new != old
    # When CloudFront switched to the new secret, the live collector accepted both.
    assert sorted(seen[0].split(",")) == sorted(hashlib.sha256(s.encode()).hexdigest() for s in (new, old))


class Lost(Exception):
    pass


def test_a_lost_answer_of_the_url_or_its_statements_is_finished_by_the_next_apply(
        provider: AwsProvider, project_copy: Path) -> None:
    """The call went through, its answer never came back: the next apply adopts what it made."""
    from tests.conftest import SESSION

    loaded = front_spec(project_copy)
    for operation in ("CreateFunctionUrlConfig", "AddPermission"):
        lost = {"done": False}

        def lose(model: Any, operation: str = operation, lost: dict[str, bool] = lost, **kw: Any) -> None:
            answer = kw.get("parsed") or {}  # AddPermission answers with the statement it added
            if model.name == operation and not lost["done"] and (
                    operation != "AddPermission" or "liveinsight-url-" in str(answer)):
                lost["done"] = True
                raise Lost(f"the answer of {operation} was lost")

        p = AwsProvider("us-east-1", session=SESSION)
        p.register("after-call.lambda.*", lose)
        engine = make_engine(p, loaded)
        with pytest.raises(Lost):
            engine.apply(engine.plan())
        assert lost["done"], operation
        apply_spec(AwsProvider("us-east-1", session=SESSION), loaded)
        assert make_engine(AwsProvider("us-east-1", session=SESSION), loaded).plan().empty
        assert set(url_statements(provider)) == {"liveinsight-url-public", "liveinsight-url-invoke"}
        if operation == "CreateFunctionUrlConfig":  # start the next one from a stack without the URL
            apply_spec(AwsProvider("us-east-1", session=SESSION), front_spec(project_copy, "rest"))
