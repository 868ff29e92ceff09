"""The patterns the API's request schema gives keys and versions, exactly what is accepted, and the
`site` format.

A value the OpenAPI document calls valid must never be refused with 400 (issue 10). Keys and
versions are regular languages: `KEY_PATTERN` and `VERSION_PATTERN` admit exactly what
`keys.compact_key` and `versions.parse_version` take. A site is not: what `sites.normalize_site`
takes (IDNA 2008 with UTS 46, its bidi and context rules, punycode that must decode) cannot be said
by a regular expression without refusing real sites (every `xn--` name, Devanagari or Thai names with
their marks, labels longer than a bound). So the document gives `site` a named format, `site`
(JSON Schema's way for what a pattern cannot state, as `idn-hostname`), described in words, and the
API itself is the validator. `SITE_PATTERN` is kept as a generator: every string it admits is a site
the normaliser takes (tests/unit/test_site_pattern.py proves it), which is what the schema-driven
fuzzer draws sites from.
"""

from __future__ import annotations

import re

from packaging.version import VERSION_PATTERN as _PEP440

from .idn_letters import LTR_LETTERS, RTL_LETTERS

# --- license keys: compact_key drops whitespace and dashes, then needs something printable left.
# ASCII printable, the no-break and typographic spaces, and the Unicode dashes (U+2010..U+2015) that
# keys pasted from an email carry; at least one character that is neither a space nor a dash.
_KEY_CHARACTER = "[ -~\u00a0\u2000-\u200a\u2010-\u2015\u202f\u205f\u3000]"
KEY_PATTERN = f"^{_KEY_CHARACTER}*[!-,.-~]{_KEY_CHARACTER}*$"

# --- sites: a host or a URL (scheme, host, port, path), as normalize_site reduces it to its host.
# Three kinds of name, each with a bound on labels and label lengths that keeps the host within the
# 253 characters it may have (tests/unit/test_site_pattern.py proves each bound):
# - ASCII names: up to 8 labels of up to 30 characters (8 * 31 - 1 = 247).
# - internationalised names: up to 4 labels (after an optional "www.", which the normaliser drops),
#   each ASCII of up to 62 characters or holding letters beyond ASCII, with single hyphens between
#   letters and digits: up to 9 of any kind, or mostly ASCII, as Latin-script names are: up to 2
#   beyond ASCII, each followed by up to 11 ASCII letters or digits (24 in all), or up to 3, each
#   followed by up to 6 (21). The test computes the worst-case punycode ("xn--...") of each form: at
#   most 62 octets (4 * 63 - 1 = 251).
# - names with a right-to-left label (Hebrew, Arabic): the same bounds, and the bidi rule of RFC 5893:
#   a right-to-left label starts with a right-to-left letter, holds only those, ASCII digits and
#   single inner hyphens, and ends with a letter or a digit; every other label is ASCII and starts
#   with a letter.
MAX_LABELS = 8
MAX_LABEL = 30
MAX_IDN_LABELS = 4
MAX_IDN_LABEL = 62
MAX_UNICODE_LETTERS = 9
# Mostly-ASCII labels: (letters beyond ASCII, ASCII letters and digits in a row after each of them).
MOSTLY_ASCII = ((2, 11), (3, 6))


def _label(first: str, inner: str, last: str, longest: int) -> str:
    """An ASCII label of 1..longest characters that does not end in a hyphen nor has "--" as its 3rd
    and 4th characters (the mark of a punycode label, which would have to decode)."""
    return (
        f"{first}(?:{last}|{inner}(?:{last}(?:{inner}{{0,{longest - 4}}}{last})?"
        f"|-{last}(?:{inner}{{0,{longest - 5}}}{last})?))?"
    )


def _unicode_label(first: str, other: str) -> str:
    """A label beyond ASCII: letters and digits with single hyphens between them, so it neither
    starts nor ends with one nor holds "--" (IDNA's rules), said with the long classes only twice."""
    return f"[{first}](?:-?[{other}]){{0,{MAX_UNICODE_LETTERS - 1}}}"


def _mostly_ascii_label(first: str, other: str, beyond: int, stretch: int) -> str:
    """Up to `beyond` letters of `other` (the first one included), each followed by up to `stretch`
    ASCII letters and digits, with single hyphens between them."""
    run = f"(?:-?[A-Za-z0-9]){{0,{stretch}}}"
    return f"[{first}]{run}(?:-?[{other}]{run}){{0,{beyond - 1}}}"


def _ascii_name() -> str:
    # The underscore that intranet names use; IDNA refuses it beyond ASCII. The last label starts with
    # a letter: a numeric one would make the host an IPv4 address.
    label = _label("[A-Za-z0-9_]", "[A-Za-z0-9_-]", "[A-Za-z0-9_]", MAX_LABEL)
    top = _label("[A-Za-z_]", "[A-Za-z0-9_-]", "[A-Za-z0-9_]", MAX_LABEL)
    return f"(?:{label}\\.){{0,{MAX_LABELS - 1}}}{top}"


