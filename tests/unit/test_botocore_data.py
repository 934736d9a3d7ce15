"""The shared botocore data loader gives the same data as botocore's own.

What it saves in CPU is measured by bench/provision.py (docs/BENCHMARKS.md, "Start-up and CPU"),
not pinned here."""

from __future__ import annotations

import pytest
from botocore.exceptions import UnknownServiceError
from botocore.loaders import Loader

from liveinsight_infra.aws import botocore_data

SERVICES = ["s3", "cloudfront", "iam", "sts", "lambda"]


@pytest.mark.parametrize("service", SERVICES)
def test_service_models_equal_botocores_own(service: str) -> None:
    ours, theirs = botocore_data.make_loader(None), Loader()
    for type_name in ("service-2", "endpoint-rule-set-1", "paginators-1"):
        assert ours.load_service_model(service, type_name) == theirs.load_service_model(service, type_name)


def test_loading_one_model_lists_only_that_service(monkeypatch: pytest.MonkeyPatch) -> None:
    # botocore lists every one of its ~450 services (a directory listing each) before loading a model.
    def scan(self: Loader, type_name: str = "service-2") -> list[str]:
        raise AssertionError("scanned every service")

    loader = botocore_data.make_loader(None)
    monkeypatch.setattr(Loader, "list_available_services", scan)
    assert "GetCallerIdentity" in loader.load_service_model("sts", "service-2")["operations"]


def test_an_unknown_service_is_still_refused_as_botocore_does() -> None:
    with pytest.raises(UnknownServiceError, match="nosuchservice"):
        botocore_data.make_loader(None).load_service_model("nosuchservice", "service-2")


def test_sdk_extras_are_applied() -> None:
    # ec2's paginators-1.sdk-extras.json adds to its paginators, as botocore merges it.
    ours = botocore_data.make_loader(None).load_service_model("ec2", "paginators-1")
    assert ours == Loader().load_service_model("ec2", "paginators-1")
