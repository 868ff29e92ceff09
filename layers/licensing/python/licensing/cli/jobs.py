"""`licensing jobs`: the scheduled jobs, on demand."""

from __future__ import annotations

from typing import Any

import click

from .context import CliContext, StaffGroup, emit, pass_obj


@click.group(cls=StaffGroup)
def jobs() -> None:
    """The scheduled jobs, on demand."""


@jobs.group("run")
def jobs_run() -> None:
    """Run a job now."""


@jobs_run.command("expiry")
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Run as if today were this day (YYYY-MM-DD; a future day only with --local).",
)
@pass_obj
def jobs_run_expiry(obj: CliContext, today: Any) -> None:
    """The daily lifecycle job: reminders, the expired mail, EXPIRED after the grace period."""
    from .. import wiring
    from ..dates import today as utc_today
    from ..services.expiry import run_expiry

    if today is not None and today.date() > utc_today() and not obj.local:
        raise click.UsageError(
            "a future --today would expire live licenses and mail customers: only with --local"
        )
    obj.confirm("Send the day's reminders and write expired licenses now?")
    store, events = obj.store(), obj.events()
    report = run_expiry(
        store,
        events,
        today=today.date() if today else utc_today(),
        reminder_days=wiring.settings().reminder_days_tuple,
    )
    emit(
        obj,
        [report.as_dict()],
        ["days", "reminders", "reminder_accounts", "expired_mails", "expired", "licenses_read"],
        single=True,
    )
