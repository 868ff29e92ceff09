"""The patterns the API's request schema gives keys, sites and versions: exactly what is accepted.

A value the OpenAPI document calls valid must never be refused with 400 (issue 10), so each pattern
admits only what `keys.compact_key`, `sites.normalize_site` and `versions.parse_version` take. The
site pattern is stricter than the normaliser (a bound that a regular expression can state), never
looser. Only portable syntax (no lookarounds, flags, named or possessive groups): the same pattern
runs in pydantic (Rust), Python and JavaScript (a client's validator).
"""

from __future__ import annotations

import re

from packaging.version import VERSION_PATTERN as _PEP440

# --- license keys: compact_key drops whitespace and dashes, then needs something printable left.
# ASCII printable, the no-break and typographic spaces, and the Unicode dashes (U+2010..U+2015) that
# keys pasted from an email carry; at least one character that is neither a space nor a dash.
_KEY_CHARACTER = "[ -~\u00a0\u2000-\u200a\u2010-\u2015\u202f\u205f\u3000]"
KEY_PATTERN = f"^{_KEY_CHARACTER}*[!-,.-~]{_KEY_CHARACTER}*$"

# --- sites: a host or a URL (scheme, host, port, path), as normalize_site reduces it to its host.
MAX_LABELS = 8
MAX_LABEL = 30  # 8 labels of 30 and their dots stay under the 253 characters a host may have
# A Unicode label is at most 12 characters so that its punycode ("xn--...") stays within 30.
MAX_UNICODE_LABEL = 12
_LATIN1_LETTERS = "\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff"


def _label(first: str, inner: str, last: str, longest: int) -> str:
    """A label of 1..longest characters that does not end in a hyphen nor has "--" as its 3rd and
    4th characters (the mark of a punycode label, which would have to decode)."""
    return (
        f"{first}(?:{last}|{inner}(?:{last}(?:{inner}{{0,{longest - 4}}}{last})?"
        f"|-{last}(?:{inner}{{0,{longest - 5}}}{last})?))?"
    )


def _name() -> str:
    ascii_end, unicode_end = "[A-Za-z0-9_]", f"[A-Za-z0-9{_LATIN1_LETTERS}]"
    ascii_inner, unicode_inner = "[A-Za-z0-9_-]", f"[A-Za-z0-9{_LATIN1_LETTERS}-]"
    # An internationalised label takes no underscore: IDNA refuses it.
    any_label = (
        f"(?:{_label(ascii_end, ascii_inner, ascii_end, MAX_LABEL)}"
        f"|{_label(unicode_end, unicode_inner, unicode_end, MAX_UNICODE_LABEL)})"
    )
    # The last label starts with a letter: a numeric one would make the host an IPv4 address.
    top = (
        f"(?:{_label('[A-Za-z_]', ascii_inner, ascii_end, MAX_LABEL)}"
        f"|{_label(f'[A-Za-z{_LATIN1_LETTERS}]', unicode_inner, unicode_end, MAX_UNICODE_LABEL)})"
    )
    return f"(?:{any_label}\\.){{0,{MAX_LABELS - 1}}}{top}\\.?"


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
SITE_PATTERN = f"^{_SCHEME}(?:{_name()}|{_IPV4}|{_ipv6()}){_PORT}{_REST}$"
SITE_DESCRIPTION = (
    " A host or a URL (scheme://host[:port][/path]); the host a name of at most 8 labels of letters,"
    " digits, hyphens and underscores (up to 30 characters each; Latin-1 letters such as ü in labels"
    " of up to 12), an IPv4 address or a bracketed IPv6 address. No user info; other"
    " internationalised names in punycode are not accepted."
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
