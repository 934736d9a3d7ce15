"""Day counters that ride on their month's rows (shared/on_month.py): a custom event with new props
writes one counter item per props value, not two, a new visitor's device, browser and OS one each,
and a day's panels read the same as before."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from shared import breakdowns, caps, periods
from shared.validate import Event
from tests.handlers.conftest import Api
from tests.handlers.test_long_periods import UA, store_direct, store_stream, today

SITE = "example.com"


def goal(day_back: int, n: int, props: dict[str, str], visitor: str) -> tuple[Event, str]:
    noon = int((today() - timedelta(days=day_back)).timestamp() * 1000) + 12 * 3600 * 1000 + n * 1000
    url = f"https://{SITE}/"
    return Event("signup", url, "/", SITE, "", props, noon, True,
                 dims=breakdowns.derive(url, None, {}, UA, SITE)), visitor


def props_rows(api: Api, partition: str) -> set[str]:
    return {i["sk"]["S"] for i in api.items(f"C#{SITE}#{partition}#s") if "gp#" in i["sk"]["S"]}


def day_props(api: Api, day: str) -> dict[str, Any]:
    answer = api.stats(SITE, **{"from": day, "to": day})
    return {g["goal"]: g["props"] for g in answer["goals"]}


def client_rows(api: Api, partition: str) -> set[str]:
    return {i["sk"]["S"] for i in api.items(f"C#{SITE}#{partition}#s")
            if i["sk"]["S"].partition("#")[0] in ("br", "os", "dev", "f") and "gp#" not in i["sk"]["S"]}


@pytest.mark.parametrize("ingest", [store_direct, store_stream])
def test_a_days_props_are_kept_on_the_months_rows(api: Api, ingest: Any) -> None:
    day = periods.month_start(today(), -2) + timedelta(days=4)  # a day of a past month
    back = (today() - day).days
    key = day.strftime("%Y-%m-%d")
    ingest([goal(back, i, {f"k{j}": f"v{(i + j) % 3}" for j in range(10)}, f"{i:020x}") for i in range(4)])
    assert props_rows(api, key) == set()  # no day rows: the month's carry the day
    month = props_rows(api, key[:7])
    assert len(month) == 10 * 3
    assert client_rows(api, key) == set()
    assert client_rows(api, key[:7]) == {"f#br#Firefox", "f#os#Linux", "f#dev#desktop"}
    answer = api.stats(SITE, **{"from": key, "to": key})
    assert (answer["browsers"], answer["os"], answer["devices"]) == (
        [{"name": "Firefox", "visitors": 4}], [{"name": "Linux", "visitors": 4}], [{"name": "desktop", "visitors": 4}])
    props = day_props(api, key)["signup"]
    assert sorted(props) == [f"k{j}" for j in range(10)]
    for j in range(10):
        want: dict[str, int] = {}
        for i in range(4):
            want[f"v{(i + j) % 3}"] = want.get(f"v{(i + j) % 3}", 0) + 1
        assert {r["value"]: r["events"] for r in props[f"k{j}"]} == want


@pytest.mark.parametrize("ingest", [store_direct, store_stream])
def test_a_value_past_the_months_cap_keeps_its_day_row(api: Api, ingest: Any,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The month admits 2 values of the key over its days; the second day's own 2 values count on that
    day as before (its day rows), and under (other) in the month."""
    monkeypatch.setenv("LIVEINSIGHT_CAPS", json.dumps({"prop_keys": 1, "prop_values": 2}))
    caps.reset_for_tests()
    first = periods.month_start(today(), -2) + timedelta(days=2)  # two days of a past month
    second = first + timedelta(days=1)
    ingest([goal((today() - first).days, i, {"plan": f"a{i % 2}"}, f"{i:020x}") for i in range(3)]
           + [goal((today() - second).days, i, {"plan": f"b{i % 2}"}, f"{i + 9:020x}") for i in range(5)])
    assert props_rows(api, first.strftime("%Y-%m-%d")) == set()
    assert props_rows(api, second.strftime("%Y-%m-%d")) == {"gp#signup#plan#b0", "gp#signup#plan#b1"}
    first_props = day_props(api, first.strftime("%Y-%m-%d"))["signup"]["plan"]
    second_props = day_props(api, second.strftime("%Y-%m-%d"))["signup"]["plan"]
    assert {r["value"]: r["events"] for r in first_props} == {"a0": 2, "a1": 1}
    assert {r["value"]: r["events"] for r in second_props} == {"b0": 3, "b1": 2}
