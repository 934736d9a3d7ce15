"""event-collector: numbers, strings, key sizes, visitors' addresses, bots per day, Plausible's payloads."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import realtime_api
import stats_api

from tests.handlers.conftest import Api

GOOD = {"name": "pageview", "url": "https://example.com/pricing", "domain": "example.com"}
UA = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"


def one(api: Api, body: Any = None, raw: str | None = None, **kw: Any) -> tuple[int, dict[str, Any]]:
    status, answer, _ = api.post(body, raw=raw, **kw)
    return status, answer


def raw_items(api: Api, site: str = "example.com") -> list[dict[str, Any]]:
    return [i for i in api.items(f"EV#{site}#") if "guard" not in i]


def test_a_float_prop_is_stored_exactly(api: Api) -> None:
    status, body = one(api, {**GOOD, "props": {"price": 9.99, "tiny": 1e-130, "big": 10 ** 37, "neg": -0.5}})
    assert status == 202 and body["accepted"] == 1, body
    (item,) = raw_items(api)
    props = item["props"]["M"]
    assert props["price"] == {"N": "9.99"} and props["neg"] == {"N": "-0.5"}
    assert props["big"] == {"N": str(10 ** 37)} and props["tiny"]["N"] in ("1E-130", "1e-130")


@pytest.mark.parametrize(("text", "field"), [
    ('{"price": 1e309}', "props.price"),
    ('{"price": -1e126}', "props.price"),
    ('{"price": 1e-131}', "props.price"),
    ('{"price": 123456789012345678901234567890123456789}', "props.price"),  # 39 digits
    ('{"price": 1.23456789012345678901234567890123456789}', "props.price"),
    ('{"price": NaN}', "props.price"),
    ('{"price": Infinity}', "props.price"),
])
def test_numbers_outside_dynamodb_bounds_are_rejected_naming_the_field(api: Api, text: str, field: str) -> None:
    raw = f'[{{"name":"pageview","url":"https://example.com/","domain":"example.com","props":{text}}},' \
          f'{json.dumps(GOOD)}]'
    status, body = one(api, raw=raw)
    assert status == 202 and body["accepted"] == 1, body
    assert body["rejected"][0]["error"].startswith(f"{field}:"), body


def test_one_float_in_a_batch_of_31_is_stored_with_the_others(api: Api) -> None:
    batch = [{**GOOD, "url": f"https://example.com/{i}"} for i in range(30)] + [{**GOOD, "props": {"p": 0.1}}]
    status, body = one(api, batch)
    assert status == 202 and body["accepted"] == 31
    assert api.stats("example.com")["pageviews"] == 31


@pytest.mark.parametrize(("raw", "field"), [
    ('{"name":"pageview","url":"https://example.com/\\ud800","domain":"example.com"}', "url"),
    ('{"name":"sign\\udfffup","url":"https://example.com/","domain":"example.com"}', "name"),
    ('{"name":"pageview","url":"https://example.com/","domain":"example.com","props":{"k":"\\ud800"}}', "props.k"),
    ('{"name":"pageview","url":"https://example.com/","domain":"example.com","props":{"\\ud800":"v"}}', "props."),
    ('{"name":"pageview","url":"https://example.com/","domain":"example.com","referrer":"https://a.org/\\ud800"}',
     "referrer"),
])
def test_lone_surrogates_are_a_400_naming_the_field(api: Api, raw: str, field: str) -> None:
    status, body = one(api, raw=raw)
    assert status == 400, body
    assert body["rejected"][0]["error"].startswith(field), body
    assert api.items("C#") == [] and api.items("EV#") == []


def test_a_long_path_and_referrer_host_are_counted_and_shown_whole(api: Api) -> None:
    path = "/" + "é" * 990  # 1,980 bytes: over DynamoDB's 1,024-byte sort key
    host = ".".join(["r" * 60] * 16) + ".example"  # a 984-character host name
    for i in range(3):  # three page views, not one retried: the URLs differ
        status, body = one(api, {**GOOD, "url": f"https://example.com{path}?v={i}", "referrer": f"https://{host}/x"})
        assert status == 202 and body["accepted"] == 1, body
    s = api.stats("example.com")
    assert s["pageviews"] == 3
    assert s["top_pages"] == [{"path": path, "pageviews": 3}]
    assert s["top_referrers"] == [{"referrer": host, "pageviews": 3}]
    assert api.realtime("example.com")["top_pages"] == [{"path": path, "visitors": 1}]


def test_forwarded_for_is_not_trusted_by_default(api: Api) -> None:
    for fake in ("10.1.1.1", "10.2.2.2", "10.3.3.3"):
        api.post(GOOD, ip="198.51.100.20", headers={"Via": "2.0 abc.cloudfront.net (CloudFront)",
                                                    "X-Forwarded-For": f"{fake}, 198.51.100.20"})
    assert api.stats("example.com")["visitors"] == 1


def test_forwarded_for_is_used_when_the_spec_trusts_it(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVEINSIGHT_TRUST_FORWARDED_FOR", "true")
    for fake in ("192.0.2.1", "192.0.2.2", "192.0.2.2"):
        api.post(GOOD, ip="198.51.100.20", headers={"X-Forwarded-For": f"{fake}, 198.51.100.20"})
    assert api.stats("example.com")["visitors"] == 2


@pytest.mark.parametrize(("a", "b", "visitors"), [
    ("198.51.100.9:46532", "198.51.100.9:50000", 1),  # one viewer, two source ports
    ("198.51.100.9:46532", "198.51.100.10:46532", 2),
    ("2001:db8::1:443", "2001:db8::1:444", 1),  # IPv6: CloudFront writes ip:port without brackets
    ("2001:db8::1:443", "2001:db8::2:443", 2),
])
def test_cloudfront_viewer_address_is_the_visitor_address(api: Api, a: str, b: str, visitors: int) -> None:
    api.post(GOOD, ip="130.176.0.1", headers={"CloudFront-Viewer-Address": a})
    api.post(GOOD, ip="130.176.0.2", headers={"CloudFront-Viewer-Address": b})
    assert api.stats("example.com")["visitors"] == visitors


def test_a_malformed_viewer_address_falls_back_to_the_source_ip(api: Api) -> None:
    api.post(GOOD, ip="198.51.100.1", headers={"CloudFront-Viewer-Address": "not-an-address"})
    api.post(GOOD, ip="198.51.100.1", headers={"CloudFront-Viewer-Address": "garbage:1"})
    assert api.stats("example.com")["visitors"] == 1


def is_day(item: dict[str, Any]) -> bool:
    """An item of a day's counter partition (not its month rollup, docs/storage.md)."""
    return len(item["pk"]["S"].split("#")[2]) == len("YYYY-MM-DD")


