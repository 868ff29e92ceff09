"""License keys: format, check character, tolerant input, imported keys and license ids."""

from __future__ import annotations

import re

import pytest

from licensing.errors import InvalidInput
from licensing.keys import (
    ALPHABET,
    compact_key,
    format_key,
    generate_key,
    license_id_for_key,
    lookup_key,
)

# A key of this system computed by hand: payload 0000...0001, whose doubled last "1" sums to 2,
# so the check character is ALPHABET[32 - 2] = "Y".
KNOWN_KEY = "00000-00000-00000-00000-0001Y"
KNOWN_LOOKUP = "0" * 23 + "1Y"

KEY_SHAPE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{5}(?:-[0-9A-HJKMNP-TV-Z]{5}){4}$")


def test_a_hand_computed_key_passes_its_check() -> None:
    assert lookup_key(KNOWN_KEY) == KNOWN_LOOKUP
    assert format_key(KNOWN_LOOKUP) == KNOWN_KEY


def test_a_generated_key_is_five_groups_of_five_from_the_alphabet() -> None:
    key = generate_key()
    assert KEY_SHAPE.match(key), key
    assert len(key.replace("-", "")) == 25


def test_generated_keys_are_unique_and_pass_their_check() -> None:
    keys = [generate_key() for _ in range(1000)]
    assert len(set(keys)) == len(keys)
    for key in keys:
        assert lookup_key(key) == key.replace("-", "")
        assert format_key(key.replace("-", "")) == key


def test_generated_keys_use_the_whole_alphabet() -> None:
    # 1000 keys hold 24 000 random characters: every one of the 32 appears unless the draw is broken.
    drawn = set("".join(generate_key().replace("-", "")[:24] for _ in range(1000)))
    assert drawn == set(ALPHABET)


def test_every_single_character_substitution_is_caught() -> None:
    for _ in range(20):
        lookup = generate_key().replace("-", "")
        for position, original in enumerate(lookup):
            for replacement in ALPHABET:
                if replacement == original:
                    continue
                typo = lookup[:position] + replacement + lookup[position + 1 :]
                assert lookup_key(typo) is None, (lookup, typo)


def _swapped(lookup: str, position: int) -> str:
    return lookup[:position] + lookup[position + 1] + lookup[position] + lookup[position + 2 :]


def test_adjacent_transpositions_are_caught_except_0_and_z() -> None:
    # Luhn mod 32 misses exactly one adjacent swap, of the first and last characters of the
    # alphabet ("0" and "Z"), as decimal Luhn misses "09" <-> "90".
    missed = caught = 0
    for _ in range(200):
        lookup = generate_key().replace("-", "")
        for position in range(len(lookup) - 1):
            pair = lookup[position : position + 2]
            if pair[0] == pair[1]:
                continue
            result = lookup_key(_swapped(lookup, position))
            if set(pair) == {"0", "Z"}:
                assert result is not None
                missed += 1
            else:
                assert result is None, (lookup, position)
                caught += 1
    assert caught > 100 * max(missed, 1)


def test_the_0_z_transposition_is_the_known_blind_spot() -> None:
    lookup = lookup_key("0Z000-00000-00000-00000-00001")
    assert lookup is not None
    assert lookup_key(_swapped(lookup, 0)) == _swapped(lookup, 0)


@pytest.mark.parametrize(
    "typed",
    [
        KNOWN_KEY,
        KNOWN_KEY.lower(),
        KNOWN_KEY.replace("-", ""),
        KNOWN_KEY.replace("-", " "),
        f"  {KNOWN_KEY}\n",
        "00000 - 00000\t00000-00000-0001y",
        KNOWN_KEY.replace("-", "\u2013"),
        KNOWN_KEY.replace("0", "O"),
        KNOWN_KEY.replace("0", "o"),
    ],
)
def test_typed_variants_of_a_key_find_the_same_lookup(typed: str) -> None:
    assert lookup_key(typed) == KNOWN_LOOKUP


@pytest.mark.parametrize("alias", ["I", "i", "L", "l"])
def test_i_and_l_read_as_one(alias: str) -> None:
    lookup = "0" * 23 + "1Y"
    typed = "0" * 23 + alias + "Y"
    assert lookup_key(typed) == lookup


def test_a_wrong_check_character_is_not_found() -> None:
    assert lookup_key(KNOWN_KEY[:-1] + "Z") is None


@pytest.mark.parametrize(
    ("imported", "lookup"),
    [
        ("legacy-1234-abcd", "LEGACY1234ABCD"),
        ("A1B2C3", "A1B2C3"),
        # 25 characters, but "U" is not in the alphabet: not one of ours.
        ("UUUUU-UUUUU-UUUUU-UUUUU-UUUUU", "U" * 25),
        # 26 characters from the alphabet: too long to be one of ours.
        ("0" * 26, "0" * 26),
        ("key_with.punctuation+1", "KEY_WITH.PUNCTUATION+1"),
    ],
)
def test_imported_keys_pass_through_compacted(imported: str, lookup: str) -> None:
    assert lookup_key(imported) == lookup
    assert format_key(lookup) == lookup


def test_compact_key_strips_whitespace_and_dashes_and_upper_cases() -> None:
    assert compact_key(" ab-cd \t ef\n") == "ABCDEF"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "empty"),
        ("  - -\n", "empty"),
        ("A" * 201, "longer than 200"),
        ("ABC\x00DEF", "control"),
        ("ABC\x7fDEF", "control"),
        ("ABC\u200bDEF", "control"),
    ],
)
def test_compact_key_rejects(raw: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        compact_key(raw)
    with pytest.raises(InvalidInput, match=message):
        lookup_key(raw)


def test_compact_key_accepts_200_characters() -> None:
    assert compact_key("a" * 200) == "A" * 200


def test_format_key_leaves_a_25_character_key_with_a_wrong_check_alone() -> None:
    wrong = KNOWN_LOOKUP[:-1] + "Z"
    assert format_key(wrong) == wrong


def test_license_id_is_derived_from_the_lookup_key() -> None:
    license_id = license_id_for_key(KNOWN_LOOKUP)
    assert re.fullmatch(r"lic_[a-z2-7]{26}", license_id)
    assert license_id == license_id_for_key(KNOWN_LOOKUP)
    assert license_id != license_id_for_key("LEGACY1234ABCD")


def test_license_id_is_the_base32_of_sha256() -> None:
    # base32(sha256(b"")) = 4OYMIQUY7QOBJGX36TEJS35ZEQT24QPEMSNZGTFESWMRW6CSXBKQ====
    assert license_id_for_key("") == "lic_4oymiquy7qobjgx36tejs35zeq"
