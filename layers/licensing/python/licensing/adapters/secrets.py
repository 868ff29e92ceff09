"""Secrets Manager: the one place a secret's value is read (Stripe keys, the signing and token keys).

Values are cached per warm process for `TTL_SECONDS`, then read again: a value changed in Secrets
Manager (a key rotation, the real Stripe key replacing a placeholder) reaches every warm function
within that time, without a deploy, at one read per secret and function per five minutes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from .aws import client

TTL_SECONDS = 300.0


class _TtlCache:
    """`secret_values(arn)`: a secret's values, read at most once per TTL."""

    def __init__(self, read: Callable[[str], tuple[str, ...]], clock: Callable[[], float] = time.monotonic):
        self._read = read
        self.clock = clock
        self._entries: dict[str, tuple[float, tuple[str, ...]]] = {}

    def __call__(self, secret_arn: str) -> tuple[str, ...]:
        now = self.clock()
        entry = self._entries.get(secret_arn)
        if entry is None or now - entry[0] >= TTL_SECONDS:
            entry = (now, self._read(secret_arn))
            self._entries[secret_arn] = entry
        return entry[1]

    def cache_clear(self) -> None:
        self._entries.clear()


def read_secret(secret_arn: str) -> tuple[str, ...]:
    answer = client("secretsmanager").get_secret_value(SecretId=secret_arn)
    return split_secret(str(answer.get("SecretString", "")))


def split_secret(text: str) -> tuple[str, ...]:
    """A secret's values: one, several separated by commas or new lines, or a JSON object's values
    in order (the signing key's `{"current": ..., "next": ...}` during a rotation)."""
    text = text.strip()
    if text.startswith("{"):
        text = ",".join(str(value) for value in json.loads(text).values())
    return tuple(value.strip() for value in text.replace("\n", ",").split(",") if value.strip())


secret_values = _TtlCache(lambda secret_arn: read_secret(secret_arn))


def resolve_all(plain: str | None, secret_arn: str | None) -> tuple[str, ...]:
    """Every value of the secret at `secret_arn` in AWS, else of the plain (local) value."""
    if secret_arn:
        return secret_values(secret_arn)
    return split_secret(plain or "")


def resolve(plain: str | None, secret_arn: str | None) -> str | None:
    """The first value of the secret at `secret_arn` in AWS, else the plain (local) value."""
    if secret_arn:
        return next(iter(secret_values(secret_arn)), None)
    return plain
