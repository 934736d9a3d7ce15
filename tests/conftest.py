"""Shared fixtures: moto in-process (one boto3 Session reused: fast) and a moto server for CLIs."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                  AWS_SESSION_TOKEN="testing", AWS_DEFAULT_REGION="us-east-1")
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)
# Vendored wheels are verified by hash, so one cache serves every test; warm, it needs no network.
os.environ.setdefault("LIVEINSIGHT_WHEEL_CACHE", str(Path(__file__).resolve().parent.parent / ".cache" / "wheels"))

import boto3
import moto  # noqa: F401  (imported before the Session, so the Session's clients are mocked)
import pytest
from moto import mock_aws

from liveinsight_infra.aws.provider import AwsProvider
from liveinsight_infra.engine import Context, Engine
from liveinsight_infra.spec.loader import LoadedSpec, load_spec
from liveinsight_infra_moto.fidelity import apply_fidelity_patches

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT / "specs" / "dev.yaml"
PROD = ROOT / "specs" / "prod.yaml"
SESSION = boto3.Session(region_name="us-east-1")
apply_fidelity_patches()  # moto evaluates bucket-policy conditions as AWS does (docs/moto-gaps.md)


@pytest.fixture
def moto_env() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def provider(moto_env: None) -> AwsProvider:
    return AwsProvider("us-east-1", session=SESSION)


def make_engine(provider: AwsProvider, spec: str | Path | LoadedSpec = DEV, **ctx_kwargs: object) -> Engine:
    loaded = spec if isinstance(spec, LoadedSpec) else load_spec(spec)
    return Engine(Context(loaded, provider, sleep=lambda _s: None, **ctx_kwargs))  # type: ignore[arg-type]


def apply_spec(provider: AwsProvider, spec: str | Path | LoadedSpec = DEV) -> Engine:
    engine = make_engine(provider, spec)
    engine.apply(engine.plan())
    return engine


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """A copy of specs/, handlers/ and site/ that a test may change."""
    for folder in ("specs", "handlers", "site"):
        shutil.copytree(ROOT / folder, tmp_path / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def moto_endpoint(moto_server: str) -> str:
    """The moto server, reset to empty for this test."""
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST"))
    return moto_server
