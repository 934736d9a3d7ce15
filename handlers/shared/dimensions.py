"""The dimensions an event gets at ingest: source, UTM medium and campaign, country, device, browser, OS.

Pure functions of what a request carries (the page URL, the referrer, the headers); no AWS calls,
no address kept. Both ingest paths (the collector and the stream aggregator) derive them here, so
a visitor counted by either lands on the same keys (docs/analytics.md).

* Source follows Plausible's rules (https://github.com/plausible/analytics/blob/master/lib/plausible/ingestion/source.ex):
  a ``utm_source``, else ``source``, else ``ref`` query parameter of the page URL wins (the first
  present, even empty: then there is no source); otherwise the referrer's host, unless it is the
  site itself or ``localhost``. A known host becomes the known name (``SOURCES`` below); a tag
  matching a known name or alias case-insensitively becomes that name, any other tag is kept as
  written (a host written as a tag too: ``find_mapping`` matches names, not hosts); any other host
  is kept without ``www.``; nothing at all is ``DIRECT``.
* ``utm_medium`` and ``utm_campaign`` are kept as written (event.ex ``put_source_info``), trimmed
  and bounded; the channel rules compare them lower-cased (channels.py).
* Country is CloudFront's ``CloudFront-Viewer-Country`` header
  (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/adding-cloudfront-headers.html),
  accepted only when it is an assigned ISO 3166-1 alpha-2 code.
* Device, browser and OS come from the User-Agent through ``ua-parser``, the Python port of
  uap-core (https://github.com/ua-parser/uap-python), vendored into the function's package. Its
  rules are compiled lazily and results kept in a bounded LRU cache, so a cold start pays for the
  rules a real User-Agent reaches, not for all of them (docs/BENCHMARKS.md).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from .sites import is_self_referral

if TYPE_CHECKING:
    from ua_parser import Parser

DIRECT = "Direct / None"
MAX_VALUE_LENGTH = 100  # sources, mediums and campaigns are cut here: a dimension value is a key, not a text
UA_CACHE_SIZE = 1000  # parsed User-Agents kept per container (a few hundred distinct ones cover most traffic)
MAX_UA_LENGTH = 512  # longer User-Agents are cut before parsing: no browser sends more, and it bounds the regex work
_TAGS = ("utm_source", "source", "ref")  # in Plausible's order of precedence
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_SPACES = re.compile(r"\s+")

# Known sources: a referrer host equal to or under one of these domains gets the name. The names are
# Plausible's: RefInspector's referers.yml (Snowplow's referer-parser) as Plausible ships it, with
# priv/custom_sources.json's hosts and the names source.ex ``from_referrer`` and its test expect
# (gemini.google.com is Google Gemini, not Google; t.co and x.com are X (Twitter)).
_DOMAINS: dict[str, str] = {
    "mail.google.com": "Gmail", "inbox.google.com": "Gmail",
    "gemini.google.com": "Google Gemini",
    "bing.com": "Bing", "ntp.msn.com": "Bing",
    "duckduckgo.com": "DuckDuckGo",
    "search.yahoo.com": "Yahoo!", "search.yahoo.co.jp": "Yahoo!", "yahoo.com": "Yahoo!",
    "ya.ru": "Yandex", "yandex.eu": "Yandex",
    "baidu.com": "Baidu",
    "ecosia.org": "Ecosia",
    "search.brave.com": "Brave",
    "kagi.com": "Kagi",
    "qwant.com": "Qwant", "startpage.com": "Startpage", "naver.com": "Naver", "sogou.com": "Sogou",
    "news.ycombinator.com": "Hacker News",
    "reddit.com": "Reddit", "redd.it": "Reddit",
    "t.co": "X (Twitter)", "twitter.com": "X (Twitter)", "x.com": "X (Twitter)",
    "facebook.com": "Facebook", "fb.com": "Facebook", "fb.me": "Facebook",
    "linkedin.com": "LinkedIn", "lnkd.in": "LinkedIn",
    "github.com": "GitHub",
    "instagram.com": "Instagram",
    "youtube.com": "Youtube", "youtu.be": "Youtube",
    "wikipedia.org": "Wikipedia",
    "t.me": "Telegram", "telegram.org": "Telegram",
    "discord.com": "Discord", "discordapp.com": "Discord",
    "bsky.app": "Bluesky", "threads.net": "Threads", "threads.com": "Threads",
    "mastodon.social": "Mastodon", "fosstodon.org": "Mastodon",
    "tiktok.com": "TikTok", "pinterest.com": "Pinterest", "vk.com": "Vkontakte",
    "stackoverflow.com": "StackOverflow",
    "chatgpt.com": "ChatGPT", "chat.openai.com": "ChatGPT", "perplexity.ai": "Perplexity", "pplx.ai": "Perplexity",
    "claude.ai": "Claude", "phind.com": "Phind", "copilot.microsoft.com": "Microsoft Copilot",
    "copilot.com": "Microsoft Copilot",
    "statics.teams.cdn.office.net": "Microsoft Teams", "teams.microsoft.com": "Microsoft Teams",
    "officeapps.live.com": "Microsoft 365",
    "linktr.ee": "Linktree",
    "slack.com": "Slack",
}
# Engines with a domain per country: google.de, google.co.uk, google.com.au, yandex.ru, …
_COUNTRY_DOMAINS = re.compile(r"(?:^|\.)(google|yandex|bing|yahoo|baidu)\.(?:(?:co|com)\.)?[a-z]{2,3}$")
_COUNTRY_NAMES = {"google": "Google", "yandex": "Yandex", "bing": "Bing", "yahoo": "Yahoo!", "baidu": "Baidu"}
_APPS = {"com.reddit.frontpage": "Reddit", "com.google.android.gm": "Gmail",
         "com.google.android.googlequicksearchbox": "Google", "com.linkedin.android": "LinkedIn",
         "com.slack": "Slack"}
# source.ex ``canonical``: a tag is looked up, lower-cased, among the known names and the keys of
# priv/custom_sources.json (the shorthands below and its hosts); any other tag is kept as written
# (``hn``, ``gh``, ``x`` too: they are no key of Plausible's).
_SHORTHANDS = {
    **dict.fromkeys(("fb", "fb-ads", "fbads", "fbad", "facebook-ads", "facebook_ads", "fcb", "facebook_ad",
                     "facebook_feed_ad"), "Facebook"),
    "ig": "Instagram", "yt": "Youtube", "yt-ads": "Youtube", "reddit-ads": "Reddit",
    **dict.fromkeys(("google_ads", "google-ads", "googleads", "gads", "google ads", "adwords"), "Google"),
    "twitter-ads": "X (Twitter)", "twitter": "X (Twitter)", "tiktokads": "TikTok", "tik.tok": "TikTok",
    "perplexity": "Perplexity", "linktree": "Linktree",
}
_CUSTOM_HOSTS = {"android-app://com.reddit.frontpage": "Reddit", "baidu.com": "Baidu", "linktr.ee": "Linktree",
                 **dict.fromkeys(("discord.com", "discordapp.com", "ptb.discord.com", "canary.discord.com"), "Discord"),
                 **dict.fromkeys(("sogou.com", "m.sogou.com", "wap.sogou.com"), "Sogou"), "ntp.msn.com": "Bing",
                 "perplexity.ai": "Perplexity", "search.brave.com": "Brave",
                 "statics.teams.cdn.office.net": "Microsoft Teams", "teams.microsoft.com": "Microsoft Teams",
                 "t.me": "Telegram", "webk.telegram.org": "Telegram",
                 **dict.fromkeys(("ya.ru", "yandex.com.tr", "yandex.eu", "yandex.fr", "yandex.kz", "yandex.tm",
                                  "yandex.uz"), "Yandex")}
_WIKIPEDIA_TAG = re.compile(r"[a-z-]+(\.m)?\.wikipedia\.org")  # custom_sources.json's language editions
_NAMES = ({name.lower(): name for name in [*_DOMAINS.values(), *_COUNTRY_NAMES.values()]} | _SHORTHANDS
          | _CUSTOM_HOSTS)

# ISO 3166-1 alpha-2, the 249 assigned codes (https://www.iso.org/obp/ui/#search/code/), and XK
# (Kosovo, user-assigned, which geolocation databases return).
_ISO_CODES = """
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR
GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO
JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR
MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO
RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV
TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW XK
"""
COUNTRIES = frozenset(_ISO_CODES.split())


def clean(value: str | None, limit: int = MAX_VALUE_LENGTH) -> str:
    """A free-text dimension value: control characters out, whitespace collapsed, at most ``limit`` chars."""
    if not value:
        return ""
    return _SPACES.sub(" ", _CONTROL.sub(" ", value)).strip()[:limit].strip()


def query_of(page_url: str | None) -> dict[str, str]:
    """The page URL's query, first value of each name (as Plausible reads it)."""
    out: dict[str, str] = {}
    try:
        query = urlsplit(page_url or "").query
    except ValueError:
        return out
    for key, value in parse_qsl(query, keep_blank_values=True):
        out.setdefault(key.lower(), value)
    return out


