"""The size of a DynamoDB item as DynamoDB bills it, for the benchmarks' write-unit meter."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any


def _value_size(value: Any) -> int:
    """A value's size as DynamoDB bills it (https://docs.aws.amazon.com/amazondynamodb/latest/
    developerguide/CapacityUnitCalculations.html): strings their UTF-8 bytes, binary its raw bytes,
    numbers 1 byte per two significant digits plus 1, null and booleans 1, lists and maps 3 bytes
    plus 1 per element plus their elements (sets counted as lists)."""
    if value is None or isinstance(value, bool):
        return 1
    if isinstance(value, str):
        return len(value.encode("utf-8"))
    if isinstance(value, bytes | bytearray):
        return len(value)
    if hasattr(value, "value") and isinstance(value.value, bytes):  # boto3's Binary
        return len(value.value)
    if isinstance(value, int | float | Decimal):
        digits = Decimal(str(value)).normalize().as_tuple().digits
        return (len(digits) + 1) // 2 + 1
    if isinstance(value, dict):
        return 3 + sum(len(str(k).encode("utf-8")) + _value_size(v) + 1 for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return 3 + sum(_value_size(v) + 1 for v in value)
    return len(json.dumps(value, default=str))


def item_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode("utf-8")) + _value_size(v) for name, v in item.items())
