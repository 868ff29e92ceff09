"""SQS: a received message handed back to its queue, to be delivered again later (a deferred mail).
The queue is the one a record names by its ARN (`eventSourceARN`); its URL is looked up once."""

from __future__ import annotations

from typing import Any

from .aws import client

# The longest visibility SQS allows (12 hours).
MAX_VISIBILITY_SECONDS = 43_200


class SqsQueues:
    def __init__(self, sqs: Any = None) -> None:
        self._sqs = sqs
        self._urls: dict[str, str] = {}

    @property
    def sqs(self) -> Any:
        return self._sqs or client("sqs")

    def url_of(self, queue_arn: str) -> str:
        if queue_arn not in self._urls:
            *_, account, name = queue_arn.split(":")
            answer = self.sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)
            self._urls[queue_arn] = str(answer["QueueUrl"])
        return self._urls[queue_arn]

    def defer(self, queue_arn: str, receipt_handle: str, delay_seconds: int) -> None:
        """Make a received message visible again only after `delay_seconds` (at most 12 hours)."""
        self.sqs.change_message_visibility(
            QueueUrl=self.url_of(queue_arn),
            ReceiptHandle=receipt_handle,
            VisibilityTimeout=max(0, min(delay_seconds, MAX_VISIBILITY_SECONDS)),
        )
