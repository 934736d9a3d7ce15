"""``GET /api/stats?site=&period=day|7d|30d|6mo|12mo|year|all`` (or ``from``/``to`` dates): the site's
statistics.

Visitors, page views, top pages and referrers, a time series (hourly for one day, daily up to 92
days, monthly beyond) and the breakdowns (sources, UTM, countries, devices, browsers, OS, pages,
goals). Dates are UTC. A range spans at most ``MAX_DAYS``; past 92 days it is read from month
rollups (shared/periods.py). ``compare=previous_period`` adds the headline
figures of the period of the same length just before; ``format=csv&panel=NAME`` answers one
breakdown as CSV (docs/http-api.md).
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from shared import periods
from shared.http import respond
from shared.log import error_text, log_request
from shared.validate import valid_site

NAME = "stats-api"
PERIODS = {"day": 1, "7d": 7, "30d": 30}
MONTH_PERIODS = {"6mo": 6, "12mo": 12}  # whole months ending with this one (periods.py)
MAX_DAYS = 3660  # from/to: ten years, at most 62 days' and 120 months' partitions
# panel -> the answer's field and the CSV columns (the keys of its rows)
PANELS: dict[str, tuple[str, tuple[str, ...]]] = {
    "sources": ("sources", ("source", "visitors", "pageviews")),
    "utm_mediums": ("utm_mediums", ("value", "visitors")),
    "utm_campaigns": ("utm_campaigns", ("value", "visitors")),
    "pages": ("pages", ("path", "visitors", "pageviews")),
    "entry_pages": ("entry_pages", ("path", "visits")),
    "exit_pages": ("exit_pages", ("path", "visits")),
    "countries": ("countries", ("country", "visitors")),
    "devices": ("devices", ("name", "visitors")),
    "browsers": ("browsers", ("name", "visitors")),
    "os": ("os", ("name", "visitors")),
    "channels": ("channels", ("channel", "visitors", "pageviews")),
    "goals": ("goals", ("goal", "visitors", "events", "conversion_rate")),
    "goal_props": ("goals", ("goal", "key", "value", "events")),
    "goal_revenue": ("goals", ("goal", "currency", "total", "average")),
}
# A synchronous Lambda response is at most 6 MB, counted as the runtime serialises it, where the
# body's escapes are escaped again (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
# Rows are few but long (paths near 2,000 characters, any of them outside the BMP): the answer is
# cut to this, with room for the headers.
MAX_ANSWER_BYTES = 5 * 1024 * 1024
# A cell a spreadsheet would read as a formula gets a quote before it
# (https://owasp.org/www-community/attacks/CSV_Injection): sources, campaigns and props are sent by anyone.
# Every cell is quoted; but opened with another delimiter than the comma (``;`` is the default in
# many locales, or a tab), the quoting no longer holds and the cell splits at each ``;``, ``,``, tab or
# line break in it: what follows one (past blanks and quotes) is a cell start too, and gets the quote.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_SPLIT_FORMULA = re.compile(r"([,;\t\r\n][\s\"']*)(?=[=+\-@\t\r])")


def period_of(params: dict[str, str], today: datetime,
              first_month: Callable[[], str | None] = lambda: None) -> tuple[datetime, datetime]:
    """The first and last day asked for, or ValueError with the message for the client.
    ``first_month``: the site's first month (``YYYY-MM``), asked for ``period=all`` only."""
    if "from" in params or "to" in params:
        try:
            first = datetime.strptime(params.get("from", ""), "%Y-%m-%d").replace(tzinfo=UTC)
            last = datetime.strptime(params.get("to", ""), "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError:
            raise ValueError("from and to: both required, as YYYY-MM-DD") from None
        if first > last:
            raise ValueError("from: must not be after to")
        if (last - first).days + 1 > MAX_DAYS:
            raise ValueError(f"from/to: at most {MAX_DAYS} days")
        if last > today + timedelta(days=1):
            raise ValueError("to: in the future")
        return first, last
    period = params.get("period", "day")
    if period in MONTH_PERIODS:
        return periods.months_back(today, MONTH_PERIODS[period])
    if period == "year":
        return today.replace(month=1, day=1), today.replace(month=12, day=31)
    if period == "all":
        since = first_month()
        start = datetime.strptime(since, "%Y-%m").replace(tzinfo=UTC) if since else today
        return periods.month_start(min(start, today)), periods.month_end(today)
    if period not in PERIODS:
        raise ValueError(f"period: one of {', '.join([*PERIODS, *MONTH_PERIODS, 'year', 'all'])} (or from and to)")
    return today - timedelta(days=PERIODS[period] - 1), today


def previous_period(first: datetime, last: datetime) -> tuple[datetime, datetime]:
    """The period of the same number of days (of whole months, for a long period of whole months) that
    ends the day before ``first``, or ValueError for the client when it would begin before the first
    day a date can name (year 1)."""
    try:
        return periods.previous(first, last)
    except (OverflowError, ValueError):
        raise ValueError("from: too early to compare with the period before") from None


def headline(data: dict[str, Any]) -> dict[str, Any]:
    """The period and every single figure of an answer (visitors, pageviews, and any other number)."""
    return {"from": data["from"], "to": data["to"],
            **{k: v for k, v in data.items() if isinstance(v, int | float) and not isinstance(v, bool)}}


def _size(value: Any) -> int:
    """Bytes ``value`` adds to the response as the Lambda runtime serialises it."""
    return len(json.dumps(json.dumps(value, separators=(",", ":"))))


def fit(data: dict[str, Any], budget: int = MAX_ANSWER_BYTES) -> dict[str, Any]:
    """``data`` cut to ``budget`` bytes: first the props of the goals ranked lowest, then the last rows of
    the longest lists; ``truncated: true`` says something was left out."""
    total = _size(data)
    if total <= budget:
        return data
    for goal in reversed(data.get("goals", [])):
        if total <= budget:
            break
        if goal["props"]:
            total -= _size(goal["props"]) - _size({})
            goal["props"] = {}
    lists = [k for k, v in data.items() if isinstance(v, list) and k != "timeseries"]
    while total > budget and any(data[k] for k in lists):
        name = max(lists, key=lambda k: len(data[k]))
        total -= _size(data[name].pop()) - 1  # less its two quotes, plus its comma
    data["truncated"] = True
    return data


def _cell(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    value = _SPLIT_FORMULA.sub(lambda m: f"{m.group(1)}'", value)
    return f"'{value}" if value.lstrip(" \"").startswith(_FORMULA_START) else value


def panel_rows(data: dict[str, Any], panel: str) -> tuple[tuple[str, ...], list[list[Any]]]:
    field, columns = PANELS[panel]
    if panel == "goal_props":
        return columns, [[g["goal"], key, v["value"], v["events"]]
                         for g in data.get(field, []) for key, values in g["props"].items() for v in values]
    if panel == "goal_revenue":
        return columns, [[g["goal"], r["currency"], r["total"], r["average"]]
                         for g in data.get(field, []) for r in g.get("revenue", [])]
    return columns, [[row.get(c, "") for c in columns] for row in data.get(field, [])]


def csv_answer(event: dict[str, Any], data: dict[str, Any], panel: str) -> dict[str, Any]:
    """One panel as ``text/csv``: a header row, then a row per entry (RFC 4180, every cell quoted, CRLF)."""
    columns, rows = panel_rows(data, panel)
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL)
    writer.writerow(columns)
    size = _size(out.getvalue())
    for row in rows:  # the top rows, as many as fit a response
        line = io.StringIO()
        csv.writer(line, quoting=csv.QUOTE_ALL).writerow([_cell(v) for v in row])
        size += _size(line.getvalue()) - 2
        if size > MAX_ANSWER_BYTES:
            break
        out.write(line.getvalue())
    answer = respond(event, 200, None)
    answer["headers"].update({"Content-Type": "text/csv; charset=utf-8", "Content-Disposition":
                              f'attachment; filename="{data["site"]}-{panel}-{data["from"]}-{data["to"]}.csv"'})
    answer["body"] = out.getvalue()
    return answer


def options(params: dict[str, str]) -> tuple[str | None, bool]:
    """The CSV panel asked for (None for JSON) and whether to compare, or ValueError for the client."""
    fmt = params.get("format", "json")
    if fmt not in ("json", "csv"):
        raise ValueError("format: json or csv")
    compare = params.get("compare")
    if compare not in (None, "", "previous_period"):
        raise ValueError("compare: previous_period is the only comparison")
    if fmt == "json":
        return None, compare == "previous_period"
    panel = params.get("panel")
    if not panel:
        raise ValueError(f"panel: required with format=csv, one of {', '.join(PANELS)}")
    if panel not in PANELS:
        raise ValueError(f"panel: one of {', '.join(PANELS)}")
    return panel, False


def _first_month(site: str) -> str | None:
    from shared import queries

    return queries.first_month(site)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    started = time.monotonic()
    params = event.get("queryStringParameters") or {}
    site = params.get("site")
    if not valid_site(site):
        log_request(NAME, event, 400, started)
        return respond(event, 400, {"error": "site: required, a lower-case host name such as example.com"})
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    try:
        first, last = period_of(params, today, lambda: _first_month(str(site)))
        panel, compare = options(params)
        before = previous_period(first, last) if compare else None
    except ValueError as exc:
        log_request(NAME, event, 400, started, site=site)
        return respond(event, 400, {"error": str(exc)})
    except Exception as exc:  # the site's first month could not be read (period=all)
        log_request(NAME, event, 503, started, error=error_text(exc))
        return respond(event, 503, {"error": "statistics are unavailable now; retry later"})
    try:
        from shared import queries

        if before:  # the same number of partitions again (still bounded by the window), read side by side
            with ThreadPoolExecutor(max_workers=2) as periods:
                now, earlier = (periods.submit(queries.stats, str(site), *p) for p in ((first, last), before))
                data = now.result()
                data["comparison"] = headline(earlier.result())
        else:
            data = queries.stats(str(site), first, last)
    except Exception as exc:
        log_request(NAME, event, 503, started, error=error_text(exc))
        return respond(event, 503, {"error": "statistics are unavailable now; retry later"})
    log_request(NAME, event, 200, started, site=site, days=(last - first).days + 1)
    return csv_answer(event, data, panel) if panel else respond(event, 200, fit(data))
