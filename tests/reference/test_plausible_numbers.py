"""Acceptance check: the numbers of ``GET /api/stats`` are Plausible's, on both ingest paths.

Part of the suite (``scripts/test``); alone:

    .venv/bin/python -m pytest tests/reference/test_plausible_numbers.py -q

It generates the reference traffic (tests/reference/generator.py: 5,000+ events, three sites, the
last 24 hours with a midnight UTC inside), serves a copy of the project with
``python -m liveinsight_infra serve`` on the direct path (specs/dev.yaml) and on the stream path
(specs/stream.yaml), posts every hit to ``/api/events``, and compares with the reference
(tests/reference/plausible.py): every field of ``/api/stats`` for each site, each of the two days
and both together, with ``compare=previous_period``; every CSV panel of ``CSV_SITE`` over both days.
It reports each path as its own test (``test_each_path_gives_plausibles_numbers[direct]``,
``[stream]``) and compares the two paths with each other; with ``LIVEINSIGHT_CHECK_DIFFS`` set to
a folder, every difference of each is written there. Both paths are served at once, so that each gets
every event within the 24 hours ``ts`` allows; between 23:15 and 00:36 UTC it waits for a window
with a midnight inside. A failure lists how many fields differ and the first differences;
docs/metrics.md explains each rule.

The copy sets ``api.trust_forwarded_for: true`` and sends each visitor's address in
``X-Forwarded-For``: the local gateway sees one client address otherwise. Countries go in
``CloudFront-Viewer-Country``, which ``serve``'s CloudFront path (``/api/...``) passes on.
"""

from __future__ import annotations

import csv
import http.client
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import yaml

from tests.reference import plausible as P
from tests.reference.generator import SITES, generate

