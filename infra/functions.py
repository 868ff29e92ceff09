"""One Lambda function per catalogue entry, each with only the rights the catalogue gives it.

A catalogue right becomes the narrowest ``grant_*`` helper CDK has for it plus the environment
variables that name the granted resource. A function with a queue is fed by it; a function with
a schedule is invoked by EventBridge Scheduler through a role that may invoke nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import formataddr
from pathlib import Path

from aws_cdk import Acknowledgment, CfnElement, Duration, Stack, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from constructs import Construct, IConstruct

from infra import constants
from infra.secrets import Secrets
from licensing import catalogue

RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.ARM_64
LOG_RETENTION = logs.RetentionDays.THREE_MONTHS
_NEVER_SHIPPED = ["__pycache__", "*.pyc"]


@dataclass(frozen=True)
class LayerAssets:
    """Folders laid out as Lambda layers (``python/...``), see ``infra.build``."""

    licensing: Path
    dependencies: Path


@dataclass(frozen=True)
class Backends:
    """What the functions may be granted, and the values their environment names."""

    table: dynamodb.TableV2
    release_bucket: s3.IBucket
    bus: events.IEventBus
    queues: Mapping[str, sqs.IQueue]
    secrets: Secrets
    sender_email: str
    vendor_name: str
    public_base_url: str


@dataclass(frozen=True)
class _Right:
    """A catalogue right: the variables naming its resource, its grant, and the wildcards that
    grant writes (cdk-nag finding -> why it is no wider than the right)."""

    environment: Mapping[str, str]
    grant: Callable[[iam.IGrantable], object]
    wildcards: Mapping[str, str] = field(default_factory=dict)


class Functions(Construct):
    """The catalogue's functions with their layers, roles, log groups, queues and schedules."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        specs: Sequence[catalogue.Function],
        source_root: Path,
        layers: LayerAssets,
        backends: Backends,
    ) -> None:
        super().__init__(scope, construct_id)
        self._backends = backends
        self._rights = self._catalogue_rights()
        self._layers = [
            self._layer(constants.LICENSING_LAYER, layers.licensing, "The licensing package and templates."),
            self._layer(constants.DEPENDENCIES_LAYER, layers.dependencies, "Pinned third-party packages."),
        ]
        self.functions: dict[str, lambda_.Function] = {}
        for spec in specs:
            self.functions[spec.name] = self._function(spec, source_root)

    def _layer(self, construct_id: str, folder: Path, description: str) -> lambda_.LayerVersion:
        return lambda_.LayerVersion(
            self,
            construct_id,
            code=lambda_.Code.from_asset(str(folder), exclude=_NEVER_SHIPPED),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description=description,
        )

    def _catalogue_rights(self) -> dict[str, _Right]:
        backends = self._backends
        secrets = backends.secrets
        table = {constants.ENV_TABLE: backends.table.table_name}
        table_indexes = {
            f"Resource::{self._arn(backends.table)}/index/*": "Queries on the indexes of this one table "
            "(licensing.tables.INDEXES); the index ARNs exist only as this pattern.",
        }
        bucket = {constants.ENV_RELEASE_BUCKET: backends.release_bucket.bucket_name}
        bucket_objects = {
            f"Resource::{self._arn(backends.release_bucket)}/*": "The objects of the release bucket, "
            "whose keys are release files named at run time; no other bucket.",
        }
        return {
            catalogue.TABLE_READ: _Right(table, backends.table.grant_read_data, table_indexes),
            catalogue.TABLE_WRITE: _Right(table, backends.table.grant_write_data, table_indexes),
            catalogue.BUCKET_READ: _Right(
                bucket,
                backends.release_bucket.grant_read,
                {
                    **bucket_objects,
                    **{
                        f"Action::s3:{family}*": f"CDK's grant_read: the read-only s3:{family}* family "
                        "(object versions and attributes for downloads), on the release bucket only."
                        for family in ("GetObject", "GetBucket", "List")
                    },
                },
            ),
            catalogue.BUCKET_WRITE: _Right(
                bucket,
                backends.release_bucket.grant_put,
                {
                    **bucket_objects,
                    "Action::s3:Abort*": "CDK's grant_put: aborting its own multipart uploads of "
                    "large release files, on the release bucket only.",
                },
            ),
            catalogue.EVENTS_PUT: _Right(
                {constants.ENV_EVENT_BUS: backends.bus.event_bus_name}, backends.bus.grant_put_events_to
            ),
            catalogue.MAIL_SEND: _Right(
                {constants.ENV_MAIL_FROM: formataddr((backends.vendor_name, backends.sender_email))},
                self._grant_mail,
            ),
            catalogue.STRIPE_WEBHOOK_SECRET: _Right(
                {constants.ENV_STRIPE_WEBHOOK_SECRET_ARN: secrets.stripe_webhook_secret.secret_arn},
                secrets.stripe_webhook_secret.grant_read,
            ),
            catalogue.STRIPE_API_KEY: _Right(
                {constants.ENV_STRIPE_API_KEY_SECRET_ARN: secrets.stripe_api_key.secret_arn},
                secrets.stripe_api_key.grant_read,
            ),
            catalogue.SIGNING_KEY: _Right(
                {constants.ENV_SIGNING_KEY_SECRET_ARN: secrets.signing_key.secret_arn},
                secrets.signing_key.grant_read,
            ),
        }

    def _arn(self, resource: IConstruct) -> str:
        # How cdk-nag names a resource's ARN in a finding: "<LogicalId.Arn>".
        stack = Stack.of(self)
        default_child = resource.node.default_child
        assert isinstance(default_child, CfnElement)
        return f"<{stack.resolve(stack.get_logical_id(default_child))}.Arn>"

    def _grant_mail(self, grantee: iam.IGrantable) -> iam.Grant:
        # SES authorizes a send against the verified identity: the address itself or its domain,
        # whichever the operator verified. Nothing else may be sent from.
        stack = Stack.of(self)
        address = self._backends.sender_email
        identities = (address, address.rpartition("@")[2])
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["ses:SendEmail", "ses:SendRawEmail"],
            resource_arns=[
                stack.format_arn(service="ses", resource="identity", resource_name=identity)
                for identity in identities
            ],
        )

    def _function(self, spec: catalogue.Function, source_root: Path) -> lambda_.Function:
        unknown = sorted(set(spec.rights) - self._rights.keys())
        if unknown:
            raise ValueError(f"function {spec.name}: the stack has no grant for rights {unknown}")
        prefix = constants.pascal(spec.name)
        # An explicit role, not the default one: that would carry the AWSLambdaBasicExecutionRole
        # managed policy, which may write to every log group of the account.
        role = iam.Role(
            self,
            f"{prefix}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"The {spec.name} function: only the rights the catalogue gives it.",
        )
        log_group = logs.LogGroup(self, f"{prefix}Logs", retention=LOG_RETENTION)
        log_group.grant_write(role)
        environment = {
            "POWERTOOLS_SERVICE_NAME": spec.name,
            "LOG_LEVEL": constants.LOG_LEVEL,
            constants.ENV_VENDOR_NAME: self._backends.vendor_name,
            constants.ENV_PUBLIC_BASE_URL: self._backends.public_base_url,
            constants.ENV_TEMPLATES_DIR: constants.LAMBDA_TEMPLATES_DIR,
        }
        wildcards: dict[str, str] = {}
        for right in spec.rights:
            environment.update(self._rights[right].environment)
            wildcards.update(self._rights[right].wildcards)
            self._rights[right].grant(role)
        _acknowledge_wildcards(role, wildcards)
        environment.update(spec.extra_environment)

        function = lambda_.Function(
            self,
            f"{prefix}Function",
            description=spec.description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            code=lambda_.Code.from_asset(str(source_root / spec.source_dir), exclude=_NEVER_SHIPPED),
            handler=spec.handler,
            timeout=Duration.seconds(spec.timeout_seconds),
            memory_size=spec.memory_mb,
            layers=self._layers,
            environment=environment,
            role=role,
            log_group=log_group,
        )
        if spec.queue is not None:
            function.add_event_source(
                event_sources.SqsEventSource(
                    self._backends.queues[spec.queue],
                    batch_size=spec.batch_size,
                    report_batch_item_failures=True,
                )
            )
        if spec.schedule is not None:
            self._schedule(spec, spec.schedule, prefix, function)
        return function

    def _schedule(
        self, spec: catalogue.Function, expression: str, prefix: str, function: lambda_.Function
    ) -> None:
        role = iam.Role(
            self,
            f"{prefix}ScheduleRole",
            # Only schedules of this account may use the role (no confused deputy).
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
            ),
            description=f"EventBridge Scheduler: invoke the {spec.name} function, nothing else.",
        )
        function.grant_invoke(role)
        _acknowledge_wildcards(
            role,
            {
                f"Resource::{self._arn(function)}:*": "CDK's grant_invoke: the versions and aliases "
                "of this one function.",
            },
        )
        scheduler.CfnSchedule(
            self,
            f"{prefix}Schedule",
            description=f"Runs {spec.name}: {spec.description}",
            schedule_expression=expression,
            schedule_expression_timezone="UTC",
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            target=scheduler.CfnSchedule.TargetProperty(
                arn=function.function_arn,
                role_arn=role.role_arn,
                # The function learns which day it runs for, even when a run is retried later.
                input=json.dumps({"scheduled_time": "<aws.scheduler.scheduled-time>"}),
            ),
        )


def _acknowledge_wildcards(role: iam.IRole, wildcards: Mapping[str, str]) -> None:
    if not wildcards:
        return
    Validations.of(role).acknowledge(
        *(
            Acknowledgment(id=f"AwsSolutions-IAM5[{finding}]", reason=reason)
            for finding, reason in wildcards.items()
        )
    )
