"""Reconcilers talk through outputs only, and only to the kinds they declare in ``depends_on``."""

from __future__ import annotations

import pytest

from liveinsight_infra.aws.provider import AwsProvider
from liveinsight_infra.plan import UNKNOWN
from liveinsight_infra.reconcilers import registry
from liveinsight_infra.reconcilers.apigateway_stage import StageReconciler
from liveinsight_infra.reconcilers.base import UndeclaredDependency
from liveinsight_infra.reconcilers.registry import ordered_kinds
from liveinsight_infra.reconcilers.s3_site import InvalidationReconciler
from tests.conftest import PROD, make_engine


def test_every_kind_reads_only_declared_kinds_and_gives_exactly_its_declared_outputs(provider: AwsProvider) -> None:
    engine = make_engine(provider, PROD)  # prod uses every kind (usage plan, topic, alarms)
    assert {type(r) for r in engine.reconcilers} == set(ordered_kinds())
    plan = engine.plan()  # every desired() runs here, reading its dependencies' outputs through the check
    result = engine.apply(plan)
    assert make_engine(provider, PROD).plan().empty
    for r in engine.reconcilers:
        for name, values in result.outputs.get(r.kind, {}).items():
            assert set(values) == set(r.output_keys), f"{r.kind} {name}"


def test_reading_an_undeclared_kind_is_an_error(provider: AwsProvider) -> None:
    class Careless(StageReconciler):
        depends_on = ("apigateway.rest_api", "logs.log_group")  # forgets lambda.function and the account

    stage = Careless(make_engine(provider).ctx)
    with pytest.raises(UndeclaredDependency, match=r"apigateway\.stage reads lambda\.function"):
        stage.desired("dev", {})


def test_a_misspelt_output_key_is_an_error_not_a_lasting_diff(provider: AwsProvider) -> None:
    stage = StageReconciler(make_engine(provider).ctx)
    functions = stage.upstream({"lambda.function": {"f": {"name": "f", "arn": "a", "alias_arn": "a:live",
                                                         "live_version": UNKNOWN}}}, "lambda.function")
    assert functions["f"]["alias_arn"] == "a:live"
    with pytest.raises(KeyError, match=r"lambda\.function has no output 'live_verison'"):
        functions["f"].get("live_verison")


DIST = {"E1": {"id": "E1", "arn": "arn:aws:cloudfront::123456789012:distribution/E1", "domain": "d.cloudfront.net",
               "site_version": "an earlier version", "created": False}}


def site_object(pending: bool = False, changed: bool = False, deleted: bool = False) -> dict[str, bool]:
    return {"pending": pending, "changed": changed, "deleted": deleted}


def test_the_invalidation_learns_which_paths_change_from_the_site_objects_outputs_alone(provider: AwsProvider) -> None:
    """No reconciler hands another its plan: the paths come from ``s3.object``'s outputs, deletions included."""
    assert not hasattr(registry, "wire")
    invalidation = InvalidationReconciler(make_engine(provider).ctx)
    assert not hasattr(invalidation, "objects")
    planned = {"dashboard.js": site_object(pending=True), "dashboard.css": site_object(),
               "old.css": site_object(pending=True, deleted=True)}
    done = {"dashboard.js": site_object(changed=True), "dashboard.css": site_object(),
            "old.css": site_object(changed=True, deleted=True)}
    for objects in (planned, done):  # while planning; when applying, after the uploads and the delete
        want = invalidation.desired("site", {"cloudfront.distribution": DIST, "s3.object": objects})
        assert want["paths"] == ["/dashboard.js", "/old.css"]
        assert want["distribution_id"] == "E1"
    root = {"dashboard.html": site_object(pending=True), "dashboard.css": site_object()}
    want = invalidation.desired("site", {"cloudfront.distribution": DIST, "s3.object": root})
    assert want["paths"] == ["/", "/dashboard.html"]  # the root object is also cached under "/"


def test_the_invalidation_reading_a_misspelt_site_object_output_is_an_error(provider: AwsProvider) -> None:
    invalidation = InvalidationReconciler(make_engine(provider).ctx)
    objects = invalidation.upstream({"s3.object": {"a.js": site_object()}}, "s3.object")
    with pytest.raises(KeyError, match=r"s3\.object has no output 'chnaged'"):
        objects["a.js"]["chnaged"]
