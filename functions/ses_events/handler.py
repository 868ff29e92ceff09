"""SES bounces and complaints, from the mail events queue (SES -> EventBridge's default bus -> SQS):
a permanent bounce or a complaint suppresses the address (licensing.services.suppression).

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

# The adapters it uses, imported in Lambda's init phase rather than in the first request.
import licensing.adapters.dynamo  # noqa: F401
from licensing import metrics, wiring
from licensing.services import suppression

logger = Logger(service="ses_events")
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord) -> None:
    message = EventBridgeEvent(json.loads(record.body))
    try:
        found = suppression.feedback(message.detail_type, dict(message.detail))
    except (KeyError, TypeError, ValueError):
        # Not SES's record shape: retrying cannot help, and the address is not logged.
        logger.error("Unreadable SES event; dropped", extra={"detail_type": message.detail_type})
        return
    # What fails from here (the table, a stored contact it cannot read) fails the record: retried,
    # then kept in the dead-letter queue, never dropped with the address left unsuppressed.
    metrics.count("AddressesSuppressed", suppression.apply(wiring.store(), message.detail_type, found))


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
