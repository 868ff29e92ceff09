"""Every public link the system makes, in one place: the portal's pages (for redirects, emails and
answers) and the token links of emails and update answers."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode

PORTAL = "/portal"


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
