"""Data-protection requests about an account's contacts: export everything held about them, or
erase it. Erasure replaces personal data (contacts, their names, a person's name, emails in the
history) and keeps licenses and payments for bookkeeping; the contacts' sign-in tokens and portal
sessions go, so nobody signs in as them and nobody is mailed any more."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from ..errors import InvalidInput
from ..models import Account, Contact, HeldPortalSession, HeldSignInLink, HistoryEntry, License
from .updating import LicenseStore, update_license

ERASED = "erased"


class PrivacyStore(LicenseStore, Protocol):
    """What export and erasure read and change (``adapters.dynamo.DynamoStore``)."""

    def contact_emails(self, account_id: str) -> list[str]: ...

    def get_contact(self, email: str) -> Contact | None: ...

    def licenses_of_account(self, account_id: str) -> list[License]: ...

    def license_history(self, license_id: str) -> list[HistoryEntry]: ...

    def sign_in_links(self, email: str) -> list[HeldSignInLink]: ...

    def portal_sessions(self, email: str) -> list[HeldPortalSession]: ...

    def forget_email(self, email: str) -> int: ...

    def rewrite_history(self, license_id: str, change: Callable[[HistoryEntry], HistoryEntry]) -> int: ...

    def replace_account(self, account: Account) -> None: ...


def export_account(store: PrivacyStore, account: Account) -> dict[str, Any]:
    """Everything held about the account and its contacts, as JSON-ready data."""
    contacts = []
    for email in store.contact_emails(account.id):
        contact = store.get_contact(email)
        contacts.append(
            {
                "contact": contact.model_dump(mode="json") if contact else {},
                "sign_in_links": [link.model_dump(mode="json") for link in store.sign_in_links(email)],
                "portal_sessions": [held.model_dump(mode="json") for held in store.portal_sessions(email)],
            }
        )
    licenses = [
        license.model_dump(mode="json")
        | {"history": [entry.model_dump(mode="json") for entry in store.license_history(license.id)]}
        for license in store.licenses_of_account(account.id)
    ]
    return {"account": account.model_dump(mode="json"), "contacts": contacts, "licenses": licenses}


def _scrub(value: Any, personal: list[str]) -> Any:
    """`value` with every personal string replaced (case-insensitively), however deeply nested."""
    if isinstance(value, str):
        lowered = value.lower()
        if any(text.lower() in lowered for text in personal):
            for text in personal:
                start = lowered.find(text.lower())
                while start >= 0:
                    value = value[:start] + ERASED + value[start + len(text) :]
                    lowered = value.lower()
                    start = lowered.find(text.lower())
        return value
    if isinstance(value, dict):
        return {key: _scrub(inner, personal) for key, inner in value.items()}
    if isinstance(value, list):
        return [_scrub(inner, personal) for inner in value]
    return value


def erase_account(store: PrivacyStore, account: Account, *, actor: str) -> dict[str, int]:
    """Erase the personal data of the account's contacts (and the account's name and address when
    it is a person). Returns counts of what was deleted and rewritten."""
    emails = store.contact_emails(account.id)
    names = [c.name for c in (store.get_contact(email) for email in emails) if c and c.name.strip()]
    personal = sorted({*emails, *names}, key=len, reverse=True)
    if account.kind == "person" and account.name.strip():
        personal.append(account.name)
    if not personal:
        raise InvalidInput(f"nothing personal is held about {account.name}: it has no contacts")
    deleted = sum(store.forget_email(email) for email in emails)
    licenses = store.licenses_of_account(account.id)
    for license in licenses:
        update_license(store, license.id, lambda lic: _erased_license(lic, personal, actor))
    rewritten = sum(
        store.rewrite_history(license.id, lambda entry: _scrubbed(entry, personal)) for license in licenses
    )
    erased = _erased_account(account, personal)
    if erased != account:
        store.replace_account(erased)
        rewritten += 1
    return {
        "contacts": len(emails),
        "items_deleted": deleted,
        "items_rewritten": rewritten,
        "licenses": len(licenses),
    }


def _scrubbed(entry: HistoryEntry, personal: list[str]) -> HistoryEntry:
    return HistoryEntry.model_validate(_scrub(entry.model_dump(mode="json"), personal))


def _erased_account(account: Account, personal: list[str]) -> Account:
    """The account without personal strings; a person's account loses its name and address too."""
    erased = Account.model_validate(_scrub(account.model_dump(mode="json"), personal))
    if account.kind == "person":
        erased = erased.model_copy(
            update={"name": f"Erased account {account.id}", "billing_address": {}, "tax_ids": []}
        )
    return erased


def _erased_license(license: License, personal: list[str], actor: str) -> tuple[License, list[HistoryEntry]]:
    data = _scrub(license.model_dump(mode="json"), personal)
    changed = License.model_validate(data | {"revision": license.revision})
    entry = HistoryEntry(
        license_id=license.id, actor=actor, action="personal data erased", customer_visible=False
    )
    return changed, [entry]
