"""The local gateway loads a function's handler as Lambda does, and fails as Lambda does."""

from __future__ import annotations

from pathlib import Path

import pytest

from liveinsight_infra.local.gateway import ApiDefinition, FunctionTarget, LocalGateway

ARN = "arn:aws:lambda:us-east-1:123456789012:function:f:live"


def target(package_dir: Path | None, handler: str = "app.handler") -> FunctionTarget:
    return FunctionTarget(ARN, "f", handler, {}, "sha", 3, 128, package_dir=package_dir)


def gateway() -> LocalGateway:
    return LocalGateway(ApiDefinition("api", "dev", "us-east-1", "123456789012", {}, {}, {}))


def test_a_function_without_a_package_is_an_import_error_not_a_crash() -> None:
    with pytest.raises(ImportError, match=r"Runtime\.ImportModuleError"):
        gateway()._load(target(None))


def test_a_package_with_the_handler_loads_it(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("def handler(event, context):\n    return {'statusCode': 204}\n")
    fn = gateway()._load(target(tmp_path))
    assert fn({}, None) == {"statusCode": 204}
