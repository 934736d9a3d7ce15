"""The embedded AWS backend behind ``--moto``: an in-process moto, for dry runs that touch nothing.

moto is an optional dependency (the ``moto`` extra); importing this module without it raises a
clear error. See docs/moto-gaps.md for where moto differs from AWS and how the tool copes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from ..environ import patched_environ
from ..errors import LiveInsightError

_FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                     "AWS_SESSION_TOKEN": "testing"}


@contextlib.contextmanager
def embedded_moto() -> Iterator[None]:
    try:
        from moto import mock_aws
    except ImportError:  # pragma: no cover - depends on the install
        raise LiveInsightError("--moto needs moto: pip install 'liveinsight-infra[moto]'") from None
    from .moto_fidelity import apply_fidelity_patches

    apply_fidelity_patches()
    # Fake credentials; no AWS_ENDPOINT_URL: the embedded backend, not a server.
    with patched_environ(_FAKE_CREDENTIALS, unset=["AWS_ENDPOINT_URL"]), mock_aws():
        yield
