"""The stack of one stage of the license manager: it composes the constructs and nothing else."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, Stack, Tags
from constructs import Construct

from infra import constants
from infra.api import Api
from infra.functions import Backends, Functions, LayerAssets
from infra.mail import Mail
from infra.messaging import Messaging
from infra.monitoring import Monitoring
from infra.secrets import Secrets
from infra.storage import Storage
from licensing import catalogue

S3_LOGS_USE_BUCKET_POLICY = "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy"
# The version of a function (behind its alias) changes when a layer does, not only its code.
LAMBDA_RECOGNIZE_LAYER_VERSION = "@aws-cdk/aws-lambda:recognizeLayerVersion"
# Short: it starts every resource name, some of which AWS caps at 64 characters.
STAGE_PATTERN = re.compile(r"^[a-z][a-z0-9]{0,9}$")
DOMAIN_PATTERN = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
CERTIFICATE_ARN_PATTERN = re.compile(r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]+$")


def _is_address(value: str) -> bool:
    local, _, domain = value.partition("@")
    return bool(local) and "." in domain and " " not in value and "@" not in domain


@dataclass(frozen=True)
class LicensingConfig:
    """What a deployment decides; the functions and queues come from the catalogue.

    ``stage`` prefixes every name; ``domain`` with ``certificate_arn`` gives the API its address;
    ``alarm_email`` hears the alarms; ``mail_from``, when given, is the sender and gets an SES domain
    identity (else ``sender_email`` is, verified by the operator). API.md section 6.
    """

    sender_email: str
    vendor_name: str
    source_root: Path
    layers: LayerAssets
    functions: Sequence[catalogue.Function] = catalogue.FUNCTIONS
    queues: Sequence[catalogue.Queue] = catalogue.QUEUES
    stage: str = catalogue.DEFAULT_STAGE
    domain: str | None = None
    certificate_arn: str | None = None
    alarm_email: str | None = None
    # Where mail for the vendor's staff goes (renewal requests, a paid checkout without an email).
    staff_email: str | None = None
    mail_from: str | None = None
    monthly_budget_usd: int = constants.DEFAULT_MONTHLY_BUDGET_USD

    def __post_init__(self) -> None:
        if not _is_address(self.sender):
            raise ValueError(f"the sender email must be an address (an SES identity): {self.sender!r}")
        if not STAGE_PATTERN.match(self.stage):
            raise ValueError(
                "the stage must be 1 to 10 lowercase letters or digits, starting with a letter: "
                f"{self.stage!r}"
            )
        if (self.domain is None) != (self.certificate_arn is None):
            raise ValueError("a custom domain needs both `domain` and `certificate_arn`")
        if self.domain is not None and not DOMAIN_PATTERN.match(self.domain):
            raise ValueError(
                f"the domain must be a lowercase host name such as licenses.example.com: {self.domain!r}"
            )
        if self.certificate_arn is not None and not CERTIFICATE_ARN_PATTERN.match(self.certificate_arn):
            raise ValueError(f"the certificate_arn must be an ACM certificate ARN: {self.certificate_arn!r}")
        if self.alarm_email is not None and not _is_address(self.alarm_email):
            raise ValueError(f"the alarm_email must be an address: {self.alarm_email!r}")
        if self.staff_email is not None and not _is_address(self.staff_email):
            raise ValueError(f"the staff_email must be an address: {self.staff_email!r}")
        if self.monthly_budget_usd < 1:
            raise ValueError(f"the monthly budget must be at least 1 USD: {self.monthly_budget_usd!r}")

    @property
    def sender(self) -> str:
        return self.mail_from if self.mail_from is not None else self.sender_email

    @property
    def name_prefix(self) -> str:
        return catalogue.stack_name(self.stage)


class LicensingStack(Stack):
    """Storage, messaging, secrets, mail, the HTTP API, the catalogue's functions and monitoring."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: LicensingConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        # Access logs are delivered under a bucket policy rather than an ACL, so every bucket can
        # keep ACLs disabled (BucketOwnerEnforced).
        self.node.set_context(S3_LOGS_USE_BUCKET_POLICY, True)
        self.node.set_context(LAMBDA_RECOGNIZE_LAYER_VERSION, True)
        prefix = config.name_prefix
        Tags.of(self).add("licensing:stage", config.stage)
        monitoring = Monitoring(
            self,
            constants.MONITORING,
            name_prefix=prefix,
            alarm_email=config.alarm_email,
            monthly_budget_usd=config.monthly_budget_usd,
        )
        storage = Storage(self, constants.STORAGE)
        messaging = Messaging(self, constants.MESSAGING, name_prefix=prefix, queues=config.queues)
        secrets = Secrets(self, constants.SECRETS, name_prefix=prefix)
        mail = (
            Mail(self, constants.MAIL, name_prefix=prefix, sender=config.mail_from)
            if config.mail_from is not None
            else None
        )
        api = Api(
            self,
            constants.API,
            name_prefix=prefix,
            domain=config.domain,
            certificate_arn=config.certificate_arn,
        )
        queues = dict(messaging.queues)
        if mail is not None:
            queues[catalogue.MAIL_EVENTS.name] = mail.queue
        # A function fed by a queue the stage does not have (ses_events without `mail_from`) is left out.
        deployed = [spec for spec in config.functions if spec.queue is None or spec.queue in queues]
        functions = Functions(
            self,
            constants.FUNCTIONS,
            specs=deployed,
            source_root=config.source_root,
            layers=config.layers,
            backends=Backends(
                table=storage.table,
                release_bucket=storage.release_bucket,
                bus=messaging.bus,
                queues=queues,
                secrets=secrets,
                sender_email=config.sender,
                vendor_name=config.vendor_name,
                public_base_url=api.url,
                stage=config.stage,
                metrics_namespace=monitoring.namespace,
                configuration_set=mail.configuration_set_name if mail is not None else None,
                staff_email=config.staff_email,
            ),
        )
        api.add_routes(deployed, functions.aliases)

        monitoring.route_server_errors(api.access_logs, config.functions)
        monitoring.function_failures(functions.functions)
        for name, queue in messaging.dead_letter_queues.items():
            monitoring.dead_letters(name, queue, f"Messages of the {name} queue that failed")
            monitoring.dead_letter_age(name, queue)
        if mail is not None:
            name = catalogue.MAIL_EVENTS.name
            monitoring.dead_letters(name, mail.dead_letter_queue, "SES bounces and complaints that failed")
            monitoring.dead_letter_age(name, mail.dead_letter_queue)
        for name, queue in functions.failure_queues.items():
            monitoring.dead_letters(f"{name}-failures", queue, f"Failed runs of {name} (after retries)")
        monitoring.mail_reputation()
        monitoring.table_throttles(storage.table)
        monitoring.dashboard(api.http_api.api_id)

        CfnOutput(self, constants.API_URL_OUTPUT, value=api.url, description="The API's base URL.")
        # The staff CLI finds the resources of the stack through these outputs.
        CfnOutput(self, catalogue.OUTPUT_TABLE, value=storage.table.table_name, description="The table.")
        CfnOutput(
            self,
            catalogue.OUTPUT_RELEASE_BUCKET,
            value=storage.release_bucket.bucket_name,
            description="The release files.",
        )
        CfnOutput(
            self, catalogue.OUTPUT_EVENT_BUS, value=messaging.bus.event_bus_name, description="The bus."
        )
