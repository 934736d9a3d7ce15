"""Plausible's definitions of every figure of ``GET /api/stats``, recomputed from raw events.

An independent reference: it imports nothing from ``handlers/`` or ``liveinsight_infra``. It replays
what Plausible's server does with each request (ingestion, the session cache) and then answers
each field as Plausible's stats queries do. docs/metrics.md cites the Plausible file behind each
rule; the comments below name them:

- ingestion: ``lib/plausible/ingestion/request.ex`` (path, host), ``event.ex`` (bots, source info,
  user id), ``source.ex`` (source, self-referral), ``acquisition.ex`` (channels);
- sessions: ``lib/plausible/session/cache_store.ex``;
- queries: ``lib/plausible/stats/sql/expression.ex`` (metrics), ``where_builder.ex`` (which
  sessions a period holds), ``special_metrics.ex`` (conversion rate).

Where the answer has to be shaped (field names, row order, the top-N of a list, the spelling of a
device), it takes ``GET /api/stats``'s shape (docs/http-api.md), so that a comparison finds only
differences of definition.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from tests.reference.agents import BY_UA

DIRECT = "Direct / None"
ENGAGEMENT = ("engagement", "pageleave")
SESSION_GAP_MIN = 30
TOP = 10  # top_pages, top_referrers, entry_pages, exit_pages
ROWS = 100  # every other list
PROP_KEYS, PROP_VALUES = 20, 10

# RefInspector's referers.yml (Snowplow's referer-parser) and priv/custom_sources.json: the hosts the
# reference traffic uses, with the source name Plausible gives them.
REFERRER_HOSTS = {
    "www.google.com": "Google", "google.com": "Google", "www.google.de": "Google", "www.google.co.uk": "Google",
    "www.bing.com": "Bing", "bing.com": "Bing", "duckduckgo.com": "DuckDuckGo",
    "news.ycombinator.com": "Hacker News", "www.facebook.com": "Facebook", "l.facebook.com": "Facebook",
    "m.facebook.com": "Facebook", "www.linkedin.com": "LinkedIn", "github.com": "GitHub",
    "mail.google.com": "Gmail", "perplexity.ai": "Perplexity", "en.wikipedia.org": "Wikipedia",
    # custom_sources.json: search.brave.com is "Brave"; referers.yml's "Youtube" (so spelled) and its
    # "Twitter", which source.ex ``from_referrer`` renames "X (Twitter)" (source_test.exs)
    "search.brave.com": "Brave", "m.youtube.com": "Youtube", "t.co": "X (Twitter)",
}
# Source.find_mapping: a tag is matched case-insensitively against the known names and
# custom_sources.json's keys (source.ex ``init`` puts every key, its hosts too: a tag
# ``perplexity.ai`` is Perplexity, while ``news.ycombinator.com``, no key, stays); anything else is
# kept as written.
KNOWN_NAMES = {n.lower(): n for n in REFERRER_HOSTS.values()} | {
    "fb": "Facebook", "ig": "Instagram", "adwords": "Google", "google-ads": "Google", "perplexity": "Perplexity",
    "perplexity.ai": "Perplexity", "en.wikipedia.org": "Wikipedia", "yt": "Youtube"}
# custom_sources.json's keys that end in "ads"/"ad", and "adwords": paid whatever the medium.
PAID_SOURCES = {"adwords", "google-ads", "fb-ads", "fbads", "fbad", "facebook-ads", "facebook_ads", "facebook_ad",
                "facebook_feed_ad", "yt-ads", "reddit-ads", "google_ads", "googleads", "gads", "google ads",
                "twitter-ads", "tiktokads"}
# priv/ga4-source-categories.csv plus acquisition.ex's @custom_source_categories, for the sources above
# (keys are the lower-cased source). A tag written as a host keeps that host as its source
# (``ref=news.ycombinator.com``), and Google's list has a row for that host: social.
CATEGORIES = {
    "google": "SEARCH", "bing": "SEARCH", "duckduckgo": "SEARCH", "yahoo!": "SEARCH", "ecosia": "SEARCH",
    "facebook": "SOCIAL", "fb": "SOCIAL", "instagram": "SOCIAL", "linkedin": "SOCIAL", "hacker news": "SOCIAL",
    "news.ycombinator.com": "SOCIAL", "github": "SOCIAL", "x (twitter)": "SOCIAL", "gmail": "EMAIL",
    "perplexity": "AI_ASSISTANTS", "chatgpt": "AI_ASSISTANTS", "youtube": "VIDEO", "amazon": "SHOPPING",
    "brave": "SEARCH",
}
CLICK_IDS = ("gclid", "gbraid", "wbraid", "msclkid", "fbclid", "twclid")


@dataclass(frozen=True)
class Hit:
    """One event as a tracker posts it, with the request's client address and headers."""

    ts_ms: int
    name: str
    url: str
    domain: str
    ip: str
    ua: str
    referrer: str | None = None
    country: str | None = None
    props: Mapping[str, str] | None = None
    revenue: tuple[str, str] | None = None  # (amount, currency)
    engagement_ms: int | None = None
    scroll: int | None = None


