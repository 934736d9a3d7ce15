"""The local server sets up the services the stack uses once it listens, before it serves
(liveinsight_infra_moto/server.py): no first request waits for moto to import a service, make its
backend or load its API model, and none holds back the others meanwhile; a request sent while it
sets up is answered once it is done."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from liveinsight_infra_moto.server import SERVICES

PROBE = textwrap.dedent("""
    import json, sys, time
    from liveinsight_infra_moto.fidelity import apply_fidelity_patches
    apply_fidelity_patches()
    from liveinsight_infra_moto import server
    from moto.core.utils import get_service_model
    from moto.iam.models import iam_backends
    from moto.utilities.utils import PARTITION_NAMES
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    app = DomainDispatcherApplication(create_backend_app)
    if sys.argv[1] == "preload":
        server.preload(app)  # what the server does once it listens
    module = {"lambda": "awslambda"}
    imported = {name: f"moto.{module.get(name, name)}.models" in sys.modules for name in server.SERVICES}
    made = sorted(app.app_instances)
    models = get_service_model.cache_info().currsize
    partitions = sum(len(a) for a in iam_backends.values()) if iam_backends else 0
    from werkzeug.test import Client
    t = time.perf_counter()
    answer = Client(app).post("/", data="Action=GetCallerIdentity&Version=2011-06-15", headers={
        "Authorization": "AWS4-HMAC-SHA256 Credential=k/20261207/us-east-1/sts/aws4_request, SignedHeaders=host, "
                         "Signature=x", "Content-Type": "application/x-www-form-urlencoded"})
    print(json.dumps({"imported": imported, "made": made, "models": models, "partitions": partitions,
                      "all_partitions": len(PARTITION_NAMES),
                      "status": answer.status_code, "first_ms": (time.perf_counter() - t) * 1000}))
""")


def probe(mode: str) -> dict[str, object]:
    import json

    done = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_services_are_set_up_before_the_server_listens() -> None:
    ready = probe("preload")
    assert all(ready["imported"].values()), ready["imported"]  # type: ignore[union-attr]
    assert ready["made"] == sorted(SERVICES)  # each service's app is made: the dispatcher finds it
    assert ready["models"] >= len(SERVICES)  # and its API model loaded
    # IAM's backend in every partition: what any request's account lookup makes
    assert ready["partitions"] == ready["all_partitions"]
    assert ready["status"] == 200


def test_lazy_is_moto_s_own_first_request_set_up() -> None:
    lazy = probe("lazy")
    assert lazy["made"] == [] and lazy["partitions"] == 0
    assert not lazy["imported"]["ssm"]  # type: ignore[index]
    assert lazy["status"] == 200


def test_the_services_are_the_ones_the_tool_calls() -> None:
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    called = {m for f in [*root.joinpath("liveinsight_infra").rglob("*.py"), *root.joinpath("handlers").rglob("*.py")]
              for m in re.findall(r'client\("([a-z0-9-]+)"', f.read_text())}
    assert called == set(SERVICES)


def test_a_request_sent_while_the_server_sets_up_is_answered() -> None:
    """docs/operating.md starts the server in the background and the tool at once: the port is open
    while the services are set up, and a request sent then waits and is answered."""
    import socket

    import boto3
    from botocore.config import Config

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "liveinsight_infra_moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            if "setting up" in line:
                break
        else:
            raise AssertionError("the server said nothing of its set-up")
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) == 0  # listening already, while it sets up
        sts = boto3.client("sts", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                           aws_access_key_id="k", aws_secret_access_key="s",
                           config=Config(read_timeout=120, retries={"max_attempts": 1}))
        assert sts.get_caller_identity()["Account"] == "123456789012"
        assert "ready" in proc.stderr.readline()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
