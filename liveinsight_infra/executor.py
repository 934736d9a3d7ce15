"""Run a plan's changes as a dependency graph: each change starts as soon as what it needs is done.

Dependencies come from the kinds' ``depends_on``, taken transitively and conservatively: a change of
kind B waits for *every* change of each kind B needs (directly or through another kind), not only
for the resource it refers to. For a destroy the edges are reversed (dependants go first). In an
apply, a delete goes the destroy way too: it waits for the changes of the kinds that use its kind
(a web ACL the spec dropped is deleted once the distribution no longer names it), and no other
change waits for a delete, so the graph stays acyclic. Changes of one kind do not wait for each
other.

Concurrency is bounded overall and per AWS service, so a plan does not turn into a burst that the
control plane throttles. API Gateway's control plane allows few requests per second per account
(https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html), and CloudFront applies a
distribution's changes one after another
(https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html), so those
two get small limits. botocore's own throttling retries stay in force for whatever still gets through.

On the first failure no new change starts; the ones running finish; then every failure is raised:
the failure itself when there is one, :class:`ChangesFailed` listing them when there are several.
Whatever was not started is left for the next apply, which plans it again from what AWS shows.

SIGINT and SIGTERM (:mod:`.interrupt`): the first one stops new changes from starting, the ones
running finish, then :class:`~.interrupt.Interrupted` is raised; a second one abandons the ones still
running (the pool is left without waiting for them). What was done is kept in ``interrupt.progress()``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Protocol, TypeVar

from . import interrupt
from .errors import LiveInsightError
from .plan import Action, Change

MAX_CONCURRENT = 10
# Changes in flight at once per service (the part of the kind before the dot).
SERVICE_LIMITS: Mapping[str, int] = {"apigateway": 2, "cloudfront": 1, "iam": 4, "lambda": 4}


# CloudFront and IAM are global services whose control planes answer slowest (each read is a few
# hundred milliseconds); reading them first keeps them off the end of a plan. API Gateway comes
# next: its stage is read in a chain of three calls (the REST API is looked up, then the stage, then
# the deployment it serves), the longest after theirs. Then Lambda: a function is read in two rounds
# (the function, then its configuration and concurrency), and its reads are the most numerous.
SLOWEST_SERVICES = ("cloudfront", "iam", "apigateway", "lambda")
# Within those, the kinds whose reads wait on each other start first: the distribution is listed,
# then its tags and config are read, the longest chain of reads in a plan (docs/BENCHMARKS.md).
LONGEST_READ_CHAINS = ("cloudfront.distribution",)
K = TypeVar("K", bound="HasKind")


class HasKind(Protocol):
    @property
    def kind(self) -> str: ...


def slowest_first(items: Iterable[K]) -> list[K]:
    """``items`` (anything with a ``kind``) with the slowest services' first, otherwise in order."""
    def rank(item: K) -> tuple[int, bool]:
        svc = item.kind.split(".", 1)[0]
        slow = SLOWEST_SERVICES.index(svc) if svc in SLOWEST_SERVICES else len(SLOWEST_SERVICES)
        return slow, item.kind not in LONGEST_READ_CHAINS
    return sorted(items, key=rank)


class ChangesFailed(LiveInsightError):
    """Several changes that ran at the same time failed; each is listed."""

    def __init__(self, failures: Sequence[tuple[Change, BaseException]]):
        self.failures = list(failures)
        lines = [f"{len(self.failures)} changes failed:"]
        lines += [f"  {c.address}: {exc}" for c, exc in self.failures]
        super().__init__("\n".join(lines))


def closure(depends_on: Mapping[str, Iterable[str]]) -> dict[str, frozenset[str]]:
    """Every kind each kind needs, directly or through another kind."""
    memo: dict[str, frozenset[str]] = {}

    def walk(kind: str, path: tuple[str, ...]) -> frozenset[str]:
        if kind in memo:
            return memo[kind]
        if kind in path:
            raise RuntimeError(f"dependency cycle: {' -> '.join((*path, kind))}")
        out: set[str] = set()
        for dep in depends_on.get(kind, ()):
            out.add(dep)
            out |= walk(dep, (*path, kind))
        memo[kind] = frozenset(out)
        return memo[kind]

    for k in depends_on:
        walk(k, ())
    return memo


