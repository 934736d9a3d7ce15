"""Provisioning cost, ours against Terraform on the same stack, each tool on a fresh moto server.

    python bench/provision.py            # 5 runs of each step, Terraform too when it is installed
    python bench/provision.py --quick    # 1 run, ours only (what CI runs so the script never rots)
    python bench/provision.py --latency  # the same on loopback, then again under the AWS latency model
    python bench/provision.py --only-latency --shared-server   # the old conditions, to compare

Two settings. *Loopback*: the tools talk to the moto server directly, a call costs about a
millisecond, and start-up and CPU decide the times. *AWS latency model* (``--latency``): the tools
talk to a loopback proxy in front of the moto server that holds each request back by a typical
AWS control-plane round trip for the service named in the request's SigV4 credential scope
(``LATENCY_S`` below); there the number of calls that wait on each other decides the times.

Every cycle of either tool (cold apply → converged plan → converged apply → one-field change (an
alarm threshold; plan + apply) → destroy) gets a moto server of its own (the project's moto, with
the fidelity patch) and, under the model, a proxy of its own, both started before the cycle and
stopped after it: nothing the other tool or an earlier run did is left in the server's memory, its
loaded modules or its backends. The server sets up the services either stack uses before it
serves, as a server that is ready when it answers; ``--lazy-server`` starts it as moto does, each
service set up at its first request while every other request waits (AWS has no such stall).
The two tools alternate run by run, so machine noise hits both.
Ours starts each run without built packages (a fresh ``LIVEINSIGHT_PACKAGE_CACHE``); the vendored
wheels are fetched once before timing, as ``terraform init`` (untimed) installs the provider. Times
are whole-process wall times of the command line (``python -m liveinsight_infra ...`` and
``terraform ...``): start-up and imports included, what a user waits for. Calls are counted on the
server (moto's request log, the same for both tools). ``--shared-server`` runs every cycle of a
setting on one server, reset between cycles (how this script measured before; kept to show the
difference). Prints a Markdown table and writes it into docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import compileall
import functools
import http.client
import http.server
import os
import platform
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The Terraform reference stack: beside the checkout, or beside the folder of worktrees it is in.
_ANCHORS = [p / "shared" / "anchors" / "terraform" for p in (ROOT.parent, ROOT.parent.parent)]
ANCHOR = next((a for a in _ANCHORS if (a / "tf").is_dir()), _ANCHORS[0])
PLUGINS = Path("/opt/tf-plugins")
STEPS = ["cold apply", "converged plan", "converged apply", "one-field change (plan+apply)", "destroy"]
REQUEST_LINE = re.compile(rb"^127\.0\.0\.1 - - \[", re.M)
CALLS = re.compile(r"AWS calls: (\d+) \((\d+) reads, (\d+) writes")


@dataclass
class Sample:
    seconds: float
    requests: int
    reads: int | None = None
    writes: int | None = None
    cpu: float = 0.0  # user + system seconds of the command and the processes it waited for (Terraform's provider)
    server_cpu: float = 0.0  # the moto server's user + system seconds during the step


@dataclass
class Results:
    samples: dict[str, list[Sample]] = field(default_factory=lambda: {s: [] for s in STEPS})
    failures: list[str] = field(default_factory=list)


class Moto:
    lazy = False  # --lazy-server: moto's own first-request set-up of each service (docs/BENCHMARKS.md)

    def __init__(self, log: Path):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.endpoint = self.url  # where the tools send their calls (the latency proxy, under the model)
        self.log = log
        env = {**os.environ, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}  # Terraform attaches a managed policy
        self.proc = subprocess.Popen([sys.executable, "-m", "liveinsight_infra_moto.server", "-H", "127.0.0.1",
                                      "-p", str(self.port), *(["--lazy"] if self.lazy else [])],
                                     stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env)
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1)
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise SystemExit("moto server did not start")

    def requests(self) -> int:
        return len(REQUEST_LINE.findall(self.log.read_bytes()))

    def cpu(self) -> float:
        """The server's user + system seconds so far (Linux; 0 elsewhere)."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def reset(self) -> None:
        urllib.request.urlopen(urllib.request.Request(f"{self.url}/moto-api/reset", method="POST"), timeout=10)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# One read per service either stack uses: on a fresh server, moto imports a service's module and makes
