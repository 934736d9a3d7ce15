"""A moto server with the fidelity patch applied: ``python -m liveinsight_infra_moto.server -p 5055``.

Same options as moto's own ``moto_server``. Use it instead of ``moto_server`` when pointing the
tool at a server (``AWS_ENDPOINT_URL``): with moto's own, a TLS-only bucket policy denies every
object upload (see ``fidelity.py``).
"""

from __future__ import annotations

import sys

from .fidelity import apply_fidelity_patches


def main(argv: list[str] | None = None) -> None:
    apply_fidelity_patches()
    from moto.server import main as moto_main

    moto_main(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
