"""Finding what staff name: an account by name, id or a contact's email; a license by key or id;
a product by slug. Shared by the staff CLI and a future staff console; every miss is a NotFound
with a sentence staff can act on."""

from __future__ import annotations

from typing import Protocol

from ..errors import InvalidInput, NotFound
from ..keys import license_id_for_key, lookup_key
from ..models import Account, Contact, License, Product


class LookupStore(Protocol):
    def get_account(self, account_id: str) -> Account | None: ...
    def list_accounts(self) -> list[Account]: ...
    def get_contact(self, email: str) -> Contact | None: ...
    def get_license(self, license_id: str) -> License | None: ...
    def get_product(self, slug: str) -> Product | None: ...


def find_account(store: LookupStore, reference: str) -> Account:
    """An account by id (`acc_...`), by a contact's email, or by its exact name (any case)."""
    reference = reference.strip()
    if reference.startswith("acc_"):
        account = store.get_account(reference)
        if account is None:
            raise NotFound(f"no account {reference}")
        return account
    if "@" in reference:
        contact = store.get_contact(reference)
        accounts = [a for a in (store.get_account(i) for i in (contact.account_ids if contact else [])) if a]
        if not accounts:
            raise NotFound(f"no account has the contact {reference.lower()}")
        if len(accounts) > 1:
            ids = ", ".join(account.id for account in accounts)
            raise InvalidInput(f"{reference.lower()} is a contact of {len(accounts)} accounts ({ids})")
        return accounts[0]
    matches = [a for a in store.list_accounts() if a.name.casefold() == reference.casefold()]
    if not matches:
        raise NotFound(f"no account named {reference!r}")
    if len(matches) > 1:
        raise InvalidInput(f"{len(matches)} accounts are named {reference!r}: name one by id")
    return matches[0]


def find_license(store: LookupStore, reference: str) -> License:
    """A license by id (`lic_...`) or by key (any case, spaces and dashes)."""
    reference = reference.strip()
    if reference.startswith("lic_"):
        license_id: str | None = reference
    else:
        try:
            key = lookup_key(reference)
        except InvalidInput:
            key = None
        license_id = license_id_for_key(key) if key else None
    license = store.get_license(license_id) if license_id else None
    if license is None:
        raise NotFound(f"no license {reference}")
    return license


def find_product(store: LookupStore, slug: str) -> Product:
    product = store.get_product(slug.strip())
    if product is None:
        raise NotFound(f"no product {slug!r}")
    return product
