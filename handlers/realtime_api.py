"""``GET /api/realtime?site=``: who is on the site now.

Active visitors in the last 5 minutes, page views per minute for the last 30, and the pages
those visitors are on.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from shared.http import respond
from shared.log import error_text, log_request
from shared.validate import valid_site

NAME = "realtime-api"


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    started = time.monotonic()
    site = (event.get("queryStringParameters") or {}).get("site")
    if not valid_site(site):
        log_request(NAME, event, 400, started)
        return respond(event, 400, {"error": "site: required, a lower-case host name such as example.com"})
    try:
        from shared import queries

        data = queries.realtime(str(site), datetime.now(UTC))
    except Exception as exc:
        log_request(NAME, event, 503, started, error=error_text(exc))
        return respond(event, 503, {"error": "realtime data is unavailable now; retry later"})
    log_request(NAME, event, 200, started, site=site)
    return respond(event, 200, data)
