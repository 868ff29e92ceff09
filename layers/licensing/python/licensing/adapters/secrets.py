"""Secrets Manager: the one place a secret's value is read (Stripe keys, the signing key)."""

from __future__ import annotations

import json
from functools import lru_cache

from .aws import client


@lru_cache(maxsize=8)
def secret_values(secret_arn: str) -> tuple[str, ...]:
    """A secret's values: one, or several separated by commas or new lines (rotation)."""
    return read_secret(secret_arn)


def read_secret(secret_arn: str) -> tuple[str, ...]:
    answer = client("secretsmanager").get_secret_value(SecretId=secret_arn)
    return split_secret(str(answer.get("SecretString", "")))


def split_secret(text: str) -> tuple[str, ...]:
    text = text.strip()
    if text.startswith("{"):
        text = ",".join(str(value) for value in json.loads(text).values())
    return tuple(value.strip() for value in text.replace("\n", ",").split(",") if value.strip())


def resolve(plain: str | None, secret_arn: str | None) -> str | None:
    """The first value of the secret at `secret_arn` in AWS, else the plain (local) value."""
    if secret_arn:
        return next(iter(secret_values(secret_arn)), None)
    return plain
