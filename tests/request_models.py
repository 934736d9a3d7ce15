"""Requests checked against the botocore service models of the lowest botocore that setup.cfg allows.

An older botocore refuses, before sending, any parameter its model does not have (``Unknown
parameter "Tags"``). So every request the tool and the handlers make is recorded as it reaches
botocore's validation (:class:`Recording`), and checked with botocore's own ``ParamValidator``
against the *floor* version's model of the operation (:func:`problems`). The floor's models come from the installed
botocore when it is the floor (the lowest-versions CI step), otherwise from the floor's wheel, fetched
once into ``.cache/botocore`` with pip and read from the zip (no install, nothing imported from it).
"""

from __future__ import annotations

import configparser
import functools
import gzip
import json
import re
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore
from botocore.client import BaseClient
from botocore.model import ServiceModel
from botocore.validate import ParamValidator

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "botocore"


def declared_floors() -> dict[str, str]:
    """``{package: lowest allowed version}`` from setup.cfg's install_requires (``name>=X``)."""
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    floors: dict[str, str] = {}
    for line in cfg["options"]["install_requires"].strip().splitlines():
        m = re.match(r"\s*([A-Za-z0-9_.-]+)\s*>=\s*([0-9][0-9.]*)", line)
        if m:
            floors[m.group(1)] = m.group(2)
    return floors


@dataclass(frozen=True)
class Request:
    service: str
    operation: str
    params: dict[str, Any]

    def __str__(self) -> str:
        return f"{self.service}:{self.operation}"


class Recording:
    """Every API call any botocore client in this process makes, with its parameters as passed."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self._lock = threading.Lock()

    @contextmanager
    def active(self) -> Iterator[Recording]:
        """Records at the point where botocore validates: after the ``before-parameter-build``
        handlers (boto3's DynamoDB resource layer turns Python values into typed attributes there),
        with exactly what the validator of the installed botocore sees."""
        original = BaseClient._convert_to_request_dict
        recording = self

        def record(client: Any, api_params: dict[str, Any], operation_model: Any, *args: Any, **kwargs: Any) -> Any:
            with recording._lock:
                recording.requests.append(Request(client.meta.service_model.service_name, operation_model.name,
                                                  dict(api_params)))
            return original(client, api_params, operation_model, *args, **kwargs)

        BaseClient._convert_to_request_dict = record  # type: ignore[method-assign]
        try:
            yield self
        finally:
            BaseClient._convert_to_request_dict = original  # type: ignore[method-assign]

    def operations(self) -> set[str]:
        return {str(r) for r in self.requests}


def _full(version: str) -> str:
    return ".".join([*version.split("."), "0", "0"][:3])  # "1.34" is 1.34.0


def _wheel(version: str) -> Path:
    version = _full(version)
    wheel = CACHE / f"botocore-{version}-py3-none-any.whl"
    if not wheel.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                        "-d", str(CACHE), f"botocore=={version}"], check=True, capture_output=True)
    return wheel


@functools.cache
def _models_in_wheel(version: str) -> dict[str, list[str]]:
    with zipfile.ZipFile(_wheel(version)) as z:
        out: dict[str, list[str]] = {}
        for name in z.namelist():
            parts = name.split("/")
            if len(parts) == 5 and parts[:2] == ["botocore", "data"] and parts[4].startswith("service-2.json"):
                out.setdefault(parts[2], []).append(name)
        return out


@functools.cache
def service_model(service: str, version: str) -> ServiceModel | None:
    """The service's model in botocore ``version`` (its newest API version); None when that botocore
    has no such service."""
    if botocore.__version__ == _full(version):
        from botocore.loaders import Loader

        try:
            return ServiceModel(Loader().load_service_model(service, "service-2"), service)
        except Exception:
            return None
    names = sorted(_models_in_wheel(version).get(service, []))
    if not names:
        return None
    with zipfile.ZipFile(_wheel(version)) as z:
        raw = z.read(names[-1])
    data = json.loads(gzip.decompress(raw) if names[-1].endswith(".gz") else raw)
    return ServiceModel(data, service)


def problems(requests: list[Request], version: str) -> list[str]:
    """What botocore ``version`` would refuse before sending, one line per distinct fault."""
    out: set[str] = set()
    validator = ParamValidator()
    for r in requests:
        model = service_model(r.service, version)
        if model is None:
            out.add(f"{r}: botocore {version} has no service {r.service}")
            continue
        if r.operation not in model.operation_names:
            out.add(f"{r}: botocore {version} has no operation {r.operation}")
            continue
        report = validator.validate(r.params, model.operation_model(r.operation).input_shape)
        if report.has_errors():
            out.add(f"{r}: {report.generate_report()}")
    return sorted(out)
