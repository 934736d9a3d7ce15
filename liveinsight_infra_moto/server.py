"""A moto server with the fidelity patch applied: ``python -m liveinsight_infra_moto.server -p 5055``.

Same options as moto's own ``moto_server``, and one more, ``--lazy``. Use it instead of
``moto_server`` when pointing the tool at a server (``AWS_ENDPOINT_URL``): with moto's own, a
TLS-only bucket policy denies every object upload (see ``fidelity.py``).

moto sets a service up at the first request for it: it imports the service's module, makes its
backend and loads its API model, 20 ms to 0.9 s of CPU per service (SSM's imports EC2's); and once
IAM's backend exists, the next request finds its caller's account by making IAM's backend in each
partition (with every AWS managed policy when ``MOTO_IAM_LOAD_MANAGED_POLICIES``
is set: 0.7 s). It does so under the lock that routes every request, so each
service's set-up holds back every other request in flight, and a tool's first requests to 14
services wait about 2-3 s in a row on a 2-core machine, a stall AWS does not have. This server sets
up the services the stack uses (``SERVICES``) once it listens and before it serves: start-up takes
those seconds (2-3 s), and a request sent meanwhile waits for them once, in the listen backlog,
instead of each service's first requests holding back the others. ``--lazy`` keeps moto's
first-request set-up. ``/moto-api/reset`` empties the backends, so the first requests after a
reset make them again (IAM's in every partition among them); the imports and API models stay.
"""

from __future__ import annotations

import sys
from typing import Any

from .fidelity import apply_fidelity_patches

# moto's backend names of every service the tool or the functions call (the CLI's clients: grep
# ``client("``): each one's module, backend and API model are set up before the server listens.
SERVICES = ("sts", "iam", "lambda", "apigateway", "cloudfront", "s3", "kinesis", "dynamodb", "sqs", "logs",
            "ssm", "sns", "cloudwatch", "wafv2")


def preload(app: Any = None, services: tuple[str, ...] = SERVICES) -> dict[str, Any]:
    """Make moto's per-service set-up now: each service's Flask app (its module imported, its backend
    made for the default account), its API model, and IAM's backend in every partition (what any
    request's account lookup makes). ``app``: the server's dispatcher, which then finds them made."""
    from moto.core.utils import get_service_model
    from moto.iam.models import get_account_id_from
    from moto.moto_server.werkzeug_app import create_backend_app

    apps = {name: create_backend_app(name) for name in services}  # type: ignore[arg-type]
    for name in services:
        get_service_model(name)
    get_account_id_from("")
    if app is not None:
        for name, made in apps.items():
            app.app_instances.setdefault(name, made)
    return apps


def _preload_once_listening() -> None:
    """The set-up runs once the socket listens, before the first request is served: a request sent
    meanwhile waits in the listen backlog and is answered when the set-up is done (a tool started
    right after the server does not find the port closed)."""
    from werkzeug.serving import BaseWSGIServer

    serve = BaseWSGIServer.serve_forever

    def serve_forever(self: Any, poll_interval: float = 0.5) -> None:
        print(f"listening on port {self.server_port}; setting up {len(SERVICES)} services "
              "(requests wait until this is done)", file=sys.stderr, flush=True)
        preload(self.app)
        print("ready", file=sys.stderr, flush=True)
        serve(self, poll_interval)

    BaseWSGIServer.serve_forever = serve_forever  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> None:
    args = list(argv if argv is not None else sys.argv[1:])
    apply_fidelity_patches()
    if "--lazy" in args:
        args.remove("--lazy")
    else:
        _preload_once_listening()
    from moto.server import main as moto_main

    moto_main(args)


if __name__ == "__main__":
    main()