def test_bots_are_summed_per_day(api: Api) -> None:
    now = int(time.time() * 1000)
    day_ms = 86_400_000
    yesterday = now - day_ms + 120_000 if now % day_ms > 120_000 else now - day_ms + 1  # within 24 h, other day
    status, body = one(api, [{**GOOD, "ts": now}, {**GOOD, "ts": yesterday}], ua="Googlebot/2.1")
    assert status == 202 and body["dropped"] == 2
    bots = sorted(int(i["bots"]["N"]) for i in api.items("C#example.com#") if i["sk"]["S"] == "day")
    assert bots == [1, 1]


def test_a_domain_with_a_trailing_newline_is_rejected(api: Api) -> None:
    status, body = one(api, [{**GOOD, "domain": "example.com\n"}])
    assert status == 400 and body["rejected"][0]["error"].startswith("domain:")
    for fn in (realtime_api.handler, stats_api.handler):
        status, body, _ = api.get(fn, site="example.com\n")
        assert status == 400 and body["error"].startswith("site:")


def test_plausible_short_names_and_extras_are_accepted(api: Api) -> None:
    script_js = {"n": "pageview", "u": "https://example.com/docs?x=1", "d": "example.com", "r": None,
                 "v": 20, "w": 1280, "h": 0, "i": True}
    legacy = {"n": "signup", "u": "https://example.com/join", "d": "example.com", "r": "https://news.example.org/",
              "w": 390, "h": 0, "p": json.dumps({"plan": "pro"})}
    npm = {"n": "Purchase", "u": "https://example.com/buy", "d": "example.com", "r": None, "v": 2,
           "p": {"sku": "A-1"}, "$": {"amount": "19.99", "currency": "EUR"}, "interactive": True}
    meta = {"name": "Download", "url": "https://example.com/dl", "domain": "example.com", "m": '{"file":"a.pdf"}',
            "screen_width": 1440}
    status, body = one(api, [script_js, legacy, npm, meta])
    assert status == 202 and body == {"accepted": 4, "rejected": [], "dropped": 0}, body
    by_name = {i["name"]["S"]: i for i in raw_items(api)}
    assert by_name["pageview"]["path"]["S"] == "/docs"
    assert by_name["signup"]["props"]["M"] == {"plan": {"S": "pro"}}
    assert by_name["Purchase"]["props"]["M"] == {"sku": {"S": "A-1"}}
    assert by_name["Purchase"]["revenue"]["M"] == {"amount": {"N": "19.99"}, "currency": {"S": "EUR"}}
    assert by_name["Download"]["props"]["M"] == {"file": {"S": "a.pdf"}}
    (day,) = [i for i in api.items("C#example.com#") if i["sk"]["S"] == "day" and is_day(i)]
    assert day["pv"]["N"] == "1" and day["events"]["N"] == "3"


