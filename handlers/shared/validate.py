"""Validation of posted events (the rules in docs/http-api.md, ``POST /api/events``). Plain code: a
Lambda package stays small and fast to import, with no compiled dependency to vendor per architecture.

Every rule gives a message that names the field, so a client knows what to fix. The whole request
is checked here, numbers and strings included, before anything is written: an event that passes
can be stored as it is.

Plausible's clients are understood as they are: its short field names (``n``, ``u``, ``d``, ``r``,
``p``/``m``, ``h``, ``$``), props as an object or a JSON string, and the extra fields its trackers send
(ignored, or kept for engagement). Plausible's rules:
https://github.com/plausible/analytics/blob/master/lib/plausible/ingestion/request.ex
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from decimal import Clamped, Context, Decimal, DecimalException, Inexact, InvalidOperation, Overflow, Rounded, Underflow
from typing import Any
from urllib.parse import unquote, urlsplit

from .sites import is_self_referral

MAX_BODY = 64 * 1024
MAX_EVENTS = 100
MAX_NAME = 120
MAX_URL = 2000
MAX_PROPS = 30
MAX_PROP_KEY = 300
MAX_PROP_VALUE = 2000
PAST_MS = 24 * 3600 * 1000
FUTURE_MS = 5 * 60 * 1000
# DynamoDB's Number: 38 significant digits, magnitude 1E-130 to 9.99…E+125
# (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html).
MAX_DIGITS = 38
MIN_EXPONENT = -130
MAX_EXPONENT = 125
# What boto3 serialises: its DynamoDB context refuses any number it would round, so a digit below
# 1e-165 (Emin - prec + 1) cannot be written even within the magnitudes above
# (https://github.com/boto/boto3/blob/develop/boto3/dynamodb/types.py, DYNAMODB_CONTEXT).
# The same context here, so a value that passes is one the write accepts.
STORABLE = Context(Emin=-128, Emax=126, prec=38, traps=[Clamped, Overflow, Inexact, Rounded, Underflow])
LOWEST_DIGIT = STORABLE.Etiny()
MAX_ENGAGEMENT_MS = 30 * 24 * 3600 * 1000
# Each field and the names it may be sent under (ours first, then Plausible's).
ALIASES = {"name": ("name", "n"), "url": ("url", "u"), "domain": ("domain", "d"), "referrer": ("referrer", "r"),
           "props": ("props", "p", "meta", "m"), "revenue": ("revenue", "$"), "hash_mode": ("hashMode", "h"),
           "engagement_ms": ("e",), "scroll_depth": ("sd",), "ts": ("ts",)}
# What Plausible's trackers also send and this API does not use: tracker version, screen width,
# the interactive flag. Ignored, so an unchanged tracker is accepted.
IGNORED = ("v", "w", "screen_width", "i", "interactive")
FIELDS = tuple(name for names in ALIASES.values() for name in names) + IGNORED
NOT_CUSTOM = ("pageview", "engagement", "pageleave")  # Plausible's built-in events that are not goals
_DOMAIN = re.compile(r"(?=.{1,253}\Z)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*")
_CURRENCY = re.compile(r"[A-Za-z]{3}")
_INTEGER = re.compile(r"-?[0-9]{1,20}")


class BodyError(Exception):
    """The request as a whole is unusable: status and message for the client."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class JsonInt(Decimal):
    """A number written without a fraction or exponent in the JSON text (``ts`` must be one)."""


class NonFinite:
    """``NaN`` or ``Infinity`` in the JSON text: Python's json accepts them; no field does."""

    def __init__(self, text: str):
        self.text = text


@dataclass(frozen=True)
class Event:
    name: str
    url: str
    path: str
    domain: str
    referrer: str  # the referring host, "" for direct visits
    props: dict[str, Any] = field(default_factory=dict)
    ts_ms: int = 0
    ts_given: bool = False  # the client sent ts: the event's identity does not depend on when it arrived
    revenue: dict[str, Any] | None = None  # {"amount": Decimal, "currency": "EUR"}
    engagement_ms: int | None = None
    scroll_depth: int | None = None
    # source, utm_medium, utm_campaign, country, device, browser, os: derived by the collector from
    # the request (shared/breakdowns.py), so every ingest path counts the same values
    dims: dict[str, str] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """``pageview``, ``engagement`` (Plausible's engagement and pageleave) or ``custom``."""
        if self.name == "pageview":
            return "pageview"
        return "engagement" if self.name in NOT_CUSTOM else "custom"


def valid_site(value: Any) -> bool:
    return isinstance(value, str) and bool(_DOMAIN.fullmatch(value))


def loads(text: str) -> Any:
    """JSON with every number exact: integers as JsonInt, others as Decimal, NaN/Infinity marked."""
    return json.loads(text, parse_float=Decimal, parse_int=JsonInt, parse_constant=NonFinite)


