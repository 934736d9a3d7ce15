"""The stack's one DynamoDB table, made once per container on first use (no AWS client at import time)."""

from __future__ import annotations

import os
from typing import Any

_table: Any = None


def table() -> Any:
    global _table
    if _table is None:
        import boto3

        _table = boto3.resource("dynamodb").Table(os.environ["LIVEINSIGHT_TABLE"])
    return _table


def reset_for_tests() -> None:
    global _table
    _table = None
