"""The sender's SES domain identity and the configuration set that reports bounces and complaints.

Made only with ``-c mail_from=licenses@example.com``. The domain gets Easy DKIM (three CNAME
records) and a custom MAIL FROM domain (``bounce.example.com``: one MX and one TXT record), so
that SPF and DKIM both align with the From domain (DMARC). The configuration set is the identity's
default, so every mail sent from it reports:

- bounces and complaints to EventBridge's default bus (SES delivers only there), from where a rule
  of this stage (matched on the configuration set's name, since stages share the bus) feeds the
  ``mail_events`` queue, read by the ``ses_events`` function (licensing.services.suppression), which
  marks the contact suppressed;
- SES's own suppression of those addresses for this configuration set, and reputation metrics.
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import constants
from licensing import catalogue

MAIL_EVENTS = catalogue.MAIL_EVENTS.name
# What SES publishes to EventBridge for the two event types (detail-type).
SES_EVENT_TYPES = catalogue.MAIL_EVENTS.detail_types
RETENTION = Duration.days(14)


class Mail(Construct):
    """SES identity (DKIM, MAIL FROM), configuration set, and the queue of its bounce events."""

    def __init__(self, scope: Construct, construct_id: str, *, name_prefix: str, sender: str) -> None:
        super().__init__(scope, construct_id)
        domain = sender.rpartition("@")[2]
        self.configuration_set = ses.ConfigurationSet(
            self,
            constants.CONFIGURATION_SET,
            configuration_set_name=name_prefix,
            reputation_metrics=True,
            suppression_reasons=ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
        )
        self.configuration_set_name = name_prefix
        self.identity = ses.EmailIdentity(
            self,
            constants.EMAIL_IDENTITY,
            identity=ses.Identity.domain(domain),
            configuration_set=self.configuration_set,
            dkim_signing=True,
            mail_from_domain=f"{constants.MAIL_FROM_SUBDOMAIN}.{domain}",
            # Until the MX record exists, send from SES's own MAIL FROM rather than not at all.
            mail_from_behavior_on_mx_failure=ses.MailFromBehaviorOnMxFailure.USE_DEFAULT_VALUE,
        )
        default_bus = events.EventBus.from_event_bus_name(self, "DefaultBus", "default")
        ses.ConfigurationSetEventDestination(
            self,
            "BouncesAndComplaints",
            configuration_set=self.configuration_set,
            destination=ses.EventDestination.event_bus(default_bus),
            events=[ses.EmailSendingEvent.BOUNCE, ses.EmailSendingEvent.COMPLAINT],
        )
        self.dead_letter_queue = sqs.Queue(
            self,
            "MailEventsDeadLetterQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=RETENTION,
        )
        self.queue = sqs.Queue(
            self,
            "MailEventsQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=RETENTION,
            # As the catalogue's queues: six times the consuming function's timeout.
            visibility_timeout=Duration.seconds(catalogue.MAIL_EVENTS.visibility_timeout_seconds),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letter_queue, max_receive_count=catalogue.MAIL_EVENTS.max_receive_count
            ),
        )
        events.Rule(
            self,
            "MailEventsRule",
            event_bus=default_bus,
            description=f"SES bounces and complaints of the {name_prefix} configuration set.",
            event_pattern=events.EventPattern(
                source=["aws.ses"],
                detail_type=list(SES_EVENT_TYPES),
                detail={"mail": {"tags": {"ses:configuration-set": [name_prefix]}}},
            ),
            targets=[
                targets.SqsQueue(
                    self.queue,
                    dead_letter_queue=self.dead_letter_queue,
                    retry_attempts=185,
                    max_event_age=Duration.hours(24),
                )
            ],
        )
        # The DNS records the operator creates at the domain's DNS host (README: SES).
        for number in (1, 2, 3):
            CfnOutput(
                self,
                f"DkimRecord{number}",
                value=f"{getattr(self.identity, f'dkim_dns_token_name{number}')} CNAME "
                f"{getattr(self.identity, f'dkim_dns_token_value{number}')}",
                description=f"DKIM record {number} of {domain}.",
            )
        region = Stack.of(self).region
        CfnOutput(
            self,
            "MailFromMxRecord",
            value=f"{constants.MAIL_FROM_SUBDOMAIN}.{domain} MX 10 feedback-smtp.{region}.amazonses.com",
            description="MAIL FROM record (MX).",
        )
        CfnOutput(
            self,
            "MailFromTxtRecord",
            value=f'{constants.MAIL_FROM_SUBDOMAIN}.{domain} TXT "v=spf1 include:amazonses.com ~all"',
            description="MAIL FROM record (SPF).",
        )
