"""botocore's bundled data (endpoints, service models), parsed once per process.

botocore parses its data files once per *session*: the endpoint data alone is a 1.2 MB JSON file,
and each service model is another. The spec's region check and every provider's session take them
from this one loader, so a run parses each file at most once, and only for the services it uses
(https://botocore.amazonaws.com/v1/documentation/api/latest/reference/loaders.html).
"""

from __future__ import annotations

import functools
import os
import threading

from botocore.loaders import Loader, create_loader
from botocore.regions import EndpointResolver

_LOCK = threading.Lock()


@functools.cache
def shared_loader() -> Loader:
    """The process's data loader; honours ``AWS_DATA_PATH`` as a session's own loader does."""
    return create_loader(os.environ.get("AWS_DATA_PATH"))


@functools.cache
def endpoint_resolver() -> EndpointResolver:
    """The bundled endpoint data (which regions list which service), read through the shared loader."""
    return EndpointResolver(shared_loader().load_data("endpoints"), uses_builtin_data=True)


def dedupe_search_paths(loader: Loader) -> None:
    """boto3 appends its own data folder to a session's loader each time a session is made; with one
    shared loader that would grow by one path per session."""
    with _LOCK:
        paths = loader.search_paths
        paths[:] = list(dict.fromkeys(paths))
