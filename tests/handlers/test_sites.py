"""Sites are declared: events for any other domain cost no read and no write, and are answered 202
as Plausible answers them; an alias counts under its site (docs/security.md, "Sites")."""

from __future__ import annotations

import json
import time

import pytest

from liveinsight_infra import naming
from liveinsight_infra.constants import CHECK_SITE
from liveinsight_infra.local.gateway import _with_localhost
from liveinsight_infra.spec import load_spec
from liveinsight_infra.spec.model import StackSpec
from tests.conftest import ROOT
from tests.handlers.conftest import Api

SITES = json.dumps({"example.com": "example.com", "www.example.com": "example.com"})


@pytest.fixture
def declared(api: Api, monkeypatch: pytest.MonkeyPatch) -> Api:
    monkeypatch.setenv("LIVEINSIGHT_SITES", SITES)
    return api


def pv(domain: str, path: str = "/") -> dict[str, object]:
    return {"name": "pageview", "url": f"https://{domain}{path}", "domain": domain, "ts": int(time.time() * 1000)}


def test_a_hundred_invented_domains_cost_no_call_at_all(declared: Api) -> None:
    declared.calls.clear()
    status, body, _ = declared.post([pv(f"invented{i}.example") for i in range(100)])
    assert status == 202 and body == {"accepted": 0, "rejected": [], "dropped": 100}
    assert declared.calls == []


def test_only_the_declared_events_of_a_mixed_request_are_stored(declared: Api) -> None:
    status, body, _ = declared.post([pv("example.com"), pv("evil.example"), pv("www.example.com", "/w")])
    assert status == 202 and body == {"accepted": 2, "rejected": [], "dropped": 1}
    stats = declared.stats("example.com")
    assert stats["pageviews"] == 2 and {p["path"] for p in stats["top_pages"]} == {"/", "/w"}
    assert declared.stats("evil.example")["pageviews"] == 0
    assert declared.stats("www.example.com")["pageviews"] == 0  # an alias counts under its site
    assert declared.items("C#evil.example") == [] and declared.items("EV#evil.example") == []


def test_a_bot_on_an_undeclared_site_is_not_counted_either(declared: Api) -> None:
    declared.calls.clear()
    status, body, _ = declared.post([pv("evil.example")], ua="Googlebot/2.1 (+http://www.google.com/bot.html)")
    assert status == 202 and body["dropped"] == 1 and declared.calls == []


def test_a_variable_the_tool_did_not_write_accepts_nothing(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVEINSIGHT_SITES", "not json")
    api.calls.clear()
    assert api.post([pv("example.com")])[1]["accepted"] == 0 and api.calls == []


def test_the_spec_s_sites_reach_every_function_and_serve_adds_localhost() -> None:
    spec = load_spec(ROOT / "specs" / "prod.yaml").spec
    for key in spec.functions:
        accepted = json.loads(naming.function_environment(spec, key)["LIVEINSIGHT_SITES"])
        assert accepted == {**json.loads(SITES), CHECK_SITE: CHECK_SITE}  # `check` posts to its own domain
    served = json.loads(_with_localhost(SITES))
    assert served == {**json.loads(SITES), "localhost": "localhost"}


def test_a_spec_without_sites_accepts_none_and_a_domain_twice_is_refused() -> None:
    spec = load_spec(ROOT / "specs" / "prod.yaml").spec
    bare = json.loads(naming.sites_variable(spec.model_copy(update={"sites": ()})))
    assert bare == {CHECK_SITE: CHECK_SITE}  # only the health check's reserved domain
    raw = spec.model_dump(exclude={"ingest"})
    raw["sites"] = [{"domain": "a.example", "aliases": ["www.a.example"]}, "www.a.example"]
    with pytest.raises(ValueError, match=r"www\.a\.example listed more than once"):
        StackSpec.model_validate(raw)
