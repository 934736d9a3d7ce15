"""Fixtures for the local gateway tests: a stack applied to moto, served over HTTP."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from liveinsight_infra.aws.provider import AwsProvider
from liveinsight_infra.local.gateway import LocalGateway
from liveinsight_infra.local.gateway import Response as Reply
from liveinsight_infra.local.server import LocalServer
from liveinsight_infra.spec import load_spec
from tests.conftest import apply_spec

PATHS = {"/api/events": "POST", "/api/event": "POST", "/api/realtime": "GET", "/api/stats": "GET"}
ECHO = '''
import json, os
def handler(event, context):
    return {"statusCode": 200, "headers": {"Access-Control-Allow-Origin": "*"},
            "body": json.dumps({"event": event, "table": os.environ.get("LIVEINSIGHT_TABLE"),
                                "function": context.function_name})}
'''
CRASH = "def handler(event, context):\n    raise RuntimeError('boom')\n"
MALFORMED = "def handler(event, context):\n    return {'statusCode': 'two hundred', 'body': {}}\n"


@dataclass
class Site:
    server: LocalServer
    provider: AwsProvider
    logs: list[str]

    def request(self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b"") -> Reply:
        host, port = self.server.server_address[:2]
        conn = http.client.HTTPConnection(str(host), int(port), timeout=10)
        conn.request(method, path, body=body or None, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)


def start(provider: AwsProvider, spec: Path) -> Iterator[Site]:
    apply_spec(provider, spec)
    logs: list[str] = []
    loaded = load_spec(spec)
    server = LocalServer(LocalGateway.from_aws(provider, loaded, log=logs.append), loaded.site_dir)
    server.start_in_thread()
    try:
        yield Site(server, provider, logs)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def site(provider: AwsProvider, project_copy: Path) -> Iterator[Site]:
    handlers = project_copy / "handlers"
    (handlers / "event_collector.py").write_text(ECHO)
    (handlers / "realtime_api.py").write_text(MALFORMED)
    (handlers / "stats_api.py").write_text(CRASH)
    yield from start(provider, project_copy / "specs" / "dev.yaml")


@pytest.fixture
def prod_site(provider: AwsProvider, project_copy: Path) -> Iterator[Site]:
    yield from start(provider, project_copy / "specs" / "prod.yaml")




@pytest.fixture
def echo_site(provider: AwsProvider, project_copy: Path) -> Iterator[Site]:
    """Every function answers with the event it was given."""
    for name in ("event_collector", "realtime_api", "stats_api"):
        (project_copy / "handlers" / f"{name}.py").write_text(ECHO)
    yield from start(provider, project_copy / "specs" / "dev.yaml")
