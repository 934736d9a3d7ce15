"""Values that are never printed: what ``sensitive = true`` is to Terraform.

A :class:`Sensitive` compares by its value, so a plan still sees that a secret changed, but it
shows as a mask everywhere a value is shown: the text plan, ``Plan.to_json`` (``plan --json``),
``-v`` and error messages. The mask names a short SHA-256 fingerprint,
which tells two secrets apart without revealing either (the secrets here are 256-bit random
values). ``json.dumps`` without a ``default`` refuses it: nothing turns it into its value by
accident. Only :meth:`Sensitive.reveal` gives the value, at the one place that sends it to AWS.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets


def digest(value: str) -> str:
    """The hex SHA-256 of ``value``: what the functions compare a secret against."""
    return hashlib.sha256(value.encode()).hexdigest()


class Sensitive:
    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    @classmethod
    def generate(cls, nbytes: int = 32) -> Sensitive:
        """A new random secret, URL-safe (so it is a valid HTTP header value as it is)."""
        return cls(secrets.token_urlsafe(nbytes))

    def reveal(self) -> str:
        return self._value

    @property
    def digest(self) -> str:
        return digest(self._value)

    def __repr__(self) -> str:
        return f"(sensitive value, sha256 {self.digest[:8]}...)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sensitive) and hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(self.digest)
