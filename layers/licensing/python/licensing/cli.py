"""The staff command line, `licensing`. With `--local` it talks to the running local dev server."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import click


@dataclass
class CliContext:
    local: bool
    as_json: bool
    aws_port: int


@click.group()
@click.option("--local", is_flag=True, help="Talk to the running local dev server's embedded AWS.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option(
    "--aws-port", default=8001, show_default=True, help="The local embedded AWS port (with --local)."
)
@click.pass_context
def main(ctx: click.Context, local: bool, as_json: bool, aws_port: int) -> None:
    """Staff tools of the license manager."""
    ctx.obj = CliContext(local=local, as_json=as_json, aws_port=aws_port)
    if local:
        from .devserver.resources import LOCAL
        from .devserver.server import local_environment

        os.environ.update(local_environment(f"http://127.0.0.1:{aws_port}", "http://127.0.0.1:8000", LOCAL))


@main.group(invoke_without_command=True)
@click.option("--port", default=8000, show_default=True, help="The HTTP gateway's port.")
@click.option("--aws-port", default=8001, show_default=True, help="The embedded AWS endpoint's port.")
@click.option("--no-demo", is_flag=True, help="Start without the demo catalogue.")
@click.pass_context
def dev(ctx: click.Context, port: int, aws_port: int, no_demo: bool) -> None:
    """The local dev server: the whole system on loopback, with demo data."""
    if ctx.invoked_subcommand is not None:
        return
    from .devserver.server import DevServer, PortInUse

    try:
        server = DevServer(port=port, aws_port=aws_port, demo=not no_demo).start()
    except PortInUse as error:
        raise click.ClickException(str(error)) from None
    click.echo(
        f"License manager running locally\n"
        f"  HTTP API and portal  {server.url}  (try {server.url}/v1/health)\n"
        f"  dev mailbox          {server.url}/_dev/mail\n"
        f"  embedded AWS         {server.aws_endpoint}  (licensing --local ...)\n"
        f"Press Ctrl-C to stop."
    )
    sys.stdout.flush()
    server.wait()
    click.echo("Stopped.")
