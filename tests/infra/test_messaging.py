"""Every queue: fed by a rule on the bus, encrypted, TLS-only, with a DLQ and an alarm.

Run on both stacks: the catalogue's queues, and the example's extra one.
"""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Match

from infra import constants
from licensing import catalogue
from tests.infra.conftest import Deployment


def _ids(deployment: Deployment, spec: catalogue.Queue) -> tuple[str, str]:
    prefix = f"{constants.MESSAGING}{constants.pascal(spec.name)}"
    queue = deployment.logical_id(f"{prefix}Queue", "AWS::SQS::Queue")
    dead_letter_queue = deployment.logical_id(f"{prefix}DeadLetterQueue", "AWS::SQS::Queue")
    return queue, dead_letter_queue


def _statement(statement: dict[str, Any]) -> dict[str, Any]:
    return {"PolicyDocument": {"Statement": Match.array_with([Match.object_like(statement)])}}


def test_the_bus_has_the_name_the_functions_default_to(stack: Deployment) -> None:
    stack.template.has_resource_properties("AWS::Events::EventBus", {"Name": constants.EVENT_BUS_NAME})


def test_each_queue_and_nothing_else_is_deployed(deployment: Deployment) -> None:
    assert len(deployment.resources("AWS::SQS::Queue")) == 2 * len(deployment.queues)
    assert len(deployment.resources("AWS::Events::Rule")) == len(deployment.queues)
    assert len(deployment.resources("AWS::CloudWatch::Alarm")) == len(deployment.queues)


def test_each_queue_redrives_to_its_dead_letter_queue(deployment: Deployment) -> None:
    queues = deployment.resources("AWS::SQS::Queue")
    for spec in deployment.queues:
        queue_id, dead_letter_id = _ids(deployment, spec)
        assert queues[queue_id]["Properties"]["RedrivePolicy"] == {
            "deadLetterTargetArn": {"Fn::GetAtt": [dead_letter_id, "Arn"]},
            "maxReceiveCount": spec.max_receive_count,
        }
        assert queues[queue_id]["Properties"]["VisibilityTimeout"] == spec.visibility_timeout_seconds
        assert queues[dead_letter_id]["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600


def test_queues_are_encrypted_and_refuse_requests_without_tls(deployment: Deployment) -> None:
    queues = deployment.resources("AWS::SQS::Queue")
    for spec in deployment.queues:
        for logical_id in _ids(deployment, spec):
            assert queues[logical_id]["Properties"]["SqsManagedSseEnabled"] is True
            deployment.template.has_resource_properties(
                "AWS::SQS::QueuePolicy",
                {
                    "Queues": [{"Ref": logical_id}],
                    **_statement(
                        {
                            "Effect": "Deny",
                            "Action": "sqs:*",
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    ),
                },
            )


def test_each_rule_sends_its_queue_the_detail_types_from_the_bus(deployment: Deployment) -> None:
    bus_id = deployment.logical_id(f"{constants.MESSAGING}{constants.EVENT_BUS}", "AWS::Events::EventBus")
    for spec in deployment.queues:
        queue_id, dead_letter_id = _ids(deployment, spec)
        rule_id = deployment.logical_id(
            f"{constants.MESSAGING}{constants.pascal(spec.name)}Rule", "AWS::Events::Rule"
        )
        rule = deployment.resources("AWS::Events::Rule")[rule_id]["Properties"]
        assert rule["EventBusName"] == {"Ref": bus_id}
        # What EventBridge cannot deliver within a day goes to the dead-letter queue, not away.
        (target,) = rule["Targets"]
        assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [dead_letter_id, "Arn"]}}
        assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}
        assert rule["EventPattern"] == {
            "source": [catalogue.EVENT_SOURCE],
            "detail-type": list(spec.detail_types),
        }
        assert [target["Arn"] for target in rule["Targets"]] == [{"Fn::GetAtt": [queue_id, "Arn"]}]
        # EventBridge may send to the queue for this rule only.
        deployment.template.has_resource_properties(
            "AWS::SQS::QueuePolicy",
            {
                "Queues": [{"Ref": queue_id}],
                **_statement(
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "events.amazonaws.com"},
                        "Condition": {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]}}},
                    }
                ),
            },
        )


def test_a_message_in_a_dead_letter_queue_raises_an_alarm(deployment: Deployment) -> None:
    for spec in deployment.queues:
        _, dead_letter_id = _ids(deployment, spec)
        deployment.template.has_resource_properties(
            "AWS::CloudWatch::Alarm",
            {
                "Namespace": "AWS/SQS",
                "MetricName": "ApproximateNumberOfMessagesVisible",
                "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dead_letter_id, "QueueName"]}}],
                "Threshold": 1,
                "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                "TreatMissingData": "notBreaching",
            },
        )
