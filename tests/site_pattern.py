"""A pattern of sites the API takes: what the schema-driven fuzzer draws the `site` format from.

Every string `SITE_PATTERN` admits is a site `licensing.sites.normalize_site` takes
(tests/unit/test_site_pattern.py proves each bound). It is no validator: the API takes more (punycode
names, letters with marks, longer labels), and the document gives `site` a named format for that
reason (licensing/request_patterns.py). Only portable syntax, so that the same pattern runs in
Python and JavaScript.
"""

from __future__ import annotations

from tests.idn_letters import LTR_LETTERS, RTL_LETTERS

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
