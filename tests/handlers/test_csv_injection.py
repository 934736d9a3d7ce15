"""CSV exports: every cell quoted, and no cell a spreadsheet would read as a formula, whichever of
``,``, ``;`` or tab it is opened with (https://owasp.org/www-community/attacks/CSV_Injection)."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

import pytest
import stats_api

from shared import queries

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
HOSTILE = ["=HYPERLINK(\"http://evil\")", "x;=HYPERLINK(1)", "x,=1+1", "x\t=1", "a; +SUM(A1)", "b,@cmd",
           "c;\"=1\"", "-2+3", "\t=1", "a\n=1", "ok, fine", "x;-y", "plain"]


def hostile_answer(site: str, first: datetime, last: datetime) -> dict[str, Any]:
    rows = [{"source": v, "channel": v, "value": v, "path": v, "country": v, "name": v, "goal": v, "visitors": 1,
             "pageviews": 2,
             "visits": 3, "events": 4, "conversion_rate": 1.5, "props": {v: [{"value": v, "events": 1}]},
             "revenue": [{"currency": v, "total": "1.00", "average": "1.00"}]}
            for v in HOSTILE]
    return {"site": site, "from": "2026-12-01", "to": "2026-12-01", "visitors": 1, "pageviews": 1,
            **{field: rows for field, _ in stats_api.PANELS.values()}}


@pytest.fixture(autouse=True)
def hostile(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(queries, "stats", hostile_answer)


def body(panel: str) -> str:
    answer = stats_api.handler({"queryStringParameters": {"site": "example.com", "format": "csv", "panel": panel},
                                "headers": {}}, None)
    assert answer["statusCode"] == 200
    return str(answer["body"])


@pytest.mark.parametrize("panel", list(stats_api.PANELS))
@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_no_cell_reads_as_a_formula_whatever_the_delimiter(panel: str, delimiter: str) -> None:
    for row in csv.reader(io.StringIO(body(panel), newline=""), delimiter=delimiter):
        for cell in row:
            assert not cell.startswith(FORMULA_START), (delimiter, row)
            for part in cell.splitlines():
                assert not part.startswith(FORMULA_START), (delimiter, row)


@pytest.mark.parametrize("panel", list(stats_api.PANELS))
def test_every_cell_is_quoted_and_reads_back_with_commas(panel: str) -> None:
    text = body(panel)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    records = [line for line in text.split("\r\n") if line]  # no value here holds a CR LF
    assert len(records) == len(rows)
    assert all(line.startswith('"') and line.endswith('"') and '","' in line for line in records)
    values = {c for row in rows[1:] for c in row}
    for v in HOSTILE:
        if v == "plain" or v == "ok, fine":
            assert v in values
        else:  # kept readable: the value with a quote before each formula start
            assert any(c.replace("'", "") == v.replace("'", "") for c in values), v
