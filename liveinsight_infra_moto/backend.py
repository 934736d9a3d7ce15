"""The embedded AWS backend behind ``--moto``: an in-process moto, for dry runs that touch nothing.

moto is an optional dependency (the ``moto`` extra); without it, entering the backend raises a clear
error. See docs/moto-gaps.md for where moto differs from AWS and how the tool copes.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from liveinsight_infra.environ import patched_environ
from liveinsight_infra.errors import LiveInsightError

_FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                     "AWS_SESSION_TOKEN": "testing"}


@contextlib.contextmanager
def embedded_moto() -> Iterator[None]:
    try:
        from moto import mock_aws
    except ImportError:  # pragma: no cover - depends on the install
        raise LiveInsightError("--moto needs moto: pip install 'liveinsight-infra[moto]'") from None
    from .fidelity import apply_fidelity_patches

    apply_fidelity_patches()
    # Fake credentials; no AWS_ENDPOINT_URL: the embedded backend, not a server.
    with patched_environ(_FAKE_CREDENTIALS, unset=["AWS_ENDPOINT_URL"]), mock_aws():
        yield


class SharedMoto:
    """One embedded moto for every ``moto=True`` stack open in the process. moto patches the whole
    process (botocore and the AWS_* variables: https://docs.getmoto.org/en/latest/docs/getting_started.html),
    so stacks that overlap share it: the first opens it, the last to close gives the process back
    its own endpoint and credentials, whatever the order they close in."""

    _lock = threading.Lock()
    _users = 0
    _open: contextlib.ExitStack | None = None

    @classmethod
    @contextlib.contextmanager
    def use(cls) -> Iterator[None]:
        with cls._lock:
            if cls._users == 0:
                opened = contextlib.ExitStack()
                opened.enter_context(embedded_moto())
                cls._open = opened
            cls._users += 1
        try:
            yield
        finally:
            with cls._lock:
                cls._users -= 1
                closing = cls._open if cls._users == 0 else None
                if closing is not None:
                    cls._open = None
                    closing.close()
