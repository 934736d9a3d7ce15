"""The command line: verbs and options. The only module that prints.

Exit codes: 0 success; 1 error (message on stderr, no traceback for user errors); 2 changes present
(``plan --detailed-exitcode`` only); 3 a saved plan refused as stale (``apply FILE``: the spec, the
tool or a resource it changes is no longer what it was planned against; nothing was changed);
130 interrupted by SIGINT, 143 by SIGTERM (saying what was done).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import NoReturn, TextIO

from . import interrupt, plan_file
from .contract import Event
from .errors import LiveInsightError, SpecError
from .outputs import flatten
from .plan import Plan
from .render import Style, render_event, render_outputs, render_plan
from .spec.loader import load_spec
from .stack import Cancelled, Stack
from .version import __version__

EPILOG = """\
examples:
  liveinsight-infra apply specs/dev.yaml --moto     deploy to an embedded moto (touches nothing real)
  liveinsight-infra plan specs/dev.yaml             show what apply would change on AWS
  liveinsight-infra plan specs/dev.yaml --json      the plan as JSON, for programs
  liveinsight-infra plan specs/dev.yaml -out p.json save the plan (review it, e.g. in a pull request)
  liveinsight-infra apply p.json                    apply exactly that plan, or refuse it if stale
  liveinsight-infra destroy specs/dev.yaml --yes    remove what this stack owns

