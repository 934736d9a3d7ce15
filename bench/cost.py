"""What the running product costs: the all-in price per million events of each ingest path, batching
setting and front, of a dashboard view, and of a month for sites of 10 thousand, 1 million and 100
million page views; from counts measured by running the real handlers on moto, as bench/handlers.py
runs them, times the list prices of bench/prices.py (the arithmetic: bench/cost_model.py).

    python bench/cost.py             # 200 to 1,200 visitors (6.4 events each) per path and setting
    python bench/cost.py --quick     # 30 visitors (what CI runs so the script never rots)
    python bench/cost.py --save run.json                 # keep the counts, to price them again:
    python bench/cost.py --load run.json --front edge=cloudfront_request+lambda_edge_request \
        --price cloudfront_request=1.20

What is measured, per path: requests, invocations per function and each invocation's time, DynamoDB
read and write units (items sized by DynamoDB's rules; projected reads billed on the whole item),
Kinesis records and bytes, the handlers' log lines, request and answer bytes, the bytes the table
keeps. What is assumed (ASSUMED in bench/cost_measure.py, docs/cost.md): AWS round trips, Lambda's
CPU at the configured memory, header bytes, Lambda's own log lines (their sizes are computed).
"""

from __future__ import annotations

import argparse
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

from cost_front import BuiltFront, built_fronts
from cost_measure import (
    ASSUMED,
    QUICK_VISITORS,
    ROOT,
    Measured,
    load,
    measure_all,
    save,
    specs,
    when,
)
from cost_model import (
    COLLECTOR,
    LOG_EVENT_OVERHEAD,
    MILLION,
    SECONDS_PER_MONTH,
    Front,
    Options,
    costs,
    flat_rate_plan,
    fronts,
    month,
    override_prices,
    parse_front,
    platform_lines,
)
from prices import CHECKED, PRICES, REGION, Price

import handlers as bench

EVENTS_PER_PAGEVIEW_NOTE = "as the tracker sends them: a page view, then an engagement event when it is left"
SITES = (10_000, 1_000_000, 100_000_000)  # page views a month
DASHBOARD_HOURS = 30  # a month's dashboard use: open an hour a day, realtime every 5 s, stats every minute

GROUPS = {"requests": ("requests",), "Lambda": ("lambda requests", "lambda duration"),
          "DynamoDB": ("dynamodb writes", "dynamodb reads", "dynamodb storage"), "stream": ("kinesis", "stream hours"),
          "logs": ("logs",), "transfer, fixed": ("data transfer", "fixed")}


def _usd(x: float) -> str:
    return f"{x:.2f}" if x >= 0.095 else f"{x:.3f}"


def access_log_bytes() -> int:
    """An API Gateway access log line in the stage's format, with typical values."""
    from liveinsight_infra.reconcilers.apigateway_stage import ACCESS_LOG_FORMAT

    values = {"$context.requestId": "6f2a8f0e-3b7c-4d8a-9b1e-2c4d5e6f7a8b",
              "$context.requestTime": "06/Dec/2026:20:26:23 +0000", "$context.httpMethod": "POST",
              "$context.path": "/api/event", "$context.status": "202", "$context.responseLatency": "38",
              "$context.integrationLatency": "35", "$context.responseLength": "44", "$context.error.message": "-"}
    line = ACCESS_LOG_FORMAT
    for k in sorted(values, key=len, reverse=True):
        line = line.replace(k, values[k])
    return len(line.encode()) + 1


def options_for(spec: Any, rate: float, **kw: Any) -> Options:
    return Options(rate=rate, alarms=len(spec.alarms), log_retention_days=spec.logs.retention_days,
                   event_ttl_days=spec.table.event_ttl_days, pitr=spec.table.point_in_time_recovery, **kw)


def total(c: dict[str, float]) -> float:
    return sum(c.values())