def _bare_host(host: str | None) -> str:
    return (host or "").lower().rstrip(".").removeprefix("www.")


def known_host(host: str) -> str | None:
    """The known source a host belongs to (``old.reddit.com`` → Reddit, ``google.co.uk`` → Google)."""
    host = _bare_host(host)
    labels = host.split(".")
    for i in range(len(labels) - 1):
        name = _DOMAINS.get(".".join(labels[i:]))
        if name:
            return name
    match = _COUNTRY_DOMAINS.search(host)
    return _COUNTRY_NAMES[match.group(1)] if match else None


def referrer_source(referrer: str | None, page_url: str | None = None, domain: str | None = None) -> str | None:
    """The source a referrer gives, or None when it gives none (absent, invalid, the site itself:
    ``sites.is_self_referral``, with the page's host as the site when ``domain`` is not given)."""
    try:
        ref = urlsplit((referrer or "").strip())
        page_host = urlsplit(page_url or "").hostname
    except ValueError:
        return None
    host = ref.hostname
    if ref.scheme not in ("http", "https", "android-app") or not host:
        return None
    if ref.scheme == "android-app":
        return _APPS.get(host, clean(f"android-app://{host}"))
    if host == "localhost" or is_self_referral(host, page_host, domain or page_host or ""):
        return None  # a link inside the site, or a developer's machine: not a source
    return known_host(host) or clean(_bare_host(host))


