"""The command line: verbs and options. The only module that prints.

Exit codes: 0 success; 1 error (message on stderr, no traceback for user errors); 2 changes present
(``plan --detailed-exitcode`` only); 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from . import __version__
from .errors import LiveInsightError, SpecError
from .render import Style, render_event, render_outputs, render_plan

EPILOG = """\
examples:
  liveinsight-infra apply specs/dev.yaml --moto     deploy to an embedded moto (touches nothing real)
  liveinsight-infra plan specs/dev.yaml             show what apply would change on AWS
  liveinsight-infra plan specs/dev.yaml --json      the plan as JSON, for programs
  liveinsight-infra destroy specs/dev.yaml --yes    remove what this stack owns

AWS access uses the standard credential chain (environment, --profile, SSO, instance role).
AWS_ENDPOINT_URL points every call at another endpoint, e.g. a moto server.
exit codes: 0 ok, 1 error, 2 changes present (plan --detailed-exitcode)."""


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--moto", action="store_true",
                        help="run against an embedded, in-process moto (a dry run: touches nothing real)")
    common.add_argument("--profile", help="AWS profile from ~/.aws/config")
    common.add_argument("--region", help="override the spec's region")
    common.add_argument("-v", "--verbose", action="store_true", help="show AWS call counts and retries")
    common.add_argument("--no-color", action="store_true", help="never colour the output")

    p = argparse.ArgumentParser(
        prog="liveinsight-infra", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG,
        description="Provision and operate the LiveInsight analytics stack on AWS with boto3 alone: "
                    "no state file, every change planned first.")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="verb", metavar="VERB", required=True)

    def verb(name: str, help_: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, parents=[common], help=help_, description=help_)
        sp.add_argument("spec", type=Path, help="the stack spec, e.g. specs/dev.yaml")
        return sp

    sp = verb("plan", "show what apply would change, without changing anything")
    sp.add_argument("--json", action="store_true", help="print the plan as JSON")
    sp.add_argument("--detailed-exitcode", action="store_true",
                    help="exit 0 when nothing would change, 2 when something would, 1 on error")
    sp.add_argument("--destroy", action="store_true", help="plan the destroy instead")
    sp = verb("apply", "make AWS match the spec, printing each change, then the outputs")
    sp.add_argument("--json", action="store_true", help="print the plan and outputs as JSON")
    sp.add_argument("--no-wait", action="store_true",
                    help="do not wait for CloudFront to finish deploying (it takes minutes on AWS)")
    sp = verb("destroy", "remove every resource this stack owns (ownership tags)")
    sp.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    sp.add_argument("--force", action="store_true",
                    help="also delete a table that holds data or has deletion protection")
    sp = verb("outputs", "show the stack's names, URLs and ids, read from AWS")
    sp.add_argument("--json", action="store_true", help="print the outputs as JSON")
    sp = verb("build", "write the Lambda packages to dist/ and print their sha256")
    sp.add_argument("--out", type=Path, default=Path("dist"), help="output folder (default: dist)")
    sp = verb("serve", "run the stack on this machine: apply to an embedded moto, then serve the API "
                       "and the dashboard on 127.0.0.1")
    sp.add_argument("--port", type=int, default=8080, help="port on 127.0.0.1 (default 8080; 0 picks one)")
    sp.add_argument("--demo-traffic", action="store_true",
                    help="post synthetic page views for the site demo.liveinsight.dev, so the dashboard moves")
    sub.add_parser("schema", help="print the JSON Schema of the spec format",
                   description="print the JSON Schema of the spec format")
    return p


class Cli:
    def __init__(self, args: argparse.Namespace, out: TextIO, err: TextIO):
        self.args, self.out, self.err = args, out, err
        tty = hasattr(out, "isatty") and out.isatty()
        self.style = Style(tty and not getattr(args, "no_color", False) and "NO_COLOR" not in os.environ)

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def warn(self, text: str) -> None:
        print(text, file=self.err, flush=True)

    @contextlib.contextmanager
    def session(self) -> Iterator[Any]:
        """Load the spec and build an engine (inside the embedded moto with --moto)."""
        from .aws.provider import AwsProvider
        from .engine import Context, Engine
        from .spec.loader import LoadedSpec, load_spec

        loaded = load_spec(self.args.spec)
        if self.args.region:
            loaded = LoadedSpec(loaded.spec.model_copy(update={"region": self.args.region}), loaded.path)
        stack = contextlib.ExitStack()
        with stack:
            if self.args.moto:
                from .aws.moto_backend import embedded_moto
                stack.enter_context(embedded_moto())
            aws = AwsProvider(loaded.spec.region, profile=None if self.args.moto else self.args.profile)

            def emit(event: Any) -> None:
                line = render_event(event, self.style)
                if line and not getattr(self.args, "json", False):
                    self.say(line)

            if loaded.spec.bucket.public_website:
                self.warn(self.style.paint(
                    "WARNING: bucket.public_website is on: the site bucket is publicly readable over plain HTTP, "
                    "and two Block Public Access flags are off. Turn it off once CloudFront serves the site.", "31"))
            ctx = Context(loaded, aws, emit=emit, force=getattr(self.args, "force", False),
                          wait=not getattr(self.args, "no_wait", False))
            engine = Engine(ctx)
            try:
                yield engine
            finally:
                if self.args.verbose:
                    c = aws.counter
                    self.warn(f"AWS calls: {c.total} ({c.reads} reads, {c.writes} writes, "
                              f"{sum(c.retries.values())} throttling retries)")
                    for (svc, op), n in sorted(c.calls.items()):
                        self.warn(f"  {svc}:{op} x {n}")

    def cmd_plan(self) -> int:
        with self.session() as engine:
            plan = engine.plan(destroy=self.args.destroy)
        if self.args.json:
            self.say(json.dumps(plan.to_json(), indent=2, default=str))
        else:
            self.say(render_plan(plan, self.style))
        if self.args.detailed_exitcode:
            return 0 if plan.empty else 2
        return 0

    def cmd_apply(self) -> int:
        from .outputs import flatten, stack_outputs

        with self.session() as engine:
            t0 = time.monotonic()
            plan = engine.plan()
            if not self.args.json:
                self.say(render_plan(plan, self.style))
            if not plan.empty:
                if not self.args.json:
                    self.say("\nApplying:")
                engine.apply(plan)
            outs = stack_outputs(engine.ctx.spec, engine.current_outputs())
        if self.args.json:
            self.say(json.dumps({"plan": plan.to_json(), "outputs": outs}, indent=2, default=str))
            return 0
        c = plan.counts()
        self.say(self.style.bold(f"\nApply complete in {time.monotonic() - t0:.1f}s: {c['create']} created, "
                                 f"{c['update']} updated, {c['replace']} replaced, {c['delete']} deleted."))
        self.say("\nOutputs:")
        self.say(render_outputs(flatten(outs), self.style))
        return 0

    def cmd_destroy(self) -> int:
        with self.session() as engine:
            plan = engine.plan(destroy=True)
            self.say(render_plan(plan, self.style))
            if plan.empty:
                return 0
            if not self.args.yes:
                if not sys.stdin.isatty():
                    raise LiveInsightError("destroy asks for confirmation: run it on a terminal or pass --yes")
                answer = input(f"\nDelete these {len(plan)} resources? Type 'yes' to confirm: ")
                if answer.strip() != "yes":
                    self.say("Destroy cancelled; nothing was changed.")
                    return 1
            self.say("\nDestroying:")
            engine.apply(plan)
        self.say(self.style.bold(f"\nDestroy complete: {len(plan)} resources deleted."))
        return 0

    def cmd_outputs(self) -> int:
        from .errors import StackNotFound
        from .outputs import flatten, stack_outputs

        with self.session() as engine:
            engine.observe()
            current = engine.current_outputs()
        # Account setup (owned=False) exists without any stack: only the stack's own resources count.
        exists = any(o.owned is not False for r in engine.reconcilers for o in r.observed.values())
        if not exists:
            raise StackNotFound(f"stack {engine.ctx.spec.project}-{engine.ctx.spec.environment} does not "
                                f"exist in {engine.ctx.spec.region}: run apply first")
        outs = stack_outputs(engine.ctx.spec, current)
        if self.args.json:
            self.say(json.dumps(outs, indent=2, default=str))
        else:
            self.say(render_outputs(flatten(outs), self.style))
        return 0

    def cmd_build(self) -> int:
        from .build.package import build_package
        from .spec.loader import load_spec

        loaded = load_spec(self.args.spec)
        self.args.out.mkdir(parents=True, exist_ok=True)
        for key, fn in loaded.spec.functions.items():
            pkg = build_package(loaded.code_dir, key, fn.handler)
            path = self.args.out / f"{key}.zip"
            path.write_bytes(pkg.data)
            self.say(f"  {path}  {pkg.size:>8,} bytes  sha256 {pkg.sha256_hex}")
        return 0

    def cmd_serve(self) -> int:
        from .local.gateway import LocalGateway
        from .local.server import LocalServer

        self.args.moto = True  # serve always runs on the embedded backend
        with self.session() as engine:
            plan = engine.plan()
            self.say(f"Applying {len(plan)} changes to the embedded moto…")
            engine.apply(plan)
            loaded = engine.ctx.loaded
            gateway = LocalGateway.from_aws(engine.ctx.aws, loaded, log=self.warn)
            try:
                server = LocalServer(gateway, loaded.site_dir, port=self.args.port,
                                     root_object=loaded.spec.distribution.default_root_object,
                                     log=self.warn if self.args.verbose else lambda _m: None)
            except OSError as exc:
                raise LiveInsightError(f"cannot listen on 127.0.0.1:{self.args.port}: {exc.strerror}; "
                                       "choose another --port") from None
            stage = loaded.spec.api.stage
            demo = None
            if self.args.demo_traffic:
                from .local.demo import DEMO_SITE, DemoTraffic

                host, port = server.server_address[:2]
                demo = DemoTraffic(str(host), int(port))
            self.say(f"LiveInsight is serving at {server.url}/")
            dashboard = f"{server.url}/?site={DEMO_SITE}" if demo else f"{server.url}/"
            self.say(f"  dashboard     {dashboard}")
            self.say(f"  API           {server.url}/api/events  (and {server.url}/{stage}/api/...)")
            if demo is not None:
                self.say(f"  demo traffic  page views for {DEMO_SITE}, through POST /api/events")
            self.say("Press Ctrl-C to stop.")
            try:
                if demo is not None:
                    demo.start()
                server.serve_forever()
            except KeyboardInterrupt:
                self.say("\nStopped.")
            finally:
                if demo is not None:
                    demo.stop()
                server.server_close()
        return 0

    def cmd_schema(self) -> int:
        from .spec.model import StackSpec
        self.say(json.dumps(StackSpec.model_json_schema(), indent=2))
        return 0


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    args = _parser().parse_args(argv)
    cli = Cli(args, out, err)
    try:
        return int(getattr(cli, f"cmd_{args.verb}")())
    except SpecError as exc:
        for problem in exc.problems:
            cli.warn(f"error: {problem}")
        return 1
    except LiveInsightError as exc:
        cli.warn(f"error: {exc}")
        return exc.exit_code
    except KeyboardInterrupt:
        cli.warn("interrupted: run the same command again to finish; nothing is left half-done")
        return 130
