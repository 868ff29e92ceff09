"""Signed per-contact unsubscribe links of release mails: they work without signing in and cannot
be forged for another address or product."""

from __future__ import annotations

from . import tokens
from .errors import InvalidInput
from .tokens import TokenKey

_PURPOSE = "unsubscribe"


def unsubscribe_token(key: TokenKey, email: str, product: str) -> str:
    return tokens.encode(key, _PURPOSE, {"e": email, "p": product})


def read_unsubscribe_token(key: TokenKey, token: str) -> tuple[str, str]:
    """The (email, product) a token was made for; InvalidInput for anything forged or garbled."""
    try:
        claims = tokens.decode(key, _PURPOSE, token)
        return str(claims["e"]), str(claims["p"])
    except (tokens.BadToken, KeyError) as error:
        raise InvalidInput("This unsubscribe link is not valid.") from error