def render(direct: Measured, streams: list[Measured], board: dict[str, Measured], specs: dict[str, Any],
           all_fronts: list[Front], prices: dict[str, Price], rate: float, quick: bool, measured: str) -> str:
    rest = all_fronts[0]
    runs = [direct, *streams]
    events, views = direct.usage.events, direct.pageviews
    lines = ["## Cost: `python bench/cost.py`", "",
             f"Measured {measured}, the handlers on moto in-process{' (--quick)' if quick else ''}. "
             f"Traffic: {events / views:.2f} events per page view ("
             f"{EVENTS_PER_PAGEVIEW_NOTE}), one event per request as Plausible's trackers send them, "
             f"without `ts`; real User-Agents in {len(bench.AGENTS) * 40} variants, a country, campaign or "
             "referrer entries, one visitor in five signing up. Stream rows: 4 shards; a batch holds what one shard "
             "gets in the 1 s window; each event of a batch comes from a different visitor, except in the "
             f"rows that say otherwise. Prices: {REGION} list prices checked {CHECKED} (bench/prices.py, with their "
             "pages); the study and the assumptions are in docs/cost.md.", "",
             "Measured per event (Lambda time: the handler's own CPU time here, moto's answers left out, stretched "
             "by Lambda's share of a vCPU at the function's memory, plus an assumed round trip per AWS call; each "
             "invocation rounded up to 1 ms):", "",
             "| path | visitors, events | collector: ms of CPU here / billed ms on Lambda | aggregator: invocations "
             "per 1,000 events, ms each on Lambda | write units | read units | stream bytes (KB billed) | log bytes "
             "(handlers' lines) |", "|---|---|---|---|---|---|---|---|"]
    for r in runs:
        u, col, a = r.usage, r.samples[COLLECTOR], r.samples.get("aggregator")
        agg = f"{1000 * a.invocations / u.events:.1f}, {a.lambda_ms / a.invocations:.0f}" if a else "-"
        stream = f"{u.stream_bytes / u.events:.0f} ({u.stream_kb / u.events:.1f})" if u.stream_records else "-"
        logs = sum(s.log_bytes for s in r.samples.values()) / u.events
        lines.append(f"| {r.title} | {r.visitors:,}, {u.events:,} | "
                     f"{col.cpu_ms / col.invocations:.1f} / {col.lambda_ms / col.invocations:.1f} | "
                     f"{agg} | "
                     f"{u.write_units / u.events:.2f} | {u.read_units / u.events:.2f} | {stream} | {logs:.0f} |")
    lines += ["", f"Per million events, today's front ({rest.title}), Lambda's text logs with START, END and REPORT "
              "lines, the API's access log, Standard log class; fixed fees (alarms, WAF) spread over the month's "
              "events:", "",
              "| path | events/s | " + " | ".join(GROUPS) + " | **total, $** | with AWS WAF |",
              "|---|---|" + "---|" * len(GROUPS) + "---|---|"]
    for r in runs:
        spec = specs["stream" if r.stream else "direct"]
        at = r.rate or rate
        c = costs(r.usage, rest, options_for(spec, at), prices)
        w = costs(r.usage, rest, options_for(spec, at, waf=True), prices)
        groups = " | ".join(_usd(sum(c[k] for k in keys)) for keys in GROUPS.values())
        lines.append(f"| {r.title} | {at:,.0f} | {groups} | **{_usd(total(c))}** | {_usd(total(w))} |")
    top = next(s for s in streams if s.per_batch == 250 and s.order == "interleaved")
    pair = next((s for s in streams if s.order == "paired"), top)
    visit = next((s for s in streams if s.order == "whole"), top)
    levers: dict[str, Any] = {"platform_logs": False, "app_logs": False, "log_class": "ia", "access_logs": False}
    columns: list[tuple[str, Measured, dict[str, Any]]] = [("direct", direct, {}), ("stream, on-demand", top, {}),
               ("stream, provisioned", top, {"stream": "provisioned"}),
               ("provisioned, log levers", top, {"stream": "provisioned", **levers}),
               ("provisioned, log levers, two events of a visitor in a batch", pair,
                {"stream": "provisioned", **levers}),
               ("bound: provisioned, log levers, each visit in a batch", visit, {"stream": "provisioned", **levers})]
    lines += ["", f"Each front at {rate:,.0f} events/s, $ per million events, all-in (without AWS WAF: add "
              f"{_usd(prices['waf_request'].usd)} per million requests). *Log levers*: Lambda's JSON log format "
              "with system log level WARN (no START/REPORT lines), the handlers' line only for errors, no access "
              "log line, the Infrequent Access log class. *Two events of a visitor in a batch*: what a batching "
              "window of about 40 s holds (a shard gets 250 events a second; a batch holds at most 10,000 records "
              "and 6 MB), for visitors who view a page every 30 s. "
              "*Bound*: what no window reaches at this rate (a whole visit in one batch), for scale:", "",
              "| front | gives up | " + " | ".join(c[0] for c in columns) + " |",
              "|---|---|" + "---|" * len(columns)]
    cheapest: tuple[float, str] = (math.inf, "")
    keeping: tuple[float, str, Front, Measured, dict[str, Any]] | None = None
    for f in all_fronts:
        cells = []
        for title, r, kw in columns:
            if not f.collector and not r.stream:
                cells.append("-")
                continue
            spec = specs["stream" if r.stream else "direct"]
            v = total(costs(r.usage, f, options_for(spec, rate, **kw), prices))
            cells.append(_usd(v))
            if not title.startswith("bound"):
                cheapest = min(cheapest, (v, f"`{f.key}`, {title}"))
            if not f.loses and not title.startswith("bound") and (keeping is None or v < keeping[0]):
                keeping = (v, f"`{f.key}`, {title}", f, r, kw)
        lines.append(f"| `{f.key}`: {f.title} | {f.loses or 'nothing'} | " + " | ".join(cells) + " |")
    lines += ["", f"Cheapest at {rate:,.0f} events/s: **${cheapest[0]:.2f}** per million events ({cheapest[1]})."]
    if keeping is not None:
        v, title, f, r, kw = keeping
        c = costs(r.usage, f, options_for(specs["stream" if r.stream else "direct"], rate, **kw), prices)
        lines += [f"Cheapest that keeps the event API's promises: **${v:.2f}** ({title}); the target of $2.00 "
                  f"is {'met' if v <= 2.0 else 'NOT met'}. Its parts, $ per million events:", "",
                  "| " + " | ".join(k for k in c) + " |", "|" + "---|" * len(c),
                  "| " + " | ".join(_usd(x) for x in c.values()) + " |"]
    lines += dashboard_lines(board, rest, specs, prices)
    lines += month_lines(direct, streams, board, specs, all_fronts, prices)
    lines += ["", f"The prices ({REGION}, checked {CHECKED}; bench/prices.py, `--price KEY=USD` for another):", "",
              "| key | $ | per | source |", "|---|---|---|---|"]
    lines += [f"| `{k}` | {p.usd:g} | {p.per} | {p.source} |" for k, p in prices.items()]
    return "\n".join(lines)


