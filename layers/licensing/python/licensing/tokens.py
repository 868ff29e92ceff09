"""Signed, self-contained tokens for links (downloads, unsubscribe): `payload.signature`, both
base64url, the payload a compact JSON object.

Each kind of token signs its purpose with its payload, so that a token made for one purpose (or a
signed API answer) can never pass for another.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from .signing import Signer


class BadToken(ValueError):
    """A token that is garbled, forged, or made for another purpose."""


def encode(signer: Signer, purpose: str, claims: dict[str, Any]) -> str:
    payload = json.dumps(claims, separators=(",", ":"), sort_keys=True).encode()
    return f"{_b64(payload)}.{_b64(signer.sign_raw(_signed(purpose, payload)))}"


def decode(signer: Signer, purpose: str, token: str) -> dict[str, Any]:
    """The claims of a token made for `purpose`; BadToken for anything else."""
    try:
        encoded_payload, encoded_signature = token.split(".")
        payload = _unb64(encoded_payload)
        signature = _unb64(encoded_signature)
        if not signer.verifies(_signed(purpose, payload), signature):
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
