"""`licensing admin`: upkeep of the stored data after an upgrade."""

from __future__ import annotations

import click

from .context import CliContext, StaffGroup, emit, pass_obj


@click.group(cls=StaffGroup)
def admin() -> None:
    """Upkeep of the stored data."""


@admin.command("backfill-indexes")
@pass_obj
def admin_backfill_indexes(obj: CliContext) -> None:
    """Write the gsi2 index keys on licenses and suppressed contacts stored before gsi2 existed (staff
    search by product or status and the console's suppressed list read them). Safe to run again."""
    from ..adapters.staff_queries import StaffQueries

    obj.confirm("Read every license and suppressed contact and write the index keys they lack?")
    store = obj.store()
    emit(obj, [StaffQueries(store).backfill_indexes()], ["licenses", "contacts", "read"], single=True)