AWS access uses the standard credential chain (environment, --profile, SSO, instance role).
AWS_ENDPOINT_URL points every call at another endpoint, e.g. a moto server.
exit codes: 0 ok, 1 error, 2 changes present (plan --detailed-exitcode), 3 saved plan stale (apply
FILE: nothing was changed; plan again), 130/143 stopped by
SIGINT/SIGTERM (the changes in flight finish, or are abandoned on a second signal; the lock is released)."""


class _Parser(argparse.ArgumentParser):
    """Usage mistakes exit 1 like every other error: argparse's own 2 means "changes present" to
    scripts that run ``plan --detailed-exitcode``."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(1, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument("--moto", action="store_true",
                        help="run against an embedded, in-process moto (a dry run: touches nothing real)")
    common.add_argument("--profile", help="AWS profile from ~/.aws/config")
    common.add_argument("--region", help="override the spec's region (another region than the stack's home "
                                         "stops, unless --move-region)")
    common.add_argument("--move-region", action="store_true",
                        help="let this run move the stack to the region it targets: its global CloudFront "
                             "distribution and IAM roles are repointed there (without it, a run for another "
                             "region than the stack's home stops)")
    common.add_argument("-v", "--verbose", action="store_true", help="show AWS call counts and retries")
    common.add_argument("--no-color", action="store_true", help="never colour the output")
    common.add_argument("--force-unlock", action="store_true",
                        help="break the stack lock first, whoever holds it (after a crash on another machine)")

    p = _Parser(
        prog="liveinsight-infra", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG,
        description="Provision and operate the LiveInsight analytics stack on AWS with boto3 alone: "
                    "no state file, every change planned first.")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="verb", metavar="VERB", required=True)

    def verb(name: str, help_: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, parents=[common], help=help_, description=help_)
        sp.add_argument("spec", type=Path, help="the stack spec, e.g. specs/dev.yaml" + (
            "; or a plan saved by plan -out FILE" if name == "apply" else ""))
        sp.set_defaults(run=RUN[name])
        return sp

    sp = verb("plan", "show what apply would change, without changing anything")
    sp.add_argument("--json", action="store_true", help="print the plan as JSON")
    sp.add_argument("--detailed-exitcode", action="store_true",
                    help="exit 0 when nothing would change, 2 when something would, 1 on error")
    sp.add_argument("--destroy", action="store_true", help="plan the destroy instead")
    sp.add_argument("-out", "--out", dest="out", type=Path, metavar="FILE",
                    help="also save the plan to FILE, for `apply FILE` (it holds no secret: docs/saved-plans.md)")
    sp.add_argument("--rotate-origin-secret", action="store_true",
                    help="plan a rotation of the origin secret (see apply --rotate-origin-secret)")
    sp = verb("apply", "make AWS match the spec (or apply a plan saved by plan -out FILE), printing each "
                       "change, then the outputs")
    sp.add_argument("--json", action="store_true", help="print the plan and outputs as JSON")
    sp.add_argument("--no-wait", action="store_true",
                    help="do not wait for CloudFront to finish deploying (it takes minutes on AWS)")
    sp.add_argument("--adopt", action="store_true",
                    help="take over resources that exist under the stack's names without its ownership tag "
                         "(the plan marks them <-): tag them as this stack's, then make them match the spec")
    sp.add_argument("--rotate-origin-secret", action="store_true",
                    help="give CloudFront a new secret to send the API; the old one stays accepted until "
                         "CloudFront has deployed the new one, then apply retires it (docs/security.md)")
    sp = verb("destroy", "remove every resource this stack owns (ownership tags)")
    sp.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    sp.add_argument("--force", action="store_true",
                    help="also delete a table that holds data or has deletion protection")
    sp = verb("outputs", "show the stack's names, URLs and ids, read from AWS")
    sp.add_argument("--json", action="store_true", help="print the outputs as JSON")
    sp.add_argument("--show-secrets", action="store_true", help="also print the API key's value")
    sp = verb("check", "HTTP health check: dashboard, config.json, CORS preflights, a test event, realtime, stats")
    sp.add_argument("--url", help="any base URL (e.g. serve's http://127.0.0.1:8080); default: the dashboard URL")
    sp.add_argument("--api-key", help="the API key, when realtime and stats require one (default: read from AWS)")
    sp.add_argument("--timeout", type=float, default=120.0,
                    help="seconds each check may retry while the answer is 5xx or none (default 120)")
    sp = verb("releases", "list the releases (API deployment + function versions), newest last")
    sp.add_argument("--json", action="store_true", help="print the releases as JSON")
    sp = verb("rollback", "return the stage and the functions to the previous release (again: come back)")
    sp.add_argument("--to", metavar="RELEASE", help="a release number or deployment id from `releases`")
    sp.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    sp = verb("build", "write the Lambda packages to dist/ and print their sha256")
    sp.add_argument("--out", type=Path, default=Path("dist"), help="output folder (default: dist)")
    sp = verb("serve", "run the stack on this machine: apply to an embedded moto, then serve the API "
                       "and the dashboard on 127.0.0.1")
    sp.add_argument("--port", type=int, default=8080, help="port on 127.0.0.1 (default 8080; 0 picks one)")
    sp.add_argument("--demo-traffic", action="store_true",
                    help=("post synthetic visits (sources, countries, devices, a goal, engagement) for the site "
                          "demo.liveinsight.dev, so the dashboard moves"))
    sub.add_parser("schema", help="print the JSON Schema of the spec format",
                   description="print the JSON Schema of the spec format").set_defaults(run=Cli.cmd_schema)
    return p


