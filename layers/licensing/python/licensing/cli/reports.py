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


@reports.command("activity")
@click.argument("kind", type=click.Choice(["issued", "renewed"]))
@click.option("--days", type=click.IntRange(1, 366), default=30, show_default=True, help="The last N days.")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True, help="Rows a page.")
@click.option("--after", default=None, help="The cursor a previous page printed: its next page.")
@click.option("--all", "every", is_flag=True, help="Every page, one after the other.")
@click.option("--count", "count_only", is_flag=True, help="Only how many (a COUNT query).")
@pass_obj
def reports_activity(
    obj: CliContext, kind: str, days: int, limit: int, after: str | None, every: bool, count_only: bool
) -> None:
    """Licenses issued, or renewals made, in the last N days, the latest first (the console's
    overview): read on the index of those history entries, a page at a time; a next page's cursor
    goes to stderr."""
    from ..adapters.staff_queries import StaffQueries
    from ..dates import today
    from ..services.activity import activity_count, activity_page
    from .licenses import license_row

    queries = StaffQueries(obj.store())
    if count_only:
        count = activity_count(queries, kind, today=today(), days=days)
        emit(obj, [{kind: count, "days": days}], [kind, "days"], single=True)
        return
    rows = []
    while True:
        page = activity_page(queries, kind, today=today(), days=days, after=after, page_size=limit)
        rows += [
            {"at": found.entry.at.isoformat(), "by": found.entry.actor, **license_row(found.license)}
            for found in page.items
        ]
        after = page.next
        if not every or after is None:
            break
    emit(obj, rows, ["at", "by", "key", "name", "product", "status", "ends_on", "account_id"])
    if after is not None:
        click.echo(f"More on the next page: --after {after}", err=True)