def parse_body(body: bytes, content_type: str | None) -> list[Any]:
    """The submitted events as a list, or BodyError (413, 415 or 400)."""
    if len(body) > MAX_BODY:
        raise BodyError(413, f"body is {len(body)} bytes; at most {MAX_BODY} are accepted")
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind not in ("", "application/json", "text/plain"):  # none: read as JSON, as Plausible does
        raise BodyError(415, "Content-Type must be application/json (or text/plain, as navigator.sendBeacon "
                             f"sends it), not {kind}")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BodyError(400, "body is not UTF-8") from None
    try:
        data = loads(text)
    except (ValueError, RecursionError):
        raise BodyError(400, "body is not JSON") from None
    events = data if isinstance(data, list) else [data]
    if not events:
        raise BodyError(400, "no events: send one event object or an array of 1 to 100")
    if len(events) > MAX_EVENTS:
        raise BodyError(400, f"{len(events)} events; at most {MAX_EVENTS} per request")
    return events


def number(value: Any, where: str) -> Decimal:
    """An exact Decimal DynamoDB can store, or ValueError naming ``where``."""
    if isinstance(value, NonFinite) or (isinstance(value, Decimal) and not value.is_finite()):
        raise ValueError(f"{where}: must be a finite number")
    if not isinstance(value, Decimal) or isinstance(value, bool):
        raise ValueError(f"{where}: must be a number")
    if value.is_zero():
        return Decimal(0)
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    digit_list = list(digits)
    while len(digit_list) > 1 and digit_list[-1] == 0:  # 9.990 has 3 significant digits
        digit_list.pop()
        exponent += 1
    if len(digit_list) > MAX_DIGITS:
        raise ValueError(f"{where}: at most {MAX_DIGITS} significant digits")
    magnitude = exponent + len(digit_list) - 1
    if not MIN_EXPONENT <= magnitude <= MAX_EXPONENT:
        raise ValueError(f"{where}: magnitude must be between 1e{MIN_EXPONENT} and 1e{MAX_EXPONENT + 1}")
    trimmed = Decimal((sign, tuple(digit_list), exponent))  # without the trailing zeros DynamoDB cannot keep
    try:
        STORABLE.create_decimal(trimmed)
    except DecimalException:
        raise ValueError(f"{where}: too many digits for so small a number (no digit below 1e{LOWEST_DIGIT} "
                         "can be stored)") from None
    try:
        return STORABLE.create_decimal(value) if len(digits) <= MAX_DIGITS else trimmed  # as written if it fits
    except DecimalException:
        return trimmed


def text(value: str, where: str) -> str:
    """The string, or ValueError when it holds a lone surrogate (not storable as UTF-8)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{where}: not valid Unicode (a lone surrogate)") from None
    return value


def _pick(raw: dict[str, Any], key: str) -> Any:
    """The value of a field under any of its names (None when absent or null)."""
    for name in ALIASES[key]:
        if raw.get(name) is not None:
            return raw[name]
    return None


def _props(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    if isinstance(raw, str):  # the legacy plausible-tracker sends props as a JSON string
        try:
            raw = loads(text(raw, "props"))
        except (ValueError, RecursionError):
            raise ValueError("props: a string must hold a JSON object") from None
    if not isinstance(raw, dict):
        raise ValueError("props: must be an object")
    if len(raw) > MAX_PROPS:
        raise ValueError(f"props: at most {MAX_PROPS} keys")
    props: dict[str, Any] = {}
    for k, v in raw.items():
        if len(k) > MAX_PROP_KEY:
            raise ValueError(f"props.{k[:20]}…: key longer than {MAX_PROP_KEY} characters")
        text(k, f"props.{k.encode('utf-8', 'replace').decode('utf-8')[:20]}")
        if isinstance(v, bool):
            props[k] = v
        elif isinstance(v, Decimal | NonFinite):
            props[k] = number(v, f"props.{k}")
        elif isinstance(v, str):
            if len(v) > MAX_PROP_VALUE:
                raise ValueError(f"props.{k}: at most {MAX_PROP_VALUE} characters")
            props[k] = text(v, f"props.{k}")
        else:
            raise ValueError(f"props.{k}: values must be strings, numbers or booleans")
    return props


def _revenue(raw: Any) -> dict[str, Any] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ValueError("revenue: must be an object {amount, currency}")
    amount = raw.get("amount")
    if isinstance(amount, str):  # Plausible accepts the amount as a string too
        try:
            amount = Decimal(text(amount.strip(), "revenue.amount"))
        except InvalidOperation:
            raise ValueError("revenue.amount: must be a number or a numeric string") from None
    if amount is None or isinstance(amount, bool):
        raise ValueError("revenue.amount: must be a number or a numeric string")
    value = number(amount, "revenue.amount")
    currency = raw.get("currency")
    if not isinstance(currency, str) or not _CURRENCY.fullmatch(currency):
        raise ValueError("revenue.currency: an ISO 4217 code of three letters, such as EUR")
    return {"amount": value, "currency": currency.upper()}


def _integer(raw: Any) -> int | None:
    """An integer sent as a JSON integer or as a string of digits; None for anything else."""
    if isinstance(raw, JsonInt):
        return int(raw)
    if isinstance(raw, str) and _INTEGER.fullmatch(raw):
        return int(raw)
    return None


def _engagement_ms(raw: Any) -> int | None:
    """Plausible's server keeps a valid engagement time and treats any other value as missing."""
    value = _integer(raw)
    return value if value is not None and 0 <= value <= MAX_ENGAGEMENT_MS else None


