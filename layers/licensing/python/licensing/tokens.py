"""Signed, self-contained tokens for links (downloads, unsubscribe): `payload.mac`, both base64url,
the payload a compact JSON object.

Tokens are only ever read by this system, so they carry an HMAC-SHA256 under a key of their own
(`TOKEN_KEY`), not an Ed25519 signature: the signing key then signs API answers alone, and the
functions that only make or read tokens (portal, notifier) never hold it. Each kind of token MACs
its purpose with its payload, so that a token made for one purpose can never pass for another.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any


class BadToken(ValueError):
    """A token that is garbled, forged, or made for another purpose."""


@dataclass(frozen=True)
class TokenKey:
    """The HMAC key of tokens: 32 bytes or more."""

    key: bytes

    @classmethod
    def from_hex(cls, key_hex: str) -> TokenKey:
        """The key written as hex characters (the stack generates 64)."""
        try:
            key = bytes.fromhex(key_hex.strip())
        except ValueError:
            key = b""
        if len(key) < 32:
            raise ValueError("a token key is 32 bytes or more written as hex characters (64 or more)")
        return cls(key)

    def mac(self, message: bytes) -> bytes:
        return hmac.new(self.key, message, hashlib.sha256).digest()

    def verifies(self, message: bytes, mac: bytes) -> bool:
        return hmac.compare_digest(self.mac(message), mac)

    def __repr__(self) -> str:  # never the key itself in a log line
        return "TokenKey(...)"


def encode(key: TokenKey, purpose: str, claims: dict[str, Any]) -> str:
    payload = json.dumps(claims, separators=(",", ":"), sort_keys=True).encode()
    return f"{_b64(payload)}.{_b64(key.mac(_signed(purpose, payload)))}"


def decode(key: TokenKey, purpose: str, token: str) -> dict[str, Any]:
    """The claims of a token made for `purpose`; BadToken for anything else."""
    try:
        encoded_payload, encoded_mac = token.split(".")
        payload = _unb64(encoded_payload)
        mac = _unb64(encoded_mac)
        if not key.verifies(_signed(purpose, payload), mac):
            raise BadToken("forged")
        claims = json.loads(payload)
    except (ValueError, TypeError) as error:
        raise BadToken(str(error)) from error
    if not isinstance(claims, dict):
        raise BadToken("not an object")
    return claims


def _signed(purpose: str, payload: bytes) -> bytes:
    return b"licensing-token:" + purpose.encode() + b"\n" + payload


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