def dependencies(changes: Sequence[Change], depends_on: Mapping[str, Iterable[str]],
                 reverse: bool = False) -> list[set[int]]:
    """For each change (by index), the indexes of the changes that must be done before it starts."""
    needs = closure(depends_on)
    by_kind: dict[str, list[int]] = {}
    for i, c in enumerate(changes):
        by_kind.setdefault(c.resource, []).append(i)
    deps: list[set[int]] = []
    for c in changes:
        # destroy, and a delete in an apply: after every change of a kind that needs this one; else
        # after the changes (deletes excepted) of what this one needs
        if reverse or c.action is Action.DELETE:
            kinds = [k for k, ks in needs.items() if c.resource in ks]
            deps.append({j for k in kinds for j in by_kind.get(k, ())})
        else:
            deps.append({j for k in needs.get(c.resource, ()) for j in by_kind.get(k, ())
                         if changes[j].action is not Action.DELETE})
    return deps


def service(change: Change) -> str:
    return change.resource.split(".", 1)[0]


@dataclass(frozen=True)
class Limits:
    overall: int = MAX_CONCURRENT
    per_service: Mapping[str, int] | None = None

    def of(self, svc: str) -> int:
        table = SERVICE_LIMITS if self.per_service is None else self.per_service
        return table.get(svc, self.overall)


def run_graph(changes: Sequence[Change], deps: Sequence[set[int]], run: Callable[[Change], None],
              limits: Limits = Limits()) -> None:
    """Run ``run(change)`` for every change, each once its dependencies are done (see module doc)."""
    pending = list(range(len(changes)))  # plan order: ties start in the order the plan shows
    done: set[int] = set()
    busy: dict[str, int] = {}
    failures: list[tuple[int, BaseException]] = []
    running: dict[Future[None], int] = {}
    progress = interrupt.track(len(changes))

    def record() -> None:
        interrupt.update(progress, [changes[i].address for i in sorted(done)],
                         [changes[i].address for i, _ in failures], [changes[i].address for i in running.values()])

    pool = ThreadPoolExecutor(max_workers=max(1, limits.overall), thread_name_prefix="change")
    abandon = False
    try:
        with interrupt.deferred():
            while True:
                if not failures and not interrupt.requested():
                    for i in list(pending):
                        if len(running) >= limits.overall:
                            break
                        svc = service(changes[i])
                        if deps[i] <= done and busy.get(svc, 0) < limits.of(svc):
                            pending.remove(i)
                            busy[svc] = busy.get(svc, 0) + 1
                            running[pool.submit(run, changes[i])] = i
                record()
                if not running:
                    break
                finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for fut in finished:
                    i = running.pop(fut)
                    svc = service(changes[i])
                    busy[svc] -= 1
                    exc = fut.exception()  # only this thread touches done/failures/busy
                    if exc is None:
                        done.add(i)
                    else:
                        failures.append((i, exc))
            record()
    except BaseException:  # a second signal (interrupt.Interrupted): leave the running changes behind
        abandon = True
        record()
        raise
    finally:
        pool.shutdown(wait=not abandon, cancel_futures=abandon)
    signame = interrupt.requested()
    if signame is not None and not failures:
        raise interrupt.Interrupted(signame)
    if not failures and pending:  # cannot happen with an acyclic graph; never skip silently
        raise RuntimeError(f"changes never became ready: {[changes[i].address for i in pending]}")
    if len(failures) == 1:
        raise failures[0][1]
    if failures:
        failures.sort()
        raise ChangesFailed([(changes[i], exc) for i, exc in failures]) from failures[0][1]
