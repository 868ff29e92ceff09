"""Queue workers as AWS runs them: poll the emulator's SQS queues and call the worker handlers with
SQS event batches; `batchItemFailures` are left on the queue, to come back after the visibility
timeout (and to the dead-letter queue after too many receives)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from ..catalogue import Function

log = logging.getLogger("licensing.dev")


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The event Lambda's SQS event source delivers for a batch of received messages."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes", {}),
                "messageAttributes": {
                    name: {
                        "stringValue": value.get("StringValue"),
                        "binaryValue": value.get("BinaryValue"),
                        "dataType": value.get("DataType"),
                    }
                    for name, value in message.get("MessageAttributes", {}).items()
                },
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for message in messages
        ]
    }


class QueueWorker(threading.Thread):
    def __init__(
        self,
        function: Function,
        queue_url: str,
        invoke: Callable[[str, dict[str, Any]], Any],
        sqs: Any,
        *,
        wait_seconds: int = 1,
    ) -> None:
        super().__init__(name=f"worker-{function.name}", daemon=True)
        self.function = function
        self.queue_url = queue_url
        self.invoke = invoke
        self.sqs = sqs
        self.wait_seconds = wait_seconds
        self._stop_event = threading.Event()
        attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]
        self.queue_arn = attributes["QueueArn"]
        self.region = self.queue_arn.split(":")[3]

    def stop(self) -> None:
        self._stop_event.set()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                self.poll_once()
            except Exception:  # the worker must outlive any one failure, as Lambda's poller does
                log.exception("worker %s failed a poll", self.function.name)
                self._stop_event.wait(1)

    def poll_once(self) -> int:
        """Receive one batch, hand it to the function, delete what it did not report as failed."""
        answer = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=min(self.function.batch_size, 10),
            WaitTimeSeconds=self.wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = answer.get("Messages", [])
        if not messages:
            return 0
        try:
            result = self.invoke(self.function.name, sqs_event(messages, self.queue_arn, self.region))
        except Exception:
            log.exception("%s raised: the whole batch returns to the queue", self.function.name)
            return 0
        failed = {item["itemIdentifier"] for item in (result or {}).get("batchItemFailures", [])}
        done = [message for message in messages if message["MessageId"] not in failed]
        if done:
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        if failed:
            log.warning("%s: %d message(s) failed and will be retried", self.function.name, len(failed))
        return len(done)


class ScheduleRunner(threading.Thread):
    """Runs a scheduled function as EventBridge Scheduler would (the emulator's schedules never
    fire): once at start, so that the local system is current, then every `interval_seconds`."""

    def __init__(
        self,
        function: Function,
        invoke: Callable[[str, dict[str, Any]], Any],
        *,
        interval_seconds: float = 86400,
    ) -> None:
        super().__init__(name=f"schedule-{function.name}", daemon=True)
        self.function = function
        self.invoke = invoke
        self.interval_seconds = interval_seconds
        self._stop_event = threading.Event()

    def stop(self) -> None:
        self._stop_event.set()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                self.invoke(self.function.name, {"scheduled_time": _now_iso()})
            except Exception:  # a failed run is logged and retried at the next one, as in AWS
                log.exception("scheduled %s failed", self.function.name)
            self._stop_event.wait(self.interval_seconds)


def _now_iso() -> str:
    from ..dates import iso_timestamp, utc_now

    return iso_timestamp(utc_now())  # the local clock, which `/_dev/clock` may have moved
