"""Acquisition channels as Plausible groups sources: the cases of Plausible's own test of
acquisition.ex (test/plausible/ingestion/acquisition_test.exs), the categories of Google's list,
and the sources our collector names (docs/metrics.md, "Channels")."""

from __future__ import annotations

import pytest

from shared import channels, dimensions, source_categories
from shared.channels import channel

PAGE = "https://example.com/"


# (source, utm_medium, utm_campaign, utm_source, click id, channel), as acquisition_test.exs has them
PLAUSIBLE_CASES = [
    ("", "", "", "", "", "Direct"),
    ("", "", "cross-network", "", "", "Cross-network"),
    ("", "paid", "shopping", "", "", "Paid Shopping"),
    ("shopify.com", "paid", "", "", "", "Paid Shopping"),
    ("shopify", "paid", "", "shopify", "", "Paid Shopping"),
    ("DuckDuckGo", "paid", "", "", "", "Paid Search"),
    ("Google", "", "", "", "gclid", "Paid Search"),
    ("DuckDuckGo", "", "", "", "gclid", "Organic Search"),
    ("Bing", "", "", "", "msclkid", "Paid Search"),
    ("DuckDuckGo", "", "", "", "msclkid", "Organic Search"),
    ("google", "paid", "", "google", "", "Paid Search"),
    ("TikTok", "paid", "", "", "", "Paid Social"),
    ("Youtube", "paid", "", "", "", "Paid Video"),
    ("", "banner", "", "", "", "Display"),
    ("", "cpc", "", "", "", "Paid Other"),
    ("walmart.com", "", "", "", "", "Organic Shopping"),
    ("", "", "shop", "", "", "Organic Shopping"),
    ("Facebook", "", "", "", "", "Organic Social"),
    ("X (Twitter)", "", "", "twitter", "", "Organic Social"),
    ("", "social", "", "", "", "Organic Social"),
    ("Vimeo", "", "", "", "", "Organic Video"),
    ("", "video", "", "", "", "Organic Video"),
    ("DuckDuckGo", "", "", "", "", "Organic Search"),
    ("", "referral", "", "", "", "Referral"),
    ("email", "", "", "email", "", "Email"),
    ("", "email", "", "", "", "Email"),
    ("", "affiliate", "", "", "", "Affiliates"),
    ("", "audio", "", "", "", "Audio"),
    ("sms", "", "", "sms", "", "SMS"),
    ("", "sms", "", "", "", "SMS"),
    ("", "app-push", "", "", "", "Mobile Push Notifications"),
    ("", "example-mobile", "", "", "", "Mobile Push Notifications"),
    ("othersite.com", "", "", "", "", "Referral"),
    ("Instagram", "", "", "ig", "", "Organic Social"),
    ("Youtube", "", "", "yt", "", "Organic Video"),
    ("Youtube", "", "", "yt-ads", "", "Paid Video"),
    ("Facebook", "", "", "fb-ads", "", "Paid Social"),
    ("Facebook", "", "", "fbad", "", "Paid Social"),
    ("Facebook", "", "", "facebook-ads", "", "Paid Social"),
    ("Reddit", "", "", "Reddit-ads", "", "Paid Social"),
    ("Google", "", "", "google_ads", "", "Paid Search"),
    ("Google", "", "", "Google-ads", "", "Paid Search"),
    ("Google", "", "", "Adwords", "", "Paid Search"),
    ("X (Twitter)", "", "", "twitter-ads", "", "Paid Social"),
    ("Reddit", "", "", "", "", "Organic Social"),
    ("Perplexity", "", "", "", "", "AI Assistants"),
    ("Microsoft Teams", "", "", "", "", "Organic Social"),
    ("Wikipedia", "", "", "", "", "Referral"),
    ("Bing", "", "", "", "", "Organic Search"),
    ("Brave", "", "", "", "", "Organic Search"),
    ("Yandex", "", "", "", "", "Organic Search"),
    ("Discord", "", "", "", "", "Organic Social"),
    ("Baidu", "", "", "", "", "Organic Search"),
    ("Telegram", "", "", "", "", "Organic Social"),
    ("Sogou", "", "", "", "", "Organic Search"),
    ("Linktree", "", "", "linktree", "", "Referral"),
    ("Hacker News", "", "", "", "", "Organic Social"),
    ("Yahoo!", "", "", "", "", "Organic Search"),
    ("Gmail", "", "", "", "", "Email"),
    ("Newsletter-UK", "", "", "Newsletter-UK", "", "Email"),
    ("temu.com", "", "", "", "", "Organic Shopping"),
    ("Bluesky", "", "", "", "", "Organic Social"),
    ("Mastodon", "", "", "", "", "Organic Social"),
    ("Google Gemini", "", "", "", "", "AI Assistants"),
    ("ChatGPT", "", "", "", "", "AI Assistants"),
    ("Claude", "", "", "", "", "AI Assistants"),
    ("Phind", "", "", "", "", "AI Assistants"),
    ("DeepSeek", "", "", "", "", "AI Assistants"),
    ("Microsoft Copilot", "", "", "", "", "AI Assistants"),
    ("Grok", "", "", "", "", "AI Assistants"),
    ("Slack", "", "", "", "", "Organic Social"),
    ("producthunt", "", "", "", "", "Organic Social"),
    ("GitHub", "", "", "", "", "Organic Social"),
    ("steamcommunity.com", "", "", "", "", "Organic Social"),
    ("Vkontakte", "", "", "", "", "Organic Social"),
    ("Threads", "", "", "", "", "Organic Social"),
    ("Ecosia", "", "", "", "", "Organic Search"),
    ("Kagi", "", "", "", "", "Organic Search"),
    ("Microsoft 365", "", "", "", "", "Referral"),
    ("Google", "display", "", "", "123identifier", "Display"),
]


