"""``POST /api/events`` (and Plausible's ``POST /api/event``): store page views and custom events.

One event object or an array of up to 100, in LiveInsight's or Plausible's field names
(docs/http-api.md). The whole request is validated before anything is written; each valid event
is stored exactly once, even when others are rejected and however often it is retried. With
``LIVEINSIGHT_INGEST=stream`` the events go on the Kinesis stream instead, in one PutRecords, and
the aggregator function writes them (docs/storage.md). Behind its function URL
(``ingest.front: function_url``) it reads payload format 2.0 events and refuses those without the
origin secret with 403 (shared/front.py, docs/ingest-front.md).
Events for a domain the stack does not accept (the spec's ``sites``, shared/sites.py) are dropped
before any write. Answers 202 ``{"accepted": n, "rejected": [{"index", "error"}], "dropped": bots and
undeclared}``, 400 / 413 / 415
with an ``error`` when nothing can be stored, or 503 when storage failed (retry: nothing counts twice).
"""

from __future__ import annotations

import base64
import os
import time
from collections import Counter
from dataclasses import replace
from typing import Any

from shared.front import refusal
from shared.http import respond
from shared.log import error_text, log_request
from shared.validate import ALIASES, BodyError, parse_body, validate_event
from shared.visitors import client_ip, daily_salt, is_bot, previous_salt, viewer_headers, visitor_id
from shared.visits import may_continue

NAME = "event-collector"
# Sites and UTC days one request may carry events of: each is a visitor of its own (the visitor id
# hashes the site and the day's salt), with its own session, salt and counter partitions. A browser
# sends one site's events, of one day (two across midnight). With MAX_EVENTS and the caps' new values
# per request (shared/caps.py) this bounds what one request can cost (docs/security.md).
MAX_SITE_DAYS = 2
_ANY_VISITOR = "0" * 32  # what a request may cost does not depend on who sent it


def _header(event: dict[str, Any], name: str) -> str | None:
    for k, v in (event.get("headers") or {}).items():
        if k.lower() == name:
            return str(v)
    return None


def _body(event: dict[str, Any]) -> bytes:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except ValueError:
            raise BodyError(400, "body is not valid base64") from None
    return body.encode("utf-8", "surrogatepass") if isinstance(body, str) else b""


def _referrer(raw: Any) -> str | None:
    """The referrer as sent (the event keeps only its host; the source needs to see internal links)."""
    for name in ALIASES["referrer"]:
        value = raw.get(name) if isinstance(raw, dict) else None
        if isinstance(value, str):
            return value
    return None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    started = time.monotonic()
    refused = refusal(event)  # a function URL request without the origin secret, or off the event path
    if refused is not None:
        log_request(NAME, event, refused["statusCode"], started)
        return refused
    try:
        raws = parse_body(_body(event), _header(event, "content-type"))
        now_ms = int(time.time() * 1000)
        valid, referrers, rejected = [], [], []
        for i, raw in enumerate(raws):
            try:
                valid.append(validate_event(raw, now_ms))
                referrers.append(_referrer(raw))
            except ValueError as exc:
                rejected.append({"index": i, "error": str(exc)})
        if not valid:
            log_request(NAME, event, 400, started, accepted=0, rejected=len(rejected))
            return respond(event, 400, {"error": "no valid event", "rejected": rejected})
        from shared import breakdowns, dimensions, keys, sites, store

        # Undeclared sites: dropped before any read or write, answered 202 as Plausible does (sites.py).
        declared = [(e, ref, sites.site_of(e.domain)) for e, ref in zip(valid, referrers, strict=True)]
        undeclared = sum(1 for *_, site in declared if site is None)
        valid = [e if site == e.domain else replace(e, domain=site) for e, _, site in declared if site]
        referrers = [ref for _, ref, site in declared if site]
        if not valid:
            log_request(NAME, event, 202, started, accepted=0, rejected=len(rejected), undeclared=undeclared)
            return respond(event, 202, {"accepted": 0, "rejected": rejected, "dropped": undeclared})
        parts = {(e.domain, keys.day_of(e.ts_ms)) for e in valid}
        if len(parts) > MAX_SITE_DAYS:  # refused whole, before any write: never half stored
            log_request(NAME, event, 400, started, accepted=0, rejected=len(rejected), site_days=len(parts))
            return respond(event, 400, {"error": f"events of {len(parts)} sites and days in one request; at most "
                                                 f"{MAX_SITE_DAYS}: send them in separate requests",
                                        "rejected": rejected})
        user_agent = _header(event, "user-agent") or ""
        # uap-core's crawler rules catch what the short list misses (Scrapy, ia_archiver, …)
        if is_bot(user_agent) or dimensions.client(user_agent).is_bot:
            for (site, day), n in Counter((e.domain, keys.day_of(e.ts_ms)) for e in valid).items():
                store.count_bots(site, day, n)
            log_request(NAME, event, 202, started, accepted=0, rejected=len(rejected), dropped=len(valid))
            return respond(event, 202, {"accepted": 0, "rejected": rejected, "dropped": len(valid) + undeclared})
        headers = viewer_headers(event)  # CloudFront's country only on requests CloudFront sent
        valid = [replace(e, dims=breakdowns.derive(e.url, ref, headers, user_agent, e.domain))  # before any ingest path
                 for e, ref in zip(valid, referrers, strict=True)]
        # The most it may cost, on both paths (visitor ids change no count): past it, refused whole.
        site_events = [(e, _ANY_VISITOR) for e in valid]
        cost = store.planned_writes(site_events, now_ms)
        allowed = store.max_request_units(len(valid), store.continuing(site_events))
        if cost > allowed:
            log_request(NAME, event, 413, started, accepted=0, rejected=len(rejected), units=cost)
            return respond(event, 413, {"error": f"these {len(valid)} events would cost up to {cost} write units; "
                                                 f"at most {allowed}: send fewer values or smaller props per request",
                                        "rejected": rejected})
        ip = client_ip(event)
        table = store.table()
        with_visitors = [(e, visitor_id(daily_salt(table, keys.day_of(e.ts_ms)), e.domain, ip, user_agent))
                         for e in valid]
        # Near midnight, the visitor's id with the day before's salt too: its visit may go on (visits.py).
        previous: dict[str, str] = {}
        for e, visitor in with_visitors:
            salt = previous_salt(table, keys.day_of(e.ts_ms)) if may_continue(e.ts_ms) else None
            if salt:
                previous[visitor] = visitor_id(salt, e.domain, ip, user_agent)
        if os.environ.get("LIVEINSIGHT_INGEST") == "stream":
            from shared import stream  # the aggregator writes them (docs/storage.md)

            stream.put_events(with_visitors, now_ms, previous=previous)
        else:
            store.store_events(with_visitors, int(os.environ.get("LIVEINSIGHT_EVENT_TTL_DAYS", "30")), now_ms,
                               previous)
        log_request(NAME, event, 202, started, accepted=len(valid), rejected=len(rejected),
                    sites=sorted({e.domain for e in valid}))
        return respond(event, 202, {"accepted": len(valid), "rejected": rejected, "dropped": undeclared})
    except BodyError as exc:
        log_request(NAME, event, exc.status, started, error=exc.message)
        return respond(event, exc.status, {"error": exc.message})
    except Exception as exc:  # storage trouble: the client may retry; never a traceback to the client
        log_request(NAME, event, 503, started, error=error_text(exc))
        return respond(event, 503, {"error": "the events could not be stored now; retry later"})
