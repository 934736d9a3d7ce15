"""``GET /api/stats?site=&period=day|7d|30d`` (or ``from``/``to`` dates): the site's statistics.

Visitors, page views, top pages and referrers, and a time series: hourly for one day, daily
otherwise. Dates are UTC. A range spans at most 92 days.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.http import respond
from shared.log import error_text, log_request
from shared.validate import valid_site

NAME = "stats-api"
PERIODS = {"day": 1, "7d": 7, "30d": 30}
MAX_DAYS = 92


def period_of(params: dict[str, str], today: datetime) -> tuple[datetime, datetime]:
    """The first and last day asked for, or ValueError with the message for the client."""
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
    if period not in PERIODS:
        raise ValueError(f"period: one of {', '.join(PERIODS)} (or from and to)")
    return today - timedelta(days=PERIODS[period] - 1), today


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    started = time.monotonic()
    params = event.get("queryStringParameters") or {}
    site = params.get("site")
    if not valid_site(site):
        log_request(NAME, event, 400, started)
        return respond(event, 400, {"error": "site: required, a lower-case host name such as example.com"})
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    try:
        first, last = period_of(params, today)
    except ValueError as exc:
        log_request(NAME, event, 400, started, site=site)
        return respond(event, 400, {"error": str(exc)})
    try:
        from shared import store

        data = store.stats(str(site), first, last)
    except Exception as exc:
        log_request(NAME, event, 503, started, error=error_text(exc))
        return respond(event, 503, {"error": "statistics are unavailable now; retry later"})
    log_request(NAME, event, 200, started, site=site, days=(last - first).days + 1)
    return respond(event, 200, data)
