"""The request schema's key and version patterns admit only what the API accepts (issue 10): a
value the OpenAPI document calls valid is never refused with 400."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.version import InvalidVersion, Version

from licensing.keys import compact_key
from licensing.request_patterns import KEY_PATTERN, VERSION_PATTERN


@settings(max_examples=500, deadline=None)
@given(st.from_regex(KEY_PATTERN, fullmatch=True).filter(lambda key: len(key) <= 200))
def test_every_key_the_schema_admits_is_taken(key: str) -> None:
    assert compact_key(key)


@pytest.mark.parametrize("key", ["ABCDE-FGHJK-MNPQR-STVWX-YZ01C", "abcde–fghjk", " old-key 42 ", "K"])
def test_keys_as_typed_or_pasted_are_admitted(key: str) -> None:
    assert re.fullmatch(KEY_PATTERN, key)


@pytest.mark.parametrize("key", ["-", " ", "–\u00a0-", "ABC\x00", "ABC\u200b"])
def test_keys_the_api_refuses_are_not_admitted(key: str) -> None:
    assert not re.fullmatch(KEY_PATTERN, key)


@settings(max_examples=300, deadline=None)
@given(st.from_regex(VERSION_PATTERN, fullmatch=True))
def test_every_version_the_schema_admits_is_a_pep_440_version(text: str) -> None:
    Version(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789.!+-_abcdeilnoprstvwABCDEPRV", max_size=16))
def test_the_version_pattern_is_pep_440s(text: str) -> None:
    try:
        Version(text)
        accepted = text.strip() == text
    except InvalidVersion:
        accepted = False
    assert bool(re.fullmatch(VERSION_PATTERN, text)) is accepted


@pytest.mark.parametrize(
    "text", ["1.2.0", "8.4.1", "2.0.0rc1", "1.0.0-BETA.1", "v1.0", "1!2.0.post3.dev4+local.7"]
)
def test_versions_extensions_send_are_admitted(text: str) -> None:
    assert re.fullmatch(VERSION_PATTERN, text)
