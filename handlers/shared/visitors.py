"""Visitors without cookies: a hash of a daily salt, the site, the client IP and the User-Agent.

The salt is random, kept in the table for one day (created on first use, with a conditional
write so concurrent containers agree), and removed by TTL after two, so yesterday's hashes cannot
be linked to today's. The IP is used for the hash only and never stored.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import Any

_BOTS = re.compile(r"bot|crawl|spider|slurp|headless|lighthouse|pingdom|uptime|monitor|curl/|wget|"
                   r"python-requests|python-urllib|go-http-client|java/|okhttp|facebookexternalhit|preview",
                   re.I)
_salts: dict[str, str] = {}


def is_bot(user_agent: str | None) -> bool:
    return not user_agent or bool(_BOTS.search(user_agent))


def client_ip(event: dict[str, Any]) -> str:
    """The viewer's address: the first X-Forwarded-For entry when the request came through
    CloudFront (which appends the edge), else API Gateway's sourceIp."""
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    forwarded = headers.get("x-forwarded-for", "")
    # CloudFront adds "Via: 1.1 <id>.cloudfront.net (CloudFront)" and its viewer-address header.
    via_cloudfront = "cloudfront-viewer-address" in headers or "cloudfront" in str(headers.get("via", "")).lower()
    if forwarded and via_cloudfront:
        return str(forwarded).split(",")[0].strip()
    identity = (event.get("requestContext") or {}).get("identity") or {}
    return str(identity.get("sourceIp") or str(forwarded).split(",")[0])


def daily_salt(table: Any, day: str) -> str:
    if day in _salts:
        return _salts[day]
    salt: str
    from .store import SALT_PK, expiry

    candidate = secrets.token_hex(16)
    try:
        table.put_item(Item={"pk": SALT_PK, "sk": day, "salt": candidate, "expires_at": expiry(days=2)},
                       ConditionExpression="attribute_not_exists(pk)")
        salt = candidate
    except table.meta.client.exceptions.ConditionalCheckFailedException:
        salt = str(table.get_item(Key={"pk": SALT_PK, "sk": day}, ConsistentRead=True)["Item"]["salt"])
    _salts.clear()
    _salts[day] = salt
    return salt


def visitor_id(salt: str, domain: str, ip: str, user_agent: str) -> str:
    return hashlib.sha256(f"{salt}|{domain}|{ip}|{user_agent}".encode()).hexdigest()[:20]
