"""Signed per-contact unsubscribe links of release mails: they work without signing in and cannot
be forged for another address or product."""

from __future__ import annotations

from . import tokens
from .errors import InvalidInput
from .signing import Signer

_PURPOSE = "unsubscribe"


def unsubscribe_token(signer: Signer, email: str, product: str) -> str:
    return tokens.encode(signer, _PURPOSE, {"e": email, "p": product})


def read_unsubscribe_token(signer: Signer, token: str) -> tuple[str, str]:
    """The (email, product) a token was made for; InvalidInput for anything forged or garbled."""
    try:
        claims = tokens.decode(signer, _PURPOSE, token)
        return str(claims["e"]), str(claims["p"])
    except (tokens.BadToken, KeyError) as error:
        raise InvalidInput("This unsubscribe link is not valid.") from error