def tagged_source(tag: str) -> str:
    """A ``utm_source``-style tag, merged with the known names case-insensitively (``GOOGLE`` → Google);
    any other tag as written, a host too (``news.ycombinator.com``), as source.ex ``find_mapping``."""
    value = clean(tag)
    lowered = value.lower()
    if _WIKIPEDIA_TAG.fullmatch(lowered):
        return "Wikipedia"
    return _NAMES.get(lowered, value)


def tag_of(query: Mapping[str, str]) -> str | None:
    """The page URL's tag: the first of ``utm_source``, ``source``, ``ref`` present, even empty
    (source.ex ``resolve``: Elixir's ``||`` keeps ""), cleaned; None without one."""
    return next((clean(query[t]) for t in _TAGS if t in query), None)


def source(page_url: str | None, referrer: str | None, domain: str | None = None) -> str:
    """The event's source: a tag of the page URL, else the referrer, else ``DIRECT``."""
    tag = tag_of(query_of(page_url))
    if tag is not None:
        return tagged_source(tag) or DIRECT
    return referrer_source(referrer, page_url, domain) or DIRECT


@dataclass(frozen=True)
class Campaign:
    source: str
    medium: str  # as written (event.ex put_source_info), trimmed and bounded
    campaign: str  # as written (campaign names are the site owner's own), trimmed and bounded


def campaign(page_url: str | None, referrer: str | None, domain: str | None = None) -> Campaign:
    """Source, ``utm_medium`` and ``utm_campaign`` of a page view ("" when the URL has none)."""
    query = query_of(page_url)
    return Campaign(source(page_url, referrer, domain), clean(query.get("utm_medium")),
                    clean(query.get("utm_campaign")))


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """A request header by name, in any case (API Gateway keeps the case the client sent)."""
    lowered = name.lower()
    return next((str(v) for k, v in (headers or {}).items() if k.lower() == lowered), None)


