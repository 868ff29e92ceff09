"""`licensing licenses`: issue, find, show and change licenses; every change goes through a service
and lands in the license's history with the staff member's name."""

from __future__ import annotations

from typing import Any

import click

from ..services.lookup import find_account, find_license, find_product
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
    emit(obj, [license_row(license) | {"history": history}], [*LICENSE_COLUMNS, "history"], single=True)


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
        invoice_url=invoice_url,
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