@pytest.mark.parametrize(("source", "medium", "campaign", "utm_source", "click_id", "expected"), PLAUSIBLE_CASES)
def test_plausibles_own_cases(source: str, medium: str, campaign: str, utm_source: str, click_id: str,
                              expected: str) -> None:
    assert channel(source, medium, campaign, utm_source, click_id) == expected


@pytest.mark.parametrize(("source", "expected"), [
    # rows of Google's list that the sources of a tag or an unknown host reach
    ("news.ycombinator.com", "Organic Social"),  # ref=news.ycombinator.com: a tag stays as written
    ("old.reddit.com", "Organic Social"),
    ("m.youtube.com", "Organic Video"),
    ("twitch.tv", "Organic Video"),
    ("amazon.co.uk", "Organic Shopping"),
    ("ebay.com", "Organic Shopping"),  # "ebay*": the name and the name with .com
    ("badoo.com", "Organic Social"),
    ("Naver", "Organic Search"),
    ("news.google.com", "Organic Search"),
    ("mail.yandex.ru", "Organic Search"),  # Google files these mail hosts under search
    ("de.search.yahoo.com", "Organic Search"),
    ("pinterest.co.uk", "Organic Social"),
    ("nl.pinterest.com", "Organic Social"),
    ("google+", "Organic Social"),  # Google+, a name of its own
    ("Google", "Organic Search"),  # and not Google+'s category
    ("Stack Overflow", "Referral"),  # Google lists "stackoverflow", not this name
    ("Google Shopping", "Referral"),  # a row with capitals, which Plausible's lower-cased lookup never meets
    ("outlook.live.com", "Referral"),  # in neither list: no category
])
def test_google_list_categories(source: str, expected: str) -> None:
    assert channel(source, "", "", "", "") == expected


# source.ex @paid_sources: "adwords" and the custom_sources.json keys that end in "ads" or "ad"
@pytest.mark.parametrize("tag", ["adwords", "fb-ads", "fbads", "fbad", "facebook-ads", "facebook_ads", "facebook_ad",
                                 "facebook_feed_ad", "yt-ads", "reddit-ads", "google_ads", "google-ads", "googleads",
                                 "gads", "google ads", "twitter-ads", "tiktokads", "TikTokAds"])
def test_each_paid_source_makes_a_social_source_paid(tag: str) -> None:
    assert channel("Facebook", "", "", tag, "") == "Paid Social"


@pytest.mark.parametrize("tag", ["ig-ads", "linkedin-ads", "bing-ads", "fb", "yt", "ads"])
def test_other_tags_are_not_paid(tag: str) -> None:
    """source.ex ``@paid_sources``: "adwords" and custom_sources.json keys ending in "ads"/"ad", no others."""
    assert channel("Facebook", "", "", tag, "") == "Organic Social"


@pytest.mark.parametrize(("url", "referrer", "expected"), [
    (PAGE, "https://www.google.de/", "Organic Search"),
    (PAGE + "?gclid=abc", "https://www.google.com/", "Paid Search"),
    (PAGE, "https://news.ycombinator.com/item?id=1", "Organic Social"),
    (PAGE + "?ref=news.ycombinator.com", None, "Organic Social"),
    (PAGE, "https://mail.google.com/mail/u/0/", "Email"),
    (PAGE, "https://search.brave.com/search?q=x", "Organic Search"),
    (PAGE, "https://www.youtube.com/watch?v=x", "Organic Video"),
    (PAGE, "https://perplexity.ai/search", "AI Assistants"),
    (PAGE, "https://gemini.google.com/app", "AI Assistants"),
    (PAGE, "https://kagi.com/search?q=x", "Organic Search"),
    (PAGE, "https://en.wikipedia.org/wiki/Espresso", "Referral"),
    (PAGE + "?utm_source=adwords&utm_campaign=brand", None, "Paid Search"),
    (PAGE + "?utm_source=fb&utm_medium=social", "https://l.facebook.com/", "Organic Social"),
    (PAGE + "?utm_source=Newsletter&utm_medium=Email", "https://mail.google.com/", "Email"),
    (PAGE + "?utm_source=hn", None, "Referral"),  # Plausible keeps "hn" as written: no category
    (PAGE, None, "Direct"),
])
def test_the_collectors_sources_reach_plausibles_channel(url: str, referrer: str | None, expected: str) -> None:
    """Source naming (dimensions.py) and categories (source_categories.py) together."""
    query = dimensions.query_of(url)
    click_id = next((k for k in channels.CLICK_IDS if k in query), "")
    c = dimensions.campaign(url, referrer)
    src = "" if c.source == dimensions.DIRECT else c.source
    assert channel(src, c.medium, c.campaign, dimensions.tag_of(query) or "", click_id) == expected


def test_the_table_keeps_google_rows_over_plausibles() -> None:
    """acquisition.ex merges its additions first, then Google's rows: a name in both takes Google's."""
    assert source_categories.category("sogou") == source_categories.SEARCH
    assert all(k == k.lower() for k in source_categories.CATEGORIES)