@dataclass
class Event:
    name: str
    ts: int  # seconds: Plausible truncates the request time to the second (request.ex)
    pathname: str
    user_id: tuple[str, str, str, str]
    session: Session
    props: Mapping[str, str]
    revenue: tuple[Decimal, str] | None


@dataclass
class Session:
    user_id: tuple[str, str, str, str]
    start: int
    timestamp: int  # the last page view or custom event (what the sessions table holds)
    cache_timestamp: int  # the cache's clock, refreshed by engagement events too
    entry_page: str
    exit_page: str
    is_bounce: bool
    pageviews: int
    events: int
    source: str
    referrer: str
    utm_medium: str
    utm_source: str
    utm_campaign: str
    click_id: str
    country: str
    device: str
    browser: str
    os: str

    @property
    def duration(self) -> int:
        return self.timestamp - self.start

    @property
    def channel(self) -> str:
        return channel(self.source, self.utm_medium, self.utm_campaign, self.utm_source, self.click_id)


def sanitize_hostname(host: str | None) -> str | None:
    """request.ex: trimmed, ``www.`` removed."""
    if host is None:
        return None
    host = host.strip()
    return host[4:] if host.startswith("www.") else host


def pathname(url: str) -> str:
    """request.ex ``get_pathname``: the path, percent-decoded, trailing whitespace trimmed."""
    return unquote(urlsplit(url).path or "/").rstrip()


def query_params(url: str) -> dict[str, str]:
    """``URI.decode_query``: later keys overwrite earlier ones; ``+`` is a space."""
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


def tag(url: str) -> str | None:
    """event.ex: ``utm_source || source || ref``. Elixir's ``||`` keeps "" (only nil falls through),
    so ``?utm_source=&ref=x`` is tagged "" (no source)."""
    params = query_params(url)
    return next((params[k] for k in ("utm_source", "source", "ref") if k in params), None)


def find_mapping(source: str) -> str:
    return KNOWN_NAMES.get(source.lower(), source)


def has_referral(referrer: str | None, url: str) -> bool:
    """source.ex ``has_referral?``: a referrer from another host (``www.`` aside), not localhost."""
    if not referrer:
        return False
    ref_host = urlsplit(referrer).hostname
    return sanitize_hostname(ref_host) != sanitize_hostname(urlsplit(url).hostname) and ref_host != "localhost"


