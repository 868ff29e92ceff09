"""`licensing console`: the staff console in the browser, on 127.0.0.1, with this command's
credentials (`--local`: the local system's) and the staff member named by `--by`."""

from __future__ import annotations

import click

from .context import CliContext, StaffCommand, pass_obj


@click.command("console", cls=StaffCommand)
@click.option("--port", type=click.IntRange(0, 65535), default=8400, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback only; any other is refused.")
@click.option("--no-browser", is_flag=True, help="Only print the sign-in link.")
@pass_obj
def console(obj: CliContext, port: int, host: str, no_browser: bool) -> None:
    """The staff console: search, licenses and their actions, accounts, an overview."""
    from .. import wiring
    from ..console import check_bind_host, serve

    check_bind_host(host)  # before touching any credentials
    obj.connect()
    serve(
        obj,
        host=host,
        port=port,
        templates_dir=wiring.settings().templates_dir,
        echo=click.echo,
        open_browser=not no_browser,
    )
