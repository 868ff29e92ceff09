"""Opaque identifiers: a prefix naming the kind, then 80 random bits in base32."""

from __future__ import annotations

import base64
import secrets


def new_id(prefix: str) -> str:
    return f"{prefix}_{base64.b32encode(secrets.token_bytes(10)).decode().lower()}"
