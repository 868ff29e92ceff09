"""Every queue: fed by a rule on the bus, encrypted, TLS-only, with a DLQ and its alarms.

Run on every stack: the catalogue's queues, and the example's extra one.
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


def test_the_bus_is_named_by_stage_and_the_functions_are_told_its_name(
    stack: Deployment, production: Deployment
) -> None:
    for deployment, name in ((stack, "dev-licensing"), (production, "prod-licensing")):
        ((bus_id, bus),) = deployment.resources("AWS::Events::EventBus").items()
        assert bus["Properties"]["Name"] == name
        environment = deployment.function("license_api")[1]["Properties"]["Environment"]["Variables"]
        assert environment["EVENT_BUS_NAME"] == {"Ref": bus_id}


def test_each_queue_and_nothing_else_is_deployed(deployment: Deployment) -> None:
    scheduled = [spec for spec in deployment.functions if spec.schedule]
    # With mail_from: the queue of SES's bounce and complaint events, and its DLQ.
    mail = 2 if deployment.resources("AWS::SES::ConfigurationSet") else 0
    assert len(deployment.resources("AWS::SQS::Queue")) == 2 * len(deployment.queues) + len(scheduled) + mail
    assert len(deployment.resources("AWS::Events::Rule")) == len(deployment.queues) + mail // 2


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


def test_a_message_in_a_dead_letter_queue_and_one_near_expiry_raise_alarms(deployment: Deployment) -> None:
    topic = deployment.logical_id(f"{constants.MONITORING}{constants.ALARM_TOPIC}", "AWS::SNS::Topic")
    for spec in deployment.queues:
        _, dead_letter_id = _ids(deployment, spec)
        dimensions = [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dead_letter_id, "QueueName"]}}]
        for metric, threshold in (
            ("ApproximateNumberOfMessagesVisible", 1),
            # SQS drops a message after 14 days: the alarm leaves 4 to redrive it.
            ("ApproximateAgeOfOldestMessage", 10 * 24 * 3600),
        ):
            deployment.template.has_resource_properties(
                "AWS::CloudWatch::Alarm",
                {
                    "Namespace": "AWS/SQS",
                    "MetricName": metric,
                    "Dimensions": dimensions,
                    "Threshold": threshold,
                    "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                    "TreatMissingData": "notBreaching",
                    "AlarmActions": [{"Ref": topic}],
                },
            )
