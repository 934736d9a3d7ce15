"""A stack's global resources (CloudFront, IAM) belong to its home region, the one its spec names.

A run for another region (``--region``, or a spec whose region was changed under a live stack) would
plan a second copy of the regional resources and repoint the live distribution's origins and the
roles' policies at that region's empty bucket and API: the live dashboard and API go down. It must
stop with one line instead, reading nothing more and writing nothing, unless told explicitly
(``--move-region``). moto in two regions: the stack lives in us-east-1.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from liveinsight_infra.cli import main
from tests.conftest import DEV

HOME, OTHER = "us-east-1", "eu-west-1"


def cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), out, err)
    return code, out.getvalue(), err.getvalue()


def global_state() -> dict[str, Any]:
    """What the live stack's global resources say: the distribution's origins, the roles' policies."""
    cf, iam = boto3.client("cloudfront"), boto3.client("iam")
    (dist,) = cf.list_distributions()["DistributionList"]["Items"]
    origins = sorted(o["DomainName"] for o in dist["Origins"]["Items"])
    role = "liveinsight-stats-api-dev"
    policies = {n: iam.get_role_policy(RoleName=role, PolicyName=n)["PolicyDocument"]
                for n in iam.list_role_policies(RoleName=role)["PolicyNames"]}
    return {"origins": origins, "policies": json.dumps(policies, sort_keys=True)}


@pytest.fixture
def live(moto_env: None) -> dict[str, Any]:
    code, _, err = cli("apply", str(DEV), "--no-wait")
    assert code == 0, err
    return global_state()


def regional_functions(region: str) -> list[str]:
    return [f["FunctionName"] for f in boto3.client("lambda", region_name=region).list_functions()["Functions"]]


def one_line_about_home(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert f"home region {HOME}" in lines[0] and OTHER in lines[0] and "--move-region" in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("verb", ["plan", "apply", "destroy"])
def test_another_region_on_the_command_line_stops_with_one_line(live: dict[str, Any], verb: str) -> None:
    args = [verb, str(DEV), "--region", OTHER] + (["--yes"] if verb == "destroy" else [])
    code, out, err = cli(*args)
    assert code == 1 and out == ""
    one_line_about_home(err)
    assert global_state() == live  # nothing repointed, nothing deleted
    assert regional_functions(OTHER) == []


def spec_in(region: str, project: Path) -> Path:
    """The dev spec as it would read after someone changed its region under the live stack."""
    spec = project / "specs" / "dev.yaml"
    text = spec.read_text()
    spec.write_text(text.replace(f"region: {HOME}", f"region: {region}"))
    assert spec.read_text() != text
    return spec


@pytest.mark.parametrize("verb", ["plan", "apply", "destroy"])
def test_a_stack_living_in_another_region_than_its_spec_says_stops(live: dict[str, Any], verb: str,
                                                                   project_copy: Path) -> None:
    spec = spec_in(OTHER, project_copy)
    code, out, err = cli(verb, str(spec), *(["--yes"] if verb == "destroy" else []))
    assert code == 1 and out == "", (out, err)
    one_line_about_home(err)
    assert global_state() == live
    assert regional_functions(OTHER) == []


def test_move_region_is_the_explicit_way_to_move(live: dict[str, Any]) -> None:
    code, out, err = cli("plan", str(DEV), "--region", OTHER, "--move-region", "--json")
    assert code == 0, err
    changes = json.loads(out)["changes"]
    moved = {c["resource"] for c in changes if c["action"] == "update"}
    assert "cloudfront.distribution" in moved and "iam.role" in moved
    assert global_state() == live  # a plan writes nothing


def test_the_home_region_itself_plans_as_before(live: dict[str, Any]) -> None:
    code, out, err = cli("plan", str(DEV), "--region", HOME, "--detailed-exitcode")
    assert (code, err) == (0, ""), (out, err)
