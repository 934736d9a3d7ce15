"""One client provider for the whole tool: credentials, region, endpoint, retries, call counting.

Reconcilers get their clients from here and never build a session themselves. Every AWS call made
through these clients is counted by operation (reads versus writes), which tests, ``-v`` and the
benchmarks use. The standard credential chain and ``AWS_ENDPOINT_URL`` are honoured by boto3.

The operator's setup mistakes (no credentials, an unknown profile, an endpoint that does not answer,
refused credentials) become one-line :class:`LiveInsightError` messages that say what to do:
``check_access`` makes one quick call before any other, with short timeouts and one retry.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import botocore.session
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
    SSOError,
    TokenRetrievalError,
    UnknownEndpointError,
)
from botocore.parsers import ResponseParserError

from ..errors import LiveInsightError
from .botocore_data import dedupe_search_paths, shared_loader

if TYPE_CHECKING:
    import boto3

NO_CREDENTIALS = ("no AWS credentials found: pass --profile NAME or set AWS_PROFILE (see `aws configure` or "
                  "`aws sso login`), or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; --moto runs without AWS")
# The first call fails fast: a dead endpoint costs seconds (two attempts of at most 2 s to connect and
# 3 s to answer, https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html),
# not 8 attempts of 10 s to connect and 60 s to answer.
CHECK_CONFIG = {"connect_timeout": 2, "read_timeout": 3, "retries": {"mode": "standard", "total_max_attempts": 2}}

_READ_PREFIXES = ("Get", "List", "Describe", "Head", "Scan", "Query", "BatchGet")


def is_read(operation: str) -> bool:
    return operation.startswith(_READ_PREFIXES)


@dataclass
class CallCounter:
    """Counts AWS calls made through the provider's clients, thread-safely."""

    calls: Counter[tuple[str, str]] = field(default_factory=Counter)
    retries: Counter[tuple[str, str]] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, service: str, operation: str) -> None:
        with self._lock:
            self.calls[(service, operation)] += 1

    def record_retry(self, service: str, operation: str) -> None:
        with self._lock:
            self.retries[(service, operation)] += 1

    @property
    def reads(self) -> int:
        return sum(n for (_, op), n in self.calls.items() if is_read(op))

    @property
    def writes(self) -> int:
        return sum(n for (_, op), n in self.calls.items() if not is_read(op))

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    def write_calls(self) -> dict[str, int]:
        return {f"{s}:{op}": n for (s, op), n in sorted(self.calls.items()) if not is_read(op)}

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.retries.clear()


Listener = Callable[..., Any]


def _session(profile: str | None, region: str) -> botocore.session.Session:
    """A botocore session whose data (endpoints, service models) comes from the process's one loader
    (``botocore_data``): each file is parsed once, however many sessions and checks read it.

    botocore's, not boto3's: the clients are the same (boto3's ``Session.client`` is botocore's
    ``create_client``), and importing boto3 also imports s3transfer and multiprocessing, about
    0.05 s of CPU at every start for nothing the tool uses."""
    core = botocore.session.Session(profile=profile)
    # Reading the profile's data_path also raises ProfileNotFound for an unknown profile, as a session
    # making its own loader would. A profile with a data path of its own keeps its own loader.
    if (core.get_config_variable("data_path") or None) == (os.environ.get("AWS_DATA_PATH") or None):
        core.register_component("data_loader", shared_loader())
    core.set_config_variable("region", region)
    dedupe_search_paths(core.get_component("data_loader"))
    return core


def _make_client(session: boto3.Session | botocore.session.Session, service: str, **kwargs: Any) -> Any:
    """A client from a boto3 session (the tests') or a botocore one (``_session``)."""
    if isinstance(session, botocore.session.Session):
        return session.create_client(service, **kwargs)
    return session.client(service, **kwargs)


