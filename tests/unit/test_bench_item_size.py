"""The benchmarks' write-unit meter sizes items as DynamoDB's item-size rules say
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html)."""

from __future__ import annotations

import importlib.util
from decimal import Decimal
from pathlib import Path

from boto3.dynamodb.types import Binary

BENCH = Path(__file__).resolve().parents[2] / "bench"
_spec = importlib.util.spec_from_file_location("item_size", BENCH / "item_size.py")
assert _spec and _spec.loader
item_size = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(item_size)


def test_each_type_is_sized_by_its_rule() -> None:
    size = item_size.item_size
    assert size({"pk": "abc"}) == 2 + 3  # name + UTF-8 bytes
    assert size({"s": "é"}) == 1 + 2
    assert size({"n": 12345}) == 1 + 3 + 1  # 1 byte per two significant digits (rounded up), plus 1
    assert size({"n": Decimal("1.2300")}) == 1 + 2 + 1  # trailing zeroes trimmed
    assert size({"b": b"\x00" * 10}) == 1 + 10  # raw bytes, not base64
    assert size({"b": Binary(b"\xff" * 7)}) == 1 + 7
    assert size({"t": True, "z": None}) == (1 + 1) * 2
    assert size({"l": ["a", "bc"]}) == 1 + 3 + (1 + 1) + (2 + 1)  # 3 overhead, 1 per element
    assert size({"m": {"k": 5}}) == 1 + 3 + (1 + 2 + 1)
