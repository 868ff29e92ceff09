"""Sites: normalisation to a host, and the development-host rules."""

from __future__ import annotations

import pytest

from licensing.errors import InvalidInput
from licensing.models import DEFAULT_DEVELOPMENT_HOSTS
from licensing.sites import is_development_host, is_development_site, normalize_site

NORMALISATION = [
    ("example.com", "example.com"),
    ("Example.COM", "example.com"),
    ("https://example.com", "example.com"),
    ("http://example.com/", "example.com"),
    ("https://example.com/shop/cart?item=1#top", "example.com"),
    ("example.com/path", "example.com"),
    ("example.com?query", "example.com"),
    ("example.com#fragment", "example.com"),
    ("https://example.com:8443/", "example.com"),
    ("example.com:8080", "example.com"),
    ("example.com:", "example.com"),
    ("example.com.", "example.com"),
    ("https://example.com.:443/", "example.com"),
    ("www.example.com", "example.com"),
    ("https://WWW.Example.com/", "example.com"),
    ("www.www.example.com", "www.example.com"),
    ("shop.www.example.com", "shop.www.example.com"),
    ("www", "www"),
    ("wwwexample.com", "wwwexample.com"),
    ("https://user:secret@example.com/", "example.com"),
    ("https://user:p@ss@example.com/", "example.com"),
    ("ftp://files.example.com", "files.example.com"),
    ("git+ssh://git.example.com/repo", "git.example.com"),
    ("//example.com/x", "example.com"),
    ("  https://example.com/  ", "example.com"),
    ("Bücher.example", "xn--bcher-kva.example"),
    ("https://www.Bücher.example/", "xn--bcher-kva.example"),
    ("xn--bcher-kva.example", "xn--bcher-kva.example"),
    ("faß.de", "xn--fa-hia.de"),
    ("ＷＷＷ．Ｂücher．example。", "xn--bcher-kva.example"),
    ("müller.例え.jp", "xn--mller-kva.xn--r8jz45g.jp"),
    ("my_site.example.com", "my_site.example.com"),
    ("127.0.0.1", "127.0.0.1"),
    ("http://127.0.0.1:8000/wp-admin", "127.0.0.1"),
    ("192.168.1.10", "192.168.1.10"),
    ("http://[0:0:0:0:0:0:0:1]:8080/", "[::1]"),
    ("[::1]", "[::1]"),
    ("http://[2001:DB8:0:0:0:0:0:1]/", "[2001:db8::1]"),
    ("[2001:db8::1]:443", "[2001:db8::1]"),
    ("::1", "[::1]"),
    ("localhost", "localhost"),
    ("http://localhost:3000", "localhost"),
    ("LOCALHOST.", "localhost"),
    ("a" * 63 + ".com", "a" * 63 + ".com"),
]


@pytest.mark.parametrize(("raw", "host"), NORMALISATION)
def test_normalize_site(raw: str, host: str) -> None:
    assert normalize_site(raw) == host


def test_normalising_a_normalised_host_changes_nothing() -> None:
    # Only one leading "www." is dropped, so "www.www.example.com" is the one vector whose host
    # normalises further; every other stored host must compare equal to itself re-normalised.
    hosts = [host for raw, host in NORMALISATION if raw != "www.www.example.com"]
    assert len(hosts) == len(NORMALISATION) - 1
    for host in hosts:
        assert normalize_site(host) == host


def test_a_host_of_253_characters_is_accepted() -> None:
    host = ".".join(["a" * 63] * 3 + ["b" * 61])
    assert len(host) == 253
    assert normalize_site(host) == host


INVALID = [
    ("", "empty"),
    ("   ", "empty"),
    ("https://", "empty"),
    ("https:///path", "empty"),
    ("http://:8080/", "empty"),
    (".", "empty"),
    ("user@", "empty"),
    ("exa mple.com", "spaces"),
    ("https://exa\tmple.com/", "spaces"),
    ("a" * 64 + ".com", "longer than 63"),
    (".".join(["a" * 63] * 4), "longer than 253"),
    ("x" * 2049, "longer than 2048"),
    ("example..com", "empty label"),
    (".example.com", "empty label"),
    ("exa%41mple.com", "invalid characters"),
    ("exam!ple.com", "invalid characters"),
    ("-example.com", "invalid characters"),
    ("example-.com", "invalid characters"),
    ("exa\x00mple.com", "invalid characters"),
    ("☃.example", "internationalised"),
    ("xn--zz.example", "internationalised"),
    ("example.com:http", "not a valid port"),
    ("example.com:65536", "not a valid port"),
    ("1.2.3", "IPv4"),
    ("256.1.1.1", "IPv4"),
    ("010.0.0.1", "IPv4"),
    ("[::1", "closing bracket"),
    ("[::1]x", "after the IPv6"),
    ("[::1]:port", "not a valid port"),
    ("[not:an:address]", "IPv6"),
    ("[fe80::1%eth0]", "zone id"),
    ("1:2:3", "IPv6"),
]


