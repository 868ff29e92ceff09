"""`licensing admin`: upkeep of the stored data after an upgrade."""

from __future__ import annotations

import click

from .context import CliContext, StaffGroup, emit, pass_obj


@click.group(cls=StaffGroup)
def admin() -> None:
    """Upkeep of the stored data."""


@admin.command("backfill-indexes")
@click.option(
    "--days",
    type=click.IntRange(0, 36600),
    default=60,
    show_default=True,
    help="History entries of the last N days get their activity keys; 0: every entry.",
)
@pass_obj
def admin_backfill_indexes(obj: CliContext, days: int) -> None:
    """Write the gsi2 index keys on licenses, suppressed contacts, and the history entries that issued
    or renewed a license, stored before gsi2 held them (staff search by product or status, the
    console's suppressed list and its issued and renewed lists read them). Safe to run again."""
    from datetime import timedelta

    from ..adapters.staff_queries import StaffQueries
    from ..dates import today

    obj.confirm("Read every license and suppressed contact and write the index keys they lack?")
    store = obj.store()
    since = today() - timedelta(days=days) if days else None
    emit(
        obj,
        [StaffQueries(store).backfill_indexes(since)],
        ["licenses", "history", "contacts", "read"],
        single=True,
    )
