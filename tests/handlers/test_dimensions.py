"""Ingest-time dimensions: source and UTM tags, country, device/browser/OS from real User-Agents."""

from __future__ import annotations

import subprocess
import sys

import pytest

from shared import dimensions
from shared.dimensions import DIRECT, campaign, client, country, source
from tests.conftest import ROOT

PAGE = "https://example.com/pricing"


@pytest.mark.parametrize(("referrer", "expected"), [
    ("https://www.google.com/", "Google"),
    ("https://www.google.co.uk/search?q=x", "Google"),
    ("https://google.de/", "Google"),
    ("https://www.google.com.au/", "Google"),
    ("https://mail.google.com/mail/u/0/", "Gmail"),
    ("https://www.bing.com/search?q=x", "Bing"),
    ("https://duckduckgo.com/", "DuckDuckGo"),
    ("https://search.yahoo.com/search?p=x", "Yahoo!"),
    ("https://yandex.ru/search/?text=x", "Yandex"),
    ("https://www.baidu.com/link?url=x", "Baidu"),
    ("https://www.ecosia.org/search?q=x", "Ecosia"),
    ("https://search.brave.com/search?q=x", "Brave"),  # custom_sources.json
    ("https://news.ycombinator.com/item?id=1", "Hacker News"),
    ("https://www.reddit.com/r/python/", "Reddit"),
    ("https://old.reddit.com/r/python/", "Reddit"),
    ("https://out.reddit.com/t3_abc", "Reddit"),
    ("android-app://com.reddit.frontpage/", "Reddit"),
    ("https://t.co/AbCdEf", "X (Twitter)"),
    ("https://twitter.com/someone", "X (Twitter)"),
    ("https://x.com/someone/status/1", "X (Twitter)"),
    ("https://l.facebook.com/l.php?u=x", "Facebook"),
    ("https://m.facebook.com/", "Facebook"),
    ("https://www.linkedin.com/feed/", "LinkedIn"),
    ("https://lnkd.in/abc", "LinkedIn"),
    ("https://github.com/owner/repo", "GitHub"),
    ("https://l.instagram.com/?u=x", "Instagram"),
    ("https://m.youtube.com/watch?v=x", "Youtube"),  # referers.yml and custom_sources.json spell it so
    ("https://youtu.be/x", "Youtube"),
    ("https://stackoverflow.com/questions/1", "StackOverflow"),  # referers.yml's name
    # source.ex from_referrer: custom_sources.json hosts before RefInspector, then suffix families
    ("https://gemini.google.com/app", "Google Gemini"),
    ("https://claude.ai/chat/1", "Claude"),
    ("https://copilot.microsoft.com/", "Microsoft Copilot"),
    ("https://kagi.com/search?q=x", "Kagi"),
    ("https://pplx.ai/x", "Perplexity"),
    ("https://teams.microsoft.com/l/x", "Microsoft Teams"),
    ("https://linktr.ee/someone", "Linktree"),
    ("https://euc-excel.officeapps.live.com/x", "Microsoft 365"),
    ("https://notwikipedia.org/", "notwikipedia.org"),
    ("https://en.m.wikipedia.org/wiki/Web_analytics", "Wikipedia"),
    ("https://www.markosaric.com/blog/", "markosaric.com"),  # unknown: the host without www.
    ("https://Blog.Example.ORG./post", "blog.example.org"),
])
def test_a_referrer_becomes_its_known_source_or_its_host(referrer: str, expected: str) -> None:
    assert source(PAGE, referrer) == expected


@pytest.mark.parametrize("referrer", [
    None, "", "not a url", "ftp://files.example.net/", "https:///nohost",
    "https://example.com/", "https://www.example.com/blog",  # the site itself: internal navigation
    "http://localhost:3000/",
])
def test_no_source_is_direct(referrer: str | None) -> None:
    assert source(PAGE, referrer) == DIRECT


