"""Lambda handler for the LiveInsight event-collector function (analytics logic: not implemented yet)."""

from __future__ import annotations

from typing import Any

from shared.http import respond


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return respond(event, 501, {"error": "not implemented yet", "function": "event-collector"})
