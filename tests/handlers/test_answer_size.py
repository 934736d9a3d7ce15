"""``GET /api/stats`` stays within what Lambda can return, whatever anyone posted.

Row counts are bounded (docs/http-api.md), but a row's text is not small: goal names of 120
characters, props keys and values of 100, paths near 2,000, each character possibly outside the
BMP. A site whose events carry the most distinct such values must still get its statistics: a
synchronous Lambda response is at most 6 MB, counted on the response as the runtime serialises it
(https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html), or API Gateway answers 502.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any

import pytest
import stats_api

from shared import breakdowns, queries, visits

LAMBDA_RESPONSE_BYTES = 6 * 1024 * 1024
WIDE = "\U0001F600"  # 4 bytes in UTF-8, 12 characters as a JSON escape


def _text(tag: str, n: int) -> str:
    return (tag + WIDE * n)[:n]


def _enc(part: str) -> str:
    return part.replace("%", "%25").replace("#", "%23")


def worst_answer(site: str, first: datetime, last: datetime) -> dict[str, Any]:
    """The answer for counters holding the most rows the answer shows, each as long as it may be."""
    found, figures = breakdowns.Breakdowns(), visits.Figures()
    for g in range(150):
        name = _text(f"g{g}", 120)
        found.add(f"goal#{g}", {"whole": name, "events": 5, "uv": 5})
        for k in range(25):
            for v in range(12):
                parts = "#".join(_enc(x) for x in (name, _text(f"k{k}", 100), _text(f"v{v}", 100)))
                found.add(f"gp#{g}-{k}-{v}", {"whole": parts, "events": 1})
    for i in range(150):
        path = "/" + _text(f"p{i}", 1900)
        found.add(f"page#{i}", {"whole": path, "pv": 2, "uv": 1})
        for prefix in ("src", "med", "cmp"):
            found.add(f"{prefix}#{i}", {"whole": _text(f"{prefix}{i}", 100), "pv": 1, "uv": 1})
        figures.add({"sk": f"entry#{i}", "whole": path, "visits": 1})
        figures.add({"sk": f"exit#{i}", "whole": path, "visits": 1})
    pages = [{"path": "/" + _text(f"t{i}", 1900), "pageviews": 9} for i in range(10)]
    refs = [{"referrer": _text(f"r{i}", 1900), "pageviews": 9} for i in range(10)]
    return {"site": site, "from": first.strftime("%Y-%m-%d"), "to": last.strftime("%Y-%m-%d"), "visitors": 750,
            "pageviews": 300, "top_pages": pages, "top_referrers": refs,
            "timeseries": [{"time": f"{first:%Y-%m-%d}T{h:02d}:00:00Z", "visitors": 1, "pageviews": 1}
                           for h in range(24)],
            **found.fields(750), **figures.fields()}


def _call(query: dict[str, str]) -> dict[str, Any]:
    result: dict[str, Any] = stats_api.handler({"queryStringParameters": {"site": "example.com", **query},
                                                "headers": {}}, None)
    assert result["statusCode"] == 200
    # The runtime serialises the response as JSON: the body's escapes are escaped again.
    assert len(json.dumps(result).encode("utf-8")) <= LAMBDA_RESPONSE_BYTES
    return result


@pytest.fixture
def worst(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(queries, "stats", worst_answer)


@pytest.mark.usefixtures("worst")
def test_the_json_answer_fits_a_lambda_response_and_keeps_the_top_rows() -> None:
    got = json.loads(_call({"period": "day", "compare": "previous_period"})["body"])
    assert got["visitors"] == 750 and got["comparison"]["visitors"] == 750
    assert got["goals"][0]["goal"] == _text("g0", 120)
    assert got["goals"][0]["props"]  # the top goal keeps its props
    assert got["truncated"] is True


@pytest.mark.usefixtures("worst")
@pytest.mark.parametrize("panel", ["goal_props", "pages", "goals", "entry_pages"])
def test_every_csv_panel_fits_a_lambda_response(panel: str) -> None:
    body = _call({"period": "day", "format": "csv", "panel": panel})["body"]
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == list(stats_api.PANELS[panel][1]) and len(rows) > 1