ROOT = Path(__file__).resolve().parents[2]
SEED = 23
DAY_MS, MIN_MS = 86_400_000, 60_000
SIDE_MS = 35 * MIN_MS
POSTING_MS = 10 * MIN_MS  # the oldest event must still be within 24 hours when each path gets it
SPECS = ("dev.yaml", "stream.yaml")
CSV_SITE = "shop.example"  # the site whose CSV panels are read (it has revenue)
Answers = dict[str, Any]  # (site, first, last) -> answer, and panels


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def request(port: int, method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request(method, path, body=body, headers=headers or {})
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, data


def window(now_ms: int) -> tuple[int, int, int]:
    """(start, midnight, end) of the traffic: the last 24 hours less ``POSTING_MS``, with a
    midnight inside and at least ``SIDE_MS`` on each side of it, so that visits can cross it. Between
    23:15 and 00:36 UTC there is no such midnight: wait for one (at most 81 minutes)."""
    while True:
        lo, hi = now_ms - DAY_MS + POSTING_MS, now_ms - MIN_MS
        midnight = hi // DAY_MS * DAY_MS
        if midnight - lo >= SIDE_MS and hi - midnight >= SIDE_MS:
            return lo, midnight, hi
        time.sleep(MIN_MS / 1000)
        now_ms = int(time.time() * 1000)


def body(hit: P.Hit) -> dict[str, Any]:
    out: dict[str, Any] = {"name": hit.name, "url": hit.url, "domain": hit.domain, "ts": hit.ts_ms}
    if hit.referrer:
        out["referrer"] = hit.referrer
    if hit.props:
        out["props"] = dict(hit.props)
    if hit.revenue:
        out["revenue"] = {"amount": hit.revenue[0], "currency": hit.revenue[1]}
    if hit.engagement_ms is not None:
        out["e"] = hit.engagement_ms
    if hit.scroll is not None:
        out["sd"] = hit.scroll
    return out


def post_all(port: int, hits: list[P.Hit]) -> None:
    """One request per visitor (up to 100 events each), the visitors with the oldest events first."""
    visitors: dict[tuple[str, str, str], list[P.Hit]] = defaultdict(list)
    for h in sorted(hits, key=lambda h: h.ts_ms):
        visitors[(h.domain, h.ip, h.ua)].append(h)
    for (_, ip, ua), own in sorted(visitors.items(), key=lambda kv: kv[1][0].ts_ms):
        headers = {"Content-Type": "application/json", "User-Agent": ua, "X-Forwarded-For": ip}
        if own[0].country:
            headers["CloudFront-Viewer-Country"] = own[0].country
        for i in range(0, len(own), 100):
            status, data = request(port, "POST", "/api/events", json.dumps([body(h) for h in own[i:i + 100]]).encode(),
                                   headers)
            assert status == 202, data
            answer = json.loads(data)
            assert answer["rejected"] == [], answer


def project_copy(tmp: Path, spec: str) -> Path:
    for folder in ("specs", "handlers", "site"):
        shutil.copytree(ROOT / folder, tmp / folder, ignore=shutil.ignore_patterns("__pycache__"))
    path = tmp / "specs" / spec
    data = yaml.safe_load(path.read_text())
    data["api"]["trust_forwarded_for"] = True
    # The reference's sites (shop.example, blog.example, docs.example), each with its www. host: the
    # stack stores events for declared sites only.
    data["sites"] = [{"domain": s.domain, "aliases": [f"www.{s.domain}"]} for s in SITES]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def stats(port: int, site: str, first: str, last: str, **extra: str) -> tuple[int, bytes]:
    query = urlencode({"site": site, "from": first, "to": last, **extra})
    return request(port, "GET", f"/api/stats?{query}")


def periods(midnight_ms: int) -> list[tuple[str, str]]:
    late = datetime.fromtimestamp(midnight_ms / 1000, UTC)
    early = late - timedelta(days=1)
    e, d = early.strftime("%Y-%m-%d"), late.strftime("%Y-%m-%d")
    return [(e, e), (d, d), (e, d)]


def read_all(port: int, midnight_ms: int) -> Answers:
    """Each site's answer for each period (with the period before), and every CSV panel of
    ``CSV_SITE`` over both days: a panel is its field's rows, checked for every site in the JSON, and
    a stats request on moto takes seconds."""
    out: Answers = {}
    both = periods(midnight_ms)[-1]
    for site in (s.domain for s in SITES):
        for first, last in periods(midnight_ms):
            status, data = stats(port, site, first, last, compare="previous_period")
            assert status == 200, data
            out[f"{site} {first}..{last}"] = json.loads(data)
    for panel in P.PANELS:
        status, data = stats(port, CSV_SITE, *both, format="csv", panel=panel)
        rows = [[c[1:] if c.startswith("'") else c for c in r]
                for r in csv.reader(io.StringIO(data.decode()))] if status == 200 else None
        out.setdefault(f"{CSV_SITE} {both[0]}..{both[1]} csv", {})[panel] = rows
    return out


def settled(port: int, midnight_ms: int) -> Answers:
    """Every answer, once the figures stop changing (the stream path's aggregator runs after each
    window)."""
    first, last = periods(midnight_ms)[-1]
    previous = None
    deadline = time.monotonic() + 300
    while True:
        status, data = stats(port, CSV_SITE, first, last)
        assert status == 200, data
        if data == previous:
            return read_all(port, midnight_ms)
        assert time.monotonic() < deadline, "the figures did not settle in 5 minutes"
        previous = data
        time.sleep(3)


@dataclass
class Served:
    proc: subprocess.Popen[str]
    port: int


def start(spec: Path) -> Served:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.setdefault("LIVEINSIGHT_WHEEL_CACHE", str(ROOT / ".cache" / "wheels"))
    proc = subprocess.Popen([sys.executable, "-m", "liveinsight_infra", "serve", str(spec.relative_to(spec.parents[1])),
                             "--port", str(port)], cwd=spec.parents[1], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    return Served(proc, port)


def ready(served: Served) -> None:
    deadline = time.monotonic() + 300
    while True:
        try:
            request(served.port, "OPTIONS", "/api/events")
            return
        except ConnectionRefusedError:
            assert served.proc.poll() is None, served.proc.communicate()[1]
            assert time.monotonic() < deadline, "serve did not start in 300 s"
            time.sleep(0.5)


def stop(served: Served) -> None:
    served.proc.send_signal(signal.SIGINT)
    try:
        served.proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        served.proc.kill()
        served.proc.communicate()


def expected(hits: list[P.Hit], midnight_ms: int) -> Answers:
    store = P.ingest(hits)
    out: Answers = {}
    for site in (s.domain for s in SITES):
        for first, last in periods(midnight_ms):
            answer = P.compared(store, site, first, last)
            out[f"{site} {first}..{last}"] = answer
            if site == CSV_SITE and (first, last) == periods(midnight_ms)[-1]:
                out[f"{site} {first}..{last} csv"] = {panel: P.panel_rows(answer, panel) for panel in P.PANELS}
    return out


ROW_KEYS = ("source", "channel", "value", "country", "name", "path", "referrer", "goal", "time", "currency")


def _row_key(row: dict[str, Any]) -> str:
    return next(str(row[k]) for k in ROW_KEYS if k in row)


Diff = tuple[tuple[str, ...], str]  # (answer, field, row or key, ...), what differs


def differences(want: Any, got: Any, where: tuple[str, ...]) -> list[Diff]:
    """Every leaf where ``got`` is not ``want``: rows of a list are matched by their name."""
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return [(where, f"missing (want {json.dumps(want)[:80]})")]
        return [d for k in want for d in differences(want[k], got.get(k, _MISSING), (*where, k))]
    if isinstance(want, list) and want and isinstance(want[0], dict):
        if not isinstance(got, list):
            return [(where, "missing")]
        theirs = {_row_key(r): r for r in got}
        out = [d for r in want for d in differences(r, theirs.get(_row_key(r), _MISSING), (*where, _row_key(r)))]
        ours = {_row_key(r) for r in want}
        out += [((*where, k), f"not in the reference: {theirs[k]}") for k in theirs if k not in ours]
        if not out and [_row_key(r) for r in want] != [_row_key(r) for r in got]:
            out.append((where, "order differs"))
        return out
    if isinstance(want, list) and want and isinstance(want[0], list):  # a CSV panel
        if got is _MISSING or got is None:
            return [(where, "missing")]
        a, b = {tuple(r) for r in want[1:]}, {tuple(r) for r in got[1:]}
        out = [(where, f"header {got[0]} != {want[0]}")] if got[0] != want[0] else []
        return out + [(where, f"row {list(r)} missing") for r in sorted(a - b)] + \
            [(where, f"row {list(r)} not in the reference") for r in sorted(b - a)]
    if got is _MISSING:
        return [(where, f"missing (want {want!r})")]
    if want != got:
        return [(where, f"{got!r} != reference {want!r}")]
    return []


_MISSING: Any = object()


def summary(diffs: list[Diff]) -> str:
    """How many fields differ (per site and period), the count per field, the first differences."""
    fields = {d[0][:2] for d in diffs}
    per_field: dict[str, int] = defaultdict(int)
    for path, _ in diffs:
        per_field[path[1] if len(path) > 1 else path[0]] += 1
    lines = [f"{len(diffs)} differences in {len(fields)} fields (a field of one answer: site, period, panel)",
             "differences per field: " + ", ".join(f"{k} {n}" for k, n in
                                                   sorted(per_field.items(), key=lambda x: (-x[1], x[0])))]
    return "\n".join(lines + [f"{' / '.join(p)}: {m}" for p, m in diffs[:80]])


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Served]]:
    """Both paths served at once, so that the same events reach both within their 24 hours."""
    running = {spec: start(project_copy(tmp_path_factory.mktemp(spec.split(".")[0]), spec)) for spec in SPECS}
    try:
        for served in running.values():
            ready(served)
        yield running
    finally:
        for served in running.values():
            stop(served)