def test_revenue_is_validated(api: Api) -> None:
    bad = [({"amount": "abc", "currency": "EUR"}, "revenue.amount"),
           ({"amount": 10, "currency": "EURO"}, "revenue.currency"),
           ({"amount": 10}, "revenue.currency"),
           ("10 EUR", "revenue:")]
    for revenue, field in bad:
        _, body = one(api, [{**GOOD, "name": "Purchase", "revenue": revenue}, GOOD])
        assert body["rejected"][0]["error"].startswith(field), body
    _, body = one(api, {**GOOD, "name": "Purchase", "revenue": {"amount": 12.5, "currency": "usd"}})
    assert body["accepted"] == 1 and body["rejected"] == []


def test_engagement_events_are_kept_but_not_counted_as_events(api: Api) -> None:
    engagement = {"n": "engagement", "u": "https://example.com/docs", "d": "example.com", "e": 5234, "sd": 73,
                  "v": 20, "h": 0}
    status, body = one(api, [GOOD, engagement, {**engagement, "n": "pageleave"}])
    assert status == 202 and body["accepted"] == 3, body
    (day,) = [i for i in api.items("C#example.com#") if i["sk"]["S"] == "day" and is_day(i)]
    assert day["pv"]["N"] == "1" and "events" not in day
    eng = next(i for i in raw_items(api) if i["name"]["S"] == "engagement")
    assert eng["engagement_ms"] == {"N": "5234"} and eng["scroll_depth"] == {"N": "73"}


def test_hash_mode_counts_the_fragment(api: Api) -> None:
    one(api, {"n": "pageview", "u": "https://example.com/app#/settings", "d": "example.com", "h": 1})
    assert api.stats("example.com")["top_pages"] == [{"path": "/app#/settings", "pageviews": 1}]


def test_a_body_without_content_type_is_json(api: Api) -> None:
    status, body = one(api, GOOD, content_type=None)
    assert status == 202 and body["accepted"] == 1


def test_unknown_fields_outside_plausibles_are_still_rejected(api: Api) -> None:
    _, body = one(api, [{**GOOD, "colour": "red"}, GOOD])
    assert body["rejected"][0]["error"].startswith("colour: unknown field")


@pytest.mark.parametrize("value", [
    "1.2345678901234567890123456789012345678E-130",  # 38 digits, the last one below 1e-165
    "1.234567890123456789012345678901234567E-130",  # 37 digits at E-130
    "1.2345678901234567890123456789012345678E-129",  # 38 digits at E-129
    "-1.234567890123456789012345678901234567E-130",
])
def test_numbers_boto3_cannot_serialise_exactly_are_a_400_and_the_batch_is_stored(api: Api, value: str) -> None:
    bad = f'{{"name":"buy","url":"https://n.test/x","domain":"n.test","props":{{"v":{value}}}}}'
    status, body = one(api, raw=f'[{json.dumps({**GOOD, "domain": "n.test", "url": "https://n.test/"})},{bad}]')
    assert status == 202 and body["accepted"] == 1, body
    assert body["rejected"][0]["index"] == 1 and body["rejected"][0]["error"].startswith("props.v:"), body
    assert api.stats("n.test")["pageviews"] == 1
    revenue = f'{{"name":"buy","url":"https://n.test/x","domain":"n.test","$":{{"amount":"{value}","currency":"EUR"}}}}'
    status, body = one(api, raw=revenue)
    assert status == 400 and body["rejected"][0]["error"].startswith("revenue.amount:"), body