@pytest.mark.parametrize(("raw", "message"), INVALID)
def test_normalize_site_rejects(raw: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        normalize_site(raw)


DEFAULT_RULE = [
    # Development by default: names that can never be production, and loopback.
    ("localhost", True),
    ("app.localhost", True),
    ("a.b.localhost", True),
    ("shop.test", True),
    ("deep.shop.test", True),
    ("demo.example", True),
    ("x.invalid", True),
    ("127.0.0.1", True),
    ("127.5.5.5", True),
    ("127.255.255.254", True),
    ("[::1]", True),
    ("[::ffff:7f00:1]", True),
    # Not development by default: production-capable names, intranets, private addresses.
    ("x.developer.com", False),
    ("crm.local", False),
    ("intranet", False),
    ("10.0.0.5", False),
    ("192.168.1.10", False),
    ("172.16.0.1", False),
    ("169.254.1.1", False),
    ("[fd00::1]", False),
    ("[fe80::1]", False),
    ("[2001:db8::1]", False),
    ("128.0.0.1", False),
    ("126.255.255.255", False),
    ("mytest", False),
    ("test", False),
    ("example", False),
    ("invalid", False),
    ("localhost.com", False),
    ("localhost.example.com", False),
    ("example.com", False),
    ("www.example.com", False),
    ("shop.test.com", False),
    ("testing.io", False),
    ("mylocalhost", False),
    ("loopback", False),
    ("xn--bcher-kva.com", False),
]


@pytest.mark.parametrize(("host", "development"), DEFAULT_RULE)
def test_default_development_hosts(host: str, development: bool) -> None:
    assert is_development_host(host, DEFAULT_DEVELOPMENT_HOSTS) is development


LOCAL_AND_PRIVATE = [*DEFAULT_DEVELOPMENT_HOSTS, "*.local", "private"]


@pytest.mark.parametrize(
    ("host", "development"),
    [
        ("crm.local", True),
        ("a.b.local", True),
        ("local", False),
        ("10.0.0.5", True),
        ("10.255.255.255", True),
        ("11.0.0.1", False),
        ("172.16.0.1", True),
        ("172.31.255.255", True),
        ("172.32.0.1", False),
        ("192.168.1.10", True),
        ("192.169.0.1", False),
        ("169.254.10.20", True),
        ("[fd12:3456::1]", True),
        ("[fc00::1]", True),
        ("[fe80::1]", True),
        ("[::ffff:a00:5]", True),
        ("[2001:db8::1]", False),
        ("8.8.8.8", False),
        ("127.0.0.1", True),
        ("example.com", False),
    ],
)
def test_a_product_that_adds_local_names_and_private_addresses(host: str, development: bool) -> None:
    assert is_development_host(host, LOCAL_AND_PRIVATE) is development


@pytest.mark.parametrize(
    ("host", "development"),
    [
        ("10.1.2.3", True),
        ("10.0.0.0", True),
        ("11.0.0.0", False),
        ("192.168.1.10", False),
        ("[2001:db8::42]", True),
        ("[2001:db9::1]", False),
        ("staging.acme.com", True),
        ("acme.com", False),
    ],
)
def test_a_product_with_cidr_and_exact_patterns(host: str, development: bool) -> None:
    patterns = ["10.0.0.0/8", "2001:db8::/32", "staging.acme.com"]
    assert is_development_host(host, patterns) is development


def test_patterns_tolerate_case_spaces_and_a_trailing_dot() -> None:
    assert is_development_host("shop.test", [" *.TEST. "])
    assert is_development_host("localhost", ["LocalHost."])


def test_an_unparsable_cidr_pattern_matches_nothing() -> None:
    assert not is_development_host("10.0.0.1", ["10.0.0.0/99"])


def test_no_patterns_means_no_development_hosts() -> None:
    assert not is_development_host("localhost", [])


def test_the_loopback_word_is_not_a_name_or_a_wildcard() -> None:
    assert not is_development_host("localhost", ["loopback"])
    assert not is_development_host("loopback", ["loopback"])


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://www.shop.test/cart", ("shop.test", True)),
        ("http://[0:0:0:0:0:0:0:1]:8080/", ("[::1]", True)),
        ("http://127.0.0.1:8000", ("127.0.0.1", True)),
        ("https://WWW.Customer.com/", ("customer.com", False)),
        ("http://crm.local/", ("crm.local", False)),
        ("APP.LOCALHOST:3000", ("app.localhost", True)),
    ],
)
def test_is_development_site(raw: str, expected: tuple[str, bool]) -> None:
    assert is_development_site(raw, DEFAULT_DEVELOPMENT_HOSTS) == expected


def test_is_development_site_rejects_an_invalid_site() -> None:
    with pytest.raises(InvalidInput):
        is_development_site("exa mple.com", DEFAULT_DEVELOPMENT_HOSTS)


def test_an_ascii_host_is_mapped_as_uts_46_maps_it() -> None:
    """normalize_site lowers an ASCII host itself rather than load the idna tables: the same as
    UTS 46's mapping (browsers'), for every ASCII character, or the fast path would count two
    spellings of a site as two."""
    import idna

    for code in range(128):
        host = f"shop{chr(code)}Example"
        assert host.lower() == idna.uts46_remap(host, std3_rules=False, transitional=False), repr(host)
