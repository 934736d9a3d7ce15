"""botocore's bundled data (endpoints, service models), parsed once per process.

botocore parses its data files once per *session*: the endpoint data alone is a 1.2 MB JSON file,
and each service model is another. The spec's region check and every provider's session take them
from this one loader, so a run parses each file at most once, and only for the services it uses
(https://botocore.amazonaws.com/v1/documentation/api/latest/reference/loaders.html).

Two costs of botocore's own loader are cut, the data loaded staying the same: it parses JSON into
``OrderedDict`` objects (about twice the parse time of plain dicts, which keep their order too), and
before loading any model it lists every service it knows (about 450 directory listings per model
type) to check that the one asked for exists; here only that service's folder is listed.
"""

from __future__ import annotations

import functools
import json
import os
import threading
from typing import Any

from botocore.exceptions import DataNotFoundError
from botocore.loaders import JSONFileLoader, Loader, create_loader, instance_cache
from botocore.regions import EndpointResolver

_LOCK = threading.Lock()


class _PlainJSONFileLoader(JSONFileLoader):  # type: ignore[misc]
    """botocore's file loader, parsing into plain (ordered) dicts rather than OrderedDict."""

    def _load_file(self, full_path: str, open_method: Any) -> Any:
        if not os.path.isfile(full_path):
            return None
        with open_method(full_path, "rb") as fp:
            return json.loads(fp.read().decode("utf-8"))


class _Loader(Loader):  # type: ignore[misc]
    FILE_LOADER_CLASS = _PlainJSONFileLoader

    @instance_cache  # type: ignore[untyped-decorator]
    def load_service_model(self, service_name: str, type_name: str, api_version: str | None = None) -> Any:
        """As botocore's, checking that ``service_name`` has ``type_name`` data by listing only its folder."""
        try:
            known = bool(self.list_api_versions(service_name, type_name))
        except DataNotFoundError:
            known = False
        if not known:  # botocore's own path: it lists every service and raises UnknownServiceError
            return super().load_service_model(service_name, type_name, api_version)
        if api_version is None:
            api_version = self.determine_latest_version(service_name, type_name)
        model = self.load_data(os.path.join(service_name, api_version, type_name))
        self._extras_processor.process(model, self._find_extras(service_name, type_name, api_version))
        return model


def make_loader(search_path_string: str | None) -> Loader:
    """A loader like ``botocore.loaders.create_loader(search_path_string)``, with the cuts above."""
    paths = create_loader(search_path_string).search_paths  # AWS_DATA_PATH's folders, then the defaults
    return _Loader(extra_search_paths=list(paths), include_default_search_paths=False)


@functools.cache
def shared_loader() -> Loader:
    """The process's data loader; honours ``AWS_DATA_PATH`` as a session's own loader does."""
    return make_loader(os.environ.get("AWS_DATA_PATH"))


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
