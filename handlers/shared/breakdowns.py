"""The breakdowns of ``GET /api/stats``: the dimension values an event carries, the counters and
visitor markers they add to the event's transaction, and their sums when read (docs/analytics.md).

Every counter lives in the day's counter partition ``C#{site}#{day}#s{k}``, beside ``day`` and
``page#``, so a day is still one query per shard (and one of its month's ``f#`` rows: on_month.py).
Sort keys (values at most 100 characters, see
``dimensions.MAX_VALUE_LENGTH``, so they fit a sort key whole; goal names and props are cut by
``keys.key_part`` when longer than a key allows):

* ``src#{source}``: ``pv``, ``visits`` and ``uv``, ``med#{utm_medium}``, ``cmp#{utm_campaign}``: ``uv``,
  per visit from its entry (visits.py); ``cty#{country}``, ``dev#{device}``, ``br#{browser}``,
  ``os#{os}``: ``uv`` (written only when a visitor is new to the value);
* ``page#{path}``: ``uv`` beside its ``pv``;
* ``goal#{name}``: ``events`` and ``uv``; ``gp#{name}#{key}#{value}``: ``events`` (each part with ``%``
  and ``#`` percent-encoded, so the parts split back).

Unique visitors are exact. Visitor ids are daily, so a period's visitors per value are the sum of
its days'. Each distinct value is a marker ``V#{site}#{day}#s{k}`` / ``{value}#{visitor}``: ``d``
(the day), ``h{HH}``, ``s#``, ``um#``, ``uc#`` + value, ``p#{path}``, ``g#{goal}``. Country, device,
browser and OS are fixed for a visitor id (its hash covers the address and the User-Agent), so their
``uv`` counts with the day's marker ``d``. Both ingest paths keep a visitor's markers in its session
item (``visits.py``, ``seen``), not as items, and add them through ``plan.plan``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from . import channels, dimensions
from .keys import key_part
from .sites import is_self_referral

if TYPE_CHECKING:
    from .writes import Planned

MAX_GOAL_PROPS = 10  # props keys counted per event: the first 10 in key order
MAX_PROP_KEY = 100  # characters of a props key kept for the breakdown
MAX_PROP_VALUE = 100  # characters of a props value kept for the breakdown
MAX_PROP_VALUES = 10  # top values per props key in an answer
MAX_PROP_KEYS = 20  # props keys per goal in an answer (those with the most events)
MAX_ROWS = 100  # rows per breakdown in an answer (the top ones)
VALUE_CHARS = dimensions.MAX_VALUE_LENGTH  # a dimension value's characters (dimensions.py cuts them there too)

# dimension -> counter sort-key prefix
COUNTERS = {"source": "src", "utm_medium": "med", "utm_campaign": "cmp", "country": "cty", "device": "dev",
            "browser": "br", "os": "os"}
PER_VISIT = {"source": "s", "utm_medium": "um", "utm_campaign": "uc"}  # dimension -> marker prefix


def derive(url: str, referrer: str | None, headers: Mapping[str, str] | None, user_agent: str,
           domain: str | None = None) -> dict[str, str]:
    """The dimensions of an event, from its page URL, its referrer as sent, and the request's headers.

    A page reached by a link inside the site (referrer on the same host, no tag) has no source of
    its own. Sources count per visit (visits.py): a visit whose entry has none, an internal link or a
    self-referral included, is ``Direct / None``.
    """
    out: dict[str, str] = {}
    c = dimensions.campaign(url, referrer, domain)
    try:
        page_host = urlsplit(url).hostname
        internal = bool(referrer) and is_self_referral(urlsplit(referrer or "").hostname, page_host,
                                                       domain or page_host or "")
    except ValueError:
        internal = False
    if not (c.source == dimensions.DIRECT and internal):
        out["source"] = c.source
    # The channel this event gives the visit it starts (visits.py keeps the entry's): an internal
    # link or a self-referral starting a visit is Direct, as Plausible has it.
    query = dimensions.query_of(url)
    source = "" if c.source == dimensions.DIRECT else c.source
    click_id = next((k for k in channels.CLICK_IDS if k in query), "")
    medium = c.medium
    if "utm_medium" not in query:  # event.ex maybe_infer_medium: a medium sent, even empty, is kept
        medium = {("Google", "gclid"): "(gclid)", ("Bing", "msclkid"): "(msclkid)"}.get((source, click_id), "")
    out["channel"] = channels.channel(source, medium, c.campaign, dimensions.tag_of(query) or "", click_id)
    if medium:
        out["utm_medium"] = medium
    if c.campaign:
        out["utm_campaign"] = c.campaign
    country = dimensions.country(headers)
    if country:
        out["country"] = country
    client = dimensions.client(user_agent)
    out.update(device=client.device, browser=client.browser, os=client.os)
    return out


def _enc(part: str) -> str:
    return part.replace("%", "%25").replace("#", "%23")


def _prop_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return dimensions.clean(str(value), MAX_PROP_VALUE)


def plan_pageview(p: Planned, visitor: str, c: str, vpk: str, ttl: int, page: str) -> None:
    """A page view's page-visitor marker, added to its share of the transaction. Its source, referrer
    and UTM values count per visit, from the visit's entry (visits.py), not here."""
    p.markers.append((vpk, f"p#{page}#{visitor}", c, f"page#{page}", ttl))