def _scroll_depth(raw: Any) -> int | None:
    """Plausible's server caps a scroll depth above 100 at 100 and treats a negative or non-integer
    one as missing."""
    value = _integer(raw)
    return None if value is None or value < 0 else min(value, 100)


def _string(raw: dict[str, Any], key: str, required: bool = True) -> str:
    value = _pick(raw, key)
    if value is None:
        if required:
            raise ValueError(f"{key}: required")
        return ""
    if not isinstance(value, str):
        raise ValueError(f"{key}: must be a string")
    return text(value, key)


def validate_event(raw: Any, now_ms: int | None = None) -> Event:
    """One event, or ValueError with a message naming the field."""
    now = now_ms if now_ms is not None else int(time.time() * 1000)
    if not isinstance(raw, dict):
        raise ValueError("event: must be an object")
    unknown = sorted(k for k in raw if k not in FIELDS)
    if unknown:
        raise ValueError(f"{unknown[0]}: unknown field (allowed: name, url, domain, referrer, props, revenue, ts, "
                         "or Plausible's names)")
    name = _pick(raw, "name")
    if name is None:
        raise ValueError("name: required")
    if not isinstance(name, str) or not name.strip():
        raise ValueError("name: must be a non-empty string")
    if len(name) > MAX_NAME:
        raise ValueError(f"name: at most {MAX_NAME} characters")
    text(name, "name")
    url = _string(raw, "url")
    if len(url) > MAX_URL:
        raise ValueError(f"url: at most {MAX_URL} characters")
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:
        raise ValueError("url: must be an absolute http(s) URL") from None
    if parts.scheme not in ("http", "https") or not hostname:
        raise ValueError("url: must be an absolute http(s) URL")
    domain = _pick(raw, "domain")
    if domain is None:
        raise ValueError("domain: required")
    if not valid_site(domain):
        raise ValueError("domain: must be a lower-case host name such as example.com")
    referrer = _string(raw, "referrer", required=False)
    if len(referrer) > MAX_URL:
        raise ValueError(f"referrer: at most {MAX_URL} characters")
    try:
        ref_host = (urlsplit(referrer).hostname or "") if referrer else ""
    except ValueError:
        raise ValueError("referrer: must be an absolute URL") from None
    if referrer and not ref_host:
        raise ValueError("referrer: must be an absolute URL")
    props = _props(_pick(raw, "props"))
    revenue = _revenue(_pick(raw, "revenue"))
    engagement_ms = scroll_depth = None
    if name.strip() in NOT_CUSTOM[1:]:  # they mean something on engagement events only (docs/http-api.md)
        engagement_ms = _engagement_ms(_pick(raw, "engagement_ms"))
        scroll_depth = _scroll_depth(_pick(raw, "scroll_depth"))
    hash_mode = _pick(raw, "hash_mode")
    ts_raw = raw.get("ts")
    if ts_raw is None:
        ts = now
    else:
        if not isinstance(ts_raw, JsonInt):
            raise ValueError("ts: must be an integer (epoch milliseconds)")
        ts = int(ts_raw)
        if ts < now - PAST_MS:
            raise ValueError("ts: more than 24 hours in the past")
        if ts > now + FUTURE_MS:
            raise ValueError("ts: more than 5 minutes in the future")
    # Plausible's request.ex ``get_pathname``: the path percent-decoded (``URI.decode``), trailing
    # whitespace trimmed, so /caf%C3%A9 and /café are one page (docs/metrics.md).
    path = unquote(parts.path or "/").rstrip() or "/"
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    if hash_mode in (1, True) and parts.fragment:  # Plausible's hash-based routing: the fragment is the page
        path = f"{path}#{unquote(parts.fragment)}"
    if is_self_referral(ref_host, hostname, domain):
        ref_host = ""  # internal navigation, or the site's www. host or an alias: not a referral
    return Event(name.strip(), url, path, domain, ref_host, props, ts, ts_raw is not None, revenue,
                 engagement_ms, scroll_depth)