# its backend (IAM's with every AWS managed policy) at the first request for it, 0.3-0.8 s each on a
# loaded 2-core machine. These reads create nothing; ``--warm-server`` makes them before timing.
WARM_UP = [("sts", "get_caller_identity"), ("iam", "list_roles"), ("cloudfront", "list_distributions"),
           ("s3", "list_buckets"), ("apigateway", "get_rest_apis"), ("lambda", "list_functions"),
           ("dynamodb", "list_tables"), ("logs", "describe_log_groups"), ("cloudwatch", "describe_alarms"),
           ("sns", "list_topics"), ("sqs", "list_queues"), ("ssm", "describe_parameters"),
           ("kinesis", "list_streams")]


def warm_up(url: str) -> None:
    import boto3

    session = boto3.Session(aws_access_key_id="bench", aws_secret_access_key="bench", region_name="us-east-1")
    for service, operation in WARM_UP:
        getattr(session.client(service, endpoint_url=url), operation)()


class Server:
    """A moto server, behind a latency proxy of its own under the model; fresh unless shared."""

    def __init__(self, log: Path, latency: bool, warm: bool = False):
        self.moto = Moto(log)
        if warm:
            warm_up(self.moto.url)
        self.proxy = LatencyProxy(self.moto.port) if latency else None
        self.moto.endpoint = self.proxy.url if self.proxy else self.moto.url

    def stop(self) -> None:
        if self.proxy:
            self.proxy.stop()
        self.moto.stop()


# Seconds each request is held back, by the service in its SigV4 credential scope
# (``Credential=AKID/20261127/us-east-1/iam/aws4_request``); any other service: DEFAULT_LATENCY_S.
LATENCY_S = {"iam": 0.120, "cloudfront": 0.250, "sts": 0.060, "apigateway": 0.060, "lambda": 0.050}
DEFAULT_LATENCY_S = 0.040
SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/]+/([^/]+)/aws4_request")
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection"}


def latency_of(authorization: str) -> float:
    m = SCOPE.search(authorization)
    return LATENCY_S.get(m.group(1), DEFAULT_LATENCY_S) if m else DEFAULT_LATENCY_S


class _Listener(http.server.ThreadingHTTPServer):
    """Accepts a burst of connections as an AWS endpoint does: socketserver's default listen queue of
    5 drops the SYNs of a burst past it, and the client's kernel retries them a second later, so a
    tool that opens 40 connections at once (a plan's parallel reads) waited 1-2 s on some of them."""

    request_queue_size = 128


