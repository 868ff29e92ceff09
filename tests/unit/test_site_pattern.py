"""The request schema's site pattern admits only sites the normaliser takes (issue 10): a site the
OpenAPI document calls valid is never refused with 400. Each step of the argument is a test: the
letter classes are what the idna tables say; every letter is taken alone and inside a label; no
letter composes with what precedes it (so a label keeps its length and hyphen positions through
UTS 46 and NFC); the worst-case punycode of an admitted label fits its bound, and the bounds fit a
host; and generated sites of every kind normalise."""

from __future__ import annotations

import functools
import json
import random
import re
import subprocess
import unicodedata

import idna
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from licensing.sites import MAX_HOST_LENGTH, MAX_LABEL_LENGTH, MAX_SITE_LENGTH, normalize_site
from tests import idn_letters
from tests import site_pattern as patterns
from tests.site_pattern import SITE_PATTERN


def _points(ranges: str) -> list[int]:
    points: list[int] = []
    index = 0
    while index < len(ranges):
        if index + 2 < len(ranges) and ranges[index + 1] == "-":
            points.extend(range(ord(ranges[index]), ord(ranges[index + 2]) + 1))
            index += 3
        else:
            points.append(ord(ranges[index]))
            index += 1
    return points


LTR = _points(idn_letters.LTR_LETTERS)
RTL = _points(idn_letters.RTL_LETTERS)


def _mapped(point: int) -> str:
    return idna.uts46_remap(chr(point), std3_rules=False, transitional=False)


def test_the_letter_classes_are_the_idna_tables() -> None:
    computed = idn_letters.compute()
    if unicodedata.unidata_version == idn_letters.UNICODE_VERSION:
        assert computed == (idn_letters.LTR_LETTERS, idn_letters.RTL_LETTERS), (
            "regenerate: python -m tests.idn_letters"
        )
    else:  # a newer Unicode knows more letters: the generated classes must still be among them
        assert set(LTR) <= set(_points(computed[0])) and set(RTL) <= set(_points(computed[1]))
    # A few letters of scripts the classes must hold, and what they must not.
    assert {ord(c) for c in "üßçøÆœłđąěğışžŋéñ"} <= set(LTR)  # Latin
    assert {ord(c) for c in "αωЖяԱაእ中文日本語한국어ไทยअकখ"} <= set(LTR)  # Greek ... Devanagari, Bengali
    assert {ord(c) for c in "אבגשת"} | {ord(c) for c in "ابتثمنهوي"} <= set(RTL)  # Hebrew, Arabic
    assert not {0x200C, 0x200D, 0x00B7, 0x0301, 0x0345, 0x0660, 0x30FB} & set(LTR + RTL)  # joiners, marks


def test_every_letter_maps_to_one_pvalid_letter_of_its_direction() -> None:
    for points, directions in ((LTR, {"L", "ON"}), (RTL, {"R", "AL"})):
        for point in points:
            mapped = _mapped(point)
            assert len(mapped) == 1 and unicodedata.category(mapped).startswith("L"), hex(point)
            assert unicodedata.bidirectional(mapped) in directions, hex(point)


def test_every_letter_is_taken_alone_and_inside_a_label() -> None:
    for point in LTR:
        letter = chr(point)
        for site in (letter, f"a{letter}-{letter}0.example", f"0{letter}{letter}.{letter}"):
            assert normalize_site(site).isascii(), (hex(point), site)
    for point in RTL:
        letter = chr(point)
        for site in (letter, f"{letter}{letter}-{letter}0.example", f"www.{letter}0.{letter}"):
            assert normalize_site(site).isascii(), (hex(point), site)


def test_no_letter_composes_with_what_precedes_it() -> None:
    """NFC (which UTS 46 ends with) joins a starter to a following character only when the pair has
    a canonical composition: no admitted letter, digit, hyphen or dot is ever the second of a pair,
    so a label maps character by character."""
    seconds = {0x1161 + vowel for vowel in range(21)} | {0x11A8 + trail for trail in range(27)}  # Hangul
    for point in range(0x110000):
        decomposition = unicodedata.decomposition(chr(point)).split()
        if len(decomposition) == 2 and not decomposition[0].startswith("<"):
            seconds.add(int(decomposition[1], 16))
    assert not {ord(c) for c in "abcdefghijklmnopqrstuvwxyz0123456789-."} & seconds
    for point in LTR + RTL:
        first = unicodedata.normalize("NFD", _mapped(point))[0]
        assert unicodedata.combining(first) == 0 and ord(first) not in seconds, hex(point)


