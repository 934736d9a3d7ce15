"""A small, documented fidelity patch of moto's policy evaluation (docs/moto-gaps.md, bucket-policy conditions).

moto evaluates policy conditions with ``StringEquals`` only. Any other operator (``Bool``,
``ArnLike``, …) counts as true, and a statement whose condition fails counts as a Deny. So the
bucket's TLS-only statement ("Deny when ``aws:SecureTransport`` is false") denies every object
write, in ``mock_aws`` and in server mode alike.

On AWS, a statement whose condition does not hold simply does not apply, and AWS clients speak
HTTPS. This patch makes moto do the same:
* conditions are evaluated by their operator, with ``...IfExists`` and ``Null``;
* a missing context key makes a condition false;
* ``aws:SecureTransport`` is ``true``;
* a statement whose condition does not hold is NEUTRAL.

It also carries one speed patch: moto's TransactWriteItems deep-copies the whole table before each
of its actions, so the event collector's transactions grew slower with every stored event; the
patch backs up only the items a transaction names (``_one_table_copy_per_transaction``). And one more:
moto answers every ``Query`` by listing and sorting the whole table, then keeping the items of the
partition asked for, so a query's time grew with everything stored, where DynamoDB reads only the
partition; the patch lists only that partition (``_query_one_partition``).

The product's policy stays the AWS-correct one. Applied by ``--moto``, ``serve``, the tests and
``python -m liveinsight_infra_moto.server``.

Two more gaps of the stream ingest path (docs/moto-gaps.md) are closed the same way:
* ``CreateStream`` drops its ``Tags`` on moto; AWS tags the stream at creation
  (https://docs.aws.amazon.com/kinesis/latest/APIReference/API_CreateStream.html);
* moto pushes every record put on a stream to the functions mapped to it, at once and through
  Docker; on AWS, Lambda polls the stream and batches records (the event source mapping). Locally,
  ``serve``'s poller does the polling (``local/stream.py``), so moto's push is switched off.

Last, calls into the in-process backend go through one at a time (``serialise_calls``): moto's
in-process backend is not thread-safe (its request routing builds operation models lazily, and its
backends mutate shared dicts), while the engine reads and writes concurrently. Against a moto
server, or AWS, calls run concurrently as before.
"""

from __future__ import annotations

import fnmatch
import threading
from typing import Any

_PATCHED = False
CONTEXT = {"aws:securetransport": "true"}


def _values(v: Any) -> list[str]:
    return [str(x) for x in v] if isinstance(v, list) else [str(v)]


def _one(op: str, expected: list[str], actual: str) -> bool:
    base = op
    negate = False
    for prefix in ("StringNot", "ArnNot", "NumericNot", "DateNot"):
        if op.startswith(prefix):
            negate, base = True, op.replace("Not", "", 1)
    if base in ("StringEquals", "ArnEquals"):
        hit = actual in expected
    elif base == "StringEqualsIgnoreCase":
        hit = actual.lower() in [e.lower() for e in expected]
    elif base in ("StringLike", "ArnLike"):
        hit = any(fnmatch.fnmatchcase(actual, e) for e in expected)
    elif base == "Bool":
        hit = actual.lower() in [e.lower() for e in expected]
    elif base == "NumericEquals":
        hit = any(float(actual) == float(e) for e in expected)
    else:
        return False  # an operator we do not model: the statement does not apply
    return not hit if negate else hit


def conditions_hold(conditions: dict[str, dict[str, Any]] | None, incoming: dict[str, str] | None) -> bool:
    if not conditions:
        return True
    context = {**CONTEXT, **{k.lower(): v for k, v in (incoming or {}).items()}}
    for operator, pairs in conditions.items():
        op = operator.split(":", 1)[-1]  # ForAnyValue:/ForAllValues: treated as single-valued
        if_exists = op.endswith("IfExists")
        op = op.removesuffix("IfExists")
        for key, expected in pairs.items():
            actual = context.get(key.lower())
            if op == "Null":
                if (actual is None) != (_values(expected)[0].lower() == "true"):
                    return False
                continue
            if actual is None:
                if if_exists:
                    continue
                return False
            if not _one(op, _values(expected), str(actual)):
                return False
    return True


def apply_fidelity_patches() -> None:
    """Idempotent: patch moto's statement evaluation as described in the module docstring."""
    global _PATCHED
    if _PATCHED:
        return
    from moto.iam import access_control as ac

    original = ac.IAMPolicyStatement.is_action_permitted

    def is_action_permitted(self: Any, action: str, resource: str = "*", principal: str | None = None,
                            incoming_condition_values: dict[str, str] | None = None) -> Any:
        if not conditions_hold(self._statement.get("Condition"), incoming_condition_values):
            return ac.PermissionResult.NEUTRAL  # on AWS the statement simply does not apply
        stripped = ac.IAMPolicyStatement({k: v for k, v in self._statement.items() if k != "Condition"})
        return original(stripped, action, resource, principal, incoming_condition_values)

    ac.IAMPolicyStatement.is_action_permitted = is_action_permitted  # type: ignore[method-assign]
    _patch_kinesis()
    from .cloudfront_policies import apply_origin_request_policy_patch, apply_response_headers_policy_patch
    apply_response_headers_policy_patch()  # moto has no response headers policy API at all
    apply_origin_request_policy_patch()  # nor any origin request policy API
    _one_table_copy_per_transaction()
    _query_one_partition()
    serialise_calls()
    _PATCHED = True


