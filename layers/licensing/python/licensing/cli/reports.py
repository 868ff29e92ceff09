"""`licensing reports`: what staff read to plan their week."""

from __future__ import annotations

import click

from .context import CliContext, StaffGroup, emit, pass_obj


@click.group(cls=StaffGroup)
def reports() -> None:
    """Reports."""


@reports.command("expiring")
@click.option("--days", type=click.IntRange(0, 366), default=30, show_default=True)
@pass_obj
def reports_expiring(obj: CliContext, days: int) -> None:
    """ACTIVE licenses that end within the next N days, soonest first."""
    from ..dates import today
    from ..services.reports import expiring

    store = obj.store()
    names: dict[str, str] = {}
    rows = []
    for license in expiring(store, today=today(), days=days):
        if license.account_id not in names:
            account = store.get_account(license.account_id)
            names[license.account_id] = account.name if account else license.account_id
        rows.append(
            {
                "key": license.display_key,
                "name": license.name,
                "product": license.product,
                "type": license.type.value,
                "ends_on": license.ends_on.isoformat(),
                "days_left": (license.ends_on - today()).days,
                "account": names[license.account_id],
                "auto_renews": license.auto_renews,
                "payment_method": license.billing.method,
            }
        )
    emit(
        obj,
        rows,
        ["key", "name", "product", "ends_on", "days_left", "account", "auto_renews", "payment_method"],
    )


@reports.command("versions")
@click.argument("product_ref", metavar="PRODUCT")
@click.option("--days", type=click.IntRange(1, 366), default=30, show_default=True, help="Seen in N days.")
@pass_obj
def reports_versions(obj: CliContext, product_ref: str, days: int) -> None:
    """Which extension and host versions the product's sites run, with how many sites each."""
    from ..dates import today
    from ..services.lookup import find_product
    from ..services.reports import versions

    store = obj.store()
    product = find_product(store, product_ref)
    emit(obj, versions(store, product.slug, today=today(), days=days), ["version", "host_version", "sites"])