@pytest.mark.parametrize(("url", "expected"), [
    ("https://example.com/?utm_source=newsletter", "newsletter"),
    ("https://example.com/?utm_source=GOOGLE", "Google"),  # known names merge case-insensitively
    ("https://example.com/?utm_source=fb", "Facebook"),
    ("https://example.com/?utm_source=ig", "Instagram"),
    ("https://example.com/?utm_source=hacker%20news", "Hacker News"),
    # only Plausible's shorthands (custom_sources.json keys): others stay as written
    ("https://example.com/?utm_source=fcb", "Facebook"),
    ("https://example.com/?utm_source=facebook_feed_ad", "Facebook"),
    ("https://example.com/?utm_source=googleads", "Google"),
    ("https://example.com/?utm_source=yt", "Youtube"),
    ("https://example.com/?utm_source=tik.tok", "TikTok"),
    ("https://example.com/?utm_source=brave", "Brave"),
    ("https://example.com/?utm_source=twitter", "X (Twitter)"),
    ("https://example.com/?utm_source=hn", "hn"),
    ("https://example.com/?utm_source=gh", "gh"),
    ("https://example.com/?utm_source=x", "x"),
    # a custom_sources.json host is a key too: a tag written as that host gets the name
    ("https://example.com/?utm_source=perplexity.ai", "Perplexity"),
    ("https://example.com/?utm_source=en.wikipedia.org", "Wikipedia"),
    ("https://example.com/?utm_source=search.brave.com", "Brave"),
    # a tag is matched against names, not hosts (source.ex find_mapping): a host written as a tag stays
    ("https://example.com/?utm_source=news.ycombinator.com", "news.ycombinator.com"),
    ("https://example.com/?ref=producthunt.com", "producthunt.com"),
    ("https://example.com/?source=Spring%20%20Sale%0A", "Spring Sale"),
    ("https://example.com/?ref=a&source=b&utm_source=c", "c"),  # Plausible's order: utm_source, source, ref
    ("https://example.com/?ref=a&source=b", "b"),
    ("https://example.com/?UTM_SOURCE=upper", "upper"),
    # the first tag present wins even when empty (Elixir's || keeps ""): no source, the referrer unread
    ("https://example.com/?utm_source=&ref=fallback", DIRECT),
])
def test_tags_of_the_page_url_win_over_the_referrer(url: str, expected: str) -> None:
    assert source(url, "https://www.bing.com/") == expected


def test_a_long_tag_is_cut() -> None:
    assert len(source("https://example.com/?utm_source=" + "a" * 500, None)) == 100


def test_utm_medium_and_campaign() -> None:
    got = campaign("https://example.com/?utm_source=Twitter&utm_medium=Social%20&utm_campaign=Launch%20Week%202026",
                   None)
    # kept as written (event.ex put_source_info), trimmed; channels compare them lower-cased
    assert (got.source, got.medium, got.campaign) == ("X (Twitter)", "Social", "Launch Week 2026")
    bare = campaign("https://example.com/", "https://duckduckgo.com/")
    assert (bare.source, bare.medium, bare.campaign) == ("DuckDuckGo", "", "")
    long = campaign("https://example.com/?utm_campaign=" + "x" * 300 + "&utm_medium=a%00b", None)
    assert len(long.campaign) == 100 and long.medium == "a b"


@pytest.mark.parametrize(("headers", "expected"), [
    ({"CloudFront-Viewer-Country": "DE"}, "DE"),
    ({"cloudfront-viewer-country": "us"}, "US"),  # any case, as clients and API Gateway send them
    ({"CloudFront-Viewer-Country": " GB "}, "GB"),
    ({"CloudFront-Viewer-Country": "XK"}, "XK"),
    ({"CloudFront-Viewer-Country": "UK"}, None),  # not ISO: the code is GB
    ({"CloudFront-Viewer-Country": "EU"}, None),
    ({"CloudFront-Viewer-Country": "ZZ"}, None),
    ({"CloudFront-Viewer-Country": "DEU"}, None),
    ({"CloudFront-Viewer-Country": "<script>"}, None),
    ({"X-Country": "DE"}, None),
    ({}, None),
    (None, None),
])
def test_country_is_an_iso_code_from_cloudfront_or_none(headers: dict[str, str] | None, expected: str | None) -> None:
    assert country(headers) == expected


def test_the_country_table_has_every_assigned_code() -> None:
    assert len(dimensions.COUNTRIES - {"XK"}) == 249  # https://www.iso.org/iso-3166-country-codes.html
    assert {"FR", "JP", "BR", "ZA", "SS", "CW", "SX", "BQ", "AX"} <= dimensions.COUNTRIES


