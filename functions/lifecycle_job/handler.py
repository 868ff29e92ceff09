"""The daily lifecycle job (EventBridge Scheduler): expiry reminders, the "expired" mail, and the
EXPIRED status written down after the grace period."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service="lifecycle_job")


@lru_cache(maxsize=1)
def dependencies() -> tuple[Any, Any, tuple[int, ...]]:
    from licensing.adapters.dynamo import DynamoStore
    from licensing.adapters.events import EventBridgePublisher
    from licensing.settings import get_settings

    settings = get_settings()
    return (
        DynamoStore(settings.table_name),
        EventBridgePublisher(settings.event_bus_name),
        settings.reminder_days_tuple,
    )


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

    store, events, reminder_days = dependencies()
    report = run_expiry(store, events, today=job_day(event), reminder_days=reminder_days)
    return report.as_dict()
