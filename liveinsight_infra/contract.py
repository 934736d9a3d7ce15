"""The reconcilers' contract with the engine: the run's context, progress events and outputs.

A leaf module: it imports neither the engine nor any reconciler, so both import it directly.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
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
class Context:
    """One run: the spec, the AWS provider, where events go, and what this run has read or built."""

    loaded: LoadedSpec
    aws: AwsProvider
    emit: EventSink = field(default=_ignore)
    sleep: Callable[[float], None] = time.sleep
    force: bool = False
    wait: bool = True  # wait for CloudFront to be deployed (apply --no-wait skips it)
    adopt: bool = False  # take over resources without the stack's ownership tag (apply --adopt)
    rotate_origin_secret: bool = False  # a new origin secret for CloudFront (apply --rotate-origin-secret)
    # Reads shared between reconcilers in one run (the REST API and distribution lookups); see shared_read.
    reads: dict[str, Any] = field(default_factory=dict, repr=False)
    _read_locks: dict[str, threading.Lock] = field(default_factory=dict, repr=False)
    _locks_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    packages: dict[str, Package] = field(default_factory=dict, repr=False)
    site_cache: dict[str, SiteFile] | None = field(default=None, repr=False)

    @property
    def spec(self) -> StackSpec:
        return self.loaded.spec

    @cached_property
    def account_id(self) -> str:
        return self.aws.account_id()

    @property
    def region(self) -> str:
        return self.spec.region

    def shared_read(self, key: str, read: Callable[[], T], refresh: bool = False) -> T:
        """``read()`` once per run for every reconciler that asks for ``key`` (concurrent askers wait)."""
        with self._locks_lock:
            lock = self._read_locks.setdefault(key, threading.Lock())
        with lock:
            if refresh or key not in self.reads:
                self.reads[key] = read()
            return self.reads[key]  # type: ignore[no-any-return]

    def forget(self) -> None:
        """Drop every shared read, so the next plan reads AWS again (under a lock)."""
        with self._locks_lock:
            self.reads.clear()

    def package(self, key: str) -> Package:
        if key not in self.packages:
            fn = self.spec.functions[key]
            self.packages[key] = build_function(self.loaded.code_dir, key, fn)
        return self.packages[key]

    def site(self) -> dict[str, SiteFile]:
        """The dashboard's files as they are uploaded (read once per run)."""
        if self.site_cache is None:
            self.site_cache = site_files(self.loaded.site_dir, self.spec)
        return self.site_cache

    def site_keys(self) -> list[str]:
        return sorted(self.site())
