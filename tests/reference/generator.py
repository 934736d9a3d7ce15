"""Seeded, realistic traffic for the reference: three sites, two UTC days, the awkward cases included.

``generate(seed, start_ms, midnight_ms, end_ms)`` gives the same hits for the same arguments. The
traffic holds: bots; ``engagement`` events after most page views (short ones on bounces); goals
with props; purchases with revenue in USD and EUR; visits that cross ``midnight_ms``; visitors
browsing the site's ``www.`` host; entries whose referrer is the site itself (self-referrals, both
``www.`` and bare); UTM-tagged entries (and a Google Ads click with ``gclid``; shorthands Plausible knows and one it
does not); referrers whose names Plausible spells its own way (Brave, Youtube, X (Twitter)); percent-encoded
paths; a visitor back on the other day; engagement events with no visit (more than 30 minutes
after the last event), which Plausible drops.

Gaps are chosen so that no rule depends on rounding: page views of a visit are 10 s to 5 min
apart; a visitor's next visit starts at least 45 minutes after the last event of the one before
(Plausible's 30-minute rule counts whole minutes, ours milliseconds); every event of a visitor is
at least a second after the one before, on a whole second.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tests.reference.agents import BOTS, HUMANS, WEIGHTS
from tests.reference.plausible import Hit

S, MIN = 1000, 60_000


@dataclass(frozen=True)
class SiteModel:
    domain: str
    pages: tuple[str, ...]
    goals: tuple[tuple[str, str, tuple[str, ...]], ...]  # (name, props key, values)
    goal_rate: float


SITES = (
    SiteModel("shop.example",
              ("/", "/products", "/products/espresso-machine", "/products/caf%C3%A9-grinder", "/cart", "/checkout",
               "/pricing", "/about"),
              (("Add to cart", "product", ("espresso-machine", "café-grinder", "milk-jug")),), 0.25),
    SiteModel("blog.example",
              ("/", "/posts/hello-world", "/posts/na%C3%AFve-bayes", "/posts/2026/12/year-in-review",
               "/tags/python", "/about"),
              (("Newsletter Signup", "position", ("footer", "inline", "popup")),), 0.12),
    SiteModel("docs.example",
              ("/", "/getting-started", "/api/reference", "/guides/install%20on%20linux", "/faq", "/changelog"),
              (("Download", "file", ("cli-linux.tar.gz", "cli-macos.zip", "cli-windows.zip")),
               ("Search", "results", ("none", "some", "many"))), 0.2),
)
COUNTRIES = ("US", "DE", "FR", "GB", "NL", "IN", "BR", "JP", None)
COUNTRY_WEIGHTS = (30, 15, 8, 10, 5, 8, 6, 4, 14)
SEARCH = ("https://www.google.com/", "https://www.google.de/", "https://www.google.co.uk/search?q=x",
          "https://www.bing.com/search?q=espresso", "https://duckduckgo.com/", "https://search.brave.com/search?q=x")
SOCIAL = ("https://news.ycombinator.com/item?id=1", "https://l.facebook.com/l.php?u=x", "https://www.linkedin.com/feed/",
          "https://github.com/some/repo", "https://t.co/AbC", "https://m.youtube.com/watch?v=x")
OTHER = ("https://someblog.example.net/2026/review", "https://www.partner.example.org/links",
         "https://en.wikipedia.org/wiki/Espresso", "https://mail.google.com/mail/u/0/", "https://perplexity.ai/search")
# (query string of the entry page, referrer or None)
TAGGED = (
    ("utm_source=newsletter&utm_medium=email&utm_campaign=spring_sale", None),
    ("utm_source=Newsletter&utm_medium=Email&utm_campaign=Spring%20Sale", "https://mail.google.com/"),
    ("utm_source=google&utm_medium=cpc&utm_campaign=brand", "https://www.google.com/"),
    ("gclid=Cj0KCQ", "https://www.google.com/"),
    ("utm_source=fb&utm_medium=social&utm_campaign=launch", "https://l.facebook.com/"),
    ("utm_source=adwords&utm_campaign=brand", None),
    ("ref=news.ycombinator.com", None),
    ("utm_source=partner&utm_medium=referral", "https://www.partner.example.org/"),
    ("utm_source=hn", None),  # no key of Plausible's: kept as written, no category
    ("utm_source=yt&utm_medium=video", None),
)


def _entry(rng: random.Random, host: str, bare: str) -> tuple[str, str | None]:
    """The entry's query string and referrer."""
    kind = rng.choices(("direct", "search", "social", "other", "tagged", "self"), (24, 30, 12, 10, 16, 8))[0]
    if kind == "direct":
        return "", None
    if kind == "search":
        return "", rng.choice(SEARCH)
    if kind == "social":
        return "", rng.choice(SOCIAL)
    if kind == "other":
        return "", rng.choice(OTHER)
    if kind == "tagged":
        return rng.choice(TAGGED)
    # a self-referral: a link from the site's other host (www. or bare) or its own
    return "", f"https://{rng.choice((bare, 'www.' + bare, host))}/{rng.choice(('', 'about', 'index.html'))}"


