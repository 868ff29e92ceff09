"""`licensing licenses`: issue, find, show and change licenses; every change goes through a service
and lands in the license's history with the staff member's name."""

from __future__ import annotations

from typing import Any

import click

from ..services.lookup import find_account, find_license, find_product
from ..urls import web_link
from .context import CliContext, StaffGroup, emit, pass_obj

LICENSE_COLUMNS = [
    "id",
    "key",
    "name",
    "product",
    "type",
    "status",
    "status_reason",
    "starts_on",
    "ends_on",
    "account_id",
    "max_sites",
    "sites",
    "payment_status",
    "payment_method",
    "invoice_url",
]
SEARCH_COLUMNS = ["key", "name", "product", "type", "status", "ends_on", "account_id", "sites"]


def license_row(license: Any) -> dict[str, Any]:
    return {
        "id": license.id,
        "key": license.display_key,
        "name": license.name,
        "product": license.product,
        "type": license.type.value,
        "status": license.status.value,
        "status_reason": license.status_reason,
        "starts_on": license.starts_on.isoformat(),
        "ends_on": license.ends_on.isoformat(),
        "account_id": license.account_id,
        "max_sites": license.max_sites,
        "sites": sorted(license.sites),
        "payment_status": license.billing.payment_status.value,
        "payment_method": license.billing.method,
        "invoice_url": license.billing.invoice_url,
    }


def _show(obj: CliContext, license: Any) -> None:
    history = [
        f"{entry.at:%Y-%m-%d %H:%M} {entry.action} by {entry.actor}"
        + (f" ({entry.detail['reason']})" if entry.detail.get("reason") else "")
        for entry in obj.store().license_history(license.id)
    ]
    payments = [
        f"{p.at} {p.reason} {p.amount / 100 if p.amount is not None else '-'} {p.currency or ''} "
        f"{p.method} {p.status.value}"
        + (f" {p.invoice_url}" if p.invoice_url else "")
        + (f" refunded {p.amount_refunded / 100}" if p.amount_refunded else "")
        for p in license.payments
    ]
    row = license_row(license) | {
        "paid_on": license.billing.paid_on,
        "site_usage": [
            _site_usage(site, structured=obj.as_json)
            for site in sorted(license.sites.values(), key=lambda site: site.host)
        ],
        "payments": payments,
        "history": history,
    }
    emit(obj, [row], [*LICENSE_COLUMNS, "paid_on", "site_usage", "payments", "history"], single=True)


def _site_usage(site: Any, *, structured: bool) -> Any:
    """An activated site with when it was last seen and the versions it runs (API.md section 2)."""
    fields = {
        "host": site.host,
        "counted": site.counted,
        "last_seen_on": site.last_seen_on.isoformat() if site.last_seen_on else None,
        "version": site.version,
        "host_version": site.host_version,
    }
    if structured:
        return fields
    seen = f"last seen {fields['last_seen_on']}" if site.last_seen_on else "never seen"
    return (
        f"{site.host}{'' if site.counted else ' (development)'}: {seen}, "
        f"version {site.version or '-'}, host {site.host_version or '-'}"
    )


@click.group(cls=StaffGroup)
def licenses() -> None:
    """Licenses: issue, find, show, change."""


@licenses.command("show")
@click.argument("license_ref", metavar="KEY_OR_ID")
@pass_obj
def licenses_show(obj: CliContext, license_ref: str) -> None:
    """A license, with its history."""
    _show(obj, find_license(obj.store(), license_ref))


