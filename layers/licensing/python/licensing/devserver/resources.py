"""The local resources, made from the same definitions as the stack (``licensing.tables`` and
``licensing.catalogue``), on the embedded emulator or DynamoDB Local."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .. import catalogue, tables


@dataclass(frozen=True)
class LocalNames:
    """Resource names of the local system (API.md section 5); `licensing --local` uses them."""

    table: str = "licensing"
    bucket: str = "licensing-releases"
    bus: str = "licensing"
    sender: str = "licenses@vendor.example"
    queue_prefix: str = "licensing-"

    def queue(self, name: str) -> str:
        return f"{self.queue_prefix}{name}"

    def dead_letter_queue(self, name: str) -> str:
        return f"{self.queue_prefix}{name}-dlq"


LOCAL = LocalNames()


def create_table(dynamodb: Any, table_name: str) -> None:
    dynamodb.create_table(**tables.create_table_arguments(table_name))
    dynamodb.get_waiter("table_exists").wait(
        TableName=table_name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50}
    )
    dynamodb.update_time_to_live(
        TableName=table_name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": tables.TTL_ATTRIBUTE},
    )


def provision(session: Any, names: LocalNames = LOCAL) -> dict[str, str]:
    """Create the table, bucket, bus, queues (with DLQs), rules and the SES identity.

    Returns the queue URLs by catalogue queue name.
    """
    create_table(session.client("dynamodb"), names.table)
    s3 = session.client("s3")
    s3.create_bucket(Bucket=names.bucket)
    session.client("sesv2").create_email_identity(EmailIdentity=names.sender)
    events = session.client("events")
    events.create_event_bus(Name=names.bus)
    sqs = session.client("sqs")
    queue_urls = {}
    for queue in (*catalogue.QUEUES, *catalogue.EXTERNAL_QUEUES):
        dlq_url = sqs.create_queue(QueueName=names.dead_letter_queue(queue.name))["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        url = sqs.create_queue(
            QueueName=names.queue(queue.name),
            Attributes={
                "VisibilityTimeout": str(queue.visibility_timeout_seconds),
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(queue.max_receive_count)}
                ),
            },
        )["QueueUrl"]
        queue_urls[queue.name] = url
        if queue in catalogue.EXTERNAL_QUEUES:
            continue  # fed by SES in AWS; locally only what a test puts on it
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        rule = f"{names.queue(queue.name)}-rule"
        events.put_rule(
            Name=rule,
            EventBusName=names.bus,
            EventPattern=json.dumps(
                {"source": [catalogue.EVENT_SOURCE], "detail-type": list(queue.detail_types)}
            ),
        )
        events.put_targets(Rule=rule, EventBusName=names.bus, Targets=[{"Id": queue.name, "Arn": arn}])
    return queue_urls
