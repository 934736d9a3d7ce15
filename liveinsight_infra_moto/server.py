"""A moto server with the fidelity patch applied: ``python -m liveinsight_infra_moto.server -p 5055``.

Same options as moto's own ``moto_server``, and one more, ``--lazy``. Use it instead of
``moto_server`` when pointing the tool at a server (``AWS_ENDPOINT_URL``): with moto's own, a
TLS-only bucket policy denies every object upload (see ``fidelity.py``).

Ready when it listens. moto sets a service up at the first request for it: it imports the
service's module, makes its backend and loads its API model, 20 ms to 0.9 s of CPU per service
(SSM's imports EC2's); the first request of all finds its caller's account by making IAM's backend
in each partition (with every AWS managed policy when ``MOTO_IAM_LOAD_MANAGED_POLICIES``
is set: 0.7 s). It does so under the lock that routes every request, so each
service's set-up holds back every other request in flight, and a tool's first requests to 14
services wait about 2-3 s in a row on a 2-core machine, a stall AWS does not have. This server sets
up the services the stack uses (``SERVICES``) before it listens, so start-up takes those seconds
instead of the first requests. ``--lazy`` keeps moto's first-request set-up.
"""

from __future__ import annotations

import sys
from typing import Any

from .fidelity import apply_fidelity_patches

# moto's backend names of every service the tool or the functions call (the CLI's clients: grep
# ``client("``): each one's module, backend and API model are set up before the server listens.
SERVICES = ("sts", "iam", "lambda", "apigateway", "cloudfront", "s3", "kinesis", "dynamodb", "sqs", "logs",
            "ssm", "sns", "cloudwatch", "wafv2")


def preload(services: tuple[str, ...] = SERVICES) -> None:
    """Make moto's per-service set-up now: each service's Flask app (its module imported, its backend
    made for the default account) and its API model; the server's dispatcher then finds them made."""
    from moto.core.utils import get_service_model
    from moto.iam.models import get_account_id_from
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    apps = {name: create_backend_app(name) for name in services}  # type: ignore[arg-type]
    for name in services:
        get_service_model(name)
    get_account_id_from("")  # every request's account lookup makes IAM's backend in each partition
    init = DomainDispatcherApplication.__init__

    def with_apps(self: Any, create_app: Any) -> None:
        init(self, create_app)
        self.app_instances.update(apps)

    DomainDispatcherApplication.__init__ = with_apps  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> None:
    args = list(argv if argv is not None else sys.argv[1:])
    apply_fidelity_patches()
    if "--lazy" in args:
        args.remove("--lazy")
    else:
        preload()
    from moto.server import main as moto_main

    moto_main(args)


if __name__ == "__main__":
    main()
