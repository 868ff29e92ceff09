"""Sites: normalising a URL or host to the host a license is activated for, and development hosts.

Two spellings of one site must count once against the site limit, so a site is reduced to its
host: scheme, user, port, path, query, fragment, trailing dot, one leading ``www.`` and case are
dropped, internationalised names become punycode and IPv6 literals take their compressed form.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from typing import TypeAlias

from .errors import InvalidInput

MAX_SITE_LENGTH = 2048
MAX_HOST_LENGTH = 253
MAX_LABEL_LENGTH = 63

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_AUTHORITY_END = re.compile(r"[/?#]")
_PORT = re.compile(r"^[0-9]{0,5}$")
# Letters, digits and hyphens, plus the underscore that browsers accept and intranet names use.
_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_\-]*[a-z0-9_])?$")

_IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address

# "private": RFC 1918, IPv6 unique local (fc00::/7) and link-local addresses of both families.
_PRIVATE_NETWORKS = tuple(
    ipaddress.ip_network(network)
    for network in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "169.254.0.0/16",
        "fc00::/7",
        "fe80::/10",
    )
)


def normalize_site(raw: str) -> str:
    """The host of a site given as a URL or a host, in the one form it is stored and compared in.

    ``https://User@WWW.Bücher.example.:8443/shop?x#y`` becomes ``xn--bcher-kva.example``;
    ``http://[0:0:0:0:0:0:0:1]:8080/`` becomes ``[::1]``. Raises InvalidInput for an empty or
    overlong input, a host with spaces or invalid characters, and overlong labels or hosts.
    """
    if len(raw) > MAX_SITE_LENGTH:
        raise InvalidInput(f"the site is longer than {MAX_SITE_LENGTH} characters")
    site = _SCHEME.sub("", raw.strip(), count=1)
    # A scheme-relative URL ("//example.com/") names its host the same way.
    site = site.removeprefix("//")
    authority = _AUTHORITY_END.split(site, maxsplit=1)[0]
    # The password may contain "@", the host never does: the host follows the last one.
    hostport = authority.rpartition("@")[2]
    if not hostport:
        raise InvalidInput("the site is empty: give a URL or a host name")
    if hostport.startswith("["):
        return _bracketed_ipv6(hostport)
    if hostport.count(":") > 1:
        # A bare IPv6 address: its colons are not a port separator.
        return "[" + _ipv6(hostport) + "]"
    host, _, port = hostport.partition(":")
    _check_port(port)
    return _normalize_host(host)


def _bracketed_ipv6(hostport: str) -> str:
    literal, bracket, port = hostport[1:].partition("]")
    if not bracket:
        raise InvalidInput(f"the IPv6 address in {hostport!r} has no closing bracket")
    if port:
        if not port.startswith(":"):
            raise InvalidInput(f"unexpected characters after the IPv6 address in {hostport!r}")
        _check_port(port[1:])
    return "[" + _ipv6(literal) + "]"


def _ipv6(literal: str) -> str:
    # A zone id ("%eth0") only means something on the machine that wrote it, never for a site.
    if "%" in literal:
        raise InvalidInput(f"{literal!r} carries a zone id, which a site's address cannot have")
    try:
        return ipaddress.IPv6Address(literal).compressed
    except ValueError:
        raise InvalidInput(f"{literal!r} is not a valid IPv6 address") from None


def _check_port(port: str) -> None:
    if not _PORT.match(port) or (port and int(port) > 65535):
        raise InvalidInput(f"{port!r} is not a valid port")


def _normalize_host(host: str) -> str:
    if any(character.isspace() for character in host):
        raise InvalidInput(f"the host {host!r} contains spaces")
    if host.isascii():
        mapped = host.lower()  # what UTS 46 maps ASCII to (a unit test holds the two together)
    else:
        import idna  # here: most sites are ASCII, and a validation's cold start skips its tables

        try:
            # UTS 46 maps case, full-width letters and ideographic dots the way browsers do.
            mapped = idna.uts46_remap(host, std3_rules=False, transitional=False)
        except idna.IDNAError as error:
            raise InvalidInput(f"the host {host!r} contains invalid characters ({error})") from None
    mapped = mapped.removesuffix(".")
    if not mapped:
        raise InvalidInput("the site is empty: give a URL or a host name")
    labels = mapped.split(".")
    # No top-level domain is numeric, so a numeric last label means an IPv4 address, as in browsers.
    if labels[-1].isascii() and labels[-1].isdigit():
        try:
            return str(ipaddress.IPv4Address(mapped))
        except ValueError:
            raise InvalidInput(f"{host!r} is not a valid IPv4 address") from None
    if labels[0] == "www" and len(labels) > 1:
        labels = labels[1:]
    normalized = ".".join(_ascii_label(label, host) for label in labels)
    if len(normalized) > MAX_HOST_LENGTH:
        raise InvalidInput(f"the host {host!r} is longer than {MAX_HOST_LENGTH} characters")
    return normalized


def _ascii_label(label: str, host: str) -> str:
    if not label:
        raise InvalidInput(f"the host {host!r} has an empty label (two dots in a row)")
    if not label.isascii() or label.startswith("xn--"):
        import idna

        try:
            # An ASCII "xn--" label must be valid punycode; alabel checks it or encodes a Unicode one.
            label = idna.alabel(label).decode("ascii")
        except idna.IDNAError as error:
            raise InvalidInput(f"the host {host!r} is not a valid internationalised name ({error})") from None
    if len(label) > MAX_LABEL_LENGTH:
        raise InvalidInput(f"the host {host!r} has a label longer than {MAX_LABEL_LENGTH} characters")
    if not _LABEL.match(label):
        raise InvalidInput(
            f"the host {host!r} contains invalid characters: a label is letters, digits, underscores"
            " and hyphens, and neither starts nor ends with a hyphen"
        )
    return label


def _ip_address(host: str) -> _IPAddress | None:
    """The address a normalised host stands for, or None for a name."""
    try:
        if host.startswith("["):
            address: _IPAddress = ipaddress.IPv6Address(host[1:-1])
        else:
            address = ipaddress.IPv4Address(host)
    except ValueError:
        return None
    # ::ffff:127.0.0.1 is 127.0.0.1 reached over IPv6: it must match the IPv4 rules.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _matches(host: str, address: _IPAddress | None, pattern: str) -> bool:
    pattern = pattern.strip().lower().removesuffix(".")
    if pattern == "loopback":
        return address is not None and address.is_loopback
    if pattern == "private":
        return address is not None and any(address in network for network in _PRIVATE_NETWORKS)
    if pattern.startswith("*."):
        # The suffix keeps its dot: "*.test" matches "shop.test", not "test" nor "mytest".
        return address is None and host.endswith(pattern[1:])
    if "/" in pattern:
        try:
            network = ipaddress.ip_network(pattern, strict=False)
        except ValueError:
            return False
        return address is not None and address in network
    return host == pattern


def is_development_host(host: str, patterns: Sequence[str]) -> bool:
    """Whether a normalised host is a development host under a product's patterns.

    A pattern is an exact host (``localhost``, ``[::1]``), a wildcard suffix (``*.test`` matches
    every name ending in ``.test`` but not ``test`` itself), ``loopback`` (127.0.0.0/8, ``[::1]``),
    ``private`` (RFC 1918, IPv6 unique local, link-local) or a CIDR network (``10.0.0.0/8``).
    A CIDR pattern that does not parse matches nothing.
    """
    address = _ip_address(host)
    return any(_matches(host, address, pattern) for pattern in patterns)


def is_development_site(raw: str, patterns: Sequence[str]) -> tuple[str, bool]:
    """A site's normalised host, and whether it is a development host under the patterns."""
    host = normalize_site(raw)
    return host, is_development_host(host, patterns)