def per_request(m: Measured, front: Front, specs: dict[str, Any], prices: dict[str, Price]) -> float:
    return total(costs(m.usage, front, options_for(specs["direct"], 1e12), prices)) / MILLION


def dashboard_lines(board: dict[str, Measured], rest: Front, specs: dict[str, Any],
                    prices: dict[str, Price]) -> list[str]:
    out = ["", f"The dashboard's requests (through the same front; {next(iter(board.values())).note}; `compare` as "
           "the dashboard asks):", "", "| request | Lambda ms (est.) | read units | answer bytes | $ per 1,000 |",
           "|---|---|---|---|---|"]
    each = {k: per_request(m, rest, specs, prices) for k, m in board.items()}
    for k, m in board.items():
        s = next(iter(m.samples.values()))
        out.append(f"| {k} | {s.lambda_ms / s.invocations:.0f} | {m.usage.read_units / m.usage.events:.1f} | "
                   f"{m.usage.response_bytes / m.usage.events:,.0f} | {each[k] * 1000:.4f} |")
    hour = 720 * each["realtime"] + 60 * each["stats, today"]
    out += ["", f"One view: today ${each['realtime'] + each['stats, today']:.6f}, 30 days "
            f"${each['realtime'] + each['stats, 30 days']:.6f}; an hour with the dashboard open (realtime every "
            f"5 s, stats every minute): ${hour:.4f}."]
    return out


def month_lines(direct: Measured, streams: list[Measured], board: dict[str, Measured], specs: dict[str, Any],
                all_fronts: list[Front], prices: dict[str, Price]) -> list[str]:
    by_key = {f.key: f for f in all_fronts}
    each = {k: per_request(m, by_key["rest"], specs, prices) for k, m in board.items()}
    dashboard = DASHBOARD_HOURS * (720 * each["realtime"] + 60 * each["stats, today"])
    per_view = direct.usage.events / direct.pageviews
    cols = [("today: `rest`, direct", "rest", None, {}), ("`rest`, stream", "rest", "on_demand", {}),
            ("`function_url`, direct", "function_url", None, {}),
            ("`function_url`, stream, provisioned", "function_url", "provisioned", {}),
            ("`function_url`, direct, log levers", "function_url", None,
             {"platform_logs": False, "app_logs": False, "log_class": "ia"})]
    out = ["", f"A month, $, for a site of N page views ({per_view:.2f} events each), with the dashboard open "
           f"{DASHBOARD_HOURS} hours (${dashboard:.2f}) and the fixed fees (alarms; a stream's hours or shards); "
           "without AWS WAF and without free tiers. A stream row uses the measured batch size nearest below the "
           "one the site's average rate fills:", "",
           "| page views a month | events/s | " + " | ".join(c[0] for c in cols) + " | CloudFront flat-rate plan |",
           "|---|---|" + "---|" * len(cols) + "---|"]
    for pv in SITES:
        events = pv * per_view
        rate = events / SECONDS_PER_MONTH
        fill = max(1.0, rate / 4)
        near = max((s for s in streams if s.per_batch <= fill and s.order == "interleaved"),
                   key=lambda s: s.per_batch)
        cells = []
        for _, key, mode, kw in cols:
            r, spec = (near, specs["stream"]) if mode else (direct, specs["direct"])
            settings: dict[str, Any] = {**kw, **({"stream": mode} if mode else {})}
            o = options_for(spec, rate, **settings)
            cells.append(f"{month(r.usage, by_key[key], o, events, prices) + dashboard:,.2f}")
        plan = flat_rate_plan(events + 780 * DASHBOARD_HOURS)
        lines_plan = f"{plan[0]}, ${plan[1]:,.0f}" if plan else "none"
        out.append(f"| {pv:,} | {rate:.3f} | " + " | ".join(cells) + f" | {lines_plan} |")
    kept = max(r.kept_bytes / r.usage.events for r in [direct, *streams])
    out += ["", f"Counters have no expiry: up to {kept:.0f} bytes per event stay in the table for good "
            f"(${kept * MILLION / (1 << 30) * prices['dynamodb_storage_gb_month'].usd:.3f} a month per million "
            "events ever counted, before point-in-time recovery); they are shared by a day's events, so a busier "
            "site keeps fewer per event."]
    return out