class AwsProvider:
    """Builds and caches boto3 clients. Pass ``session`` to reuse one (tests), else one is made."""

    def __init__(self, region: str, profile: str | None = None,
                 session: boto3.Session | botocore.session.Session | None = None,
                 max_attempts: int = 8, counter: CallCounter | None = None,
                 endpoint_url: str | None = None):
        self.region = region
        try:
            self._session = session or _session(profile, region)
        except ProfileNotFound:
            known = ", ".join(sorted(botocore.session.Session().available_profiles)) or "none"
            raise LiveInsightError(f"AWS profile {profile!r} is not configured (known: {known}); create it with "
                                   f"`aws configure --profile {profile}` or `aws configure sso`, or pass another "
                                   "--profile") from None
        self._config = Config(region_name=region, retries={"mode": "standard",
                                                           "total_max_attempts": max_attempts},
                              connect_timeout=10, read_timeout=60, max_pool_connections=20)
        self._endpoint_url = endpoint_url
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        self.counter = counter or CallCounter()
        self._hooks: list[tuple[str, Listener, bool]] = []
        self._account_id: str | None = None
        self._preparing: threading.Thread | None = None  # making the check's ``prepare`` clients

    def client(self, service: str, region: str | None = None) -> Any:
        key = (service, region or self.region)
        made = self._clients.get(key)  # one dict read, atomic: a made client never waits for another being made
        if made is not None:
            return made
        with self._lock:  # clients are made one at a time (a session's client creation is not thread-safe)
            if key not in self._clients:
                kwargs: dict[str, Any] = {"config": self._config, "region_name": key[1]}
                if self._endpoint_url:
                    kwargs["endpoint_url"] = self._endpoint_url
                client = _make_client(self._session, service, **kwargs)
                events = client.meta.events
                events.register("before-call.*.*", self._count)
                events.register("needs-retry.*.*", self._count_retry)
                for event, handler, first in self._hooks:
                    self._attach(client, event, handler, first)
                self._clients[key] = client
            return self._clients[key]

    def register(self, event: str, handler: Listener, first: bool = False) -> None:
        """Register a botocore event handler on every client, existing and future (fault injection).

        ``first`` puts it ahead of the handlers a client already has (moto answers at
        ``before-send`` too; an injected fault must come before it)."""
        with self._lock:
            self._hooks.append((event, handler, first))
            for client in self._clients.values():
                self._attach(client, event, handler, first)

    @staticmethod
    def _attach(client: Any, event: str, handler: Listener, first: bool) -> None:
        if first:
            client.meta.events.register_first(event, handler)
        else:
            client.meta.events.register(event, handler)

    def check_access(self, prepare: Sequence[str] = ()) -> str:
        """Who the credentials are (``GetCallerIdentity``), asked once before any other call, quickly.

        Raises a one-line :class:`LiveInsightError` for the setup mistakes; caches the account id.
        The clients of the ``prepare`` services are made on a thread of their own, in that order (no
        calls: making a client is CPU work, 10-40 ms each), starting while that call is in flight and
        going on after it has answered: the first reads go out once their own client is made, not
        once every client is, and a read whose client is not made yet makes it (``client``)."""
        kwargs: dict[str, Any] = {"config": Config(region_name=self.region, **CHECK_CONFIG)}
        if self._endpoint_url:
            kwargs["endpoint_url"] = self._endpoint_url
        try:
            client = _make_client(self._session, "sts", **kwargs)
            client.meta.events.register("before-call.*.*", self._count)
            if prepare:
                with ThreadPoolExecutor(max_workers=1, thread_name_prefix="check-access") as pool:
                    answer = pool.submit(client.get_caller_identity)
                    self._preparing = threading.Thread(target=self._prepare, args=(prepare, answer),
                                                       name="prepare-clients", daemon=True)
                    self._preparing.start()
                    identity = answer.result()
            else:
                identity = client.get_caller_identity()
        except ClientError as exc:
            err = exc.response.get("Error", {})
            raise LiveInsightError(f"AWS refused the credentials ({err.get('Code')}: {err.get('Message')}): "
                                   "refresh them (`aws sso login`, new keys) or pass another --profile") from None
        except BotoCoreError as exc:
            raise LiveInsightError(describe_aws_error(exc) or str(exc)) from None
        except ResponseParserError:
            raise LiveInsightError(f"the endpoint {self._endpoint_url or 'configured for AWS'} answered, but not as "
                                   "AWS does: point AWS_ENDPOINT_URL at AWS or a moto server, or unset it") from None
        except ValueError as exc:  # botocore refuses the URL itself: "Invalid endpoint", a port out of range
            url = self._endpoint_url or os.environ.get("AWS_ENDPOINT_URL", "")
            raise LiveInsightError(f"the AWS endpoint URL {url!r} is not usable ({exc}): write AWS_ENDPOINT_URL "
                                   "as http(s)://host:port, or unset it") from None
        self._account_id = str(identity["Account"])
        return self._account_id

    def _prepare(self, services: Sequence[str], answer: Future[Any]) -> None:
        for service in services:
            if answer.done() and answer.exception() is not None:
                return  # the check failed: its error is what the caller sees
            try:
                self.client(service)
            except Exception:  # e.g. an unusable endpoint URL: the check reports it
                return

    def account_id(self) -> str:
        if self._account_id is None:
            self._account_id = str(self.client("sts").get_caller_identity()["Account"])
        return self._account_id

    def _count(self, model: Any, **_: Any) -> None:
        self.counter.record(model.service_model.service_name, model.name)

    def _count_retry(self, attempts: int | None = None, operation: Any = None, response: Any = None,
                     **_: Any) -> None:
        # needs-retry fires after every attempt. Count the attempts that failed with an error botocore
        # retries (throttling, 5xx): they are what -v reports.
        if response is None or operation is None or not isinstance(response, tuple):
            return
        http, parsed = response
        code = (parsed or {}).get("Error", {}).get("Code")
        if code in _THROTTLE_CODES or getattr(http, "status_code", 200) >= 500:
            self.counter.record_retry(operation.service_model.service_name, operation.name)


_THROTTLE_CODES = frozenset({"Throttling", "ThrottlingException", "TooManyRequestsException",
                             "RequestLimitExceeded", "ThrottledException", "SlowDown",
                             "RequestThrottled", "RequestThrottledException"})


def describe_aws_error(exc: BaseException) -> str | None:
    """One line saying what to do about a botocore setup or connection error; None for anything else."""
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return NO_CREDENTIALS if isinstance(exc, NoCredentialsError) else f"{exc}: complete the credentials or " \
            "pass --profile"
    if isinstance(exc, ProfileNotFound):
        return f"{exc}: create it with `aws configure --profile NAME` or pass another --profile"
    if isinstance(exc, (SSOError, TokenRetrievalError)):
        return f"{exc}: run `aws sso login` (with the same --profile) and try again"
    if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError)):
        url = exc.kwargs.get("endpoint_url", "")
        where = ("AWS_ENDPOINT_URL points there: start that endpoint or unset AWS_ENDPOINT_URL"
                 if os.environ.get("AWS_ENDPOINT_URL") else "check the network and the region")
        return f"no answer from {url}: {where}"
    if isinstance(exc, (NoRegionError, UnknownEndpointError)):
        return f"{exc}: set region in the spec or pass --region"
    if isinstance(exc, BotoCoreError):
        return f"AWS call failed: {exc}"
    return None
