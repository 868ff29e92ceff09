"""Signed per-contact unsubscribe links of release mails: they work without signing in and cannot
be forged for another address or product."""

from __future__ import annotations

import base64
import json

from .errors import InvalidInput
from .signing import Signer


def unsubscribe_token(signer: Signer, email: str, product: str) -> str:
    payload = json.dumps({"e": email, "p": product}, separators=(",", ":")).encode()
    return f"{_encode(payload)}.{_encode(signer.sign_raw(payload))}"


def read_unsubscribe_token(signer: Signer, token: str) -> tuple[str, str]:
    """The (email, product) a token was made for; InvalidInput for anything forged or garbled."""
    try:
        encoded_payload, encoded_signature = token.split(".")
        payload = _decode(encoded_payload)
        if not signer.verifies(payload, _decode(encoded_signature)):
            raise ValueError("forged")
        claims = json.loads(payload)
        return str(claims["e"]), str(claims["p"])
    except (ValueError, KeyError, TypeError) as error:
        raise InvalidInput("This unsubscribe link is not valid.") from error


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
