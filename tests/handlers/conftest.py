"""Handlers in-process on moto: the stack's table, the handlers' environment, proxy events."""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from liveinsight_infra.aws.provider import AwsProvider
from liveinsight_infra.reconcilers.dynamodb import TableReconciler
from tests.conftest import DEV, ROOT, make_engine

sys.path.insert(0, str(ROOT / "handlers"))

import event_collector
import realtime_api
import stats_api

from shared import store

TABLE = "liveinsight-events-dev"
# What CloudFront adds to each request for the API; the stage lists its digest (docs/security.md).
ORIGIN_SECRET = "origin-secret-of-the-tests"


@dataclass
class Api:
    provider: AwsProvider
    calls: list[str]

    def post(self, body: Any, ua: str = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0", ip: str = "203.0.113.7",
             content_type: str | None = "application/json", raw: bytes | str | None = None,
             headers: dict[str, str] | None = None, cloudfront: bool = True
             ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """``cloudfront``: as CloudFront sends it, with the origin secret (False: the execute-api URL)."""
        text = raw if raw is not None else json.dumps(body)
        hdrs = {"User-Agent": ua, **({"Content-Type": content_type} if content_type else {}), **(headers or {})}
        if cloudfront:
            hdrs.setdefault("X-Origin-Verify", ORIGIN_SECRET)
        event: dict[str, Any] = {"httpMethod": "POST", "path": "/api/events", "headers": hdrs,
                                 "requestContext": {"identity": {"sourceIp": ip}},
                                 "stageVariables": {"liveinsightOriginVerify": hashlib.sha256(
                                     ORIGIN_SECRET.encode()).hexdigest()}}
        if isinstance(text, bytes):
            import base64
            event.update(body=base64.b64encode(text).decode(), isBase64Encoded=True)
        else:
            event.update(body=text, isBase64Encoded=False)
        return _call(event_collector.handler, event)

    def get(self, fn: Callable[..., Any], **params: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        event = {"httpMethod": "GET", "path": "/api/x", "headers": {"Origin": "https://example.com"},
                 "queryStringParameters": params or None, "requestContext": {"identity": {"sourceIp": "198.51.100.1"}}}
        return _call(fn, event)

    def realtime(self, site: str) -> dict[str, Any]:
        status, body, _ = self.get(realtime_api.handler, site=site)
        assert status == 200, body
        return body

    def stats(self, site: str, **params: str) -> dict[str, Any]:
        status, body, _ = self.get(stats_api.handler, site=site, **params)
        assert status == 200, body
        return body

    def items(self, prefix: str) -> list[dict[str, Any]]:
        client = self.provider.client("dynamodb")
        pages = client.get_paginator("scan").paginate(TableName=TABLE)
        return [i for p in pages for i in p["Items"] if i["pk"]["S"].startswith(prefix)]


def _call(fn: Callable[..., Any], event: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
    result = fn(event, None)
    assert isinstance(result["body"], str) and isinstance(result["statusCode"], int)
    return result["statusCode"], json.loads(result["body"]), result["headers"]


@pytest.fixture
def api(provider: AwsProvider, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    engine = make_engine(provider, DEV, )
    engine.reconcilers = [TableReconciler(engine.ctx)]
    engine.apply(engine.plan())
    monkeypatch.setenv("LIVEINSIGHT_TABLE", TABLE)
    monkeypatch.setenv("LIVEINSIGHT_COUNTER_SHARDS", "4")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    store.reset_for_tests()
    from shared import visitors
    visitors._salts.clear()
    calls: list[str] = []
    t = store.table()
    t.meta.client.meta.events.register("before-call.dynamodb.*", lambda model, **_: calls.append(model.name))
    yield Api(provider, calls)
    store.reset_for_tests()
