"""What the customer portal does, as use cases: sign-in (requests, links, sessions), the customer's
licenses, the releases they may see and download, sites, renewals, release-mail preferences and
unsubscribes.

Every lookup is scoped to the signed-in contact's accounts: another account's license or product
is NotFound, as if it did not exist.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from ..checkout import CheckoutPort, RenewalOrder, RenewalUnavailable
from ..codes import Code
from ..errors import InvalidInput, NotFound
from ..events import Event, RenewalRequested, SignInRequested
from ..lifecycle import days_left, renewal_end, validity_code
from ..markdown import notes_html
from ..models import Contact, HistoryEntry, License, LicenseStatus, PortalSession, Price, Product, Release
from ..sessions import SIGN_IN_PURPOSE
from ..tokens import TokenKey
from ..unsubscribe import read_unsubscribe_token
from ..urls import PublicUrls, portal_home
from . import downloads
from .validation import deactivate

# At most one sign-in mail per address and window, however often someone asks.
SIGNIN_WINDOW_SECONDS = 120


class PortalStore(downloads.DownloadStore, Protocol):
    def get_contact(self, email: str) -> Contact | None: ...
    def get_license(self, license_id: str) -> License | None: ...
    def get_product(self, slug: str) -> Product | None: ...
    def require_product(self, slug: str) -> Product: ...
    def licenses_of_account(self, account_id: str) -> list[License]: ...
    def list_releases(self, product: str) -> list[Release]: ...
    def license_history(self, license_id: str) -> list[HistoryEntry]: ...
    def claim(self, key: str, *, ttl_days: int | None, detail: dict[str, Any] | None = None) -> bool: ...
    def release_claim(self, key: str) -> None: ...
    def set_release_mails(self, email: str, product: str, *, enabled: bool) -> bool: ...


class SessionStore(Protocol):
    def exchange_token(self, token: str, *, purpose: str) -> str | None: ...
    def get_session(self, token: str) -> PortalSession | None: ...
    def end_session(self, token: str) -> None: ...
    def get_contact(self, email: str) -> Contact | None: ...


class Publisher(Protocol):
    def publish(self, events: list[Event]) -> None: ...


def request_sign_in(
    store: PortalStore, publisher: Publisher, email: str, *, now: datetime, next_path: str | None = None
) -> bool:
    """Hand a sign-in request on to the notifier, at most once per address and window; False when
    one was handed on within the window (its link is still valid).

    The same work whether or not the address is a customer's (one claim, one event): the notifier
    decides whether the contact exists, so neither the answer nor its time tells who is a customer.
    """
    window = int(now.timestamp() // SIGNIN_WINDOW_SECONDS)
    claim = f"signin-request:{email}:{window}"
    if not store.claim(claim, ttl_days=1):
        return False
    try:
        publisher.publish(
            [
                SignInRequested(
                    email=email, next=next_path, dedupe_key=f"SignInRequested:{secrets.token_hex(8)}"
                )
            ]
        )
    except Exception:
        store.release_claim(claim)  # nothing was handed on: the customer's retry must not be told it was
        raise
    return True


def sign_in(store: SessionStore, link_token: str) -> str | None:
    """Use up a sign-in link: the token of a new portal session for its address, or None when the
    link is unknown, used already or expired."""
    return store.exchange_token(link_token, purpose=SIGN_IN_PURPOSE) if link_token else None


@dataclass(frozen=True)
class SignedIn:
    """A live portal session and the customer it belongs to."""

    session: PortalSession
    contact: Contact


def signed_in(store: SessionStore, session_token: str | None) -> SignedIn | None:
    """The customer of a live session (the session policy of ``licensing.sessions``); None without
    one, or when its contact belongs to no account any more (staff removed it)."""
    session = store.get_session(session_token) if session_token else None
    contact = store.get_contact(session.email) if session else None
    if session is None or contact is None or not contact.account_ids:
        return None
    return SignedIn(session, contact)


def live_session(store: SessionStore, session_token: str | None) -> PortalSession | None:
    """The live session of this token, whoever it belongs to now (signing out needs only that)."""
    return store.get_session(session_token) if session_token else None


def sign_out(store: SessionStore, session_token: str) -> None:
    """End a portal session (its cookie is cleared by the web side)."""
    store.end_session(session_token)


def safe_next(raw: str | None) -> str | None:
    """Where to go after signing in: a path under /portal/ of this site only (never an open
    redirect: no scheme or host, no `//` or backslash, no dot segments, encoded or not)."""
    if not raw or len(raw) > 512 or any(ord(char) < 33 for char in raw):
        return None
    decoded = unquote(raw)
    if "\\" in decoded or "//" in decoded:
        return None
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc or not parts.path.startswith(portal_home()):
        return None
    if any(segment in (".", "..") for segment in unquote(parts.path).split("/")):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def licenses_of(store: PortalStore, contact: Contact) -> list[License]:
    return [
        license for account_id in contact.account_ids for license in store.licenses_of_account(account_id)
    ]


def own_license(store: PortalStore, contact: Contact, license_id: str) -> License:
    license = store.get_license(license_id)
    if license is None or license.account_id not in contact.account_ids:
        raise NotFound("No such license.")
    return license


def product_names(store: PortalStore, licenses: list[License]) -> dict[str, str]:
    """Each product's name by slug, for pages that list licenses (pages show names, never slugs)."""
    names: dict[str, str] = {}
    for slug in {license.product for license in licenses}:
        product = store.get_product(slug)
        names[slug] = product.name if product else slug
    return names


