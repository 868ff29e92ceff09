"""Every key of the table, built in one place: item keys (pk / sk) and index keys.

- ``PRODUCT#<slug>`` / ``PRODUCT``            the product; gsi1 ``PRODUCTS`` lists the catalogue
- ``PRODUCT#<slug>`` / ``RELEASE#<sortkey>``  its releases, newest first by a version sort key
- ``PRICE#<price id>`` / ``PRICE``            Stripe price -> product
- ``ACCOUNT#<id>`` / ``ACCOUNT``              the account; gsi1 ``ACCOUNTS`` lists accounts by name
- ``ACCOUNT#<id>`` / ``CONTACT#<email>``      membership of a contact
- ``CONTACT#<email>`` / ``CONTACT``           the contact, with the accounts it belongs to; gsi2
  ``SUPPRESSED`` by ``<since>#<email>`` while its mail is suppressed
- ``CUSTOMER#<stripe customer>`` / ``CUSTOMER``  Stripe customer -> account
- ``LICENSE#<id>`` / ``LICENSE``              the license (id derived from the key: validation is one
  GetItem); gsi1 ``ACCOUNT#<id>`` lists an account's licenses; gsi2 ``PRODUCT#<slug>`` a product's
  by ``<status>#<ends_on>#<id>``; sparse ``active``, ``ends``, ``lapse``
- ``LICENSE#<id>`` / ``HISTORY#<at>#<n>``     its history; an entry that issued or renewed the license
  also has gsi2 ``ACTIVITY#<kind>#<yyyy-mm>`` by ``<at>#<license id>`` (the console's overview)
- ``REF#<stripe id>`` / ``REF``               Stripe session, payment, subscription, invoice -> licenses
- ``CLAIM#<key>`` / ``CLAIM``                 once-only markers (with TTL), e.g. mails sent
- ``TOKEN#<sha256>`` / ``TOKEN``              sign-in tokens, stored hashed, with TTL
- ``SESSION#<sha256>`` / ``SESSION``          portal sessions, stored hashed, with TTL
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import NamedTuple

from ...versions import version_sort_key

PRODUCTS = "PRODUCTS"  # gsi1: the catalogue
ACCOUNTS = "ACCOUNTS"  # gsi1: the accounts, by name
RELEASES = "RELEASE#"  # sort key prefix of a product's releases
MEMBERS = "CONTACT#"  # sort key prefix of an account's contacts
HISTORY = "HISTORY#"  # sort key prefix of a license's history
LICENSES = "LICENSE#"  # gsi1 sort key prefix of an account's licenses
SUPPRESSED = "SUPPRESSED"  # gsi2: contacts whose mail is suppressed
# History actions that the overview lists, by kind: a license made (sold, by staff, or imported from
# the earlier system) is "issued"; a renewal (Stripe or recorded by staff) is "renewed".
ACTIVITY_KINDS = {"issued": "issued", "imported": "issued", "renewed": "renewed"}


class Key(NamedTuple):
    pk: str
    sk: str

    def as_item(self) -> dict[str, str]:
        return {"pk": self.pk, "sk": self.sk}


def product(slug: str) -> Key:
    return Key(f"PRODUCT#{slug}", "PRODUCT")


def release(product_slug: str, version: str) -> Key:
    return Key(product(product_slug).pk, f"{RELEASES}{version_sort_key(version)}")


def price(price_id: str) -> Key:
    return Key(f"PRICE#{price_id}", "PRICE")


def account(account_id: str) -> Key:
    return Key(f"ACCOUNT#{account_id}", "ACCOUNT")


def account_by_name(name: str, account_id: str) -> str:
    """The gsi1 sort key that lists accounts by name."""
    return f"{name.casefold()}#{account_id}"


def membership(account_id: str, email: str) -> Key:
    return Key(account(account_id).pk, f"{MEMBERS}{email}")


def contact(email: str) -> Key:
    return Key(f"CONTACT#{email}", "CONTACT")


def customer(stripe_customer_id: str) -> Key:
    return Key(f"CUSTOMER#{stripe_customer_id}", "CUSTOMER")


def license(license_id: str) -> Key:
    return Key(f"LICENSE#{license_id}", "LICENSE")


def history(license_id: str, at: datetime, suffix: str) -> Key:
    return Key(license(license_id).pk, f"{HISTORY}{at.isoformat()}#{suffix}")


def account_licenses(account_id: str) -> str:
    """The gsi1 partition of an account's licenses."""
    return account(account_id).pk


def account_license(created_at: datetime, license_id: str) -> str:
    """The gsi1 sort key of a license among its account's, oldest first."""
    return f"{LICENSES}{created_at.isoformat()}#{license_id}"


def product_licenses(product_slug: str) -> str:
    """The gsi2 partition of a product's licenses."""
    return product(product_slug).pk


def product_license(status: str, ends_on: date, license_id: str) -> str:
    """The gsi2 sort key of a license among its product's: by status, then end date."""
    return f"{product_status(status)}{ends_on.isoformat()}#{license_id}"


def product_status(status: str) -> str:
    """The gsi2 sort key prefix of a product's licenses with this status."""
    return f"{status}#"


def suppressed(since: datetime, email: str) -> str:
    """The gsi2 sort key of a suppressed contact (partition ``SUPPRESSED``), oldest first."""
    return f"{since.isoformat()}#{email}"


def activity(kind: str, month: date) -> str:
    """The gsi2 partition of the history entries of one kind in one month (UTC)."""
    return f"ACTIVITY#{kind}#{month.strftime('%Y-%m')}"


def activity_entry(at: datetime, license_id: str) -> str:
    """The gsi2 sort key of an activity entry: by time (UTC ISO, so the order is the strings')."""
    return f"{_utc(at).isoformat()}#{license_id}"


def activity_since(day: date) -> str:
    """The lowest activity sort key of `day` and later (any timestamp of that day sorts after it)."""
    return day.isoformat()


def _utc(at: datetime) -> datetime:
    return at.astimezone(UTC) if at.tzinfo is not None else at.replace(tzinfo=UTC)


def active(product_slug: str) -> str:
    """The `active` index partition: licenses of a product that receive release mails."""
    return f"ACTIVE#{product_slug}"


def ends(day: date) -> str:
    """The `ends` index partition: licenses whose term ends on `day`."""
    return f"ENDS#{day.isoformat()}"


def lapse(day: date) -> str:
    """The `lapse` index partition: licenses whose grace ended the day before `day`."""
    return f"LAPSE#{day.isoformat()}"


def ref(stripe_id: str) -> Key:
    return Key(f"REF#{stripe_id}", "REF")


def claim(name: str) -> Key:
    return Key(f"CLAIM#{name}", "CLAIM")


def token(token_hash: str) -> Key:
    return Key(f"TOKEN#{token_hash}", "TOKEN")


def session(token_hash: str) -> Key:
    return Key(f"SESSION#{token_hash}", "SESSION")


def pacer(name: str) -> Key:
    """The shared send schedule of one mail channel (``ses``): the next free send slot."""
    return Key(f"PACER#{name}", "PACER")


def release_tally(product_slug: str, version: str) -> Key:
    """A release announcement's progress counters, next to the release."""
    return Key(product(product_slug).pk, f"TALLY#{version}")