class Cli:
    """Renders what :class:`~liveinsight_infra.stack.Stack` returns and emits; holds no logic of its own."""

    def __init__(self, args: argparse.Namespace, out: TextIO, err: TextIO):
        self.args, self.out, self.err = args, out, err
        tty = hasattr(out, "isatty") and out.isatty()
        self.style = Style(tty and not getattr(args, "no_color", False) and "NO_COLOR" not in os.environ)

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def warn(self, text: str) -> None:
        print(text, file=self.err, flush=True)

    def show(self, event: Event) -> None:
        """Progress as lines: warnings on stderr; plans and changes on stdout (never with --json)."""
        if event.type == "warning":
            self.warn(self.style.paint(event.message, "31"))
            return
        if getattr(self.args, "json", False):
            return
        if event.type == "plan" and event.plan is not None:
            if event.message:
                self.say(event.message)
            self.say(render_plan(event.plan, self.style))
            return
        line = render_event(event, self.style)
        if line:
            self.say(line)

    @contextlib.contextmanager
    def stack(self, moto: bool | None = None, events: Callable[[Event], None] | None = None,
              spec: Path | None = None, region: str | None = None) -> Iterator[Stack]:
        """The spec's stack (on the embedded moto with --moto); AWS call counts on stderr with -v."""
        with Stack.from_file(spec or self.args.spec, region=region or self.args.region, profile=self.args.profile,
                             moto=self.args.moto if moto is None else moto, events=events or self.show,
                             wait=not getattr(self.args, "no_wait", False),
                             move_region=self.args.move_region) as stack:
            try:
                yield stack
            finally:
                if self.args.verbose:
                    c = stack.context.aws.counter
                    self.warn(f"AWS calls: {c.total} ({c.reads} reads, {c.writes} writes, "
                              f"{sum(c.retries.values())} retried after throttling or a 5xx)")
                    for (svc, op), n in sorted(c.calls.items()):
                        self.warn(f"  {svc}:{op} x {n}")

    def confirm(self, question: str, verb: str) -> Callable[[Plan], bool]:
        def ask(plan: Plan) -> bool:
            if self.args.yes:
                return True
            if not sys.stdin.isatty():
                raise LiveInsightError(f"{verb} asks for confirmation: run it on a terminal or pass --yes")
            return input(f"\n{question.format(n=len(plan))} Type 'yes' to confirm: ").strip() == "yes"
        return ask

    def cmd_plan(self) -> int:
        with self.stack() as stack:
            plan = stack.plan(destroy=self.args.destroy, rotate_origin_secret=self.args.rotate_origin_secret)
        if self.args.json:
            self.say(json.dumps(plan.to_json(), indent=2, default=str))
        else:
            self.say(render_plan(plan, self.style))
        if self.args.out is not None:
            plan_file.save(plan, self.args.out, source={"spec": str(self.args.spec), "region": self.args.region})
            if not self.args.json:
                self.say(f"\nSaved the plan to {self.args.out}: `liveinsight-infra apply {self.args.out}` applies "
                         "exactly this plan (or refuses it if the stack or the spec changed meanwhile).")
        if self.args.detailed_exitcode:
            return 0 if plan.empty else 2
        return 0

    def cmd_apply(self) -> int:
        def show(event: Event) -> None:
            self.show(event)
            if event.type == "plan" and event.plan is not None and not event.plan.empty and not self.args.json:
                self.say("\nApplying:")

        saved = None
        spec, region = None, None
        if plan_file.is_saved_plan(self.args.spec):
            if self.args.rotate_origin_secret:
                raise LiveInsightError("--rotate-origin-secret belongs to plan when a saved plan is applied: "
                                       "run plan --rotate-origin-secret -out FILE")
            data = plan_file.read_data(self.args.spec)
            saved = plan_file.from_data(data)
            source = data.get("source") or {}
            spec = Path(str(source.get("spec"))) if source.get("spec") else None
            if spec is None:
                raise LiveInsightError(f"{self.args.spec} does not say which spec it was planned from: plan again")
            region = source.get("region") or None
        with self.stack(events=show, spec=spec, region=region) as stack:
            result = stack.apply(saved, force_unlock=self.args.force_unlock, adopt=self.args.adopt,
                                 rotate_origin_secret=self.args.rotate_origin_secret)
        if self.args.json:
            self.say(json.dumps({"plan": result.plan.to_json(), "outputs": result.outputs}, indent=2, default=str))
            return 0
        c = result.plan.counts()
        if result.plan.destroy:
            self.say(self.style.bold(f"\nDestroy complete: {len(result.plan)} resources deleted."))
            return 0
        self.say(self.style.bold(f"\nApply complete in {result.elapsed_s:.1f}s: {c['create']} created, "
                                 f"{c['update']} updated, {c['replace']} replaced, {c['delete']} deleted"
                                 + (f", {c['adopt']} adopted." if c["adopt"] else ".")))
        self.say("\nOutputs:")
        self.say(render_outputs(flatten(result.outputs), self.style))
        return 0

    def cmd_destroy(self) -> int:
        ask = self.confirm("Delete these {n} resources?", "destroy")

        def confirm(plan: Plan) -> bool:
            if ask(plan):
                self.say("\nDestroying:")
                return True
            return False

        with self.stack() as stack:
            try:
                result = stack.destroy(force=self.args.force, force_unlock=self.args.force_unlock, confirm=confirm)
            except Cancelled:
                self.say("Destroy cancelled; nothing was changed.")
                return 1
        if not result.plan.empty:
            kept = f", {len(result.plan.notes)} kept (see the notes above)" if result.plan.notes else ""
            self.say(self.style.bold(f"\nDestroy complete: {len(result.plan)} resources deleted{kept}."))
        return 0

    def cmd_outputs(self) -> int:
        with self.stack() as stack:
            outs = stack.outputs(show_secrets=self.args.show_secrets)
        if self.args.json:
            self.say(json.dumps(outs, indent=2, default=str))
        else:
            self.say(render_outputs(flatten(outs), self.style))
        return 0

    def cmd_check(self) -> int:
        from .check import Checker

        api_key = self.args.api_key
        if self.args.url:
            base = self.args.url
            spec_origins = load_spec(self.args.spec).spec.api.cors.allow_origins
        else:
            with self.stack() as stack:
                outs = stack.outputs(show_secrets=not api_key)
                spec_origins = stack.context.spec.api.cors.allow_origins
            if outs.get("api_key_id") and not api_key:
                api_key = str(outs["api_key"])
            base = outs.get("dashboard_url")
            if not isinstance(base, str):
                raise LiveInsightError("the stack has no dashboard URL (not deployed?); run apply, or pass --url")
        origin = next((o for o in spec_origins if o != "*"), "https://example.com")
        self.say(f"Checking {base} (origin {origin}):")
        results = Checker(base, origin=origin, deadline_s=self.args.timeout, api_key=api_key).run()
        for r in results:
            mark = self.style.paint("✓", "32") if r.ok else self.style.paint("✗", "31")
            self.say(f"  {mark} {r.name:<34} {r.elapsed_ms:7.0f} ms  {r.detail}")
        failed = [r for r in results if not r.ok]
        self.say(self.style.bold(f"\n{len(results) - len(failed)} of {len(results)} checks passed."))
        return 1 if failed else 0

    def cmd_releases(self) -> int:
        with self.stack() as stack:
            releases = stack.releases()
        if self.args.json:
            self.say(json.dumps([r.to_json() for r in releases], indent=2))
            return 0
        for r in releases:
            marker = "*" if r.current else " "
            functions = ", ".join(f"{k}:{v}" for k, v in sorted(r.functions.items())) or "(no versions recorded)"
            self.say(f"{marker} {r.number:>3}  {r.deployment_id}  {r.created[:19]}  {functions}")
        self.say("(* = the release the stage serves)")
        return 0

    def cmd_rollback(self) -> int:
        with self.stack() as stack:
            try:
                done = stack.rollback(self.args.to, force_unlock=self.args.force_unlock,
                                      confirm=self.confirm("Proceed?", "rollback"))
            except Cancelled:
                self.say("Rollback cancelled; nothing was changed.")
                return 1
        again = "the rollback is over" if done.returning else "run rollback again to return"
        self.say(self.style.bold(f"\nThe stage serves release {done.target.number}; {again}."))
        return 0

    def cmd_build(self) -> int:
        from .build.package import build_function

        loaded = load_spec(self.args.spec)
        self.args.out.mkdir(parents=True, exist_ok=True)
        for key, fn in loaded.spec.functions.items():
            pkg = build_function(loaded.code_dir, key, fn)
            path = self.args.out / f"{key}.zip"
            path.write_bytes(pkg.data)
            self.say(f"  {path}  {pkg.size:>8,} bytes  sha256 {pkg.sha256_hex}")
        return 0

    def cmd_serve(self) -> int:
        from .local.gateway import LocalGateway
        from .local.server import LocalServer

        if not 0 <= self.args.port <= 65535:
            raise LiveInsightError(f"--port {self.args.port} is not a TCP port: choose one of 1-65535, or 0 to "
                                   "pick a free one")
        def show(event: Event) -> None:
            if event.type == "warning":
                self.warn(event.message)
            elif event.type == "plan" and event.plan is not None:
                self.say(f"Applying {len(event.plan)} changes to the embedded moto…")

        with self.stack(moto=True, events=show) as stack:  # serve always runs on the embedded backend
            applied = stack.apply()
            # The key lives only in this process's moto: `outputs --moto` would start another one.
            api_key = stack.outputs(show_secrets=True)["api_key"] if applied.outputs.get("api_key_id") else None
            loaded = stack.loaded
            gateway = LocalGateway.from_aws(stack.context.aws, loaded, log=self.warn)
            try:
                server = LocalServer(gateway, loaded.site_dir, port=self.args.port,
                                     root_object=loaded.spec.distribution.default_root_object,
                                     extra_files={k: f.data for k, f in stack.context.site().items()},
                                     log=self.warn if self.args.verbose else lambda _m: None)
            except OSError as exc:
                raise LiveInsightError(f"cannot listen on 127.0.0.1:{self.args.port}: {exc.strerror}; "
                                       "choose another --port") from None
            from .local.stream import serve_poller  # the stream path: the event source mapping, locally

            poller = serve_poller(stack.context.aws, loaded, gateway, log=self.warn)
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
            if api_key is not None:
                self.say(f"  API key       {api_key}  (local only; send it as X-API-Key to realtime and stats)")
            if demo is not None:
                self.say(f"  demo traffic  page views for {DEMO_SITE}, through POST /api/events")
            self.say("Press Ctrl-C to stop.")
            try:
                if poller is not None:
                    poller.start()
                if demo is not None:
                    demo.start()
                server.serve_forever()
            except KeyboardInterrupt:
                self.say("\nStopped.")
            finally:
                if demo is not None:
                    demo.stop()
                if poller is not None:
                    poller.stop()
                server.server_close()
        return 0

    def cmd_schema(self) -> int:
        from .spec.model import StackSpec
        self.say(json.dumps(StackSpec.model_json_schema(), indent=2))
        return 0


