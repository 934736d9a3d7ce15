"""Visitors without cookies: a hash of a daily salt, the site, the client IP and the User-Agent.

The salt is random, kept in the table for one day (created on first use, with a conditional
write so concurrent containers agree), and removed by TTL after two, so yesterday's hashes cannot
be linked to today's. The IP is used for the hash only and never stored.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
import secrets
from typing import Any

_BOTS = re.compile(r"bot|crawl|spider|slurp|headless|lighthouse|pingdom|uptime|monitor|curl/|wget|"
                   r"python-requests|python-urllib|go-http-client|java/|okhttp|facebookexternalhit|preview",
                   re.I)
_salts: dict[str, str] = {}


def is_bot(user_agent: str | None) -> bool:
    return not user_agent or bool(_BOTS.search(user_agent))


def _address(value: str) -> str | None:
    """The address in ``value`` (an IP, or IP:port), normalised, or None when it is not one."""
    value = value.strip()
    if value.startswith("["):  # [2001:db8::1]:443
        value = value[1:].partition("]")[0]
    for candidate in (value, value.rpartition(":")[0]):
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            continue
    return None


def _viewer_address(value: str) -> str | None:
    """``CloudFront-Viewer-Address``: ``ip:port``, IPv6 unbracketed (``2001:db8::1:443``): the port is
    what follows the last colon (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/
    adding-cloudfront-headers.html#cloudfront-headers-viewer-location)."""
    ip, sep, port = value.strip().rpartition(":")
    if not sep or not port.isdigit():
        return None
    try:
        return str(ipaddress.ip_address(ip.strip("[]")))
    except ValueError:
        return None


def trust_forwarded_for() -> bool:
    """The spec's ``api.trust_forwarded_for``, handed over as LIVEINSIGHT_TRUST_FORWARDED_FOR."""
    return os.environ.get("LIVEINSIGHT_TRUST_FORWARDED_FOR", "false").lower() == "true"


def client_ip(event: dict[str, Any]) -> str:
    """The viewer's address.

    1. With ``trust_forwarded_for``: the first valid address in ``X-Forwarded-For`` (for senders
       that post on their visitors' behalf; anyone can then claim any address).
    2. Through CloudFront: ``CloudFront-Viewer-Address``, which CloudFront sets from the connection.
    3. Otherwise API Gateway's ``sourceIp``: the address that connected to it.

    ``X-Forwarded-For`` and ``Via`` are otherwise ignored: a client sets them as it likes.
    """
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    if trust_forwarded_for():
        for part in headers.get("x-forwarded-for", "").split(","):
            found = _address(part)
            if found:
                return found
    viewer = _viewer_address(headers.get("cloudfront-viewer-address", ""))
    if viewer:
        return viewer
    identity = (event.get("requestContext") or {}).get("identity") or {}
    return str(identity.get("sourceIp") or "")


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
