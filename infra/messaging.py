"""The event bus and, per catalogue queue, an SQS queue fed by a rule, and its DLQ (alarmed by Monitoring)."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import constants
from licensing import catalogue

# The longest SQS allows: time for an operator to fix the cause and redrive.
DEAD_LETTER_RETENTION = Duration.days(14)


class Messaging(Construct):
    """Domain events on a custom EventBridge bus, routed by detail type to worker queues."""

    def __init__(
        self, scope: Construct, construct_id: str, *, name_prefix: str, queues: Sequence[catalogue.Queue]
    ) -> None:
        super().__init__(scope, construct_id)
        # Named by stage: two stages of one account have a bus each.
        self.bus = events.EventBus(self, constants.EVENT_BUS, event_bus_name=name_prefix)
        self.queues: dict[str, sqs.Queue] = {}
        self.dead_letter_queues: dict[str, sqs.Queue] = {}
        for spec in queues:
            self._add_queue(spec)

    def _add_queue(self, spec: catalogue.Queue) -> None:
        prefix = constants.pascal(spec.name)
        dead_letter_queue = sqs.Queue(
            self,
            f"{prefix}DeadLetterQueue",
            # SQS-managed keys, not KMS: EventBridge cannot send to a queue under the AWS-managed KMS key.
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=DEAD_LETTER_RETENTION,
        )
        queue = sqs.Queue(
            self,
            f"{prefix}Queue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            visibility_timeout=Duration.seconds(spec.visibility_timeout_seconds),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=dead_letter_queue, max_receive_count=spec.max_receive_count
            ),
        )
        events.Rule(
            self,
            f"{prefix}Rule",
            event_bus=self.bus,
            event_pattern=events.EventPattern(
                source=[catalogue.EVENT_SOURCE], detail_type=list(spec.detail_types)
            ),
            # An event EventBridge cannot deliver (the queue unavailable for a day) lands in the
            # dead-letter queue too, rather than being dropped.
            targets=[
                targets.SqsQueue(
                    queue,
                    dead_letter_queue=dead_letter_queue,
                    retry_attempts=185,
                    max_event_age=Duration.hours(24),
                )
            ],
        )
        self.queues[spec.name] = queue
        self.dead_letter_queues[spec.name] = dead_letter_queue