RUN: dict[str, Callable[[Cli], int]] = {
    "plan": Cli.cmd_plan, "apply": Cli.cmd_apply, "destroy": Cli.cmd_destroy, "outputs": Cli.cmd_outputs,
    "check": Cli.cmd_check, "releases": Cli.cmd_releases, "rollback": Cli.cmd_rollback, "build": Cli.cmd_build,
    "serve": Cli.cmd_serve}


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    args = _parser().parse_args(argv)
    cli = Cli(args, out, err)
    try:
        with interrupt.handlers():  # SIGINT/SIGTERM: finish or abandon what is in flight (interrupt.py)
            return int(args.run(cli))
    except SpecError as exc:
        for problem in exc.problems:
            cli.warn(f"error: {problem}")
        return 1
    except LiveInsightError as exc:
        cli.warn(f"error: {exc}")
        return exc.exit_code
    except interrupt.Interrupted as exc:
        cli.warn(f"error: {interrupt.describe(exc, args.verb)}")
        if exc.abandoned and interrupt.abandoned_work():
            out.flush()
            err.flush()
            os._exit(exc.exit_code)  # abandoned calls still run in worker threads: do not wait for them
        return exc.exit_code
    except KeyboardInterrupt:
        cli.warn("interrupted: run the same command again to finish; nothing is left half-done")
        return 130
    except Exception as exc:
        from .aws.provider import describe_aws_error

        message = describe_aws_error(exc)  # credentials or connection trouble: one line, not a traceback
        if message is None:
            raise
        cli.warn(f"error: {message}")
        return 1