def _patch_kinesis() -> None:
    from moto.awslambda.models import LambdaBackend
    from moto.kinesis.responses import KinesisResponse

    create_stream = KinesisResponse.create_stream

    def create_stream_with_tags(self: Any) -> Any:
        result = create_stream(self)
        tags = self._get_param("Tags")
        if tags:
            self.kinesis_backend.add_tags_to_stream(None, self._get_param("StreamName"), tags)
        return result

    def no_push(self: Any, *args: Any, **kwargs: Any) -> None:
        return None  # Lambda polls the stream on AWS; serve's poller does it locally

    KinesisResponse.create_stream = create_stream_with_tags  # type: ignore[method-assign]
    LambdaBackend.send_kinesis_message = no_push  # type: ignore[method-assign]


class _NoTableCopy:
    """Stands for the ``copy`` module in moto's DynamoDB backend, whose TransactWriteItems backs up
    the whole table before each of its actions (a deep copy per action, up to 100 per call): the
    event collector's transactions would slow down as the table grows. While a transaction runs
    through the patch below, that copy is skipped; the patch backs up the items the call names."""

    def __init__(self) -> None:
        import threading

        self.local = threading.local()

    def deepcopy(self, obj: Any) -> Any:
        import copy

        return obj if getattr(self.local, "skip", False) else copy.deepcopy(obj)


def _one_table_copy_per_transaction() -> None:
    """A speed patch only: what a transaction does, and that a cancelled one changes nothing, are
    moto's own; the rollback restores the items the transaction names instead of whole tables."""
    import copy

    from moto.dynamodb import models
    from moto.dynamodb.models.dynamo_type import DynamoType

    shim = _NoTableCopy()
    original = models.DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        saved: list[tuple[Any, Any, Any, Any]] = []
        try:
            for entry in transact_items:
                op_type, op = next(iter(entry.items()))
                table = self.tables[op["TableName"]]
                key = op["Item"] if op_type == "Put" else op["Key"]
                h = DynamoType(key[table.hash_key_attr])
                r = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
                saved.append((table, h, r, copy.deepcopy(table.get_item(h, r))))
        except Exception:  # anything unusual: moto's own whole-table backup
            original(self, transact_items)
            return
        shim.local.skip = True
        try:
            original(self, transact_items)
        except Exception:
            for table, h, r, item in reversed(saved):
                if r is None:
                    table.items.pop(h, None) if item is None else table.items.__setitem__(h, item)
                elif item is None:
                    table.items.get(h, {}).pop(r, None)
                else:
                    table.items[h][r] = item
            raise
        finally:
            shim.local.skip = False

    models.copy = shim  # type: ignore[attr-defined,assignment]
    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


_PARTITION = threading.local()


def _query_one_partition() -> None:
    """A speed patch only: a table query (not an index's) with a partition key sees the items of
    that partition, sorted as moto sorts them, instead of every item in the table sorted; what the
    query then keeps, filters, pages and returns is moto's own."""
    from moto.dynamodb.models.table import Table

    all_items, query = Table.all_items, Table.query

    def one_partition(self: Any) -> list[Any]:
        wanted = getattr(_PARTITION, "key", None)
        if wanted is None or wanted[0] is not self:
            return all_items(self)
        partition = self.items.get(wanted[1]) if wanted[1] in self.items else None  # no defaultdict entry
        return sorted(partition.values(), key=lambda x: x.range_key) if partition else []

    def query_one_partition(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")  # moto passes it by position
        if index_name or not self.range_key_attr or hash_key is None:
            return query(self, hash_key, *args, **kwargs)
        _PARTITION.key = (self, hash_key)
        try:
            return query(self, hash_key, *args, **kwargs)
        finally:
            _PARTITION.key = None

    Table.all_items = one_partition  # type: ignore[method-assign]
    Table.query = query_one_partition  # type: ignore[method-assign]


_EMBEDDED = threading.RLock()
_SERIALISED = False


def serialise_calls() -> None:
    """Idempotent: every request a botocore client sends waits for the others while the in-process
    moto is active (``mock_aws``); without it, or against a server, requests are untouched and
    concurrent. The lock is around the endpoint's ``make_request`` (where moto answers, in
    ``before-send``), not the whole client call: a client call's own work, its event hooks
    included, still runs side by side with the others'."""
    global _SERIALISED
    if _SERIALISED:
        return
    from botocore.endpoint import Endpoint
    from moto.core.models import botocore_stubber

    send = Endpoint.make_request

    def make_request(self: Any, operation_model: Any, request_dict: dict[str, Any]) -> Any:
        if not botocore_stubber.enabled:
            return send(self, operation_model, request_dict)
        with _EMBEDDED:
            return send(self, operation_model, request_dict)

    Endpoint.make_request = make_request
    _SERIALISED = True
