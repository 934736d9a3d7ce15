"""event-collector: every field rule, mixed batches, bots, privacy, CORS."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.handlers.conftest import Api

NOW = int(time.time() * 1000)
GOOD = {"name": "pageview", "url": "https://example.com/pricing", "domain": "example.com"}


def ev(**changes: Any) -> dict[str, Any]:
    out = {**GOOD, **changes}
    return {k: v for k, v in out.items() if v is not ...}


BAD = [
    (ev(name=...), "name: required"),
    (ev(name=""), "name: must be a non-empty string"),
    (ev(name=42), "name: must be a non-empty string"),
    (ev(name="x" * 121), "name: at most 120 characters"),
    (ev(url=...), "url: required"),
    (ev(url=5), "url: must be a string"),
    (ev(url="/pricing"), "url: must be an absolute http(s) URL"),
    (ev(url="ftp://example.com/x"), "url: must be an absolute http(s) URL"),
    (ev(url="data:text/html,hi"), "url: must be an absolute http(s) URL"),
    (ev(url="https://example.com/" + "a" * 2000), "url: at most 2000 characters"),
    (ev(domain=...), "domain: required"),
    (ev(domain="Example.COM"), "domain: must be a lower-case host name"),
    (ev(domain="exa mple.com"), "domain: must be a lower-case host name"),
    (ev(domain=["example.com"]), "domain: must be a lower-case host name"),
    (ev(referrer=7), "referrer: must be a string"),
    (ev(referrer="not a url"), "referrer: must be an absolute URL"),
    (ev(props=[1]), "props: must be an object"),
    (ev(props={f"k{i}": i for i in range(31)}), "props: at most 30 keys"),
    (ev(props={"plan": {"nested": 1}}), "props.plan: values must be strings, numbers or booleans"),
    (ev(props={"plan": None}), "props.plan: values must be strings, numbers or booleans"),
    (ev(props={"note": "x" * 2001}), "props.note: at most 2000 characters"),
    (ev(ts="yesterday"), "ts: must be an integer"),
    (ev(ts=True), "ts: must be an integer"),
    (ev(ts=NOW - 25 * 3600 * 1000), "ts: more than 24 hours in the past"),
    # NOW is taken at import: an hour ahead stays in the future however slowly the suite runs
    (ev(ts=NOW + 60 * 60 * 1000), "ts: more than 5 minutes in the future"),
    (ev(colour="red"), "colour: unknown field"),
    ("pageview", "event: must be an object"),
]


@pytest.mark.parametrize(("event", "message"), BAD, ids=[m for _, m in BAD])
def test_each_bad_event_is_rejected_with_its_message(api: Api, event: Any, message: str) -> None:
    status, body, headers = api.post([event, GOOD])
    assert status == 202
    assert body["accepted"] == 1
    (rejected,) = body["rejected"]
    assert rejected["index"] == 0
    assert rejected["error"].startswith(message), rejected["error"]
    assert headers["Access-Control-Allow-Origin"] == "*"


def test_a_mixed_batch_stores_exactly_the_valid_events(api: Api) -> None:
    batch = [GOOD, ev(url="nope"), ev(url="https://example.com/a"), ev(name=...), ev(name="signup"),
             ev(domain="other.org", url="https://other.org/")]
    status, body, _ = api.post(batch)
    assert status == 202
    assert body["accepted"] == 4 and [r["index"] for r in body["rejected"]] == [1, 3]
    raw = [i for i in api.items("EV#") if "guard" not in i]
    assert len(raw) == 4
    assert sorted(i["path"]["S"] for i in raw) == ["/", "/a", "/pricing", "/pricing"]


def test_whole_body_errors(api: Api) -> None:
    assert api.post(None, raw="{not json")[0] == 400
    status, body, headers = api.post(None, raw="x" * (64 * 1024 + 1))
    assert status == 413 and "at most 65536" in body["error"]
    assert headers["Access-Control-Allow-Origin"] == "*"
    status, body, _ = api.post(GOOD, content_type="application/x-www-form-urlencoded")
    assert status == 415 and "Content-Type" in body["error"]
    assert api.post(GOOD, content_type=None)[0] == 202  # no Content-Type: read as JSON, as Plausible does
    assert api.post({**GOOD, "url": "https://example.com/b"}, content_type="text/plain;charset=UTF-8")[0] == 202
    assert api.post(None, raw=b"\xff\xfe{}")[0] == 400  # not UTF-8
    assert api.post(None, raw="[" * 30_000 + "]" * 30_000)[0] == 400  # nested too deep for JSON, under 64 KiB
    status, body, _ = api.post([])
    assert status == 400 and "no events" in body["error"]
    status, body, _ = api.post([GOOD] * 101)
    assert status == 400 and "at most 100" in body["error"]
    status, body, _ = api.post([ev(url="x")])
    assert status == 400 and body["rejected"][0]["error"].startswith("url:")
    # only the event without Content-Type and the text/plain one (a new event: its URL differs) were stored
    assert len([i for i in api.items("EV#") if "guard" not in i]) == 2


def test_bots_are_dropped_and_counted(api: Api) -> None:
    status, body, _ = api.post([GOOD, GOOD], ua="Mozilla/5.0 (compatible; Googlebot/2.1)")
    assert status == 202 and body == {"accepted": 0, "rejected": [], "dropped": 2}
    assert api.items("EV#") == []
    (day,) = [i for i in api.items("C#example.com#") if i["sk"]["S"] == "day"]
    assert day["bots"]["N"] == "2"
    assert api.post(GOOD, ua="")[1]["dropped"] == 1  # no User-Agent at all


def test_the_ip_is_never_stored_nor_logged(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    api.post([GOOD, ev(url="https://example.com/b")], ip="192.0.2.123")
    dump = json.dumps(api.items(""), default=repr)  # binary attributes (digests) as their repr
    assert "192.0.2.123" not in dump
    out = capsys.readouterr().out
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert lines and lines[-1]["function"] == "event-collector" and lines[-1]["accepted"] == 2
    assert "192.0.2.123" not in out


def test_cloudfront_requests_use_the_viewer_address(api: Api) -> None:
    api.post(GOOD, ip="130.176.0.1", headers={"CloudFront-Viewer-Address": "198.51.100.9:50123"})
    api.post(ev(url="https://example.com/b"), ip="130.176.0.2",
             headers={"CloudFront-Viewer-Address": "198.51.100.9:50124"})
    assert api.stats("example.com")["visitors"] == 1  # one viewer behind two edges