@licenses.command("issue")
@click.option("--account", "account_ref", required=True, help="Account name, id or contact email.")
@click.option("--product", "product_slug", required=True, help="Product slug.")
@click.option(
    "--type",
    "license_type",
    type=click.Choice(["commercial", "trial", "custom"]),
    default=None,
    help="Default: custom for a custom product, else commercial.",
)
@click.option("--name", default=None, help="The license's name (default: product — account).")
@click.option(
    "--months", type=click.IntRange(1, 120), default=None, help="Term in months (default: the product's)."
)
@click.option("--ends", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="End date, YYYY-MM-DD.")
@click.option(
    "--sites", type=click.IntRange(0, 10_000), default=None, help="Site limit (default: the product's)."
)
@click.option(
    "--payment-method",
    type=click.Choice(["bank_transfer", "invoice", "stripe", "free"]),
    default="invoice",
    show_default=True,
)
@click.option("--invoice-url", default=None, help="Link to the invoice.")
@click.option("--payment-status", type=click.Choice(["paid", "pending"]), default="paid", show_default=True)
@pass_obj
def licenses_issue(
    obj: CliContext,
    account_ref: str,
    product_slug: str,
    license_type: str | None,
    name: str | None,
    months: int | None,
    ends: Any,
    sites: int | None,
    payment_method: str,
    invoice_url: str | None,
    payment_status: str,
) -> None:
    """Issue a license for an email sale or a custom deal; the customer is emailed the key."""
    from ..models import Billing, LicenseType, PaymentStatus
    from ..services.issuing import issue_licenses

    if months is not None and ends is not None:
        raise click.UsageError("give --months or --ends, not both")
    store = obj.store()
    product = find_product(store, product_slug)
    account = find_account(store, account_ref)
    kind = LicenseType(license_type or ("custom" if product.custom else "commercial"))
    billing = Billing(
        method=payment_method,
        invoice_url=web_link(invoice_url),
        payment_status=PaymentStatus.FREE if payment_method == "free" else PaymentStatus(payment_status),
    )
    actor = obj.actor()
    obj.confirm(f"Issue a {kind.value} license of {product.name} to {account.name}?")
    (license,) = issue_licenses(
        store,
        obj.events(),
        product=product,
        account=account,
        actor=actor,
        license_type=kind,
        months=months,
        ends_on=ends.date() if ends else None,
        max_sites=sites,
        billing=billing,
        name=name.strip() if name and name.strip() else None,
    )
    emit(obj, [license_row(license)], LICENSE_COLUMNS, single=True)


def _date(value: Any) -> Any:
    return value.date() if value is not None else None


def _today() -> Any:
    from ..dates import today

    return today()


@licenses.command("search")
@click.option("--key", help="A key or a part of one (any case, spaces, dashes).")
@click.option("--email", help="Any contact's email.")
@click.option("--account", "account_ref", help="An account's name (or part of it), id or contact email.")
@click.option("--site", help="A site, as a URL or host name.")
@click.option("--product", help="A product slug.")
@click.option("--status", help="ACTIVE, PENDING, SUSPENDED, REVOKED or EXPIRED.")
@click.option("--invoice", help="An invoice link or reference, or a Stripe invoice or payment id.")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True, help="Licenses a page.")
@click.option("--after", default=None, help="The cursor a previous page printed: its next page.")
@click.option("--all", "every", is_flag=True, help="Every page, one after the other.")
@pass_obj
def licenses_search(obj: CliContext, limit: int, after: str | None, every: bool, **criteria: Any) -> None:
    """Find licenses from whatever the customer wrote in; every criterion given must match. One page
    at a time, read on the table's indexes; a next page's cursor goes to stderr."""
    from ..adapters.staff_queries import StaffQueries
    from ..services.search import LicenseQuery, search_page

    store = obj.store()
    query = LicenseQuery(**{("account" if k == "account_ref" else k): v for k, v in criteria.items()})
    found = []
    while True:
        page = search_page(store, StaffQueries(store), query, after=after, page_size=limit)
        found += page.items
        after = page.next
        if not every or after is None:
            break
    emit(obj, [license_row(license) for license in found], SEARCH_COLUMNS)
    if after is not None:
        click.echo(f"More on the next page: --after {after}", err=True)


