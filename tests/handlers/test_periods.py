"""Which partitions answer a period (shared/periods.py): days up to 92 days, whole months from their
rollups beyond, the edges from days; Plausible's month-aligned 6mo/12mo/year; the period before."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import stats_api

from shared import periods


def d(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)


def test_twelve_months_are_whole_months_across_the_new_year() -> None:
    first, last = stats_api.period_of({"period": "12mo"}, d("2026-02-14"))
    assert (first, last) == (d("2025-03-01"), d("2026-02-28"))
    parts = periods.partitions(first, last)
    assert parts == [f"2025-{m:02d}" for m in range(3, 13)] + ["2026-01", "2026-02"]
    assert periods.series_points(first, last)[0] == "2025-03-01" and len(periods.series_points(first, last)) == 12


def test_year_six_months_and_all() -> None:
    assert stats_api.period_of({"period": "year"}, d("2026-12-07")) == (d("2026-01-01"), d("2026-12-31"))
    assert stats_api.period_of({"period": "6mo"}, d("2026-03-31")) == (d("2025-10-01"), d("2026-03-31"))
    assert stats_api.period_of({"period": "all"}, d("2026-12-07"), lambda: "2024-05") == (d("2024-05-01"),
                                                                                           d("2026-12-31"))
    assert stats_api.period_of({"period": "all"}, d("2026-12-07")) == (d("2026-12-01"), d("2026-12-31"))


def test_a_long_range_reads_months_and_its_edge_days() -> None:
    parts = periods.partitions(d("2026-01-30"), d("2026-06-02"))
    assert parts == ["2026-01-30", "2026-01-31", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06-01",
                     "2026-06-02"]
    assert periods.series_points(d("2026-01-30"), d("2026-06-02")) == [f"2026-{m:02d}-01" for m in range(1, 7)]


@pytest.mark.parametrize("days", [1, 30, 92])
def test_up_to_92_days_reads_days(days: int) -> None:
    last = d("2026-03-31")
    first = last.fromordinal(last.toordinal() - days + 1).replace(tzinfo=UTC)
    assert periods.partitions(first, last) == periods.series_points(first, last)
    assert all(len(p) == 10 for p in periods.partitions(first, last))


def test_the_period_before_is_as_many_whole_months() -> None:
    assert periods.previous(d("2025-03-01"), d("2026-02-28")) == (d("2024-03-01"), d("2025-02-28"))
    assert periods.previous(d("2026-01-10"), d("2026-01-12")) == (d("2026-01-07"), d("2026-01-09"))
    with pytest.raises(ValueError, match="too early"):
        stats_api.previous_period(d("0001-01-01"), d("0001-12-31"))
