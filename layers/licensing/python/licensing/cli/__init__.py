"""The staff command line, `licensing` (API.md section 4). With `--local` it talks to the running
local dev server; without it, to the deployed stack of the current AWS credentials.

One module per command group; every command goes through `licensing.services` (no rule lives here),
shares `--json`, `--yes`, `--by` and `--local` wherever they stand, and fails in one line."""

from __future__ import annotations

import click

from .accounts import accounts
from .admin import admin
from .console import console
from .context import CliContext, StaffGroup
from .dev import dev
from .imports import import_command
from .jobs import jobs
from .keys import keys
from .licenses import licenses
from .products import products
from .releases import releases
from .reports import reports


@click.group(cls=StaffGroup)
@click.pass_context
def main(ctx: click.Context) -> None:
    """Staff tools of the license manager."""
    ctx.ensure_object(CliContext)


for _group in (dev, products, accounts, licenses, releases, jobs, reports, console, keys, import_command):
    main.add_command(_group)
main.add_command(admin)

__all__ = ["main"]