def _idn_name() -> str:
    ascii_label = _label("[A-Za-z0-9_]", "[A-Za-z0-9_-]", "[A-Za-z0-9_]", MAX_IDN_LABEL)
    ascii_top = _label("[A-Za-z_]", "[A-Za-z0-9_-]", "[A-Za-z0-9_]", MAX_IDN_LABEL)
    letters = "A-Za-z" + LTR_LETTERS
    labels = [ascii_label, _unicode_label(letters + "0-9", letters + "0-9")]
    tops = [ascii_top, _unicode_label(letters, letters + "0-9")]
    for beyond, stretch in MOSTLY_ASCII:
        labels.append(_mostly_ascii_label(letters + "0-9", letters + "0-9", beyond, stretch))
        tops.append(_mostly_ascii_label(letters, letters + "0-9", beyond, stretch))
    return f"(?:(?:{'|'.join(labels)})\\.){{0,{MAX_IDN_LABELS - 1}}}(?:{'|'.join(tops)})"


def _bidi_name() -> str:
    ltr = _label("[A-Za-z]", "[A-Za-z0-9-]", "[A-Za-z0-9]", MAX_IDN_LABEL)
    rtl = _unicode_label(RTL_LETTERS, RTL_LETTERS + "0-9")
    # The first right-to-left label after `before` left-to-right ones, then any labels: every name of
    # at most MAX_IDN_LABELS labels with a right-to-left label, once each.
    return "|".join(
        f"(?:{ltr}\\.){{{before}}}{rtl}(?:\\.(?:{rtl}|{ltr})){{0,{MAX_IDN_LABELS - 1 - before}}}"
        for before in range(MAX_IDN_LABELS)
    )


_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_IPV4 = f"{_OCTET}(?:\\.{_OCTET}){{3}}"


def _ipv6() -> str:
    group = "[0-9A-Fa-f]{1,4}"

    def groups(count: int) -> str:
        return "" if count == 0 else f"{group}(?::{group}){{{count - 1}}}"

    # All eight groups, or "::" standing for at least two of them (a+b <= 6 explicit ones).
    forms = [groups(8)] + [
        f"{groups(before)}::{groups(after)}" for before in range(7) for after in range(7 - before)
    ]
    return "\\[(?:" + "|".join(forms) + ")\\]"


_PORT = "(?::(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4}))?"
_SCHEME = "(?:[A-Za-z][A-Za-z0-9+.-]*://)?"
# Whatever follows the host (path, query, fragment) is dropped by the normaliser: no spaces or controls.
_REST = "(?:[/?#][^\\x00-\\x20\\x7f-\\x9f]*)?"
_NAME = f"(?:{_ascii_name()}|(?:[Ww][Ww][Ww]\\.)?(?:{_idn_name()}|{_bidi_name()}))\\.?"
SITE_PATTERN = f"^{_SCHEME}(?:{_NAME}|{_IPV4}|{_ipv6()}){_PORT}{_REST}$"
SITE_FORMAT = "site"
SITE_DESCRIPTION = (
    " Format `site`: a host or a URL (scheme://host[:port][/path]) that the API normalises to its"
    " host: scheme, www., port, path, a trailing dot and case dropped; internationalised names to"
    " punycode (names already in punycode are taken as they are); IPv4 and bracketed IPv6 addresses."
    " A value that names no host is refused with 400 INVALID_REQUEST."
)


def _portable(verbose: str) -> str:
    """packaging's PEP 440 pattern (verbose, case-insensitive, possessive) as a plain pattern."""
    compact = re.sub(r"#[^\n]*", "", verbose)
    compact = re.sub(r"\s+", "", compact)
    compact = re.sub(r"\(\?P<\w+>|\(\?a:", "(?:", compact)
    # Possessive quantifiers only speed packaging's matching up: the language is the same.
    compact = re.sub(r"(?<=[?*])\+", "", compact)
    out, in_class = [], False
    for index, character in enumerate(compact):
        escaped = index > 0 and compact[index - 1] == "\\"
        if character == "[" and not escaped:
            in_class = True
        elif character == "]" and not escaped:
            in_class = False
        if character.isalpha() and not escaped:
            # Version() ignores case: each letter matches both cases (a class "a-z" gets "A-Z" below).
            out.append(character if in_class else f"[{character}{character.upper()}]")
        else:
            out.append(character)
    return "".join(out).replace("a-z", "a-zA-Z")


VERSION_PATTERN = f"^{_portable(_PEP440)}$"
