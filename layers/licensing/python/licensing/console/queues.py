"""The mail queues' depths for the overview: how many notifications wait and how many were
dead-lettered. Read where their names are known (the local system's); elsewhere None."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .. import catalogue


def local_mail_queues() -> list[dict[str, Any]] | None:
    from ..adapters.aws import client
    from ..devserver.resources import LOCAL

    sqs = client("sqs")
    rows: list[dict[str, Any]] = []
    try:
        for queue in catalogue.QUEUES:
            row: dict[str, Any] = {"name": queue.name}
            for column, name in (
                ("waiting", LOCAL.queue(queue.name)),
                ("dead", LOCAL.dead_letter_queue(queue.name)),
            ):
                url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
                counts = sqs.get_queue_attributes(
                    QueueUrl=url,
                    AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
                )["Attributes"]
                row[column] = sum(int(value) for value in counts.values())
            rows.append(row)
    except (BotoCoreError, ClientError):
        return None  # not readable with these credentials: the overview says so
    return rows