def _status_command(name: str, action_name: str, verb: str) -> None:
    @licenses.command(name, help=f"{verb.capitalize()} a license; the customer is mailed.")
    @click.argument("license_ref", metavar="KEY_OR_ID")
    @click.option("--reason", default=None, help="Why (the history and the customer's mail say it).")
    @pass_obj
    def command(obj: CliContext, license_ref: str, reason: str | None) -> None:
        from ..lifecycle import Action
        from ..services.license_admin import change_status

        store = obj.store()
        license = find_license(store, license_ref)
        actor = obj.actor()
        obj.confirm(f"{verb.capitalize()} {license.display_key} ({license.name}, {license.status.value})?")
        saved = change_status(
            store, obj.events(), license.id, Action(action_name), actor=actor, reason=reason
        )
        emit(obj, [license_row(saved)], LICENSE_COLUMNS, single=True)


_status_command("suspend", "SUSPEND", "suspend")
_status_command("reinstate", "REINSTATE", "reinstate")
_status_command("revoke", "REVOKE", "revoke (final)")


@licenses.command("extend")
@click.argument("license_ref", metavar="KEY_OR_ID")
@click.option("--ends", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="New end date.")
@click.option("--days", type=click.IntRange(1, 3650), default=None, help="Days added to the end date.")
@pass_obj
def licenses_extend(obj: CliContext, license_ref: str, ends: Any, days: int | None) -> None:
    """Move a license's end date (no payment, no mail: see renew for a paid renewal)."""
    from ..services.license_admin import extend

    if (ends is None) == (days is None):
        raise click.UsageError("give --ends or --days")
    store = obj.store()
    license = find_license(store, license_ref)
    actor = obj.actor()
    target = _date(ends) or f"{days} days later"
    obj.confirm(f"Move the end of {license.display_key} from {license.ends_on} to {target}?")
    saved = extend(store, license.id, actor=actor, today=_today(), ends_on=_date(ends), days=days)
    emit(obj, [license_row(saved)], LICENSE_COLUMNS, single=True)


@licenses.command("renew")
@click.argument("license_ref", metavar="KEY_OR_ID")
@click.option("--months", type=click.IntRange(1, 120), default=None, help="Default: the product's term.")
@click.option(
    "--payment-method",
    type=click.Choice(["bank_transfer", "invoice", "stripe", "free"]),
    default="invoice",
    show_default=True,
)
@click.option("--invoice-url", default=None, help="Link to the invoice.")
@click.option("--payment-status", type=click.Choice(["paid", "pending"]), default="paid", show_default=True)
@click.option("--amount", default=None, help="The amount paid, e.g. 49.00.")
@click.option("--currency", default=None, help="Its currency, e.g. eur (default: the product's).")
@pass_obj
def licenses_renew(
    obj: CliContext,
    license_ref: str,
    months: int | None,
    payment_method: str,
    invoice_url: str | None,
    payment_status: str,
    amount: str | None,
    currency: str | None,
) -> None:
    """A renewal paid outside Stripe: the renewal rule, history and mail of a Stripe renewal."""
    from ..models import PaymentStatus
    from ..services.renewals import money, renew_manually

    store = obj.store()
    license = find_license(store, license_ref)
    cents = money(amount)
    actor = obj.actor()
    obj.confirm(f"Renew {license.display_key} ({license.name}, ends {license.ends_on})?")
    saved = renew_manually(
        store,
        obj.events(),
        license.id,
        product=store.get_product(license.product),
        today=_today(),
        actor=actor,
        months=months,
        method=payment_method,
        payment_status=PaymentStatus.FREE if payment_method == "free" else PaymentStatus(payment_status),
        invoice_url=invoice_url,
        amount=cents,
        currency=currency,
    )
    emit(obj, [license_row(saved)], LICENSE_COLUMNS, single=True)


