"""`check` against a locally served stack: passes whole; a broken preflight fails and is named."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from liveinsight_infra.aws.provider import AwsProvider
from liveinsight_infra.check import CHECK_SITE, Checker
from liveinsight_infra.local.gateway import LocalGateway
from liveinsight_infra.local.server import LocalServer
from liveinsight_infra.spec import load_spec
from tests.conftest import DEV, ROOT, make_engine


@pytest.fixture
def served(provider: AwsProvider) -> Iterator[tuple[LocalServer, AwsProvider]]:
    engine = make_engine(provider, DEV)
    engine.apply(engine.plan())
    loaded = load_spec(DEV)
    server = LocalServer(LocalGateway.from_aws(provider, loaded), loaded.site_dir,
                         extra_files={k: f.data for k, f in engine.ctx.site().items()})
    server.start_in_thread()
    yield server, provider
    server.shutdown()
    server.server_close()


def test_check_passes_against_a_served_stack(served: tuple[LocalServer, AwsProvider]) -> None:
    server, _ = served
    results = Checker(server.url, deadline_s=5).run()
    assert [r.name for r in results if not r.ok] == []
    assert len(results) == 8
    assert {r.name: r.detail for r in results}["POST /api/events (test event)"] == "accepted"


def test_check_names_a_broken_preflight(served: tuple[LocalServer, AwsProvider]) -> None:
    server, provider = served
    ag = provider.client("apigateway")
    api_id = server.gateway.d.api_id
    rid = next(r["id"] for r in ag.get_resources(restApiId=api_id)["items"] if r["path"] == "/api/stats")
    ag.put_integration(restApiId=api_id, resourceId=rid, httpMethod="OPTIONS", type="MOCK",
                       passthroughBehavior="WHEN_NO_MATCH")  # the original plan's defect: no status template
    server.gateway = LocalGateway.from_aws(provider, load_spec(DEV))
    results = Checker(server.url, deadline_s=1, sleep=lambda _s: None).run()
    failed = {r.name: r.detail for r in results if not r.ok}
    assert list(failed) == ["CORS preflight /api/stats"]
    assert failed["CORS preflight /api/stats"].startswith("status 500")


def test_the_check_command_exit_codes(served: tuple[LocalServer, AwsProvider], tmp_path: Path) -> None:
    server, _ = served
    ok = subprocess.run([sys.executable, "-m", "liveinsight_infra", "check", "specs/dev.yaml", "--url", server.url],
                        cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "8 of 8 checks passed" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "liveinsight_infra", "check", "specs/dev.yaml", "--url",
                          "http://127.0.0.1:9", "--timeout", "0"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and "0 of 8 checks passed" in bad.stdout
    assert CHECK_SITE.endswith(".invalid")
