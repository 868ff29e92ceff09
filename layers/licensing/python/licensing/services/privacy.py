"""Data-protection requests about an account's contacts: export everything held about them, or
erase it. Erasure replaces personal data (contacts, their names, a person's name, emails in the
history) and keeps licenses and payments for bookkeeping; the contacts' sign-in tokens and portal
sessions go, so nobody signs in as them and nobody is mailed any more."""

from __future__ import annotations

from typing import Any

from ..errors import InvalidInput
from ..models import Account, HistoryEntry, License
from .updating import update_license

ERASED = "erased"


def _contact_view(contact: Any) -> dict[str, Any]:
    return contact.model_dump(mode="json") if contact else {}


def export_account(store: Any, queries: Any, account: Account) -> dict[str, Any]:
    """Everything held about the account and its contacts, as JSON-ready data."""
    contacts = []
    for email in store.contact_emails(account.id):
        items = queries.items_with_email(email)
        contacts.append(
            {
                "contact": _contact_view(store.get_contact(email)),
                "sign_in_links": [
                    {"purpose": item.get("purpose"), "expires_at": item.get("expires_at")}
                    for item in (
                        queries.get(i["pk"], i["sk"]) for i in items if i.get("item_type") == "token"
                    )
                    if item
                ],
                "portal_sessions": [
                    {"created_at": item.get("created_at"), "last_seen_at": item.get("last_seen_at")}
                    for item in (
                        queries.get(i["pk"], i["sk"]) for i in items if i.get("item_type") == "session"
                    )
                    if item
                ],
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


def erase_account(store: Any, queries: Any, account: Account, *, actor: str) -> dict[str, int]:
    """Erase the personal data of the account's contacts (and the account's name and address when
    it is a person). Returns counts of what was deleted and rewritten."""
    emails = store.contact_emails(account.id)
    names = [c.name for c in (store.get_contact(email) for email in emails) if c and c.name.strip()]
    personal = sorted({*emails, *names}, key=len, reverse=True)
    if account.kind == "person" and account.name.strip():
        personal.append(account.name)
    if not personal:
        raise InvalidInput(f"nothing personal is held about {account.name}: it has no contacts")
    deleted = 0
    for email in emails:
        for item in queries.items_with_email(email):
            queries.delete(item["pk"], item["sk"])
            deleted += 1
    licenses = store.licenses_of_account(account.id)
    for license in licenses:
        update_license(store, license.id, lambda lic: _erased_license(lic, personal, actor))
    rewritten = 0
    for license in licenses:
        for item in queries.partition(f"LICENSE#{license.id}"):
            if item.get("item_type") == "history" and _scrub(item, personal) != item:
                queries.put(_scrub(item, personal))
                rewritten += 1
    account_item = queries.get(f"ACCOUNT#{account.id}", "ACCOUNT")
    if account_item is not None:
        scrubbed = _scrub(account_item, personal)
        if account.kind == "person":
            scrubbed |= {
                "name": f"Erased account {account.id}",
                "gsi1sk": f"erased account {account.id}#{account.id}",
                "billing_address": {},
                "tax_ids": [],
            }
        if scrubbed != account_item:
            queries.put(scrubbed)
            rewritten += 1
    for item in queries.partition(f"ACCOUNT#{account.id}"):
        if item.get("sk") != "ACCOUNT" and _scrub(item, personal) != item:
            queries.delete(item["pk"], item["sk"])
            deleted += 1
    return {
        "contacts": len(emails),
        "items_deleted": deleted,
        "items_rewritten": rewritten,
        "licenses": len(licenses),
    }


def _erased_license(license: License, personal: list[str], actor: str) -> tuple[License, list[HistoryEntry]]:
    data = _scrub(license.model_dump(mode="json"), personal)
    changed = License.model_validate(data | {"revision": license.revision})
    entry = HistoryEntry(
        license_id=license.id, actor=actor, action="personal data erased", customer_visible=False
    )
    return changed, [entry]
