"""Reconcilers talk through outputs only, and only to the kinds they declare in ``depends_on``."""

from __future__ import annotations

import pytest

from liveinsight_infra.aws.provider import AwsProvider
from liveinsight_infra.plan import UNKNOWN
from liveinsight_infra.reconcilers.apigateway_stage import StageReconciler
from liveinsight_infra.reconcilers.base import UndeclaredDependency
from liveinsight_infra.reconcilers.registry import ordered_kinds
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