class LatencyProxy:
    """A loopback HTTP proxy in front of the moto server that sleeps per request (the latency model).

    Threaded, so concurrent requests wait concurrently, as on AWS. Bodies are read whole and
    forwarded with a Content-Length (chunked request bodies are decoded first)."""

    def __init__(self, upstream_port: int):
        upstream = upstream_port

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_: object) -> None:
                pass

            def _body(self) -> bytes:
                if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                    out = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return out
                        out += self.rfile.read(size)
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _forward(self) -> None:
                body = self._body()
                time.sleep(latency_of(self.headers.get("Authorization", "")))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                if body or self.command in ("POST", "PUT", "PATCH"):
                    headers["Content-Length"] = str(len(body))
                conn = http.client.HTTPConnection("127.0.0.1", upstream, timeout=120)
                try:
                    conn.request(self.command, self.path, body=body, headers=headers)
                    res = conn.getresponse()
                    data = res.read()
                    self.send_response(res.status, res.reason)
                    for k, v in res.getheaders():
                        if k.lower() not in _HOP_BY_HOP:
                            self.send_header(k, v)
                    length = res.getheader("Content-Length") if self.command == "HEAD" else str(len(data))
                    self.send_header("Content-Length", length or "0")
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(data)
                finally:
                    conn.close()

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _forward

        self.server = _Listener(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class StepFailed(Exception):
    pass


# The anchor's published medians (compat pass, ../shared/anchors/terraform/README.md), used only when
# no Terraform run of this benchmark succeeded.
ANCHOR_FIGURES = {"cold apply": (23.31, 144), "converged plan": (5.59, 87), "converged apply": (7.43, 87),
                  "destroy": (54.23, 151)}


def timed(moto: Moto, cmd: list[str], cwd: Path, env: dict[str, str], ok: tuple[int, ...] = (0,),
          timeout: float = 300) -> Sample:
    before = moto.requests()
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    served = moto.cpu()
    t0 = time.perf_counter()
    try:
        res = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise StepFailed(f"{cmd[0]} {cmd[1]} did not finish in {timeout:.0f}s") from None
    seconds = time.perf_counter() - t0
    now = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (now.ru_utime - used.ru_utime) + (now.ru_stime - used.ru_stime)
    time.sleep(0.05)  # let the server flush its log line
    if res.returncode not in ok:
        tail = (res.stdout[-800:] + res.stderr[-800:]).strip().splitlines()
        raise StepFailed(f"{' '.join(cmd[:3])} exited {res.returncode}: {tail[-1] if tail else ''}")
    m = CALLS.search(res.stderr)
    return Sample(seconds, moto.requests() - before, int(m.group(2)) if m else None, int(m.group(3)) if m else None,
                  cpu, moto.cpu() - served)


def ours_env(work: Path, endpoint: str, root: Path = ROOT) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LIVEINSIGHT_"))},
            "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1", "NO_COLOR": "1",
            "PYTHONPATH": str(root),  # this tree's package (or --baseline's), installed or not
            "LIVEINSIGHT_WHEEL_CACHE": str(work / "wheels"),  # fetched once, before timing (fetch_wheels)
            "LIVEINSIGHT_PACKAGE_CACHE": str(work / "packages")}  # emptied before each run


def fetch_wheels(work: Path) -> None:
    """The vendored wheels, fetched once before anything is timed (as ``terraform init`` is untimed)."""
    env = ours_env(work, "http://127.0.0.1:9")  # build makes no AWS call
    subprocess.run([sys.executable, "-m", "liveinsight_infra", "build", str(work / "specs" / "dev.yaml"),
                    "--out", str(work / "dist")], cwd=work, env=env, check=True, capture_output=True)


def ours(moto: Moto, work: Path, results: Results, root: Path = ROOT) -> None:
    env = ours_env(work, moto.endpoint, root)
    shutil.rmtree(work / "packages", ignore_errors=True)  # every cold apply builds its packages
    cli = [sys.executable, "-m", "liveinsight_infra"]
    spec, changed = work / "specs" / "dev.yaml", work / "specs" / "changed.yaml"
    s = results.samples
    s["cold apply"].append(timed(moto, [*cli, "apply", str(spec), "--no-wait", "-v"], work, env))
    s["converged plan"].append(timed(moto, [*cli, "plan", str(spec), "--detailed-exitcode", "-v"], work, env))
    s["converged apply"].append(timed(moto, [*cli, "apply", str(spec), "-v"], work, env))
    a = timed(moto, [*cli, "plan", str(changed), "--detailed-exitcode", "-v"], work, env, ok=(2,))
    b = timed(moto, [*cli, "apply", str(changed), "-v"], work, env)
    both = Sample(a.seconds + b.seconds, a.requests + b.requests, (a.reads or 0) + (b.reads or 0),
                  (a.writes or 0) + (b.writes or 0), a.cpu + b.cpu, a.server_cpu + b.server_cpu)
    s["one-field change (plan+apply)"].append(both)
    s["destroy"].append(timed(moto, [*cli, "destroy", str(changed), "--yes", "--force", "-v"], work, env))


def terraform_available() -> str | None:
    if not shutil.which("terraform"):
        return "the terraform binary is not on PATH"
    if not (PLUGINS / "registry.terraform.io" / "hashicorp" / "aws").is_dir():
        return f"the hashicorp/aws provider mirror is not in {PLUGINS}"
    if not (ANCHOR / "tf").is_dir():
        return f"the reference stack is not in {ANCHOR}"
    return None