def _visit(rng: random.Random, site: SiteModel, t: int, host: str, hit: Mapping[str, Any]) -> tuple[list[Hit], int]:
    """One visit from ``t``: its hits and the time of its last one."""
    query, referrer = _entry(rng, host, site.domain)
    hits: list[Hit] = []
    views = min(1 + int(rng.expovariate(0.6)), 8)
    path = rng.choice(site.pages[:4])
    previous_url: str | None = None
    for i in range(views):
        url = f"https://{host}{path}" + (f"?{query}" if i == 0 and query else "")
        ref = referrer if i == 0 else previous_url
        hits.append(Hit(t, "pageview", url, site.domain, referrer=ref, **hit))
        gap = rng.randint(10, 300) * S if i < views - 1 else rng.randint(5, 600) * S
        if rng.random() < site.goal_rate:
            name, key, values = rng.choice(site.goals)
            t_goal = t + rng.randint(1, gap // S // 3 + 1) * S
            hits.append(Hit(t_goal, name, url, site.domain, props={key: rng.choice(values)}, **hit))
        if site.domain == "shop.example" and path in ("/checkout", "/cart") and rng.random() < 0.5:
            currency = rng.choice(("USD", "EUR"))
            amount = f"{rng.choice((19, 24, 49, 89, 129))}.{rng.choice(('00', '50', '99'))}"
            method = rng.choice(("card", "paypal"))
            hits.append(Hit(t + gap // 2, "Purchase", url, site.domain, props={"method": method},
                            revenue=(amount, currency), **hit))
        if rng.random() < 0.7:  # the tracker's engagement event when the page is left
            t_eng = t + gap - S
            hits.append(Hit(t_eng, "engagement", url, site.domain, engagement_ms=t_eng - t - rng.randint(0, 2000),
                            scroll=rng.choice((10, 35, 60, 100)), **hit))
        previous_url = url
        t += gap
        path = rng.choice(site.pages)
    hits.sort(key=lambda h: h.ts_ms)
    return hits, max(h.ts_ms for h in hits)


def generate(seed: int, start_ms: int, midnight_ms: int, end_ms: int, visitors_per_site: int = 330) -> list[Hit]:
    """The hits of ``visitors_per_site`` visitors on each site, between ``start_ms`` and ``end_ms``."""
    rng = random.Random(seed)
    start_ms, end_ms = -(-start_ms // S) * S, end_ms // S * S
    hits: list[Hit] = []
    for n, site in enumerate(SITES):
        for i in range(visitors_per_site):
            ip = f"10.{n}.{i // 200}.{i % 200 + 1}"
            country = rng.choices(COUNTRIES, COUNTRY_WEIGHTS)[0]
            if rng.random() < 0.04:  # a crawler
                bot = rng.choice(BOTS)
                t = rng.randrange(start_ms, end_ms - 10 * MIN, S)
                for k in range(rng.randint(1, 5)):
                    hits.append(Hit(t + k * 7 * S, "pageview", f"https://{site.domain}{rng.choice(site.pages)}",
                                    site.domain, ip, bot.ua, country=country))
                continue
            agent = rng.choices(HUMANS, WEIGHTS)[0]
            host = f"www.{site.domain}" if rng.random() < 0.35 else site.domain
            base: dict[str, Any] = {"ip": ip, "ua": agent.ua, "country": country}
            crosses = rng.random() < 0.06 and midnight_ms - start_ms > 20 * MIN and end_ms - midnight_ms > 30 * MIN
            t = (midnight_ms - rng.randint(2, 15) * MIN if crosses
                 else rng.randrange(start_ms, max(start_ms + S, end_ms - 10 * MIN), S))
            visits = rng.choices((1, 2, 3), (70, 22, 8))[0]
            for v in range(visits):
                if t > end_ms - 10 * MIN:
                    break
                visit, last = _visit(rng, site, t, host, base)
                hits.extend(h for h in visit if h.ts_ms <= end_ms)
                if v == visits - 1 and rng.random() < 0.03 and last + 50 * MIN <= end_ms:
                    # an engagement with no visit: the page was left after 50 minutes hidden
                    hits.append(Hit(last + 50 * MIN, "engagement", visit[-1].url, site.domain, engagement_ms=4000,
                                    scroll=50, **base))
                t = last + rng.randint(45, 360) * MIN
    return hits
