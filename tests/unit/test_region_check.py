"""The spec's region check: the same answer as botocore's own region listing, without its cost."""

from __future__ import annotations

from pathlib import Path

import botocore.session
import pytest
from botocore.loaders import Loader

from liveinsight_infra.aws.botocore_data import shared_loader
from liveinsight_infra.spec import aws_limits
from liveinsight_infra.spec.loader import load_spec

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("service", aws_limits.REGIONAL_SERVICES)
def test_known_regions_are_botocores_own_listing(service: str) -> None:
    session = botocore.session.get_session()  # looks the endpoint prefix up in the service's model
    expected = {r for p in session.get_available_partitions()
                for r in session.get_available_regions(service, partition_name=p)}
    assert expected, service
    assert aws_limits.known_regions(service) == expected


def test_loading_a_spec_parses_no_service_model(monkeypatch: pytest.MonkeyPatch) -> None:
    # A service model is a large JSON file; the region check needs only the endpoint data.
    loaded: list[str] = []
    real = Loader.load_service_model

    def spy(self: Loader, service_name: str, type_name: str, api_version: str | None = None) -> object:
        loaded.append(f"{service_name}/{type_name}")
        return real(self, service_name, type_name, api_version)

    monkeypatch.setattr(Loader, "load_service_model", spy)
    aws_limits.known_regions.cache_clear()
    try:
        assert load_spec(ROOT / "specs" / "dev.yaml", region="eu-west-1").spec.region == "eu-west-1"
    finally:
        aws_limits.known_regions.cache_clear()
    assert loaded == []


def test_the_endpoint_data_is_parsed_once_per_process() -> None:
    loader = shared_loader()
    assert loader is shared_loader()
    assert loader.load_data("endpoints") is loader.load_data("endpoints")


def test_providers_share_the_loader_and_still_refuse_an_unknown_profile(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from liveinsight_infra.aws.provider import AwsProvider
    from liveinsight_infra.errors import LiveInsightError

    config = tmp_path / "config"
    config.write_text("[profile other]\nregion = eu-west-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_DATA_PATH", raising=False)
    a, b = AwsProvider("us-east-1"), AwsProvider("eu-west-1", profile="other")
    for p in (a, b):
        loader = p._session.get_component("data_loader")
        assert loader is shared_loader()
        assert len(loader.search_paths) == len(set(loader.search_paths))
    assert b._session.profile == "other" and b._session.get_config_variable("region") == "eu-west-1"
    with pytest.raises(LiveInsightError, match="profile 'nosuch' is not configured"):
        AwsProvider("us-east-1", profile="nosuch")
