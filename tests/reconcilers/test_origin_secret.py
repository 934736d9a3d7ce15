"""The origin secret on moto: where it lives, who gets what, rotation, and that no output shows it."""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import boto3
import pytest

from liveinsight_infra.aws.provider import AwsProvider
from liveinsight_infra.cli import main
from liveinsight_infra.contract import Event
from liveinsight_infra.errors import LiveInsightError
from liveinsight_infra.reconcilers.origin_secret import OriginSecretReconciler, parse_value, settled
from liveinsight_infra.sensitive import Sensitive
from liveinsight_infra.stack import Stack
from tests.conftest import DEV, apply_spec, make_engine

PARAM = "/liveinsight-dev/origin-secret"


def stored(name: str = PARAM) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(boto3.client("ssm", region_name="us-east-1").get_parameter(
        Name=name, WithDecryption=True)["Parameter"]["Value"])
    return value


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def stage_digests() -> list[str]:
    ag = boto3.client("apigateway", region_name="us-east-1")
    api = next(a for a in ag.get_rest_apis()["items"] if a["name"] == "liveinsight-api-dev")
    variables = ag.get_stage(restApiId=api["id"], stageName="dev").get("variables") or {}
    return sorted(str(variables.get("liveinsightOriginVerify", "")).split(","))


def sent_by_cloudfront() -> list[dict[str, str]]:
    cf = boto3.client("cloudfront", region_name="us-east-1")
    (dist,) = cf.list_distributions()["DistributionList"]["Items"]
    config = cf.get_distribution_config(Id=dist["Id"])["DistributionConfig"]
    api = next(o for o in config["Origins"]["Items"] if o["Id"] == "api")
    return list(api["CustomHeaders"].get("Items") or [])


def test_apply_keeps_the_secret_in_ssm_gives_cloudfront_the_value_and_the_stage_its_digest(
        provider: AwsProvider) -> None:
    apply_spec(provider)
    ssm = boto3.client("ssm", region_name="us-east-1")
    param = ssm.get_parameter(Name=PARAM, WithDecryption=True)["Parameter"]
    assert param["Type"] == "SecureString"
    tags = {t["Key"]: t["Value"] for t in ssm.list_tags_for_resource(ResourceType="Parameter",
                                                                     ResourceId=PARAM)["TagList"]}
    assert tags["liveinsight:stack"] == "liveinsight-dev"
    secret = stored()
    assert secret["previous"] is None and len(secret["current"]) >= 43
    assert sent_by_cloudfront() == [{"HeaderName": "X-Origin-Verify", "HeaderValue": secret["current"]}]
    assert stage_digests() == [digest(secret["current"])]
    # The functions get no secret, not even a digest: the stage hands them the digest per request.
    lam = boto3.client("lambda", region_name="us-east-1")
    env = lam.get_function_configuration(FunctionName="liveinsight-event-collector-dev")["Environment"]["Variables"]
    assert not any(secret["current"] in v or digest(secret["current"]) in v for v in env.values())
    assert make_engine(provider).plan().empty  # a second apply: nothing to do


def test_a_rotation_accepts_both_secrets_while_cloudfront_switches_then_retires_the_old(
        moto_env: None) -> None:
    with Stack.from_file(DEV) as stack:
        stack.apply()
    old = stored()["current"]
    while_switching: list[list[str]] = []

    def watch(event: Event) -> None:
        if event.type == "change-done" and event.change and event.change.resource == "cloudfront.distribution":
            while_switching.append(stage_digests())

    with Stack.from_file(DEV, events=watch) as stack:
        result = stack.apply(rotate_origin_secret=True)
    new = stored()
    assert new["current"] != old and new["previous"] is None
    # When the distribution started sending the new secret, the stage already accepted both.
    assert while_switching == [sorted([digest(old), digest(new["current"])])]
    assert stage_digests() == [digest(new["current"])]  # retired once CloudFront was deployed
    assert sent_by_cloudfront()[0]["HeaderValue"] == new["current"]
    kinds = [c.resource for c in result.plan]
    assert kinds.count("ssm.parameter") == 2 and kinds.count("apigateway.stage") == 2  # switch, then retire
    with Stack.from_file(DEV) as stack:
        assert stack.plan().empty


def test_while_cloudfront_deploys_the_previous_secret_stays_and_a_new_rotation_is_refused(
        provider: AwsProvider) -> None:
    current, previous = Sensitive.generate(), Sensitive.generate()
    assert not settled(current, (current.reveal(), False))  # InProgress: edges may send the previous
    assert not settled(current, (previous.reveal(), True))
    assert settled(current, (current.reveal(), True)) and settled(current, None)
    r = OriginSecretReconciler(make_engine(provider).ctx)
    r._stored, r._cloudfront = (current, previous), (current.reveal(), False)
    assert r.desired(PARAM, {})["previous"] == previous
    assert r.outputs(PARAM, None)["digests"] == f"{current.digest},{previous.digest}"
    r.ctx = replace(r.ctx, rotate_origin_secret=True)
    with pytest.raises(LiveInsightError, match="rotation of the origin secret is still under way"):
        r.desired(PARAM, {})
    r._cloudfront = (current.reveal(), True)  # deployed: rotating again is fine, the old one goes
    rotated = r.desired(PARAM, {})
    assert rotated["previous"] == current and rotated["current"] not in (current, previous)


@pytest.mark.parametrize("text", ["not json", "[]", '{"current": "short"}',
                                  '{"current": "has space ' + "x" * 40 + '"}'])
def test_a_value_the_tool_did_not_write_is_replaced(text: str) -> None:
    assert parse_value(text) == (None, None)


def cli(*args: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), out, err)
    assert code == 0, err.getvalue()
    return out.getvalue() + err.getvalue()


def test_no_output_of_the_cli_shows_the_secret(moto_env: None, project_copy: Path) -> None:
    spec = str(project_copy / "specs" / "dev.yaml")
    outputs = [cli("plan", spec), cli("plan", spec, "--json"), cli("apply", spec, "-v")]
    secrets = {stored()["current"]}
    outputs += [cli("plan", spec, "--json"), cli("outputs", spec, "--json"), cli("outputs", spec, "--show-secrets"),
                cli("apply", spec, "-v", "--rotate-origin-secret")]
    secrets.add(stored()["current"])
    outputs += [cli("apply", spec, "--json", "--rotate-origin-secret")]
    secrets.add(stored()["current"])
    outputs += [cli("plan", spec, "--destroy", "--json"), cli("destroy", spec, "--yes", "-v")]
    assert len(secrets) == 3
    text = "\n".join(outputs)
    assert "(sensitive value, sha256 " in text  # the plans did show the field, masked
    for secret in secrets:
        assert secret not in text
