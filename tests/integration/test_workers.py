"""The dev server's queue workers behave like Lambda's SQS event source: batches in the Lambda
event shape, `batchItemFailures` left on the queue and redelivered after the visibility timeout,
and the dead-letter queue after too many receives."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import boto3

from licensing import catalogue
from licensing.devserver.workers import QueueWorker

WORKER = catalogue.Function(name="worker", description="test worker", queue="q", batch_size=10)


def make_queue(visibility: int = 1, max_receives: int = 2) -> tuple[str, str]:
    # A name of its own: the emulator is shared by the whole session.
    name = f"work-{uuid.uuid4().hex[:12]}"
    sqs = boto3.client("sqs")
    dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(
        QueueName=name,
        Attributes={
            "VisibilityTimeout": str(visibility),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receives)}
            ),
        },
    )["QueueUrl"]
    return url, dlq


def send(url: str, *bodies: str) -> None:
    for body in bodies:
        boto3.client("sqs").send_message(QueueUrl=url, MessageBody=body)


def count(url: str) -> int:
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def test_a_batch_arrives_in_the_lambda_shape_and_failures_stay(aws: dict[str, Any]) -> None:
    url, _ = make_queue(visibility=30)
    send(url, "good-1", "bad", "good-2")
    seen: list[dict[str, Any]] = []

    def invoke(name: str, event: dict[str, Any]) -> dict[str, Any]:
        seen.append(event)
        failed = [r["messageId"] for r in event["Records"] if r["body"] == "bad"]
        return {"batchItemFailures": [{"itemIdentifier": i} for i in failed]}

    worker = QueueWorker(WORKER, url, invoke, boto3.client("sqs"), wait_seconds=0)
    done = 0
    while sum(len(e["Records"]) for e in seen) < 3:
        done += worker.poll_once()
    assert done == 2
    record = seen[0]["Records"][0]
    assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"].endswith(
        ":" + url.rsplit("/", 1)[-1]
    )
    assert {"messageId", "receiptHandle", "body", "attributes", "md5OfBody", "awsRegion"} <= set(record)
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert count(url) == 1  # the failed one, invisible until its timeout


def test_a_failed_message_comes_back_after_the_visibility_timeout_then_goes_to_the_dlq(
    aws: dict[str, Any],
) -> None:
    url, dlq = make_queue(visibility=1, max_receives=2)
    send(url, "always fails")
    receives: list[str] = []

    def invoke(name: str, event: dict[str, Any]) -> dict[str, Any]:
        receives.extend(r["attributes"]["ApproximateReceiveCount"] for r in event["Records"])
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]}

    worker = QueueWorker(WORKER, url, invoke, boto3.client("sqs"), wait_seconds=0)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and count(dlq) == 0:
        worker.poll_once()
        time.sleep(0.2)
    assert receives == ["1", "2"]
    assert count(dlq) == 1 and count(url) == 0


def test_a_function_that_raises_returns_the_whole_batch(aws: dict[str, Any]) -> None:
    url, _ = make_queue(visibility=1, max_receives=5)
    send(url, "a", "b")
    calls: list[int] = []

    def invoke(name: str, event: dict[str, Any]) -> dict[str, Any]:
        calls.append(len(event["Records"]))
        if len(calls) == 1:
            raise RuntimeError("crashed")
        return {"batchItemFailures": []}

    worker = QueueWorker(WORKER, url, invoke, boto3.client("sqs"), wait_seconds=0)
    delivered = 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and delivered < 2:
        delivered += worker.poll_once()
        time.sleep(0.2)
    assert delivered == 2 and count(url) == 0