def plan_visitor(p: Planned, dims: Mapping[str, str], visitor: str, c: str, vpk: str, hour: str, ttl: int) -> None:
    """The day's and the hour's visitor, for a page view or a custom event (as Plausible counts them).

    Country, device, browser and OS are fixed for a visitor id (its hash covers the address and the
    User-Agent), so their counters ride on the day marker: they count once, when it is new, from the
    visitor's first event of the day.
    """
    p.markers += [(vpk, f"d#{visitor}", c, "day", ttl), (vpk, f"h{hour}#{visitor}", c, f"h{hour}", ttl)]
    for dim, prefix in COUNTERS.items():
        value = (dims.get(dim) or "")[:VALUE_CHARS]
        if value and dim not in PER_VISIT:
            p.markers.append((vpk, f"d#{visitor}", c, f"{prefix}#{value}", ttl))


def plan_goal(p: Planned, name: str, props: Mapping[str, Any], visitor: str, c: str, vpk: str, ttl: int) -> None:
    """A custom event's goal counter, goal-visitor marker and props counters (bounded)."""
    key, whole = key_part(name)
    p.counters.append((c, f"goal#{key}", "events", whole))
    p.markers.append((vpk, f"g#{key}#{visitor}", c, f"goal#{key}", ttl))
    seen: set[str] = set()
    for prop in sorted(props)[:MAX_GOAL_PROPS]:
        key = dimensions.clean(prop, MAX_PROP_KEY)
        if key in seen:  # "plan" and "plan " are one key once cleaned: an event counts once per key
            continue
        seen.add(key)
        parts = "#".join(_enc(x) for x in (name, key, _prop_value(props[prop])))
        pkey, pwhole = key_part(parts)
        p.counters.append((c, f"gp#{pkey}", "events", pwhole))


def plan_revenue(p: Planned, name: str, revenue: Mapping[str, Any], c: str) -> None:
    """A revenue goal's amount and count, per currency (``rev#{currency}#{goal}``): we have no exchange
    rates, so each currency is summed on its own (docs/metrics.md, ``goals[].revenue``)."""
    key, whole = key_part(name)
    sk = f"rev#{revenue['currency']}#{key}"
    p.amounts.append((c, sk, "rev", Decimal(revenue["amount"]), whole))
    p.counters.append((c, sk, "rev_n", whole))


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _ranked(counts: Mapping[str, Counter[str]], first: str, second: str) -> list[tuple[str, Counter[str]]]:
    return sorted(counts.items(), key=lambda kv: (-kv[1][first], -kv[1][second], kv[0]))[:MAX_ROWS]


