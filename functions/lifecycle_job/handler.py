"""The daily lifecycle job (EventBridge Scheduler): expiry reminders, the "expired" mail, and the
EXPIRED status written down after the grace period."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

# The adapters it uses, imported in Lambda's init phase rather than in the first request.
import licensing.adapters.dynamo
import licensing.adapters.events  # noqa: F401
from licensing import wiring

logger = Logger(service="lifecycle_job")


def job_day(event: dict[str, Any]) -> date:
    """The day to run for: `today` of a manual run, the Scheduler's scheduled time, the scheduled
    rule's `time`, else today (UTC)."""
    from licensing.dates import today

    if event.get("today"):
        return date.fromisoformat(str(event["today"]))
    moment = event.get("scheduled_time") or event.get("time")
    if moment and not str(moment).startswith("<"):
        return datetime.fromisoformat(str(moment).replace("Z", "+00:00")).date()
    return today()


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from licensing.services.expiry import run_expiry

    report = run_expiry(
        wiring.store(),
        wiring.publisher(),
        today=job_day(event),
        reminder_days=wiring.settings().reminder_days_tuple,
    )
    return report.as_dict()
