"""The notifiers: render and send every email, from the transactional and bulk queues (EventBridge -> SQS).

Each SQS record's body is an EventBridge event; a record that fails is reported in
`batchItemFailures`, so SQS redelivers it alone (and moves it to the dead-letter queue in the end).
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from licensing import events, wiring
from licensing.services.notifications import notify
from licensing.services.releases import fan_out_release

logger = Logger(service="notifier")
# A batch whose every record failed answers with all of them in batchItemFailures, like any other.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def _error_name(error: Exception) -> str:
    # SES's error messages can quote recipients' addresses: log the error's type and code only.
    response = getattr(error, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    return f"{type(error).__name__} {code}" if code else type(error).__name__


def record_handler(record: SQSRecord) -> None:
    message = EventBridgeEvent(json.loads(record.body))
    try:
        event = events.parse(message.detail_type, dict(message.detail))
    except events.UnknownEvent:
        # Only declared events are routed here; anything else is from another version: done.
        logger.warning("No email for this event; dropped", extra={"detail_type": message.detail_type})
        return
    try:
        if isinstance(event, events.ReleasePublished):
            fan_out_release(wiring.store(), wiring.publisher(), product=event.product, version=event.version)
        else:
            notify(
                event,
                store=wiring.store(),
                mailer=wiring.mailer(),
                settings=wiring.settings(),
                # Only release mails sign (their unsubscribe links): the others need no key.
                signer=wiring.signer() if isinstance(event, events.ReleaseMail) else None,
            )
    except Exception as error:
        logger.warning(
            "Notification failed; the queue will redeliver it",
            extra={
                "message_id": record.message_id,
                "detail_type": message.detail_type,
                "license_ids": events.license_ids(event),
                "error": _error_name(error),
            },
        )
        raise


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