@pytest.fixture(scope="module")
def traffic(servers: dict[str, Served]) -> tuple[list[P.Hit], int]:
    start_ms, midnight, end_ms = window(int(time.time() * 1000))
    hits = generate(SEED, start_ms, midnight, end_ms)
    assert len(hits) >= 5000
    return hits, midnight


@pytest.fixture(scope="module")
def reference(traffic: tuple[list[P.Hit], int]) -> Answers:
    return expected(*traffic)


@pytest.fixture(scope="module")
def served(traffic: tuple[list[P.Hit], int], servers: dict[str, Served]) -> dict[str, Answers]:
    hits, midnight = traffic
    for spec, running in servers.items():
        started = time.monotonic()
        post_all(running.port, hits)
        print(f"{spec}: posted {len(hits)} events in {time.monotonic() - started:.0f} s")
    return {spec: settled(running.port, midnight) for spec, running in servers.items()}


def check(reference: Answers, got: Answers) -> list[Diff]:
    return [d for key, want in reference.items() for d in differences(want, got.get(key, _MISSING), (key,))]


PATHS = {"direct": "dev.yaml", "stream": "stream.yaml"}


def report(name: str, diffs: list[Diff]) -> None:
    """Every difference, one a line, into ``$LIVEINSIGHT_CHECK_DIFFS/<name>.txt`` when that is set
    (the failure message shows the first 80)."""
    folder = os.environ.get("LIVEINSIGHT_CHECK_DIFFS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / f"{name}.txt").write_text("".join(f"{' / '.join(p)}: {m}\n" for p, m in diffs))


@pytest.mark.parametrize("path", PATHS)
def test_each_path_gives_plausibles_numbers(path: str, reference: Answers, served: dict[str, Answers]) -> None:
    diffs = check(reference, served[PATHS[path]])
    report(path, diffs)
    assert not diffs, summary(diffs)


def test_both_paths_give_the_same_numbers(served: dict[str, Answers]) -> None:
    diffs = check(served["dev.yaml"], served["stream.yaml"])
    report("between-paths", diffs)
    assert not diffs, summary(diffs)