@pytest.mark.parametrize("value", ["1.234567890123456789012345678901234567E-129",
                                   "1.23456789012345678901234567890123456E-130",
                                   "1.2345678901234567890123456789012345678E-128",
                                   "9.9999999999999999999999999999999999999E+125", "-1E-130"])
def test_numbers_at_boto3s_exact_limits_are_stored(api: Api, value: str) -> None:
    status, body = one(api, raw=f'{{"name":"buy","url":"https://n.test/x","domain":"n.test","props":{{"v":{value}}}}}')
    assert status == 202 and body["accepted"] == 1, body
    (item,) = raw_items(api, "n.test")
    from decimal import Decimal
    assert Decimal(item["props"]["M"]["v"]["N"]) == Decimal(value)


def test_the_validator_uses_boto3s_serialisation_rule() -> None:
    from boto3.dynamodb.types import DYNAMODB_CONTEXT

    from shared.validate import STORABLE
    assert (STORABLE.prec, STORABLE.Emin, STORABLE.Emax) == (DYNAMODB_CONTEXT.prec, DYNAMODB_CONTEXT.Emin,
                                                             DYNAMODB_CONTEXT.Emax)
    assert {t for t, on in STORABLE.traps.items() if on} == {t for t, on in DYNAMODB_CONTEXT.traps.items() if on}


def test_trailing_zeros_below_the_lowest_digit_are_dropped_not_rejected(api: Api) -> None:
    value = "1.0000000000000000000000000000000000000E-129"  # 38 digits written, one significant
    status, body = one(api, raw=f'{{"name":"buy","url":"https://n.test/x","domain":"n.test","props":{{"v":{value}}}}}')
    assert status == 202 and body["accepted"] == 1, body
    (item,) = raw_items(api, "n.test")
    assert item["props"]["M"]["v"]["N"] in ("1E-129", "1e-129")


ENGAGEMENT = {"n": "engagement", "u": "https://en.test/p", "d": "en.test", "v": 27, "h": 1}


@pytest.mark.parametrize(("extra", "kept"), [
    ({"sd": 150}, {"scroll_depth": "100"}),  # Plausible caps a scroll depth above 100
    ({"sd": "50"}, {"scroll_depth": "50"}),  # and reads integers sent as strings
    ({"e": "1200", "sd": 7}, {"engagement_ms": "1200", "scroll_depth": "7"}),
    ({"e": -3, "sd": 40}, {"scroll_depth": "40"}),  # an invalid engagement time is as if missing
    ({"e": 2592000001}, {}),
    ({"e": 12.5, "sd": -1}, {}),
    ({"e": "abc", "sd": "9x"}, {}),
])
def test_engagement_values_are_read_as_plausibles_server_reads_them(api: Api, extra: dict[str, Any],
                                                                    kept: dict[str, str]) -> None:
    status, body = one(api, {**ENGAGEMENT, **extra})
    assert status == 202 and body["accepted"] == 1, body
    (item,) = raw_items(api, "en.test")
    assert {k: item[k]["N"] for k in ("engagement_ms", "scroll_depth") if k in item} == kept


def test_engagement_values_are_kept_only_on_engagement_events(api: Api) -> None:
    status, body = one(api, {"n": "pageview", "u": "https://en.test/q", "d": "en.test", "e": 5, "sd": 50})
    assert status == 202 and body["accepted"] == 1, body
    (item,) = raw_items(api, "en.test")
    assert "engagement_ms" not in item and "scroll_depth" not in item


def test_api_answers_tell_browsers_not_to_sniff_their_type(api: Api) -> None:
    for status, _, headers in (api.post(GOOD), api.post(None, raw="not json"),
                               api.get(stats_api.handler, site="example.com"),
                               api.get(realtime_api.handler, site="bad site")):
        assert headers.get("X-Content-Type-Options") == "nosniff", (status, headers)