# --- punycode (RFC 3492), to bound the A-label of any admitted label without trying them all.
BASE, TMIN, TMAX = 36, 1, 26
BIASES = range(36 * 12)  # every bias adapt can give, and more: from there on every threshold is TMIN


def _digits(value: int, bias: int) -> int:
    """How many digits the variable-length integer `value` takes under `bias`."""
    count, k = 0, BASE
    while True:
        threshold = TMIN if k <= bias else TMAX if k >= bias + TMAX else k - bias
        count += 1
        if value < threshold:
            return count
        value, k = (value - threshold) // (BASE - threshold), k + BASE


@functools.cache
def _cheapest(count: int) -> int:
    """The smallest delta that takes at least `count` digits under some bias (whatever the bias, a
    larger delta never takes fewer digits, so this is where the most digits start)."""
    low, high = 0, 1
    while max(_digits(high, bias) for bias in BIASES) < count:
        high *= 2
    while low < high:
        middle = (low + high) // 2
        low, high = (low, middle) if max(_digits(middle, b) for b in BIASES) >= count else (middle + 1, high)
    return low


@functools.cache
def _most_digits(non_basic: int, budget: int) -> int:
    """The most digits `non_basic` deltas summing to at most `budget` can take, under any biases:
    each delta of k digits costs at least `_cheapest(k)` (a knapsack, solved exactly)."""
    cheapest = {0: 0}  # digits -> least budget that buys them
    for _ in range(non_basic):
        following: dict[int, int] = {}
        for digits, spent in cheapest.items():
            for count in range(1, 12):
                cost = spent + _cheapest(count)
                if cost > budget:
                    break
                following[digits + count] = min(following.get(digits + count, cost), cost)
        cheapest = following
    return max(cheapest)


def _a_label_bound(non_basic: int, basic: int, highest: int) -> int:
    """The longest "xn--" form of a label of `non_basic` code points up to `highest` and `basic`
    ASCII ones. The deltas sum to at most (highest - 128 + non_basic) * length: each new code point
    adds its distance from the last times (handled + 1) <= length, and each pass at most length."""
    length = non_basic + basic
    budget = (highest - 128 + non_basic) * length
    return 4 + basic + (1 if basic else 0) + _most_digits(non_basic, budget)


def _worst_a_label(letters: int, beyond: int, highest: int) -> int:
    """Over every label of at most `letters` letters and digits, at most `beyond` of them beyond
    ASCII, with single hyphens between them."""
    worst = 0
    for non_basic in range(1, beyond + 1):
        # Up to letters - non_basic ASCII letters and digits, and a hyphen between any two.
        for basic in range(0, (letters - non_basic) + (letters - 1) + 1):
            worst = max(worst, _a_label_bound(non_basic, basic, highest))
    return worst


HIGHEST = max(ord(_mapped(point)) for point in LTR + RTL)


def test_the_worst_case_punycode_of_an_admitted_label_fits_the_bound() -> None:
    most, limit = patterns.MAX_UNICODE_LETTERS, patterns.MAX_IDN_LABEL
    assert _worst_a_label(most, most, HIGHEST) <= limit <= MAX_LABEL_LENGTH
    # The bound is tight enough to matter: one more letter could exceed it.
    assert _worst_a_label(most + 1, most + 1, HIGHEST) > limit
    for beyond, stretch in patterns.MOSTLY_ASCII:
        assert _worst_a_label(beyond * (stretch + 1), beyond, HIGHEST) <= limit
        assert _worst_a_label(beyond * (stretch + 2), beyond, HIGHEST) > limit
    # And the labels' bounds keep every host within the normaliser's.
    assert patterns.MAX_LABELS * (patterns.MAX_LABEL + 1) - 1 <= MAX_HOST_LENGTH
    assert patterns.MAX_IDN_LABELS * (patterns.MAX_IDN_LABEL + 1) - 1 <= MAX_HOST_LENGTH


