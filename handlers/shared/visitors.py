"""Visitors without cookies: a hash of a daily salt, the site, the client IP and the User-Agent.

The salt is random, kept in the table for one day (created on first use, with a conditional
write so concurrent containers agree), and removed by TTL after two, so yesterday's hashes cannot
be linked to today's. The IP is used for the hash only and never stored.

CloudFront's viewer headers (``CloudFront-Viewer-Address``, ``CloudFront-Viewer-Country``) are
believed only on requests that carry the stack's origin secret in ``X-Origin-Verify``: CloudFront
adds it to every request it sends to the API (an origin custom header), and a client that calls
the execute-api URL directly does not know it. The functions never see the secret's value in their
configuration: the stage variable ``liveinsightOriginVerify`` lists the SHA-256 digests of the
secrets accepted now, two while a rotation is under way (docs/security.md, "Threat model: the edge").
"""

from __future__ import annotations

import hashlib
import hmac
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


ORIGIN_HEADER = "X-Origin-Verify"  # added by CloudFront to each request for the API
ORIGIN_DIGESTS = "liveinsightOriginVerify"  # stage variable: digests of the accepted secrets, comma-separated
ORIGIN_DIGESTS_ENV = "LIVEINSIGHT_ORIGIN_DIGESTS"  # the same, for function URL requests (shared/front.py)
_VIEWER_HEADERS = frozenset({"cloudfront-viewer-address", "cloudfront-viewer-country"})


def from_cloudfront(event: dict[str, Any]) -> bool:
    """Whether the request carries an origin secret the stage accepts (compared in constant time); a
    function URL request (payload 2.0) is checked against the function's environment instead."""
    sent = next((str(v) for k, v in (event.get("headers") or {}).items() if str(k).lower() == ORIGIN_HEADER.lower()),
                "")
    listed = (os.environ.get(ORIGIN_DIGESTS_ENV) if event.get("version") == "2.0"
              else (event.get("stageVariables") or {}).get(ORIGIN_DIGESTS))
    accepted = [d for d in str(listed or "").split(",") if d]
    if not sent or not accepted:
        return False
    digest = hashlib.sha256(sent.encode("utf-8", "surrogatepass")).hexdigest()
    return any([hmac.compare_digest(digest, a) for a in accepted])  # a list: every one is compared


def viewer_headers(event: dict[str, Any]) -> dict[str, str]:
    """The request's headers, without CloudFront's viewer headers unless CloudFront sent them."""
    headers = {str(k): str(v) for k, v in (event.get("headers") or {}).items()}
    if from_cloudfront(event):
        return headers
    return {k: v for k, v in headers.items() if k.lower() not in _VIEWER_HEADERS}


def trust_forwarded_for() -> bool:
    """The spec's ``api.trust_forwarded_for``, handed over as LIVEINSIGHT_TRUST_FORWARDED_FOR."""
    return os.environ.get("LIVEINSIGHT_TRUST_FORWARDED_FOR", "false").lower() == "true"


def client_ip(event: dict[str, Any]) -> str:
    """The viewer's address.

    1. With ``trust_forwarded_for``: the first valid address in ``X-Forwarded-For`` (for senders
       that post on their visitors' behalf; anyone can then claim any address).
    2. Through CloudFront (the request carries the origin secret): ``CloudFront-Viewer-Address``,
       which CloudFront sets from the connection.
    3. Otherwise the address that connected: API Gateway's ``identity.sourceIp``, a function URL's
       ``http.sourceIp``.

    ``X-Forwarded-For`` and ``Via`` are otherwise ignored: a client sets them as it likes, and so
    ``CloudFront-Viewer-Address`` on a request that did not come through CloudFront.
    """
    headers = {k.lower(): v for k, v in viewer_headers(event).items()}
    if trust_forwarded_for():
        for part in headers.get("x-forwarded-for", "").split(","):
            found = _address(part)
            if found:
                return found
    viewer = _viewer_address(headers.get("cloudfront-viewer-address", ""))
    if viewer:
        return viewer
    context = event.get("requestContext") or {}
    identity = context.get("identity") or context.get("http") or {}
    return str(identity.get("sourceIp") or "")


def daily_salt(table: Any, day: str) -> str:
    """The day's salt (made on first use)."""
    if day in _salts:
        return _salts[day]
    salt: str
    from .keys import SALT_PK, expiry

    candidate = secrets.token_hex(16)
    try:
        table.put_item(Item={"pk": SALT_PK, "sk": day, "salt": candidate, "expires_at": expiry(days=2)},
                       ConditionExpression="attribute_not_exists(pk)")
        salt = candidate
    except table.meta.client.exceptions.ConditionalCheckFailedException:
        salt = str(table.get_item(Key={"pk": SALT_PK, "sk": day}, ConsistentRead=True)["Item"]["salt"])
    for old in [d for d in _salts if d not in (day, _day_before(day))]:  # the day before: previous_salt
        del _salts[old]
    _salts[day] = salt
    return salt


def _day_before(day: str) -> str:
    from datetime import datetime, timedelta

    return (datetime.strptime(day, "%Y-%m-%d") - timedelta(days=1)).strftime("%Y-%m-%d")


def previous_salt(table: Any, day: str) -> str | None:
    """The salt of the day before ``day``, or None when that day had none (no visitor then). Never
    made here: a visit that crosses midnight is looked up with yesterday's salt too (visits.py,
    "Across midnight"), and a day without visitors has no visit to continue."""
    before = _day_before(day)
    if before in _salts:
        return _salts[before]
    from .keys import SALT_PK

    found = table.get_item(Key={"pk": SALT_PK, "sk": before}, ConsistentRead=True).get("Item")
    if found is None:  # not remembered: an event of that day may still come and make it
        return None
    _salts[before] = str(found["salt"])
    return _salts[before]


def visitor_id(salt: str, domain: str, ip: str, user_agent: str) -> str:
    return hashlib.sha256(f"{salt}|{domain}|{ip}|{user_agent}".encode()).hexdigest()[:20]
