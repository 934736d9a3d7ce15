"""A small, documented fidelity patch of moto's policy evaluation (aws-notes trap 10).

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

The product's policy stays the AWS-correct one. Applied by ``--moto``, ``serve``, the tests and
``python -m liveinsight_infra.aws.moto_server``.

Two more gaps of the stream ingest path (docs/moto-gaps.md) are closed the same way:
* ``CreateStream`` drops its ``Tags`` on moto; AWS tags the stream at creation
  (https://docs.aws.amazon.com/kinesis/latest/APIReference/API_CreateStream.html);
* moto pushes every record put on a stream to the functions mapped to it, at once and through
  Docker; on AWS, Lambda polls the stream and batches records (the event source mapping). Locally,
  ``serve``'s poller does the polling (``local/stream.py``), so moto's push is switched off.
"""

from __future__ import annotations

import fnmatch
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
