"""Acquisition channels, as Plausible groups sources (its acquisition.ex ``get_channel``; the rules
and their order: docs/metrics.md, "Channels"). A visit's channel is its entry's (visits.py).

A source's category is its row in Google's source-category list with Plausible's additions
(source_categories.py); a source in neither has no category (it is a Referral, as any other source).
"""

from __future__ import annotations

import re

from .source_categories import category as source_category

DIRECT = "Direct"
CLICK_IDS = ("gclid", "gbraid", "wbraid", "msclkid", "fbclid", "twclid")

# source.ex ``@paid_sources``: "adwords" and the keys of custom_sources.json that end in "ads" or
# "ad": a utm_source that makes a search, social or video source paid whatever the medium.
PAID_SOURCES = frozenset({"adwords", "fb-ads", "fbads", "fbad", "facebook-ads", "facebook_ads", "facebook_ad",
                          "facebook_feed_ad", "yt-ads", "reddit-ads", "google_ads", "google-ads", "googleads", "gads",
                          "google ads", "twitter-ads", "tiktokads"})
_PAID_MEDIUM = re.compile(r"(.*cp.*|ppc|retargeting|paid.*)")
_SHOPPING_CAMPAIGN = re.compile(r"(.*(([^a-df-z]|^)shop|shopping).*)")
_EMAIL_TAGS = ("email", "e-mail", "e_mail", "e mail", "newsletter")
_SOCIAL_MEDIA = ("social", "social-network", "social-media", "sm", "social network", "social media")


def channel(source: str, utm_medium: str, utm_campaign: str, utm_source: str, click_id: str) -> str:
    """The first of Plausible's rules that matches (``source`` "" for none)."""
    source, medium, campaign, usource = source.lower(), utm_medium.lower(), utm_campaign.lower(), utm_source.lower()
    category = source_category(source)
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