@licenses.command("resend")
@click.argument("license_ref", metavar="KEY_OR_ID")
@pass_obj
def licenses_resend(obj: CliContext, license_ref: str) -> None:
    """The license mail again, with a fresh portal sign-in link."""
    from ..services.license_admin import resend

    store = obj.store()
    license = find_license(store, license_ref)
    emails = store.contact_emails(license.account_id)
    actor = obj.actor()
    obj.confirm(f"Mail {license.display_key} again to {', '.join(emails) or 'nobody'}?")
    resend(store, obj.events(), license, actor=actor)
    emit(
        obj, [{"id": license.id, "key": license.display_key, "to": emails}], ["id", "key", "to"], single=True
    )


@licenses.group("sites")
def licenses_sites() -> None:
    """A license's activated sites."""


@licenses_sites.command("add")
@click.argument("license_ref", metavar="KEY_OR_ID")
@click.argument("site")
@pass_obj
def licenses_sites_add(obj: CliContext, license_ref: str, site: str) -> None:
    """Activate a site (the license's site limit holds)."""
    from ..services.license_admin import add_site

    store = obj.store()
    license = find_license(store, license_ref)
    actor = obj.actor()
    obj.confirm(f"Activate {site} on {license.display_key}?")
    saved = add_site(store, license, site, actor=actor, today=_today())
    emit(obj, [license_row(saved)], LICENSE_COLUMNS, single=True)


@licenses_sites.command("remove")
@click.argument("license_ref", metavar="KEY_OR_ID")
@click.argument("site")
@pass_obj
def licenses_sites_remove(obj: CliContext, license_ref: str, site: str) -> None:
    """Deactivate a site: its slot is free again."""
    from ..services.license_admin import remove_site

    store = obj.store()
    license = find_license(store, license_ref)
    actor = obj.actor()
    obj.confirm(f"Deactivate {site} on {license.display_key}?")
    saved = remove_site(store, license, site, actor=actor)
    emit(obj, [license_row(saved)], LICENSE_COLUMNS, single=True)


@licenses.command("billing")
@click.argument("license_ref", metavar="KEY_OR_ID")
@click.option("--payment-status", type=click.Choice(["paid", "pending"]), default=None)
@click.option("--invoice-url", default=None, help="Link to the invoice.")
@click.option("--paid-on", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="YYYY-MM-DD.")
@pass_obj
def licenses_billing(
    obj: CliContext, license_ref: str, payment_status: str | None, invoice_url: str | None, paid_on: Any
) -> None:
    """An email sale's payment: paid later, its invoice; the customer is mailed once it is paid."""
    from ..models import PaymentStatus
    from ..services.license_admin import update_billing

    store = obj.store()
    license = find_license(store, license_ref)
    actor = obj.actor()
    obj.confirm(f"Update the billing of {license.display_key} ({license.billing.payment_status.value})?")
    saved = update_billing(
        store,
        obj.events(),
        license.id,
        actor=actor,
        today=_today(),
        payment_status=PaymentStatus(payment_status) if payment_status else None,
        invoice_url=invoice_url,
        paid_on=_date(paid_on),
    )
    emit(
        obj,
        [license_row(saved) | {"paid_on": saved.billing.paid_on}],
        [*LICENSE_COLUMNS, "paid_on"],
        single=True,
    )


@licenses.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("--product", default=None, help="Only this product's licenses.")
@click.option("--status", default=None, help="Only licenses with this status.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None, help="A file.")
@pass_obj
def licenses_export(
    obj: CliContext, fmt: str, product: str | None, status: str | None, output: str | None
) -> None:
    """Every license (of a product, with a status) with its account, contacts, sites and billing."""
    from pathlib import Path

    from ..adapters.staff_queries import StaffQueries
    from ..services.search import export_rows, export_text

    store = obj.store()
    text = export_text(export_rows(store, StaffQueries(store), product=product, status=status), fmt)
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)
