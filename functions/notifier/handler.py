"""The notifier: renders and sends every email, from the notifications queue (EventBridge -> SQS).

Each SQS record's body is an EventBridge event; a record that fails is reported in
`batchItemFailures`, so SQS redelivers it alone (and moves it to the dead-letter queue in the end).
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from licensing.adapters.dynamo import DynamoStore
from licensing.adapters.events import EventBridgePublisher
from licensing.adapters.ses import SesMailer
from licensing.services.notifications import license_ids, notify
from licensing.services.releases import fan_out_release
from licensing.settings import Settings, get_settings
from licensing.signing import Signer, load_signer

logger = Logger(service="notifier")
# A batch whose every record failed answers with all of them in batchItemFailures, like any other.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@lru_cache(maxsize=1)
def dependencies() -> tuple[DynamoStore, SesMailer, Settings]:
    settings = get_settings()
    return DynamoStore(settings.table_name), SesMailer(settings.mail_from), settings


@lru_cache(maxsize=1)
def signer() -> Signer:
    return load_signer()


@lru_cache(maxsize=1)
def publisher() -> EventBridgePublisher:
    return EventBridgePublisher(get_settings().event_bus_name)


def _error_name(error: Exception) -> str:
    # SES's error messages can quote recipients' addresses: log the error's type and code only.
    response = getattr(error, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    return f"{type(error).__name__} {code}" if code else type(error).__name__


def record_handler(record: SQSRecord) -> None:
    event = EventBridgeEvent(json.loads(record.body))
    store, mailer, settings = dependencies()
    try:
        if event.detail_type == "ReleasePublished":
            fan_out_release(
                store, publisher(), product=event.detail["product"], version=event.detail["version"]
            )
        else:
            needs_signer = event.detail_type == "ReleaseMail"
            notify(
                event.detail_type,
                event.detail,
                store=store,
                mailer=mailer,
                settings=settings,
                signer=signer() if needs_signer else None,
            )
    except Exception as error:
        logger.warning(
            "Notification failed; the queue will redeliver it",
            extra={
                "message_id": record.message_id,
                "detail_type": event.detail_type,
                "license_ids": license_ids(event.detail),
                "error": _error_name(error),
            },
        )
        raise


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