CHROME_WINDOWS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/124.0.0.0 Safari/537.36")
USER_AGENTS = [
    # (User-Agent, device, browser, OS)
    (CHROME_WINDOWS, "desktop", "Chrome", "Windows"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 "
     "Safari/537.36", "desktop", "Chrome", "macOS"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 "
     "Safari/605.1.15", "desktop", "Safari", "macOS"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.4.1 Mobile/15E148 Safari/604.1", "mobile", "Safari", "iOS"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1", "mobile", "Chrome", "iOS"),
    ("Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 "
     "Mobile/15E148 Safari/604.1", "tablet", "Safari", "iOS"),
    ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 "
     "Mobile Safari/537.36", "mobile", "Chrome", "Android"),
    ("Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 "
     "Safari/537.36", "tablet", "Chrome", "Android"),
    ("Mozilla/5.0 (Linux; Android 12; Lenovo TB-J606F) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 "
     "Safari/537.36", "tablet", "Chrome", "Android"),  # Android without "Mobile": a tablet
    ("Mozilla/5.0 (Linux; Android 11; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) Silk/124.2.1 like "
     "Chrome/124.0.6367.111 Safari/537.36", "tablet", "Amazon Silk", "Android"),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0", "desktop", "Firefox", "Linux"),
    ("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0", "desktop", "Firefox", "Linux"),
    ("Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0", "mobile", "Firefox", "Android"),
    (CHROME_WINDOWS + " Edg/124.0.2478.80", "desktop", "Edge", "Windows"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 "
     "Safari/537.36 OPR/109.0.0.0", "desktop", "Opera", "Windows"),
    ("Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 "
     "Chrome/117.0.0.0 Mobile Safari/537.36", "mobile", "Samsung Internet", "Android"),
    ("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 "
     "Safari/537.36", "desktop", "Chrome", "ChromeOS"),
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "bot", "Googlebot", None),
    ("Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/124.0.6367.201 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
     "bot", "Googlebot", None),
    ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", "bot", "bingbot", None),
    ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
     "bot", None, None),
]


@pytest.mark.parametrize(("ua", "device", "browser", "os"), USER_AGENTS)
def test_device_browser_and_os_of_real_user_agents(ua: str, device: str, browser: str | None, os: str | None) -> None:
    got = client(ua)
    assert got.device == device
    assert got.is_bot == (device == "bot")
    if browser is not None:
        assert got.browser == browser
    if os is not None:
        assert got.os == os


def test_versions_are_major_for_browsers_and_major_minor_for_systems() -> None:
    got = client(USER_AGENTS[3][0])  # Safari 17.4.1 on iOS 17.4.1
    assert (got.browser_version, got.os_version) == ("17", "17.4")


@pytest.mark.parametrize("ua", [None, "", "   ", "\x00\x01", "x" * 10_000])
def test_odd_user_agents_get_a_client_and_no_error(ua: str | None) -> None:
    got = client(ua)
    assert got.device in ("desktop", "mobile", "tablet", "bot") and got.browser and got.os


def test_the_client_cache_is_bounded() -> None:
    client.cache_clear()
    for i in range(dimensions.UA_CACHE_SIZE + 50):
        client(f"{CHROME_WINDOWS} build/{i}")
    info = client.cache_info()
    assert info.maxsize == dimensions.UA_CACHE_SIZE and info.currsize == dimensions.UA_CACHE_SIZE
    client(CHROME_WINDOWS + f" build/{dimensions.UA_CACHE_SIZE + 49}")
    assert client.cache_info().hits == info.hits + 1


def test_importing_the_module_does_not_load_the_parser() -> None:
    """Handlers that never parse a User-Agent must not pay ua-parser's import at cold start."""
    code = ("import sys; import shared.dimensions as d; print('ua_parser' in sys.modules); "
            "d.client('curl/8'); print('ua_parser' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT / "handlers", capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "True"]


def test_every_known_source_is_in_the_documented_table() -> None:
    doc = (ROOT / "docs" / "analytics.md").read_text()
    table = doc[doc.index("| source | hosts |"):doc.index("## What is derived where")]
    missing = sorted(n for n in set(dimensions._NAMES.values()) if n not in table)
    assert not missing, f"docs/analytics.md does not list {missing}"
