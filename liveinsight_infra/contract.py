"""The reconcilers' contract with the engine: the run's context, progress events and outputs.

A leaf module: it imports neither the engine nor any reconciler, so both import it directly.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Literal, TypeVar

from .aws.provider import AwsProvider
from .build.package import Package, build_function
from .build.site import SiteFile, site_files
from .plan import Change, Plan
from .spec.loader import LoadedSpec
from .spec.model import StackSpec

T = TypeVar("T")
Outputs = dict[str, dict[str, Mapping[str, Any]]]  # kind -> name -> outputs (reconcilers/kind_outputs.py)


EventType = Literal["change-start", "change-done", "retry", "wait", "note", "warning", "plan"]


@dataclass(frozen=True)
class Event:
    """Something a caller may show: a change starting or done, a retry, a wait, a warning, a plan."""

    type: EventType
    message: str = ""
    change: Change | None = None
    elapsed_s: float = 0.0
    plan: Plan | None = None  # with "plan": what is about to be executed


EventSink = Callable[[Event], None]


def _ignore(_event: Event) -> None:
    return None


@dataclass
class _Builds:
    """What a run builds from disk: the functions' packages and the site's files (each once)."""

    packages: dict[str, Package] = field(default_factory=dict)
    site: dict[str, SiteFile] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class _Reads:
    """Reads shared between reconcilers in one run (the REST API and distribution lookups)."""

    values: dict[str, Any] = field(default_factory=dict)
    locks: dict[str, threading.Lock] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True)
class Context:
    """One run: the spec, the AWS provider, where events go, and what this run has read or built.

    Immutable: a run that needs another setting (its own event sink, ``--force``, a rotation of the
    origin secret) gets a copy made with :func:`dataclasses.replace`. What the run reads and builds
    is kept in caches that a copy shares, unless it asks for fresh ones (:meth:`with_fresh_reads`,
    :meth:`with_fresh_builds`)."""

    loaded: LoadedSpec
    aws: AwsProvider
    emit: EventSink = field(default=_ignore)
    sleep: Callable[[float], None] = time.sleep
    force: bool = False
    wait: bool = True  # wait for CloudFront to be deployed (apply --no-wait skips it)
    adopt: bool = False  # take over resources without the stack's ownership tag (apply --adopt)
    rotate_origin_secret: bool = False  # a new origin secret for CloudFront (apply --rotate-origin-secret)
    account: str | None = None  # the AWS account, when the caller knows it (no STS call then)
    _reads: _Reads = field(default_factory=_Reads, repr=False, compare=False)
    _builds: _Builds = field(default_factory=_Builds, repr=False, compare=False)

    def with_fresh_reads(self) -> Context:
        """A copy that has read nothing yet (the next plan reads AWS again: under a lock, at apply)."""
        return replace(self, _reads=_Reads())

    def with_fresh_builds(self) -> Context:
        """A copy with fresh reads that builds the packages and the site's files again from disk."""
        return replace(self, _reads=_Reads(), _builds=_Builds())

    @property
    def reads(self) -> dict[str, Any]:
        return self._reads.values

    @property
    def packages(self) -> dict[str, Package]:
        return self._builds.packages

    @property
    def spec(self) -> StackSpec:
        return self.loaded.spec

    @cached_property
    def account_id(self) -> str:
        return self.account or self.aws.account_id()

    @property
    def region(self) -> str:
        return self.spec.region

    def shared_read(self, key: str, read: Callable[[], T], refresh: bool = False) -> T:
        """``read()`` once per run for every reconciler that asks for ``key`` (concurrent askers wait)."""
        reads = self._reads
        with reads.lock:
            lock = reads.locks.setdefault(key, threading.Lock())
        with lock:
            if refresh or key not in reads.values:
                reads.values[key] = read()
            return reads.values[key]  # type: ignore[no-any-return]

    def package(self, key: str) -> Package:
        builds = self._builds
        if key not in builds.packages:
            fn = self.spec.functions[key]
            builds.packages[key] = build_function(self.loaded.code_dir, key, fn)
        return builds.packages[key]

    def site(self) -> dict[str, SiteFile]:
        """The dashboard's files as they are uploaded (read once per run)."""
        builds = self._builds
        with builds.lock:
            if builds.site is None:
                builds.site = site_files(self.loaded.site_dir, self.spec)
            return builds.site

    def site_keys(self) -> list[str]:
        return sorted(self.site())