def renewed_from(raw: str | None) -> date | None:
    """The end date a renewal started from (the checkout's return link), if it is a date."""
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


@dataclass(frozen=True)
class LicenseRow:
    license: License
    code: Code
    days_left: int


def license_rows(store: PortalStore, contact: Contact, today: date) -> list[LicenseRow]:
    """The customer's licenses, each with its validity and days left today."""
    return [
        LicenseRow(license, validity_code(license, today), days_left(license, today))
        for license in licenses_of(store, contact)
    ]


@dataclass(frozen=True)
class LicenseDetail(LicenseRow):
    history: list[HistoryEntry]


def license_detail(store: PortalStore, contact: Contact, license_id: str, today: date) -> LicenseDetail:
    """One of the customer's licenses, with what the customer may see of its history, newest first."""
    license = own_license(store, contact, license_id)
    history = [entry for entry in reversed(store.license_history(license.id)) if entry.customer_visible]
    return LicenseDetail(license, validity_code(license, today), days_left(license, today), history)


@dataclass(frozen=True)
class ReleaseRow:
    release: Release
    downloadable: bool
    notes_html: str


def product_releases(
    store: PortalStore, contact: Contact, slug: str, today: date
) -> tuple[Product, list[ReleaseRow]]:
    """The product and its releases newest first, each with whether one of the customer's licenses
    may download it; NotFound for a product none of the customer's licenses is for."""
    licenses = [license for license in licenses_of(store, contact) if license.product == slug]
    product = store.get_product(slug)
    if not licenses or product is None:
        raise NotFound("No such product.")
    rows = [
        ReleaseRow(
            release,
            downloads.entitling_license(licenses, release, today) is not None,
            notes_html(release.notes_markdown),
        )
        for release in store.list_releases(slug)
    ]
    return product, rows


def download_release(
    store: PortalStore, files: downloads.ReleaseFiles, contact: Contact, slug: str, version: str, today: date
) -> str:
    """A presigned URL of a release the customer may download, recorded on the license that
    entitles to it; NotFound for anything else."""
    licenses = [license for license in licenses_of(store, contact) if license.product == slug]
    release = next((r for r in store.list_releases(slug) if r.version == version), None) if licenses else None
    if release is None or downloads.entitling_license(licenses, release, today) is None:
        raise NotFound("No such release.")
    return downloads.download(
        store, files, licenses=licenses, release=release, today=today, actor=f"customer:{contact.email}"
    )


def activated_site(store: PortalStore, contact: Contact, license_id: str, site: str) -> License:
    """The customer's license, if `site` is one of its activated sites (before removing it)."""
    license = own_license(store, contact, license_id)
    if site not in license.sites:
        raise NotFound("This site is not activated.")
    return license


def deactivate_site(store: Any, contact: Contact, license_id: str, site: str) -> License:
    """Free one of the license's sites (e.g. a site that moved)."""
    license = own_license(store, contact, license_id)
    answer = deactivate(store, key=license.key, site=site, actor=f"customer:{contact.email}")
    if answer.code is Code.NOT_FOUND:
        raise NotFound("This site is not activated.")
    return license