def built_lines(built: list[BuiltFront]) -> list[str]:
    """How each ``ingest.front`` was built (bench/cost_front.py): what the price of its row rests on."""
    out = ["", "The fronts `rest` and `function_url` are priced from what `apply` builds for `ingest.front` "
           "(specs/dev.yaml with each, on moto; bench/cost_front.py reads back the distribution's behavior for "
           "`/api/event`, its origin, the stage's access log and the function URL):", "",
           "| ingest.front | event path's origin | origin secret | function URL auth type | access log line | "
           "web ACL |", "|---|---|---|---|---|---|"]
    for b in built:
        kind = "the collector's function URL" if b.origin_kind == "function_url" else "the REST API's stage"
        out.append(f"| `{b.spec_front}` | {kind} | {'yes' if b.origin_secret else 'no'} | {b.url_auth_type or '-'} "
                   f"| {'yes' if b.access_log else 'no'} | {'yes' if b.web_acl else 'no'} |")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help=f"{QUICK_VISITORS} visitors per path: a smoke run")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "BENCHMARKS.md", help="the file whose section to write")
    ap.add_argument("--rate", type=float, default=1_000.0,
                    help="events per second the fronts' table spreads fixed fees and stream hours over (its stream "
                         "columns keep their measured batches of 250)")
    ap.add_argument("--front", action="append", default=[], metavar="NAME=FEE+FEE",
                    help="one more front: the price keys each request pays (bench/prices.py)")
    ap.add_argument("--price", action="append", default=[], metavar="KEY=USD", help="another price for a key")
    ap.add_argument("--save", type=Path, metavar="FILE", help="also write the measured counts to FILE (JSON)")
    ap.add_argument("--load", type=Path, metavar="FILE",
                    help="price the counts of an earlier --save instead of measuring (new fronts, other prices)")
    args = ap.parse_args()
    try:
        prices = override_prices(PRICES, args.price)
        extra = [parse_front(f, prices) for f in args.front]
    except ValueError as exc:
        ap.error(str(exc))
    if args.rate <= 0:
        ap.error("--rate: a positive number of events per second")
    edge = sum(n + LOG_EVENT_OVERHEAD for n in platform_lines(ASSUMED["edge_ms"], 128))
    built = built_fronts(access_log_bytes())  # what apply builds for each ingest.front, read back from moto
    by_key = {f.key: f for _, f in built}
    # The built fronts take the place of the descriptions of the same fronts (rest; url-header).
    described = [replace(f, edge_ms=int(ASSUMED["edge_ms"])) if f.edge_ms else f
                 for f in fronts(access_log_bytes(), edge) if f.key not in ("rest", "url-header")]
    all_fronts = [by_key["rest"], by_key["function_url"], *described, *extra]
    if args.load:
        try:
            direct, streams, board, quick, measured = load(args.load)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            ap.error(f"--load {args.load}: not the counts of a --save ({exc})")
    else:
        direct, streams, board = measure_all(args.quick)
        quick, measured = args.quick, when()
        if args.save:
            save(args.save, direct, streams, board, quick)
    body = render(direct, streams, board, specs(), all_fronts, prices, args.rate, quick, measured)
    body += "\n" + "\n".join(built_lines([b for b, _ in built]))
    print(body)
    from provision import write_section

    write_section(args.out, "cost", body)


if __name__ == "__main__":
    main()
