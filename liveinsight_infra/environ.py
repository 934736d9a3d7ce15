"""Process environment changes that are always undone: the embedded moto, the local gateway."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator


@contextlib.contextmanager
def patched_environ(values: dict[str, str], unset: Iterable[str] = ()) -> Iterator[None]:
    """Set ``values`` and remove ``unset`` for the block; restore every variable afterwards."""
    unset = list(unset)
    saved = {k: os.environ.get(k) for k in [*values, *unset]}
    os.environ.update(values)
    for key in unset:
        os.environ.pop(key, None)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
