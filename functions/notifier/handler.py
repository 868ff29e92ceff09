"""The notifiers: render and send every email, from the transactional and bulk queues (EventBridge -> SQS).

Each SQS record's body is an EventBridge event; a record that fails is reported in
`batchItemFailures`, so SQS redelivers it alone (and moves it to the dead-letter queue in the end).
Every mail waits for its turn on the shared send schedule (`services.pacing`); a mail deferred (SES
throttling again and again, the daily quota) is handed back with a later visibility, not retried
at once. Bulk mail (the catalogue's bulk queue) yields to transactional mail.
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

# The adapters it uses, imported in Lambda's init phase rather than in the first request.
import licensing.adapters.dynamo
import licensing.adapters.events
import licensing.adapters.ses
import licensing.adapters.sqs  # noqa: F401
from licensing import catalogue, events, metrics, wiring
from licensing.services.notifications import notify
from licensing.services.pacing import Deferred, PacedMailer
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
    bulk = event.queue == catalogue.BULK.name
    try:
        if isinstance(event, events.ReleasePublished):
            fan_out_release(
                wiring.store(), wiring.publisher(), event, page_size=wiring.settings().fanout_page_size
            )
        else:
            sent = notify(
                event,
                store=wiring.store(),
                mailer=PacedMailer(wiring.mailer(), wiring.pacer(), wiring.daily_quota(), bulk=bulk),
                settings=wiring.settings(),
                # Only release mails carry a token (their unsubscribe links): the others need no key.
                token_key=wiring.token_key() if isinstance(event, events.ReleaseMail) else None,
                tally=_tally(event),
            )
            metrics.count("EmailsSent", sent, email=message.detail_type)
    except Deferred as deferred:
        wiring.queues().defer(record.event_source_arn, record.receipt_handle, deferred.delay_seconds)
        logger.info(
            "Mail deferred; back on the queue later",
            extra={
                "message_id": record.message_id,
                "detail_type": message.detail_type,
                "reason": str(deferred),
            },
        )
        raise
    except Exception as error:
        if isinstance(event, events.ReleaseMail) and _last_receive(record):
            wiring.store().add_release_tally(event.product, event.version, {"failed": 1})
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


def _tally(event: events.Event) -> Any:
    if not isinstance(event, events.ReleaseMail):
        return None
    store, product, version = wiring.store(), event.product, event.version
    return lambda counts: store.add_release_tally(product, version, counts)


def _last_receive(record: SQSRecord) -> bool:
    """Whether SQS moves the record to the dead-letter queue if this receive fails too."""
    received = int(record.attributes.approximate_receive_count or 0)
    return received >= catalogue.BULK.max_receive_count


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
