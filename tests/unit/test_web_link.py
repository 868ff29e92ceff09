"""An invoice link staff give is one customers can follow safely from a mail or the portal."""

from __future__ import annotations

import pytest

from licensing.errors import InvalidInput
from licensing.urls import web_link


@pytest.mark.parametrize(
    "link",
    [
        "https://billing.vendor.example/inv/2026-014",
        "http://erp.local:8080/invoice?id=7",
        "HTTPS://Pay.Example.com/x",
    ],
)
def test_an_http_or_https_url_with_a_host_is_kept_as_given(link: str) -> None:
    assert web_link(f"  {link} ") == link


@pytest.mark.parametrize("empty", [None, "", "   "])
def test_no_link_is_none(empty: str | None) -> None:
    assert web_link(empty) is None


@pytest.mark.parametrize(
    "link",
    [
        "javascript:alert(document.cookie)",
        "data:text/html,<script>alert(1)</script>",
        "INV-2026-014",
        "https://",
        "//evil.example/inv",
        "ftp://files.example/inv.pdf",
        "https://billing.example/inv 7",
        "https://billing.example/inv\r\nSet-Cookie: x=1",
        "http://[::1/inv",
    ],
)
def test_anything_else_is_refused_with_what_is_expected(link: str) -> None:
    with pytest.raises(InvalidInput, match=r"the invoice link is an http\(s\) URL"):
        web_link(link)
