"""Every public link the system makes, in one place: the portal's pages (for redirects, emails and
answers) and the token links of emails and update answers."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode, urlsplit

from .errors import InvalidInput

PORTAL = "/portal"


def web_link(value: str | None, what: str = "the invoice link") -> str | None:
    """A link staff give (an invoice's, a receipt's) as customers will follow it from a mail or the
    portal: an http(s) URL with a host and nothing that is not a URL (no `javascript:`, no spaces,
    no line breaks), or None for none; anything else is refused."""
    link = (value or "").strip()
    if not link:
        return None
    try:
        parts = urlsplit(link)
        web = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. an unclosed [IPv6] host
        web = False
    if not web or any(char.isspace() or ord(char) < 32 for char in link):
        raise InvalidInput(f"{what} is an http(s) URL such as https://billing.example.com/invoices/42")
    return link


def portal_home() -> str:
    return f"{PORTAL}/"


def login(next_path: str | None = None) -> str:
    return f"{PORTAL}/login" + (f"?{urlencode({'next': next_path})}" if next_path else "")


def license_page(license_id: str) -> str:
    return f"{PORTAL}/licenses/{quote(license_id)}"


def renew_page(license_id: str) -> str:
    return f"{license_page(license_id)}/renew"


def product_page(product: str) -> str:
    return f"{PORTAL}/products/{quote(product)}"


def auth(token: str, next_path: str | None = None) -> str:
    return f"{PORTAL}/auth?{urlencode({'token': token} | ({'next': next_path} if next_path else {}))}"


def unsubscribe(token: str) -> str:
    return f"/unsubscribe?{urlencode({'token': token})}"


def download(token: str) -> str:
    return f"/v1/download?{urlencode({'token': token})}"


@dataclass(frozen=True)
class PublicUrls:
    """The same links, absolute under the deployment's public base URL (emails, API answers)."""

    base: str

    def _absolute(self, path: str) -> str:
        return f"{self.base.rstrip('/')}{path}"

    def portal_home(self) -> str:
        return self._absolute(portal_home())

    def license_page(self, license_id: str) -> str:
        return self._absolute(license_page(license_id))

    def renew_page(self, license_id: str) -> str:
        return self._absolute(renew_page(license_id))

    def product_page(self, product: str) -> str:
        return self._absolute(product_page(product))

    def auth(self, token: str, next_path: str | None = None) -> str:
        return self._absolute(auth(token, next_path))

    def unsubscribe(self, token: str) -> str:
        return self._absolute(unsubscribe(token))

    def download(self, token: str) -> str:
        return self._absolute(download(token))