@dataclass(frozen=True)
class RenewalOffer:
    license: License
    product: Product
    new_end: date

    @property
    def price(self) -> Price | None:
        return self.product.renewal_price

    @property
    def online(self) -> bool:
        """Whether the renewal can be paid online (a renewal price or a Stripe price)."""
        return self.product.renewal_price is not None or bool(self.product.stripe_price_ids)


def renewal_offer(store: PortalStore, contact: Contact, license_id: str, today: date) -> RenewalOffer:
    """The product and the end date a renewal paid today would give."""
    license = own_license(store, contact, license_id)
    product = store.require_product(license.product)
    return RenewalOffer(license, product, renewal_end(license.ends_on, today, product.term_months))


def start_renewal(
    store: PortalStore, checkout: CheckoutPort, contact: Contact, license_id: str, today: date, base_url: str
) -> str:
    """The checkout page that pays the renewal; its paid webhook extends the license. The checkout
    returns to the license page, which thanks the customer once the end date has moved."""
    offer = renewal_offer(store, contact, license_id, today)
    return_url = (
        f"{PublicUrls(base_url).license_page(license_id)}?renewed_from={offer.license.ends_on.isoformat()}"
    )
    if offer.license.status is LicenseStatus.REVOKED:
        raise InvalidInput("A revoked license cannot be renewed.")
    if not offer.online:
        raise RenewalUnavailable("This product has no online renewal price: contact us to renew.")
    price = offer.price
    return checkout.renewal_url(
        RenewalOrder(
            license_id=offer.license.id,
            product=offer.product.slug,
            product_name=offer.product.name,
            email=contact.email,
            price_id=None if price else offer.product.stripe_price_ids[0],
            amount=price.amount if price else None,
            currency=price.currency if price else None,
            return_url=return_url,
        )
    )


def request_renewal(
    store: PortalStore, publisher: Publisher, contact: Contact, license_id: str, *, today: date
) -> RenewalOffer:
    """Ask the vendor's staff to renew a license that cannot be paid online (a custom deal): they
    are mailed once per license and day, however often the customer asks."""
    offer = renewal_offer(store, contact, license_id, today)
    if offer.license.status is LicenseStatus.REVOKED:
        raise InvalidInput("A revoked license cannot be renewed.")
    license = offer.license
    publisher.publish(
        [
            RenewalRequested(
                license_id=license.id,
                account_id=license.account_id,
                product=license.product,
                requested_by=contact.email,
                dedupe_key=f"RenewalRequested:{license.id}:{today.isoformat()}",
            )
        ]
    )
    return offer


def licensed_products(store: PortalStore, contact: Contact) -> list[str]:
    return sorted({license.product for license in licenses_of(store, contact)})


def release_mail_choices(store: PortalStore, contact: Contact) -> list[dict[str, Any]]:
    """Release mails on or off per licensed product (on by default)."""
    slugs = licensed_products(store, contact)
    names = product_names(store, licenses_of(store, contact))
    return [
        {"slug": slug, "name": names[slug], "on": slug not in contact.release_mail_opt_out} for slug in slugs
    ]


def save_release_mail_choices(store: PortalStore, contact: Contact, wanted: set[str]) -> list[dict[str, Any]]:
    products = licensed_products(store, contact)
    names = product_names(store, licenses_of(store, contact))
    for slug in products:
        store.set_release_mails(contact.email, slug, enabled=slug in wanted)
    return [{"slug": slug, "name": names[slug], "on": slug in wanted} for slug in products]


@dataclass(frozen=True)
class Subscription:
    email: str
    product: str
    product_name: str


def subscription(store: PortalStore, token_key: TokenKey, token: str) -> Subscription:
    """Whom and which product an unsubscribe link is for; InvalidInput for a forged one."""
    email, product = read_unsubscribe_token(token_key, token)
    found = store.get_product(product)
    return Subscription(email, product, found.name if found else product)


def unsubscribe(store: PortalStore, token_key: TokenKey, token: str) -> Subscription:
    """Stop one product's release mails to one contact, without signing in."""
    found = subscription(store, token_key, token)
    store.set_release_mails(found.email, found.product, enabled=False)
    return found
