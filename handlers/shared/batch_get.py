"""Items by key in as few round trips as DynamoDB allows: ``BatchGetItem``, 100 keys a call, the keys
it leaves unprocessed (throttling, or past 16 MB an answer) asked again after a growing pause."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

Key = tuple[str, str]
MAX_KEYS = 100  # BatchGetItem's limit per call
ATTEMPTS = 8  # unprocessed keys asked again at most this often before giving up
_BASE_PAUSE_S = 0.025


def get_items(table: Any, keys: Iterable[Key], consistent: bool = True,
              pause: Callable[[float], None] = time.sleep) -> dict[Key, dict[str, Any]]:
    """The items of ``keys`` that exist (``pk``/``sk`` string keys), as ``Table.get_item`` gives them:
    the table resource's client takes and gives plain values (numbers as Decimal, binary as Binary).
    Strongly consistent unless ``consistent`` is False. RuntimeError when keys stay unprocessed after
    ``ATTEMPTS`` calls."""
    wanted = list(dict.fromkeys(keys))
    found: dict[Key, dict[str, Any]] = {}
    client = table.meta.client
    for i in range(0, len(wanted), MAX_KEYS):
        todo: list[dict[str, Any]] = [{"pk": pk, "sk": sk} for pk, sk in wanted[i:i + MAX_KEYS]]
        for attempt in range(ATTEMPTS):
            answer = client.batch_get_item(RequestItems={table.name: {"Keys": todo, "ConsistentRead": consistent}})
            for item in answer.get("Responses", {}).get(table.name, []):
                found[(str(item["pk"]), str(item["sk"]))] = item
            todo = answer.get("UnprocessedKeys", {}).get(table.name, {}).get("Keys", [])
            if not todo:
                break
            if attempt + 1 < ATTEMPTS:
                pause(_BASE_PAUSE_S * 2 ** attempt)
        else:
            raise RuntimeError(f"{len(todo)} keys still unprocessed after {ATTEMPTS} BatchGetItem calls")
    return found
