"""What every command shares: where it talks to, the shared options, the one domain-error wrapper,
confirmation, the staff member's name for the history, and the output (a table or `--json`)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import click

from .. import wiring
from ..errors import LicensingError

if TYPE_CHECKING:
    from ..adapters.dynamo import DynamoStore
    from ..adapters.events import EventBridgePublisher
    from ..adapters.s3 import S3Files

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class CliContext:
    local: bool = False
    as_json: bool = False
    yes: bool = False
    by: str | None = None
    aws_port: int = 8001
    connected: bool = False

    def connect(self) -> None:
        """Point the adapters at the resources: the local system's, or the deployed stack's."""
        if self.connected:
            return
        if self.local:
            from ..devserver.resources import LOCAL
            from ..devserver.server import local_environment

            os.environ.update(
                local_environment(f"http://127.0.0.1:{self.aws_port}", "http://127.0.0.1:8000", LOCAL)
            )
        else:
            os.environ.update(_stack_environment())
        wiring.reset()  # the settings, clients and dependencies of these resources from now on
        self.connected = True

    # The dependencies come from the one composition root, as the functions' do.

    def store(self) -> DynamoStore:
        self.connect()
        return wiring.store()

    def events(self) -> EventBridgePublisher:
        self.connect()
        return wiring.publisher()

    def files(self) -> S3Files:
        self.connect()
        return wiring.files()

    def actor(self) -> str:
        """The staff member named in the license history: `--by`, else the AWS caller identity
        (deployed) or the OS user (local)."""
        return f"staff:{self.by or self._default_staff()}"

    def _default_staff(self) -> str:
        import getpass

        if not self.local:
            self.connect()
            from ..adapters.aws import client

            try:
                arn = str(client("sts").get_caller_identity()["Arn"])
            except Exception:
                arn = ""
            if arn:
                return arn.rsplit("/", 1)[-1] if "/" in arn else arn
        try:
            return getpass.getuser()
        except (KeyError, OSError):
            return os.environ.get("USER") or "unknown"

    def confirm(self, question: str) -> None:
        """Ask before a change, unless `--yes`; answering no aborts with a non-zero exit."""
        if not self.yes:
            click.confirm(question, abort=True)


def _stack_environment() -> dict[str, str]:
    """The resource names of the deployed stack, from its outputs (current AWS credentials)."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from .. import catalogue

    stack = catalogue.deployed_stack_name()
    try:
        stacks = boto3.client("cloudformation").describe_stacks(StackName=stack)["Stacks"]
    except (BotoCoreError, ClientError) as error:
        raise click.ClickException(
            f"cannot read the stack {stack} with the current AWS credentials ({error}); "
            "use --local for the local system"
        ) from None
    outputs = {output["OutputKey"]: output["OutputValue"] for output in stacks[0].get("Outputs", [])}
    return {
        "LICENSING_TABLE": outputs[catalogue.OUTPUT_TABLE],
        "RELEASE_BUCKET": outputs[catalogue.OUTPUT_RELEASE_BUCKET],
        "EVENT_BUS_NAME": outputs[catalogue.OUTPUT_EVENT_BUS],
        "PUBLIC_BASE_URL": outputs[catalogue.OUTPUT_API_URL].rstrip("/"),
    }


# -- the shared options, accepted on the group and on every command --------------------------------


def _setter(name: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def store(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
        # Only a value given on the line is kept: the command's, parsed after the group's, wins.
        if value is None or value is False:
            return
        setattr(ctx.ensure_object(CliContext), name, value)

    return store


def shared_options(function: F) -> F:
    """`--json`, `--yes`, `--by`, `--local` and `--aws-port`, wherever they stand on the line."""
    options = [
        click.option(
            "--local",
            is_flag=True,
            expose_value=False,
            callback=_setter("local"),
            help="Talk to the running local dev server's embedded AWS.",
        ),
        click.option(
            "--json",
            "as_json",
            is_flag=True,
            expose_value=False,
            callback=_setter("as_json"),
            help="Print JSON instead of a table.",
        ),
        click.option(
            "--yes", is_flag=True, expose_value=False, callback=_setter("yes"), help="Do not ask to confirm."
        ),
        click.option(
            "--by",
            default=None,
            expose_value=False,
            callback=_setter("by"),
            metavar="NAME",
            help="The staff member, for the license history (default: AWS caller or OS user).",
        ),
        click.option(
            "--aws-port",
            type=int,
            default=None,
            expose_value=False,
            callback=_setter("aws_port"),
            help="The local embedded AWS port (with --local; default 8001).",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


# -- the one domain-error wrapper ------------------------------------------------------------------


@contextmanager
def domain_errors() -> Iterator[None]:
    """Domain errors, invalid values and AWS errors as one clear line on stderr and a non-zero exit."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except LicensingError as error:
        raise click.ClickException(error.message) from None
    except (BotoCoreError, ClientError) as error:
        hint = " (is `make run` running?)" if isinstance(error, BotoCoreError) else ""
        raise click.ClickException(f"AWS: {error}{hint}") from None
    except ValueError as error:  # pydantic's ValidationError among them
        raise click.ClickException(first_error(error)) from None


def first_error(error: ValueError) -> str:
    errors = getattr(error, "errors", None)
    if callable(errors):
        first = errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        return f"{where}: {first.get('msg')}" if where else str(first.get("msg"))
    return str(error)


def _shared_params(existing: list[click.Parameter]) -> list[click.Parameter]:
    """Fresh shared options, less any whose name the command or group declares itself (the dev
    server's own `--aws-port`)."""

    def holder() -> None:
        """Holder of the shared options' declarations."""

    taken = {opt for param in existing for opt in param.opts}
    declared = list(reversed(shared_options(holder).__click_params__))  # type: ignore[attr-defined]
    return [param for param in declared if not set(param.opts) & taken]


class StaffCommand(click.Command):
    """A command with the shared options, run inside the domain-error wrapper."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.extend(_shared_params(self.params))

    def invoke(self, ctx: click.Context) -> Any:
        with domain_errors():
            return super().invoke(ctx)


class StaffGroup(click.Group):
    """A group that accepts the shared options itself and whose commands and subgroups are
    StaffCommands and StaffGroups."""

    command_class = StaffCommand
    group_class = type

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.extend(_shared_params(self.params))

    def invoke(self, ctx: click.Context) -> Any:
        with domain_errors():
            return super().invoke(ctx)


# -- output ----------------------------------------------------------------------------------------


def emit(
    obj: CliContext, rows: Sequence[dict[str, Any]], columns: Sequence[str], *, single: bool = False
) -> None:
    """Rows as JSON (`--json`) or as a readable table."""
    if obj.as_json:
        click.echo(json.dumps(rows[0] if single and rows else list(rows), indent=2, default=str))
        return
    if single and rows:
        width = max(len(column) for column in columns)
        for column in columns:
            click.echo(f"{column:<{width}}  {_cell(rows[0].get(column))}")
        return
    widths = {c: max([len(c), *(len(_cell(row.get(c))) for row in rows)]) for c in columns}
    click.echo("  ".join(f"{c:<{widths[c]}}" for c in columns).rstrip())
    for row in rows:
        click.echo("  ".join(f"{_cell(row.get(c)):<{widths[c]}}" for c in columns).rstrip())


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value) or "-"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "-"
    return str(value)


pass_obj = click.make_pass_decorator(CliContext, ensure=True)
