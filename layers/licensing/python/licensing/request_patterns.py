"""The patterns the API's request schema gives keys and versions, exactly what is accepted, and the
`site` format.

A value the OpenAPI document calls valid must never be refused with 400 (issue 10). Keys and
versions are regular languages: `KEY_PATTERN` and `VERSION_PATTERN` admit exactly what
`keys.compact_key` and `versions.parse_version` take. A site is not: what `sites.normalize_site`
takes (IDNA 2008 with UTS 46, its bidi and context rules, punycode that must decode) cannot be said
by a regular expression without refusing real sites (every `xn--` name, Devanagari or Thai names with
their marks, labels longer than a bound). So the document gives `site` a named format, `site`
(JSON Schema's way for what a pattern cannot state, as `idn-hostname`), described in words, and the
API itself is the validator. The schema-driven fuzzer draws sites from a pattern proven to stay
inside the normaliser (tests/site_pattern.py).
"""

from __future__ import annotations

import re

from packaging.version import VERSION_PATTERN as _PEP440

# --- license keys: compact_key drops whitespace and dashes, then needs something printable left.
# ASCII printable, the no-break and typographic spaces, and the Unicode dashes (U+2010..U+2015) that
# keys pasted from an email carry; at least one character that is neither a space nor a dash.
_KEY_CHARACTER = "[ -~\u00a0\u2000-\u200a\u2010-\u2015\u202f\u205f\u3000]"
KEY_PATTERN = f"^{_KEY_CHARACTER}*[!-,.-~]{_KEY_CHARACTER}*$"

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
