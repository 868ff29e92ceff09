"""`licensing accounts`: customers (organisations and people) and their contacts."""

from __future__ import annotations

import click

from ..services.lookup import find_account
from .context import CliContext, StaffGroup, emit, pass_obj

ACCOUNT_COLUMNS = ["id", "name", "kind", "contacts"]


@click.group(cls=StaffGroup)
def accounts() -> None:
    """Customers: organisations and people, with their contacts."""


@accounts.command("list")
@pass_obj
def accounts_list(obj: CliContext) -> None:
    """Every account, by name."""
    store = obj.store()
    rows = [
        account.model_dump(mode="json") | {"contacts": store.contact_emails(account.id)}
        for account in store.list_accounts()
    ]
    emit(obj, rows, ACCOUNT_COLUMNS)


@accounts.command("create")
@click.option("--name", required=True, help="The organisation's or person's name.")
@click.option("--email", "emails", multiple=True, help="A contact's email (repeatable).")
@click.option("--person", is_flag=True, help="A person rather than an organisation.")
@pass_obj
def accounts_create(obj: CliContext, name: str, emails: tuple[str, ...], person: bool) -> None:
    """A new account, with its contacts."""
    from ..ids import new_id
    from ..models import Account, Contact

    account = Account(id=new_id("acc"), name=name, kind="person" if person else "organisation")
    contacts = [Contact(email=email).email for email in emails]
    obj.confirm(f"Create the account {name!r} with {len(contacts)} contact(s)?")
    store = obj.store()
    store.create_account(account)
    for email in contacts:
        store.add_contact(account.id, email)
    emit(obj, [account.model_dump(mode="json") | {"contacts": contacts}], ACCOUNT_COLUMNS, single=True)


@accounts.command("show")
@click.argument("account_ref", metavar="NAME_ID_OR_EMAIL")
@pass_obj
def accounts_show(obj: CliContext, account_ref: str) -> None:
    """An account (by name, id or any contact's email), its contacts and its licenses."""
    store = obj.store()
    account = find_account(store, account_ref)
    contacts = [store.get_contact(email) for email in store.contact_emails(account.id)]
    row = account.model_dump(mode="json") | {
        "contacts": [
            (f"{contact.name} <{contact.email}>" if contact.name else contact.email)
            + (
                f" [suppressed since {contact.suppressed.at:%Y-%m-%d}: {contact.suppressed.reason}]"
                if contact.suppressed
                else ""
            )
            for contact in contacts
            if contact is not None
        ],
        "licenses": [
            f"{lic.display_key} {lic.name} ({lic.status.value}, ends {lic.ends_on})"
            for lic in store.licenses_of_account(account.id)
        ],
    }
    emit(obj, [row], ["id", "name", "kind", "stripe_customer_id", "contacts", "licenses"], single=True)


@accounts.group("contacts")
def accounts_contacts() -> None:
    """The people of an account: who gets its mails and signs in to its portal."""


@accounts_contacts.command("add")
@click.argument("account_ref", metavar="NAME_ID_OR_EMAIL")
@click.argument("email")
@click.option("--name", default="", help="The contact's name (mails greet them by it).")
@pass_obj
def accounts_contacts_add(obj: CliContext, account_ref: str, email: str, name: str) -> None:
    """Add a contact to an account."""
    from ..models import Contact

    store = obj.store()
    account = find_account(store, account_ref)
    email = Contact(email=email).email
    obj.confirm(f"Add {email} to {account.name}?")
    contact = store.add_contact(account.id, email, name)
    emit(
        obj,
        [{"account_id": account.id, "email": contact.email, "name": contact.name}],
        ["account_id", "email", "name"],
        single=True,
    )


@accounts_contacts.command("remove")
@click.argument("account_ref", metavar="NAME_ID_OR_EMAIL")
@click.argument("email")
@pass_obj
def accounts_contacts_remove(obj: CliContext, account_ref: str, email: str) -> None:
    """Remove a contact from an account: its mails stop and its portal access ends at once."""
    store = obj.store()
    account = find_account(store, account_ref)
    obj.confirm(f"Remove {email} from {account.name}?")
    if not store.remove_contact(account.id, email):
        raise click.ClickException(f"{email} is not a contact of {account.name}")
    emit(
        obj,
        [{"account_id": account.id, "email": email.strip().lower()}],
        ["account_id", "email"],
        single=True,
    )


@accounts_contacts.command("unsuppress")
@click.argument("email")
@pass_obj
def accounts_contacts_unsuppress(obj: CliContext, email: str) -> None:
    """Mail a contact again after a bounce or complaint suppressed it (the address works again).
    SES's own suppression list is separate: `aws sesv2 delete-suppressed-destination` lifts that."""
    from ..services.suppression import unsuppress

    store = obj.store()
    actor = obj.actor()
    contact = store.get_contact(email)
    if contact is None or contact.suppressed is None:
        raise click.ClickException(f"{email} is not a suppressed contact")
    obj.confirm(f"Mail {contact.email} again (suppressed: {contact.suppressed.reason})?")
    lifted = unsuppress(store, contact.email, actor=actor)
    emit(obj, [{"email": lifted.email, "suppressed": None}], ["email", "suppressed"], single=True)


@accounts.command("export")
@click.argument("account_ref", metavar="NAME_ID_OR_EMAIL")
@pass_obj
def accounts_export(obj: CliContext, account_ref: str) -> None:
    """Everything held about the account and its contacts, as JSON (a data-protection request)."""
    import json

    from ..services.privacy import export_account

    store = obj.store()
    account = find_account(store, account_ref)
    click.echo(json.dumps(export_account(store, account), indent=2, default=str))


@accounts.command("erase")
@click.argument("account_ref", metavar="NAME_ID_OR_EMAIL")
@pass_obj
def accounts_erase(obj: CliContext, account_ref: str) -> None:
    """Erase the personal data of the account's contacts; licenses and payments are kept for
    bookkeeping, sign-in links and portal sessions end, no mail goes out any more."""
    from ..services.privacy import erase_account

    store = obj.store()
    account = find_account(store, account_ref)
    emails = store.contact_emails(account.id)
    actor = obj.actor()
    obj.confirm(
        f"Erase the personal data of {account.name} ({', '.join(emails) or 'no contacts'})? This is final"
    )
    report = erase_account(store, account, actor=actor)
    emit(obj, [{"account_id": account.id, **report}], ["account_id", *report], single=True)
