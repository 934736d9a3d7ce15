"""Acquisition channels, as Plausible groups sources (its acquisition.ex ``get_channel``; the rules
and their order: docs/metrics.md, "Channels"). A visit's channel is its entry's (visits.py).

A source's category is its row in Google's source-category list (Plausible's
``priv/ga4-source-categories.csv``) with Plausible's additions. ``CATEGORIES`` holds the rows of the
source names our collector gives (shared/dimensions.py) and the common others; a source not in it
has no category (it is a Referral, as any other source).
"""

from __future__ import annotations

import re

DIRECT = "Direct"
CLICK_IDS = ("gclid", "gbraid", "wbraid", "msclkid", "fbclid", "twclid")

_SEARCH = ("google", "bing", "duckduckgo", "yahoo!", "yahoo", "ecosia", "brave", "brave search", "sogou", "baidu",
           "yandex", "naver", "qwant", "startpage", "ask", "aol", "seznam", "daum", "so.com", "360.cn")
_SOCIAL = ("facebook", "fb", "instagram", "linkedin", "hacker news", "github", "x (twitter)", "twitter", "t.co",
           "reddit", "pinterest", "tiktok", "slack", "telegram", "discord", "threads", "bluesky", "mastodon",
           "medium", "lobsters", "product hunt", "stack overflow", "stackoverflow", "quora", "tumblr", "vk",
           "whatsapp", "wechat", "weibo", "snapchat", "messenger", "line", "xing")
_VIDEO = ("youtube", "vimeo", "twitch", "dailymotion", "netflix")
_SHOPPING = ("amazon", "ebay", "etsy", "shopify", "walmart", "aliexpress", "alibaba", "temu.com", "mercadolibre")
_EMAIL = ("gmail", "outlook.live.com", "mail.yahoo.com", "mail.google.com")
_AI = ("chatgpt", "claude", "perplexity", "copilot", "deepseek", "grok", "google gemini", "phind")
CATEGORIES: dict[str, str] = {
    **dict.fromkeys(_SEARCH, "SEARCH"), **dict.fromkeys(_SOCIAL, "SOCIAL"), **dict.fromkeys(_VIDEO, "VIDEO"),
    **dict.fromkeys(_SHOPPING, "SHOPPING"), **dict.fromkeys(_EMAIL, "EMAIL"), **dict.fromkeys(_AI, "AI_ASSISTANTS")}
# custom_sources.json keys that end in "ads" / "ad", and adwords: a paid source
PAID_SOURCES = frozenset({"adwords", "google-ads", "fb-ads", "fbads", "fbad", "facebook-ads", "facebook_ads",
                          "facebook_ad", "ig-ads", "instagram-ads", "linkedin-ads", "twitter-ads", "tiktok-ads",
                          "bing-ads", "microsoft-ads", "reddit-ads", "youtube-ads", "pinterest-ads"})
_PAID_MEDIUM = re.compile(r"(.*cp.*|ppc|retargeting|paid.*)")
_SHOPPING_CAMPAIGN = re.compile(r"(.*(([^a-df-z]|^)shop|shopping).*)")
_EMAIL_TAGS = ("email", "e-mail", "e_mail", "e mail", "newsletter")
_SOCIAL_MEDIA = ("social", "social-network", "social-media", "sm", "social network", "social media")


def channel(source: str, utm_medium: str, utm_campaign: str, utm_source: str, click_id: str) -> str:
    """The first of Plausible's rules that matches (``source`` "" for none)."""
    source, medium, campaign, usource = source.lower(), utm_medium.lower(), utm_campaign.lower(), utm_source.lower()
    category = CATEGORIES.get(source)
    paid_medium = _PAID_MEDIUM.fullmatch(medium) is not None
    paid = paid_medium or usource in PAID_SOURCES
    shopping_campaign = _SHOPPING_CAMPAIGN.fullmatch(campaign) is not None
    rules: tuple[tuple[bool, str], ...] = (
        ("cross-network" in campaign, "Cross-network"),
        ((category == "SHOPPING" or shopping_campaign) and paid_medium, "Paid Shopping"),
        ((category == "SEARCH" and paid) or (source == "google" and click_id == "gclid")
         or (source == "bing" and click_id == "msclkid"), "Paid Search"),
        (category == "SOCIAL" and paid, "Paid Social"),
        (category == "VIDEO" and paid, "Paid Video"),
        (medium in ("display", "banner", "expandable", "interstitial", "cpm"), "Display"),
        (paid_medium, "Paid Other"),
        (category == "SHOPPING" or shopping_campaign, "Organic Shopping"),
        (category == "SOCIAL" or medium in _SOCIAL_MEDIA, "Organic Social"),
        (category == "VIDEO" or "video" in medium, "Organic Video"),
        (category == "AI_ASSISTANTS", "AI Assistants"),
        (category == "SEARCH", "Organic Search"),
        (category == "EMAIL" or any(t in usource or t in medium for t in _EMAIL_TAGS), "Email"),
        (medium == "affiliate", "Affiliates"),
        (medium == "audio", "Audio"),
        ("sms" in (usource, medium), "SMS"),
        (medium.endswith("push") or "mobile" in medium or "notification" in medium or source == "firebase",
         "Mobile Push Notifications"),
        (medium in ("referral", "app", "link") or source != "", "Referral"),
    )
    return next((name for matched, name in rules if matched), DIRECT)