def referrer_host(referrer: str) -> str | None:
    parts = urlsplit(referrer.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return parts.hostname


def resolve_source(url: str, referrer: str | None) -> str:
    """source.ex ``resolve``: a tag (``utm_source``, ``source``, ``ref``) wins, else the referrer
    unless it is the site itself; a known name merges case-insensitively; "" for none."""
    tagged = tag(url)
    if tagged is not None:
        return find_mapping(tagged) if tagged else ""
    host = referrer_host(referrer) if referrer and has_referral(referrer, url) else None
    if host is None:
        return ""
    known = REFERRER_HOSTS.get(host)
    return known or (host[4:] if host.startswith("www.") else host)


def format_referrer(url: str, referrer: str | None) -> str:
    """The session's referrer, as its host without ``www.`` (Plausible keeps the path too; the
    answer's ``top_referrers`` are hosts). None for a self-referral."""
    host = referrer_host(referrer) if referrer and has_referral(referrer, url) else None
    return (sanitize_hostname(host) or "") if host else ""


def channel(source: str, utm_medium: str, utm_campaign: str, utm_source: str, click_id: str) -> str:
    """acquisition.ex ``get_channel``: the first rule that matches, in its order."""
    source, medium, campaign, usource = source.lower(), utm_medium.lower(), utm_campaign.lower(), utm_source.lower()
    category = CATEGORIES.get(source)
    paid_medium = re.fullmatch(r"(.*cp.*|ppc|retargeting|paid.*)", medium) is not None
    paid_source = usource in PAID_SOURCES
    shopping_campaign = re.fullmatch(r"(.*(([^a-df-z]|^)shop|shopping).*)", campaign) is not None
    email_tags = ("email", "e-mail", "e_mail", "e mail", "newsletter")
    if "cross-network" in campaign:
        return "Cross-network"
    if (category == "SHOPPING" or shopping_campaign) and paid_medium:
        return "Paid Shopping"
    if (category == "SEARCH" and (paid_medium or paid_source)) or (source == "google" and click_id == "gclid") \
            or (source == "bing" and click_id == "msclkid"):
        return "Paid Search"
    if category == "SOCIAL" and (paid_medium or paid_source):
        return "Paid Social"
    if category == "VIDEO" and (paid_medium or paid_source):
        return "Paid Video"
    if medium in ("display", "banner", "expandable", "interstitial", "cpm"):
        return "Display"
    if paid_medium:
        return "Paid Other"
    if category == "SHOPPING" or shopping_campaign:
        return "Organic Shopping"
    if category == "SOCIAL" or medium in ("social", "social-network", "social-media", "sm", "social network",
                                          "social media"):
        return "Organic Social"
    if category == "VIDEO" or "video" in medium:
        return "Organic Video"
    if category == "AI_ASSISTANTS":
        return "AI Assistants"
    if category == "SEARCH":
        return "Organic Search"
    if category == "EMAIL" or any(t in usource for t in email_tags) or any(t in medium for t in email_tags):
        return "Email"
    if medium == "affiliate":
        return "Affiliates"
    if medium == "audio":
        return "Audio"
    if usource == "sms" or medium == "sms":
        return "SMS"
    if medium.endswith("push") or "mobile" in medium or "notification" in medium or source == "firebase":
        return "Mobile Push Notifications"
    if medium in ("referral", "app", "link") or source != "":
        return "Referral"
    return "Direct"


def _day(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


@dataclass
class Store:
    """What Plausible keeps: the events table and the sessions table (final rows)."""

    events: list[Event] = field(default_factory=list)
    sessions: list[Session] = field(default_factory=list)
    dropped_bots: int = 0
    dropped_engagements: int = 0


def ingest(hits: Iterable[Hit]) -> Store:
    """event.ex's pipeline and cache_store.ex, for hits taken in time order (ties in the order given)."""
    store = Store()
    cache: dict[tuple[str, tuple[str, str, str, str]], Session] = {}
    for hit in sorted(hits, key=lambda h: h.ts_ms):
        agent = BY_UA.get(hit.ua)
        if agent is None or agent.bot:  # put_user_agent: UAInspector's bots and Headless Chrome
            store.dropped_bots += 1
            continue
        ts = hit.ts_ms // 1000
        day = _day(ts)
        previous_day = _day(ts - 86_400)
        # generate_user_id: the day's salt over UA, address, domain and the host's registrable domain
        # (the same for www. and the bare host): a new id each day.
        user_id = (hit.domain, day, hit.ip, hit.ua)
        prev_user_id = (hit.domain, previous_day, hit.ip, hit.ua)
        found = None
        for uid in (user_id, prev_user_id):
            session = cache.get((hit.domain, uid))
            # find_session: NaiveDateTime.diff(..., :minute) <= 30, whole minutes (truncated)
            if session is not None and (ts - session.cache_timestamp) // 60 <= SESSION_GAP_MIN:
                found = session
                break
        path = pathname(hit.url)
        if hit.name in ENGAGEMENT:
            if found is None:  # :no_session_for_pageleave: dropped
                store.dropped_engagements += 1
                continue
            found.cache_timestamp = ts  # refresh_session_cache: keeps the visit open, nothing else
            store.events.append(Event(hit.name, ts, path, user_id, found, {}, None))
            continue
        pageview = hit.name == "pageview"
        if found is not None:  # update_session
            session = found
            cache.pop((hit.domain, session.user_id), None)
            session.user_id = user_id
            session.timestamp = session.cache_timestamp = ts
            if session.entry_page == "" and pageview:
                session.entry_page = path
            if pageview:
                session.exit_page = path
            session.is_bounce = False
            session.pageviews += pageview
            session.events += 1
        else:  # new_session_from_event: the visit's source, UTM and client come from this event
            params = query_params(hit.url)
            tagged = tag(hit.url) or ""
            source = resolve_source(hit.url, hit.referrer)
            click_id = next((p for p in CLICK_IDS if p in params), "")
            medium = params.get("utm_medium", "")
            if not medium and source == "Google" and click_id == "gclid":  # maybe_infer_medium
                medium = "(gclid)"
            elif not medium and source == "Bing" and click_id == "msclkid":
                medium = "(msclkid)"
            session = Session(
                user_id=user_id, start=ts, timestamp=ts, cache_timestamp=ts,
                entry_page=path if pageview else "", exit_page=path if pageview else "", is_bounce=True,
                pageviews=int(pageview), events=1, source=source, referrer=format_referrer(hit.url, hit.referrer),
                utm_medium=medium, utm_source=tagged, utm_campaign=params.get("utm_campaign", ""),
                click_id=click_id, country=hit.country or "", device=agent.device, browser=agent.browser,
                os=agent.os)
            store.sessions.append(session)
        cache[(hit.domain, user_id)] = session
        revenue = (Decimal(hit.revenue[0]), hit.revenue[1].upper()) if hit.revenue else None
        store.events.append(Event(hit.name, ts, path, user_id, session, dict(hit.props or {}), revenue))
    return store


def _ranked(rows: Iterable[dict[str, Any]], name: str, *by: str, limit: int = ROWS) -> list[dict[str, Any]]:
    """Most first by each of ``by``, then by name (docs/http-api.md's order)."""
    return sorted(rows, key=lambda r: (*(-r[k] for k in by), r[name]))[:limit]


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def stats(store: Store, site: str, first: str, last: str) -> dict[str, Any]:
    """The answer of ``GET /api/stats?site=&from=first&to=last`` by Plausible's definitions."""
    lo = int(datetime.strptime(first, "%Y-%m-%d").replace(tzinfo=UTC).timestamp())
    hi = int(datetime.strptime(last, "%Y-%m-%d").replace(tzinfo=UTC).timestamp()) + 86_400 - 1
    events = [e for e in store.events if e.user_id[0] == site and lo <= e.ts <= hi]
    # where_builder.ex: every session active in the period, even one that began before it
    sessions = [s for s in store.sessions if s.user_id[0] == site and s.timestamp >= lo and s.start <= hi]
    pageviews = [e for e in events if e.name == "pageview"]
    customs = [e for e in events if e.name != "pageview" and e.name not in ENGAGEMENT]
    visitors = len({e.user_id for e in events})  # expression.ex event_metric(:visitors): uniq(user_id)
    visits = len(sessions)

    days = (hi + 1 - lo) // 86_400
    buckets: dict[str, list[Event]] = defaultdict(list)
    for e in events:
        moment = datetime.fromtimestamp(e.ts, UTC)
        buckets[moment.strftime("%Y-%m-%dT%H:00:00Z") if days == 1 else moment.strftime("%Y-%m-%d")].append(e)
    if days == 1:
        slots = [f"{first}T{h:02d}:00:00Z" for h in range(24)]
    else:
        slots = [(datetime.strptime(first, "%Y-%m-%d") + timedelta(days=i)).strftime("%Y-%m-%d") for i in range(days)]
    timeseries = [{"time": t, "visitors": len({e.user_id for e in buckets[t]}),
                   "pageviews": sum(e.name == "pageview" for e in buckets[t])} for t in slots]

    page_pv: Counter[str] = Counter(e.pathname for e in pageviews)
    page_uv: dict[str, set[Any]] = defaultdict(set)
    for e in pageviews:
        page_uv[e.pathname].add(e.user_id)

    def by_session(attr: str, *, pv: bool = False, skip_empty: bool = True, empty: str = "") -> list[dict[str, Any]]:
        uv: dict[str, set[Any]] = defaultdict(set)
        views: Counter[str] = Counter()
        for s in sessions:
            value = getattr(s, attr) or empty
            if not value and skip_empty:
                continue
            uv[value].add(s.user_id)
            views[value] += s.pageviews
        return [{"value": v, "visitors": len(u), **({"pageviews": views[v]} if pv else {})} for v, u in uv.items()]

    def named(rows: list[dict[str, Any]], key: str, *by: str, limit: int = ROWS) -> list[dict[str, Any]]:
        return _ranked([{key: r.pop("value"), **r} for r in rows], key, *by, limit=limit)

    goals_uv: dict[str, set[Any]] = defaultdict(set)
    goals_n: Counter[str] = Counter()
    props: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    revenue: dict[str, dict[str, list[Decimal]]] = defaultdict(lambda: defaultdict(list))
    for e in customs:
        goals_uv[e.name].add(e.user_id)
        goals_n[e.name] += 1
        for k, v in e.props.items():
            props[e.name][k][v] += 1
        if e.revenue:
            revenue[e.name][e.revenue[1]].append(e.revenue[0])
    goals = []
    for g in goals_uv:
        keys = sorted(props[g].items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))[:PROP_KEYS]
        goals.append({
            "goal": g, "visitors": len(goals_uv[g]), "events": goals_n[g],
            # special_metrics.ex: round(goal visitors / all visitors * 100, 1)
            "conversion_rate": round(100 * len(goals_uv[g]) / visitors, 1) if visitors else 0.0,
            "props": {k: [{"value": v, "events": n} for v, n in sorted(c.items(), key=lambda x: (-x[1], x[0]))[
                :PROP_VALUES]] for k, c in keys},
            "revenue": [{"currency": cur, "total": _money(sum(a, Decimal(0))),
                         "average": _money(sum(a, Decimal(0)) / len(a))} for cur, a in sorted(revenue[g].items())]})

    ref_pv: Counter[str] = Counter()
    for s in sessions:
        if s.referrer:
            ref_pv[s.referrer] += s.pageviews
    entry = Counter(s.entry_page for s in sessions if s.entry_page)
    exit_ = Counter(s.exit_page for s in sessions if s.exit_page)
    total_pv_in_sessions = sum(s.pageviews for s in sessions)
    channels: dict[str, set[Any]] = defaultdict(set)
    channel_pv: Counter[str] = Counter()
    for s in sessions:
        channels[s.channel].add(s.user_id)
        channel_pv[s.channel] += s.pageviews
    return {
        "site": site, "from": first, "to": last, "visitors": visitors, "pageviews": len(pageviews),
        "top_pages": _ranked([{"path": p, "pageviews": n} for p, n in page_pv.items()], "path", "pageviews",
                             limit=TOP),
        "top_referrers": _ranked([{"referrer": r, "pageviews": n} for r, n in ref_pv.items()], "referrer",
                                 "pageviews", limit=TOP),
        "timeseries": timeseries,
        "sources": named(by_session("source", pv=True, skip_empty=False, empty=DIRECT), "source", "visitors",
                         "pageviews"),
        "utm_mediums": named(by_session("utm_medium"), "value", "visitors"),
        "utm_campaigns": named(by_session("utm_campaign"), "value", "visitors"),
        "countries": named(by_session("country"), "country", "visitors"),
        "devices": named(by_session("device"), "name", "visitors"),
        "browsers": named(by_session("browser"), "name", "visitors"),
        "os": named(by_session("os"), "name", "visitors"),
        "pages": _ranked([{"path": p, "visitors": len(page_uv[p]), "pageviews": n} for p, n in page_pv.items()],
                         "path", "visitors", "pageviews"),
        "goals": _ranked(goals, "goal", "visitors", "events"),
        "channels": _ranked([{"channel": c, "visitors": len(u), "pageviews": channel_pv[c]}
                             for c, u in channels.items()], "channel", "visitors", "pageviews"),
        # expression.ex session_metric: over the sessions of the period
        "visits": visits,
        "bounce_rate": round(100 * sum(s.is_bounce for s in sessions) / visits) if visits else 0,
        "views_per_visit": round(total_pv_in_sessions / visits, 2) if visits else 0,
        "visit_duration_s": round(sum(s.duration for s in sessions) / visits) if visits else 0,
        "entry_pages": _ranked([{"path": p, "visits": n} for p, n in entry.items()], "path", "visits", limit=TOP),
        "exit_pages": _ranked([{"path": p, "visits": n} for p, n in exit_.items()], "path", "visits", limit=TOP),
    }


HEADLINE = ("visitors", "pageviews", "visits", "bounce_rate", "views_per_visit", "visit_duration_s")


def compared(store: Store, site: str, first: str, last: str) -> dict[str, Any]:
    """``stats`` with ``compare=previous_period``: the headline of the same number of days before."""
    answer = stats(store, site, first, last)
    a, b = datetime.strptime(first, "%Y-%m-%d"), datetime.strptime(last, "%Y-%m-%d")
    before_last = a - timedelta(days=1)
    before_first = before_last - (b - a)
    prev = stats(store, site, before_first.strftime("%Y-%m-%d"), before_last.strftime("%Y-%m-%d"))
    answer["comparison"] = {"from": prev["from"], "to": prev["to"], **{k: prev[k] for k in HEADLINE}}
    return answer


# The CSV panels of GET /api/stats?format=csv&panel=NAME: the answer's field and its columns.
PANELS: dict[str, tuple[str, tuple[str, ...]]] = {
    "sources": ("sources", ("source", "visitors", "pageviews")),
    "channels": ("channels", ("channel", "visitors", "pageviews")),
    "utm_mediums": ("utm_mediums", ("value", "visitors")),
    "utm_campaigns": ("utm_campaigns", ("value", "visitors")),
    "pages": ("pages", ("path", "visitors", "pageviews")),
    "entry_pages": ("entry_pages", ("path", "visits")),
    "exit_pages": ("exit_pages", ("path", "visits")),
    "countries": ("countries", ("country", "visitors")),
    "devices": ("devices", ("name", "visitors")),
    "browsers": ("browsers", ("name", "visitors")),
    "os": ("os", ("name", "visitors")),
    "goals": ("goals", ("goal", "visitors", "events", "conversion_rate")),
    "goal_props": ("goals", ("goal", "key", "value", "events")),
    "goal_revenue": ("goals", ("goal", "currency", "total", "average")),
}


def panel_rows(answer: Mapping[str, Any], panel: str) -> list[list[str]]:
    """A CSV panel's rows (header first), every cell as the CSV text would hold it."""
    field_name, columns = PANELS[panel]
    rows: list[list[Any]]
    if panel == "goal_props":
        rows = [[g["goal"], k, v["value"], v["events"]] for g in answer[field_name]
                for k, values in g["props"].items() for v in values]
    elif panel == "goal_revenue":
        rows = [[g["goal"], r["currency"], r["total"], r["average"]] for g in answer[field_name]
                for r in g["revenue"]]
    else:
        rows = [[r[c] for c in columns] for r in answer[field_name]]
    return [list(columns), *[[str(c) for c in row] for row in rows]]