def terraform(moto: Moto, work: Path, results: Results) -> None:
    """One Terraform cycle; a failed step drops the whole run's samples (reported, never hidden)."""
    partial = Results()
    try:
        _terraform(moto, work, partial)
    except StepFailed as exc:
        results.failures.append(str(exc))
        return
    for step, samples in partial.samples.items():
        results.samples[step] += samples


def _terraform(moto: Moto, work: Path, results: Results) -> None:
    d = work / "tf"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir()
    for f in [*(ANCHOR / "tf").glob("*.tf"), *(ANCHOR / "moto-compat").glob("*.tf")]:
        shutil.copy(f, d)  # the compat pass, as the anchor's figures are quoted
    import zipfile
    with zipfile.ZipFile(d / "lambda.zip", "w") as z:
        info = zipfile.ZipInfo("handler.py", date_time=(2020, 1, 1, 0, 0, 0))
        z.writestr(info, (ANCHOR / "src" / "handler.py").read_text())
    rc = work / "terraformrc"  # providers from the local mirror only: nothing is fetched
    rc.write_text(f'provider_installation {{\n  filesystem_mirror {{\n    path = "{PLUGINS}"\n'
                  f'    include = ["registry.terraform.io/hashicorp/*"]\n  }}\n'
                  f'  direct {{\n    exclude = ["registry.terraform.io/hashicorp/*"]\n  }}\n}}\n')
    env = {**os.environ, "TF_CLI_CONFIG_FILE": str(rc), "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}
    var = ["-var", f"moto_endpoint={moto.endpoint}", "-input=false", "-no-color"]
    subprocess.run(["terraform", "init", "-input=false", "-no-color"], cwd=d, env=env, check=True, capture_output=True)
    s = results.samples
    s["cold apply"].append(timed(moto, ["terraform", "apply", "-auto-approve", *var], d, env))
    s["converged plan"].append(timed(moto, ["terraform", "plan", "-detailed-exitcode", *var], d, env))
    s["converged apply"].append(timed(moto, ["terraform", "apply", "-auto-approve", *var], d, env))
    mon = d / "monitoring.tf"
    text = mon.read_text()
    api_5xx = text.index('resource "aws_cloudwatch_metric_alarm" "api_5xx"')
    mon.write_text(text[:api_5xx] + text[api_5xx:].replace("threshold           = 5", "threshold           = 6", 1))
    a = timed(moto, ["terraform", "plan", "-detailed-exitcode", *var], d, env, ok=(2,))
    b = timed(moto, ["terraform", "apply", "-auto-approve", *var], d, env)
    s["one-field change (plan+apply)"].append(Sample(a.seconds + b.seconds, a.requests + b.requests,
                                                     cpu=a.cpu + b.cpu, server_cpu=a.server_cpu + b.server_cpu))
    s["destroy"].append(timed(moto, ["terraform", "destroy", "-auto-approve", *var], d, env))


def prepare(work: Path) -> None:
    for folder in ("specs", "handlers", "site"):
        shutil.copytree(ROOT / folder, work / folder, ignore=shutil.ignore_patterns("__pycache__"))
    spec = (work / "specs" / "dev.yaml").read_text()
    marker = "name: api-5xx,"
    head, tail = spec.split(marker, 1)
    (work / "specs" / "changed.yaml").write_text(head + marker + tail.replace("threshold: 5,", "threshold: 6,", 1))


def med(samples: list[Sample], attr: str) -> float:
    return float(statistics.median(getattr(x, attr) for x in samples))


def table(our: Results, tf: Results | None, runs: int, anchor: bool = True) -> str:
    head = "| step | ours: wall s, median (min-max) | ours: CPU s (server) | ours: AWS calls (reads / writes) |"
    sep = "|---|---|---|---|"
    if tf:
        head += (" Terraform: wall s, median (min-max) | Terraform: CPU s (server) | Terraform: AWS calls |"
                 " Terraform / ours (time) |")
        sep += "---|---|---|---|"
    lines = [head, sep]
    for step in STEPS:
        o = our.samples[step]
        reads = int(statistics.median(x.reads or 0 for x in o))
        writes = int(statistics.median(x.writes or 0 for x in o))
        row = (f"| {step} | {med(o, 'seconds'):.2f} ({min(x.seconds for x in o):.2f}-{max(x.seconds for x in o):.2f})"
               f" | {med(o, 'cpu'):.2f} ({med(o, 'server_cpu'):.2f})"
               f" | {int(med(o, 'requests'))} ({reads} / {writes}) |")
        if tf:
            t = tf.samples[step]
            if t:
                row += (f" {med(t, 'seconds'):.2f} ({min(x.seconds for x in t):.2f}-{max(x.seconds for x in t):.2f})"
                        f" | {med(t, 'cpu'):.2f} ({med(t, 'server_cpu'):.2f}) | {int(med(t, 'requests'))}"
                        f" | **{med(t, 'seconds') / med(o, 'seconds'):.1f}x** |")
            elif anchor and step in ANCHOR_FIGURES:  # the anchor was measured on loopback
                secs, calls = ANCHOR_FIGURES[step]
                row += (f" {secs:.2f} (anchor) | - | {calls} (anchor) | **{secs / med(o, 'seconds'):.1f}x**"
                        " (anchor) |")
            else:
                row += " - | - | - | - |"
        lines.append(row)
    return "\n".join(lines)


def write_section(path: Path, name: str, body: str) -> None:
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    block = f"{start}\n{body}\n{end}"
    if start in text:
        text = text[:text.index(start)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)


SETTINGS = {
    "loopback": ("provision", "Loopback: the tools call the moto server directly (a call costs about 1 ms)"),
    "latency": ("provision-latency", "AWS latency model: every call held back by a typical AWS round trip "
                "(IAM 120 ms, CloudFront 250 ms, STS 60 ms, API Gateway 60 ms, Lambda 50 ms, others 40 ms)"),
}


Measured = tuple[Results, Results | None, Results | None]  # ours, Terraform, ours at --baseline


def measure(work: Path, runs: int, with_tf: bool, latency: bool, shared: bool, warm: bool = False,
            baseline: Path | None = None) -> Measured:
    """Each tool's cycle on a server (and proxy) of its own, started for it; or one for all when shared.
    The tools take turns in a rotating order, so a change in the machine's load hits each of them."""
    our, tf, base = Results(), (Results() if with_tf else None), (Results() if baseline else None)
    arms: list[tuple[str, Results, Callable[[Moto, Path, Results], None]]] = [("ours", our, ours)]
    if tf is not None:
        arms.append(("terraform", tf, terraform))
    if base is not None and baseline is not None:
        arms.append(("baseline", base, functools.partial(ours, root=baseline)))
    one = Server(work / "moto-shared.log", latency, warm) if shared else None
    try:
        for i in range(runs):
            for name, results, fn in arms[i % len(arms):] + arms[:i % len(arms)]:
                server = one or Server(work / f"moto-{name}-{i}.log", latency, warm)
                try:
                    if one:
                        one.moto.reset()
                    fn(server.moto, work, results)
                finally:
                    if not one:
                        server.stop()
            print(f"run {i + 1}/{runs} done (load {load()})", file=sys.stderr)
            if runs > 1:  # the figures so far, so a run cut short still leaves them
                print(table(our, tf, i + 1, anchor=False), file=sys.stderr, flush=True)
                if base is not None:
                    print(table(base, tf, i + 1, anchor=False), file=sys.stderr, flush=True)
    finally:
        if one:
            one.stop()
    return our, tf, base


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="one run, ours only (a smoke test)")
    ap.add_argument("--no-terraform", action="store_true")
    ap.add_argument("--latency", action="store_true",
                    help="measure on loopback, then again through the AWS latency model")
    ap.add_argument("--only-latency", action="store_true", help="only the AWS latency model")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "BENCHMARKS.md")
    ap.add_argument("--shared-server", action="store_true",
                    help="one moto server (and proxy) for every cycle of a setting, reset between cycles: "
                         "the conditions this script used to measure under, to show what they change")
    ap.add_argument("--warm-server", action="store_true",
                    help="before timing a cycle, make one read per service on its fresh server, so that moto's "
                         "first-request set-up (importing the service, making its backend) is not timed")
    ap.add_argument("--lazy-server", action="store_true",
                    help="start each server with --lazy: moto sets a service up at the first request for it, "
                         "holding back every other request meanwhile (how the server started before; "
                         "liveinsight_infra_moto/server.py)")
    ap.add_argument("--baseline", type=Path,
                    help="a folder holding another liveinsight_infra package (e.g. `git archive` of an earlier "
                         "commit), measured in the same run as a third arm: before and after a change, side by side")
    args = ap.parse_args()
    Moto.lazy = args.lazy_server
    runs = 1 if args.quick else args.runs
    why_not = "--quick" if args.quick else ("--no-terraform" if args.no_terraform else terraform_available())
    settings = ["latency"] if args.only_latency else (["loopback", "latency"] if args.latency else ["loopback"])
    measured: dict[str, Measured] = {}
    loads: dict[str, tuple[str, str]] = {}
    with tempfile.TemporaryDirectory(prefix="liveinsight-bench-") as tmp:
        work = Path(tmp)
        prepare(work)
        # Ours runs as an installed package does: pip compiles the bytecode at install
        # (https://pip.pypa.io/en/stable/cli/pip_install/#cmdoption-compile). From a checkout under
        # PYTHONDONTWRITEBYTECODE, every run would otherwise compile the package's modules again.
        for root in (ROOT, *([args.baseline] if args.baseline else [])):
            compileall.compile_dir(root / "liveinsight_infra", quiet=1)
        fetch_wheels(work)
        for setting in settings:
            print(f"== {SETTINGS[setting][1]} (load {load()})", file=sys.stderr)
            before = load()
            measured[setting] = measure(work, runs, why_not is None, setting == "latency", args.shared_server,
                                        args.warm_server, args.baseline)
            loads[setting] = (before, load())
    import moto as moto_pkg
    tf_version = subprocess.run(["terraform", "version"], capture_output=True, text=True).stdout.split("\n")[0] \
        if why_not is None else f"not run ({why_not})"
    servers = ("one server (and proxy) for every cycle, reset between cycles (--shared-server)" if args.shared_server
               else "a fresh server (and proxy) for each tool and run")
    servers += (", each started lazy: moto sets a service up at its first request (--lazy-server)" if args.lazy_server
                else ", each with its services set up before it listens (liveinsight_infra_moto/server.py)")
    if args.warm_server:
        servers += ", each warmed up by one untimed read per service (--warm-server)"
    for setting in settings:
        our, tf, base = measured[setting]
        section, title = SETTINGS[setting]
        flags = " --latency" if setting == "latency" else ""
        body = "\n".join([
            f"## Provisioning, {setting}: `python bench/provision.py{flags}`",
            "", f"{title}.", "",
            f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, {os.cpu_count()} cores, "
            f"load average {loads[setting][0]} before and {loads[setting][1]} after (1, 5, 15 min), "
            f"Python {platform.python_version()}, moto {moto_pkg.__version__} ({servers}), "
            f"{tf_version}. {runs} run(s) per step, the tools alternated run by run; the stack is `specs/dev.yaml` "
            "(ours, with S3/CloudFront/site) and the Terraform anchor's compat pass (theirs).", "",
            table(our, tf, runs, anchor=setting == "loopback"), "",
            "Calls are moto's request log for the step (the same count for both tools); reads / writes are ours, "
            "from `-v`. CPU s: user + system time of the command (medians), Terraform's with its provider "
            "process; on a loaded machine a step's wall time grows with its CPU time, so the ratio does too. "
            "(server): the moto server's CPU time during the step"
            + (", most of it, on a fresh server's first step, moto setting up each service at its first request."
               if args.lazy_server else " (each service set up before the server listened, untimed)."),
            *([f"\nThe same run, ours at `{args.baseline.name}` (`--baseline`, the code before a change), "
               "against the same Terraform samples:\n\n" + table(base, tf, runs, anchor=False)]
              if base is not None and args.baseline else []),
            *([f"\nTerraform runs that failed and were left out ({len(tf.failures)}): "
               + "; ".join(tf.failures)] if tf and tf.failures else []),
        ])
        print(body + "\n")
        write_section(args.out, section, body)


if __name__ == "__main__":
    main()
