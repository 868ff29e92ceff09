"""The DynamoDB store: one table (``licensing.tables``), items keyed by what reads them (every key
is built in ``keys``). One repository per aggregate, composed into ``DynamoStore``:

- ``catalogue``  products, Stripe prices, releases
- ``accounts``   accounts, contacts, Stripe customers
- ``licenses``   licenses, their history, sites and Stripe references
- ``claims``     once-only markers and notes
- ``sessions``   sign-in tokens and portal sessions
- ``mailing``    pages of the release audience, the shared send schedule, announcement counters
- ``privacy``    what a data-protection export reads and an erasure deletes or rewrites
"""

from __future__ import annotations

from .accounts import AccountRepository
from .catalogue import CatalogueRepository
from .claims import ClaimRepository
from .licenses import LicenseRepository, license_item
from .mailing import MailingRepository
from .privacy import PrivacyRepository
from .sessions import SessionRepository, hash_token

__all__ = ["DynamoStore", "hash_token", "license_item"]


class DynamoStore(
    CatalogueRepository,
    AccountRepository,
    LicenseRepository,
    ClaimRepository,
    SessionRepository,
    MailingRepository,
    PrivacyRepository,
):
    """Reads and writes every aggregate of the license manager in the one table."""
