"""Link tokens: an HMAC-SHA256 under the token key, bound to their purpose."""

from __future__ import annotations

import secrets

import pytest

from licensing import tokens
from licensing.tokens import BadToken, TokenKey


def _key() -> TokenKey:
    return TokenKey.from_hex(secrets.token_hex(32))


def test_a_token_reads_back_with_its_key_and_purpose() -> None:
    key = _key()
    token = tokens.encode(key, "download", {"l": "lic_1", "exp": 5})
    assert tokens.decode(key, "download", token) == {"l": "lic_1", "exp": 5}


def test_another_key_another_purpose_or_a_changed_payload_is_refused() -> None:
    key = _key()
    token = tokens.encode(key, "unsubscribe", {"e": "a@b.test", "p": "crm"})
    with pytest.raises(BadToken):
        tokens.decode(_key(), "unsubscribe", token)
    with pytest.raises(BadToken):
        tokens.decode(key, "download", token)
    forged_payload = tokens._b64(b'{"e":"other@b.test","p":"crm"}')
    with pytest.raises(BadToken):
        tokens.decode(key, "unsubscribe", forged_payload + "." + token.split(".")[1])
    for garbled in ("", "abc", "a.b.c", "!!!.???"):
        with pytest.raises(BadToken):
            tokens.decode(key, "unsubscribe", garbled)


def test_a_missing_or_short_key_is_refused_and_the_key_is_never_printed() -> None:
    for bad in ("", "zz" * 32, "ab" * 16):
        with pytest.raises(ValueError, match="token key"):
            TokenKey.from_hex(bad)
    hex_key = secrets.token_hex(32)
    assert hex_key not in repr(TokenKey.from_hex(hex_key))
