"""License keys: generation, the check character, and the form under which a key is stored.

A key of this system is 24 random Crockford base32 characters (120 bits) and one Luhn mod 32
check character, shown as five dash-separated groups of five. The check character lets the API
refuse a mistyped key without a database read. Keys imported from an earlier system keep
whatever format they had and are only compacted.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import unicodedata

from .errors import InvalidInput

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PAYLOAD_LENGTH = 24
KEY_LENGTH = PAYLOAD_LENGTH + 1
GROUP_SIZE = 5
MAX_KEY_LENGTH = 200

# Crockford's decoding aliases: people read O as 0 and I or L as 1, and the alphabet has no
# O, I or L to confuse them with.
_ALIASES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_ACCEPTED = frozenset(ALPHABET) | frozenset("OIL")
_VALUE = {character: value for value, character in enumerate(ALPHABET)}
_BASE = len(ALPHABET)


def _luhn_sum(characters: str, *, double_first: bool) -> int:
    """The Luhn mod N sum, walking from the right; every second character is doubled."""
    total = 0
    double = double_first
    for character in reversed(characters):
        addend = _VALUE[character] * (2 if double else 1)
        # Sum of the two base-N "digits" of the doubled value, as decimal Luhn adds 1 + 6 for 16.
        total += addend // _BASE + addend % _BASE
        double = not double
    return total


def _check_character(payload: str) -> str:
    """The character that makes the Luhn mod 32 sum of payload + it a multiple of 32."""
    # The check character will take the rightmost, undoubled place, so the payload's last
    # character is the first one doubled.
    return ALPHABET[-_luhn_sum(payload, double_first=True) % _BASE]


def _is_own_format(compact: str) -> bool:
    """Whether a compact, alias-free key is a key of this system with a correct check character."""
    return (
        len(compact) == KEY_LENGTH
        and all(character in _VALUE for character in compact)
        and _luhn_sum(compact, double_first=False) % _BASE == 0
    )


def generate_key() -> str:
    """A new license key, e.g. ``ABCDE-FGHJK-MNPQR-STVWX-YZ01C`` (120 random bits + a check character)."""
    payload = "".join(secrets.choice(ALPHABET) for _ in range(PAYLOAD_LENGTH))
    return format_key(payload + _check_character(payload))


def compact_key(raw: str) -> str:
    """A key as typed or pasted, without whitespace or dashes, upper-cased.

    Raises InvalidInput when nothing is left, when it is longer than any key can be, or when it
    holds control or other unprintable characters.
    """
    compact = "".join(
        character
        for character in raw
        # Any dash, not only "-": keys pasted from an email or a word processor carry en dashes.
        if not character.isspace() and unicodedata.category(character) != "Pd"
    ).upper()
    if not compact:
        raise InvalidInput("the license key is empty")
    if len(compact) > MAX_KEY_LENGTH:
        raise InvalidInput(f"the license key is longer than {MAX_KEY_LENGTH} characters")
    if not compact.isprintable():
        raise InvalidInput("the license key contains control or unprintable characters")
    return compact


def lookup_key(raw: str) -> str | None:
    """The form under which a key is stored and looked up, or None for a mistyped key of our own.

    A compact key of 25 characters from the alphabet (with Crockford's aliases O, I and L) is in
    this system's own format: its aliases are mapped and its check character verified, and a
    wrong one gives None so that the caller answers NOT_FOUND without a read. Any other key was
    imported from an earlier system and is returned compacted, to be found by a read.
    """
    compact = compact_key(raw)
    if len(compact) != KEY_LENGTH or not set(compact) <= _ACCEPTED:
        return compact
    own = compact.translate(_ALIASES)
    return own if _is_own_format(own) else None


def format_key(lookup: str) -> str:
    """A key for display: a key of this system in five dash-separated groups, any other unchanged."""
    if not _is_own_format(lookup):
        return lookup
    return "-".join(lookup[start : start + GROUP_SIZE] for start in range(0, KEY_LENGTH, GROUP_SIZE))


def license_id_for_key(lookup: str) -> str:
    """The id of the license a key belongs to, so that validating a key is a single GetItem.

    ``lic_`` and the first 26 characters (130 bits) of the lower-case base32 of the key's SHA-256:
    the id reveals nothing of the key.
    """
    digest = hashlib.sha256(lookup.encode("utf-8")).digest()
    return "lic_" + base64.b32encode(digest).decode("ascii").lower()[:26]