class Breakdowns:
    """Sums of the breakdown counters over the days and shards of a period."""

    def __init__(self) -> None:
        self.dims: dict[str, dict[str, Counter[str]]] = {d: defaultdict(Counter) for d in COUNTERS}
        self.pages: dict[str, Counter[str]] = defaultdict(Counter)
        self.goals: dict[str, Counter[str]] = defaultdict(Counter)
        self.channels: dict[str, Counter[str]] = defaultdict(Counter)  # visits.py: per visit, its entry's
        self.props: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
        self.revenue: dict[str, dict[str, list[Decimal]]] = defaultdict(dict)  # goal -> currency -> [sum, n]
        self._prefixes = {f"{prefix}#": d for d, prefix in COUNTERS.items()}

    def add(self, sk: str, item: Mapping[str, Any]) -> None:
        """Take in one counter item of the day partition (those of other counters are ignored)."""
        head, sep, rest = sk.partition("#")
        if not sep:
            return
        value = str(item.get("whole", rest))
        numbers = Counter({a: int(item.get(a, 0)) for a in ("pv", "uv", "events")})
        if head == "rev":
            currency, _, key = rest.partition("#")
            found = self.revenue[str(item.get("whole", key))].setdefault(currency, [Decimal(0), Decimal(0)])
            found[0] += Decimal(item.get("rev", 0))
            found[1] += Decimal(item.get("rev_n", 0))
        elif head == "page":
            self.pages[value].update(numbers)
        elif head == "ch":
            self.channels[value].update(numbers)
        elif head == "goal":
            self.goals[value].update(numbers)
        elif head == "gp":
            parts = value.split("#")
            if len(parts) == 3:
                name, key, val = (unquote(x) for x in parts)
                self.props[name][key][val] += numbers["events"]
        elif f"{head}#" in self._prefixes:
            self.dims[self._prefixes[f"{head}#"]][value].update(numbers)

    def _rows(self, dim: str, label: str, pageviews: bool = False) -> list[dict[str, Any]]:
        return [{label: v, "visitors": n["uv"], **({"pageviews": n["pv"]} if pageviews else {})}
                for v, n in _ranked(self.dims[dim], "uv", "pv")]

    def _props(self, goal: str) -> dict[str, list[dict[str, Any]]]:
        keys = self.props.get(goal, {})
        chosen = sorted(keys, key=lambda k: (-sum(keys[k].values()), k))[:MAX_PROP_KEYS]
        return {k: [{"value": v, "events": n} for v, n in
                    sorted(keys[k].items(), key=lambda x: (-x[1], x[0]))[:MAX_PROP_VALUES]] for k in sorted(chosen)}

    def _revenue(self, goal: str) -> list[dict[str, str]]:
        """expression.ex ``total_revenue`` (sum) and ``average_revenue`` (avg) of a goal, per currency."""
        return [{"currency": cur, "total": _money(total), "average": _money(total / n)}
                for cur, (total, n) in sorted(self.revenue.get(goal, {}).items()) if n]

    def fields(self, visitors: int) -> dict[str, Any]:
        """The answer's breakdown fields; ``visitors`` (the period's) is the base of conversion rates."""
        goals = [{"goal": g, "visitors": n["uv"], "events": n["events"],
                  "conversion_rate": round(100 * n["uv"] / visitors, 1) if visitors else 0.0,
                  "props": self._props(g), "revenue": self._revenue(g)} for g, n in _ranked(self.goals, "uv", "events")]
        return {"sources": self._rows("source", "source", pageviews=True),
                "utm_mediums": self._rows("utm_medium", "value"), "utm_campaigns": self._rows("utm_campaign", "value"),
                "countries": self._rows("country", "country"), "devices": self._rows("device", "name"),
                "browsers": self._rows("browser", "name"), "os": self._rows("os", "name"),
                "pages": [{"path": p, "visitors": n["uv"], "pageviews": n["pv"]}
                          for p, n in _ranked(self.pages, "uv", "pv")],
                "goals": goals,
                "channels": [{"channel": ch, "visitors": n["uv"], "pageviews": n["pv"]}
                             for ch, n in _ranked(self.channels, "uv", "pv") if n["uv"] or n["pv"]]}