def country(headers: Mapping[str, str] | None) -> str | None:
    """The viewer's country from ``CloudFront-Viewer-Country``: an assigned ISO 3166-1 alpha-2 code, or None."""
    value = (header(headers, "CloudFront-Viewer-Country") or "").strip().upper()
    return value if value in COUNTRIES else None


@dataclass(frozen=True)
class Client:
    device: str  # "desktop" | "mobile" | "tablet"; "bot" for crawlers (which the collector may drop)
    browser: str
    browser_version: str  # the major version, or ""
    os: str
    os_version: str  # major[.minor], or ""

    @property
    def is_bot(self) -> bool:
        return self.device == "bot"


UNKNOWN_CLIENT = Client("desktop", "Unknown", "", "Unknown", "")
# uap-core's families, shortened to the names analytics tools show; mobile variants join their browser.
_BROWSERS = {"Chrome Mobile": "Chrome", "Chrome Mobile iOS": "Chrome", "Chrome Mobile WebView": "Chrome WebView",
             "Mobile Safari": "Safari", "Mobile Safari UI/WKWebView": "Safari (in-app)",
             "Firefox Mobile": "Firefox", "Firefox iOS": "Firefox", "Edge Mobile": "Edge",
             "Opera Mobile": "Opera", "Samsung Internet": "Samsung Internet", "Other": "Unknown"}
_OSES = {"Mac OS X": "macOS", "Chrome OS": "ChromeOS", "Ubuntu": "Linux", "Fedora": "Linux", "Debian": "Linux",
         "Other": "Unknown"}
_TABLET_DEVICES = re.compile(r"\b(iPad|Kindle|Nexus (7|9|10)|Galaxy Tab|SM-[TPX]\d|Tab\b)", re.IGNORECASE)
_TABLET_UA = re.compile(r"\b(iPad|Tablet|Silk/|Kindle)\b", re.IGNORECASE)
_MOBILE_UA = re.compile(r"\b(Mobile|iPhone|iPod|Windows Phone|BlackBerry|Opera Mini|KaiOS)\b", re.IGNORECASE)
_parser: Parser | None = None
_parser_lock = threading.Lock()


def _ua_parser() -> Parser:
    """One parser per container, built on first use: imported lazily so other handlers never load it."""
    global _parser
    with _parser_lock:
        if _parser is None:
            from ua_parser import BasicResolver, Parser, load_lazy_builtins

            # The lazy matchers compile a rule when a User-Agent first reaches it; repeat User-Agents
            # never get here (client() keeps a bounded cache of finished results).
            _parser = Parser(BasicResolver(load_lazy_builtins()))
        return _parser


def _version(*parts: str | None) -> str:
    return ".".join(p for p in parts if p)


def _device(ua: str, device_family: str, os_family: str) -> str:
    if device_family == "Spider":  # uap-core's family for crawlers
        return "bot"
    if _TABLET_UA.search(ua) or _TABLET_DEVICES.search(device_family):
        return "tablet"
    # Android tablets leave "Mobile" out of the User-Agent
    # (https://developer.chrome.com/docs/multidevice/user-agent/#chrome_for_android_user_agent).
    if os_family == "Android":
        return "mobile" if "Mobile" in ua else "tablet"
    if _MOBILE_UA.search(ua) or os_family in ("iOS", "Windows Phone", "KaiOS", "BlackBerry OS"):
        return "mobile"
    return "desktop"


@lru_cache(maxsize=UA_CACHE_SIZE)
def client(user_agent: str | None) -> Client:
    """Device class, browser and OS of a User-Agent (bounded cache: the same string is parsed once)."""
    ua = (user_agent or "").strip()[:MAX_UA_LENGTH]
    if not ua:
        return UNKNOWN_CLIENT
    parsed = _ua_parser().parse(ua)
    agent, system, device = parsed.user_agent, parsed.os, parsed.device
    browser = agent.family if agent else "Other"
    os_family = system.family if system else "Other"
    return Client(
        device=_device(ua, device.family if device else "Other", os_family),
        browser=_BROWSERS.get(browser, browser),
        browser_version=(agent.major or "") if agent else "",
        os=_OSES.get(os_family, os_family),
        os_version=_version(system.major, system.minor) if system else "",
    )
