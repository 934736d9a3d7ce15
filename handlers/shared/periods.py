"""Periods of ``GET /api/stats`` and the counter partitions that answer them (docs/http-api.md).

A period of up to ``DAILY_DAYS`` days reads its days' partitions (``C#{site}#{YYYY-MM-DD}#s{k}``) and
has a daily series. A longer one reads each whole month it covers from the month's rollup
(``C#{site}#{YYYY-MM}#s{k}``, months.py) and only the days of a month it covers in part, and has a
monthly series: at most 12 S queries for 12 months, where 30 days are 30 S.

``12mo``, ``6mo`` and ``year`` are whole months, as Plausible's query.ex has them: the 11 (5) months
before this one and this month to its end; the calendar year. ``all`` runs from the first day of the
site's first month to the end of this month.
"""

from __future__ import annotations

from datetime import datetime, timedelta

DAILY_DAYS = 92


def month_start(day: datetime, shift: int = 0) -> datetime:
    """The first day of ``day``'s month, ``shift`` months later (earlier when negative)."""
    index = day.year * 12 + day.month - 1 + shift
    return day.replace(year=index // 12, month=index % 12 + 1, day=1)


def month_end(day: datetime) -> datetime:
    return month_start(day, 1) - timedelta(days=1)


def months_back(today: datetime, months: int) -> tuple[datetime, datetime]:
    """Plausible's ``6mo``/``12mo``: ``months`` whole months ending with this one."""
    return month_start(today, 1 - months), month_end(today)


def whole_months(first: datetime, last: datetime) -> bool:
    return first.day == 1 and last == month_end(last)


def monthly(first: datetime, last: datetime) -> bool:
    """Whether the period reads month rollups and has a monthly series."""
    return (last - first).days + 1 > DAILY_DAYS


def partitions(first: datetime, last: datetime) -> list[str]:
    """The counter partitions' dates of the period: ``YYYY-MM-DD`` for days, ``YYYY-MM`` for months."""
    day = first
    out: list[str] = []
    long = monthly(first, last)
    while day <= last:
        if long and day.day == 1 and month_end(day) <= last:
            out.append(day.strftime("%Y-%m"))
            day = month_start(day, 1)
        else:
            out.append(day.strftime("%Y-%m-%d"))
            day += timedelta(days=1)
    return out


def series_points(first: datetime, last: datetime) -> list[str]:
    """The series' points: each day, or for a long period each month (``YYYY-MM-01``)."""
    if not monthly(first, last):
        return [(first + timedelta(days=i)).strftime("%Y-%m-%d") for i in range((last - first).days + 1)]
    points, month = [], month_start(first)
    while month <= last:
        points.append(month.strftime("%Y-%m-01"))
        month = month_start(month, 1)
    return points


def previous(first: datetime, last: datetime) -> tuple[datetime, datetime]:
    """The period just before: as many whole months for whole months, else as many days (OverflowError
    before year 1)."""
    if whole_months(first, last) and monthly(first, last):
        count = (last.year - first.year) * 12 + last.month - first.month + 1
        start = month_start(first, -count)
        return start, first - timedelta(days=1)
    return first - (last - first) - timedelta(days=1), first - timedelta(days=1)


def day_before(partition: str) -> str:
    """The day before a partition's first day (a day ``YYYY-MM-DD`` or a month ``YYYY-MM``)."""
    first = datetime.strptime(partition if len(partition) > 7 else f"{partition}-01", "%Y-%m-%d")
    return (first - timedelta(days=1)).strftime("%Y-%m-%d")
