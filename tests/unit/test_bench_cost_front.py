"""bench/cost_front.py: the ingest fronts priced from what apply builds, read back from moto."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from liveinsight_infra.aws.provider import AwsProvider
from tests.conftest import apply_spec

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


_load("prices")
_load("cost_model")
front = _load("cost_front")


@pytest.mark.parametrize(("ingest_front", "kind", "fees", "logged"), [
    ("rest", "rest_api", ("cloudfront_request", "apigw_rest_request"), True),
    ("function_url", "function_url", ("cloudfront_request",), False),
])
def test_each_front_is_read_back_from_the_applied_stack(provider: AwsProvider, ingest_front: str, kind: str,
                                                        fees: tuple[str, ...], logged: bool) -> None:
    loaded = front.spec_with_front("dev", ingest_front)
    apply_spec(provider, loaded)
    built = front.read_event_path(provider, loaded.spec)
    assert (built.spec_front, built.origin_kind, built.origin_secret, built.access_log) == (
        ingest_front, kind, True, logged)
    priced = front.as_front(built, 219)
    assert priced.fees == fees
    assert priced.access_log_bytes == (219 if logged else 0)


def test_a_function_url_built_open_or_without_the_secret_is_not_priced() -> None:
    ok = front.BuiltFront("function_url", "x.lambda-url.us-east-1.on.aws", "function_url", True, "NONE", False, False)
    assert front.as_front(ok, 219).key == "function_url"
    for bad in (ok.__class__(**{**ok.__dict__, "origin_secret": False}),
                ok.__class__(**{**ok.__dict__, "url_auth_type": "AWS_IAM"})):
        with pytest.raises(SystemExit, match=r"not what docs/ingest-front\.md describes"):
            front.as_front(bad, 219)