def test_the_bound_holds_for_real_labels() -> None:
    """The bound against idna's own punycode, for labels as costly as a search finds: code points
    spread over the range, the highest one, hyphens; in each direction."""
    generator = random.Random(10)
    for points in (LTR, RTL):
        pool = sorted({ord(_mapped(point)) for point in points if not _mapped(point).isascii()})
        for _ in range(200):
            count = generator.randint(1, patterns.MAX_UNICODE_LETTERS)  # all beyond ASCII: the costliest
            label = chr(pool[-1]) + "".join(chr(generator.choice(pool)) for _ in range(count - 1))
            hyphens = generator.randint(0, count - 1)
            label = label[0] + "".join(("-" if at < hyphens else "") + c for at, c in enumerate(label[1:]))
            encoded = idna.alabel(label)
            assert len(encoded) <= _a_label_bound(count, hyphens, HIGHEST) <= patterns.MAX_IDN_LABEL


# --- the whole pattern, generated.
def _name_pattern(name: str) -> str:
    return f"^(?:{name})\\.?$"


def _normalises(pattern: str, examples: int) -> object:
    @settings(max_examples=examples, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.from_regex(pattern, fullmatch=True).filter(lambda site: len(site) <= MAX_SITE_LENGTH))
    def test(site: str) -> None:
        assert re.fullmatch(SITE_PATTERN, site)
        host = normalize_site(site)
        assert host and len(host) <= MAX_HOST_LENGTH

    return test


# The whole pattern, and each kind of name alone so that each gets its share of examples.
test_every_site_the_schema_admits_normalises = _normalises(SITE_PATTERN, 300)
test_every_internationalised_name_normalises = _normalises(_name_pattern(patterns._idn_name()), 200)
test_every_right_to_left_name_normalises = _normalises(_name_pattern(patterns._bidi_name()), 200)


ADMITTED = [
    "example.com",
    "https://WWW.Shop.Example.com:443/crm",
    "http://crm.example.com/espo/?x=1#top",
    "localhost",
    "dev_box.intranet",
    "a.b.c.d.e.f.g.h",
    "127.0.0.1:8080",
    "http://[::1]:8080/",
    "[2001:db8::1]",
    "example.com.",
    "bücher.example",
    "https://Müller-Shop.de/",
    "müller-bäckerei.de",
    "kaufhaus-müller.at",
    "crm.bücher.co.uk",
    "пример.рф",
    "www.例え.jp",
    "互联网络信息中心.中国",
    "한국인터넷정보센터.한국",
    "ελληνικά.gr",
    "ไทย.com",
    "https://ｅｘａｍｐｌｅ.com/",  # full-width letters, as an IME types them
    "مثال.مصر",
    "https://www.مثال.co.il/espo",
    "www.מבחן.co.il",
    "דוגמה.ישראל",
    "מבחן-2.example",
]


@pytest.mark.parametrize("site", ADMITTED)
def test_sites_as_extensions_send_them_are_admitted(site: str) -> None:
    assert re.fullmatch(SITE_PATTERN, site)
    assert normalize_site(site)


@pytest.mark.parametrize(
    "site",
    [
        "",
        "not a host!",
        "a..b",
        "-a.com",
        "a-.com",
        "xn--zz.com",
        "1.2.3.999",
        "999",
        "[::1",
        "a.com:70000",
        "user@example.com",
        "é\u0301.com",  # a combining mark
        "a\u200db.com",  # a joiner
        "1مثال.com",  # a right-to-left label starting with a digit (the bidi rule)
        "مثال-.com",
        "bücher.مصر",  # in a name with a right-to-left label, the others are ASCII
        "1.مصر",  # ... and start with a letter
        "ü" * 10 + ".de",  # more letters than the punycode bound allows
        "bücherstube-hamburg.de",  # ... and 18 ASCII ones after the ü: more than a mostly-ASCII label
    ],
)
def test_sites_the_pattern_refuses(site: str) -> None:
    assert not re.fullmatch(SITE_PATTERN, site)


def test_the_pattern_means_the_same_in_ecma_262() -> None:
    """JavaScript (the OpenAPI document's regular expressions), with and without the u flag."""
    samples = [*ADMITTED, "xn--zz.com", "1مثال.com", "bücher.مصر", "ü" * 10 + ".de", "a\u200db.com"]
    script = (
        "const [pattern, samples] = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "const plain = new RegExp(pattern), unicode = new RegExp(pattern, 'u');"
        "console.log(JSON.stringify(samples.map((s) => [plain.test(s), unicode.test(s)])));"
    )
    answer = subprocess.run(
        ["node", "-e", script],
        input=json.dumps([SITE_PATTERN, samples]),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    expected = [[bool(re.fullmatch(SITE_PATTERN, s))] * 2 for s in samples]
    assert json.loads(answer.stdout) == expected
