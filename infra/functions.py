"""One Lambda function per catalogue entry, each with only the rights the catalogue gives it.

A catalogue right becomes the narrowest statement for it (explicit actions: CDK's ``grant_read_data``
would add Scan and stream reads) plus the environment variables that name the granted resource.
Every function is reached through its ``live`` alias (routes, queue mapping, schedule), so that a
deploy switches its code and its layers together. A function with a queue is fed by it; a
function with a schedule is invoked by EventBridge Scheduler through a role that may invoke
nothing else, with retries, and a failed run lands in a dead-letter queue that is alarmed.
Functions trace with X-Ray and log JSON.
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
from aws_cdk import aws_lambda_destinations as destinations
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
# The layers keep the byte code `make build` compiled for the runtime (infra/build.py), and no other.
_LAYER_BYTE_CODE = f"*.{RUNTIME.name.replace('python', 'cpython-').replace('.', '')}.pyc"
_LAYER_NEVER_SHIPPED = ["*.pyc", f"!{_LAYER_BYTE_CODE}"]
# Release files live under this prefix of the bucket (licensing.services.releases).
RELEASE_OBJECTS = "releases/*"
TABLE_READ_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:ConditionCheckItem",
)
TABLE_WRITE_ACTIONS = (
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
)
# A failed scheduled run is retried: by Scheduler when it cannot invoke, by Lambda when the run fails.
SCHEDULE_RETRIES = 3
SCHEDULE_MAX_EVENT_AGE = Duration.hours(6)
ASYNC_RETRIES = 2
FAILURE_RETENTION = Duration.days(14)


@dataclass(frozen=True)
class SdkTimeouts:
    """boto3's connect and read timeouts and attempts, so that its worst case fits the function's."""

    connect_seconds: int
    read_seconds: int
    max_attempts: int

    @classmethod
    def within(cls, function_timeout_seconds: int) -> SdkTimeouts:
        attempts = 3 if function_timeout_seconds >= 60 else 2 if function_timeout_seconds >= 8 else 1
        connect = 2 if function_timeout_seconds >= 20 else 1
        # Standard retry mode waits up to 2**n seconds before retry n+1; a fifth is left for the work.
        backoff = 2 ** (attempts - 1) - 1
        read = (int(function_timeout_seconds * 0.8) - backoff) // attempts - connect
        return cls(connect_seconds=connect, read_seconds=max(1, min(read, 20)), max_attempts=attempts)

    @property
    def worst_case_seconds(self) -> int:
        return (
            self.max_attempts * (self.connect_seconds + self.read_seconds) + 2 ** (self.max_attempts - 1) - 1
        )


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
    stage: str
    metrics_namespace: str
    # The SES configuration set of the stage, when it has one (`mail_from`).
    configuration_set: str | None = None
    # The vendor's staff address (`staff_email`), for the mails that go to them.
    staff_email: str | None = None


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
        self.aliases: dict[str, lambda_.Alias] = {}
        # Per scheduled function: where its failed runs go.
        self.failure_queues: dict[str, sqs.Queue] = {}
        for spec in specs:
            self.functions[spec.name] = self._function(spec, source_root)

    def _layer(self, construct_id: str, folder: Path, description: str) -> lambda_.LayerVersion:
        return lambda_.LayerVersion(
            self,
            construct_id,
            code=lambda_.Code.from_asset(str(folder), exclude=_LAYER_NEVER_SHIPPED),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description=description,
        )

    def _catalogue_rights(self) -> dict[str, _Right]:
        backends = self._backends
        secrets = backends.secrets
        table_arn = backends.table.table_arn
        table = {constants.ENV_TABLE: backends.table.table_name}
        table_indexes = {
            f"Resource::{self._arn(backends.table)}/index/*": "Queries on the indexes of this one table "
            "(licensing.tables.INDEXES); the index ARNs exist only as this pattern.",
        }
        bucket = {constants.ENV_RELEASE_BUCKET: backends.release_bucket.bucket_name}
        release_objects = backends.release_bucket.arn_for_objects(RELEASE_OBJECTS)
        bucket_objects = {
            f"Resource::{self._arn(backends.release_bucket)}/{RELEASE_OBJECTS}": "The release files of the "
            "release bucket, whose keys are named at run time (releases/PRODUCT/VERSION/FILE); no other "
            "object or bucket.",
        }

        def statement(actions: tuple[str, ...], resources: list[str]) -> Callable[[iam.IGrantable], object]:
            return lambda grantee: iam.Grant.add_to_principal(
                grantee=grantee, actions=list(actions), resource_arns=resources
            )

        mail = {constants.ENV_MAIL_FROM: formataddr((backends.vendor_name, backends.sender_email))}
        if backends.configuration_set is not None:
            mail[constants.ENV_SES_CONFIGURATION_SET] = backends.configuration_set
        if backends.staff_email is not None:
            mail[constants.ENV_STAFF_EMAIL] = backends.staff_email
        return {
            catalogue.TABLE_READ: _Right(
                table, statement(TABLE_READ_ACTIONS, [table_arn, f"{table_arn}/index/*"]), table_indexes
            ),
            catalogue.TABLE_WRITE: _Right(table, statement(TABLE_WRITE_ACTIONS, [table_arn])),
            # Presigned downloads are authorized as the function's own GetObject.
            catalogue.BUCKET_READ: _Right(
                bucket, statement(("s3:GetObject",), [release_objects]), bucket_objects
            ),
            catalogue.BUCKET_WRITE: _Right(
                bucket,
                statement(("s3:PutObject", "s3:AbortMultipartUpload"), [release_objects]),
                bucket_objects,
            ),
            catalogue.EVENTS_PUT: _Right(
                {constants.ENV_EVENT_BUS: backends.bus.event_bus_name}, backends.bus.grant_put_events_to
            ),
            catalogue.MAIL_SEND: _Right(
                mail,
                self._grant_mail,
                {
                    "Resource::*": "ses:GetAccount (the account's send rate and daily quota, which the "
                    "pacing of mail reads) has no resource-level permission: it is the account's own."
                },
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
            catalogue.TOKEN_KEY: _Right(
                {constants.ENV_TOKEN_KEY_SECRET_ARN: secrets.token_key.secret_arn},
                secrets.token_key.grant_read,
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
        resources = [
            stack.format_arn(service="ses", resource="identity", resource_name=identity)
            for identity in identities
        ]
        # A send through a configuration set is authorized against the set too.
        if self._backends.configuration_set is not None:
            resources.append(
                stack.format_arn(
                    service="ses",
                    resource="configuration-set",
                    resource_name=self._backends.configuration_set,
                )
            )
        # The send rate and daily quota that pacing keeps below (services/pacing.py).
        iam.Grant.add_to_principal(grantee=grantee, actions=["ses:GetAccount"], resource_arns=["*"])
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=["ses:SendEmail", "ses:SendRawEmail"], resource_arns=resources
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
        sdk = SdkTimeouts.within(spec.timeout_seconds)
        environment = {
            **catalogue.RUNTIME_ENVIRONMENT,
            "POWERTOOLS_SERVICE_NAME": spec.name,
            "POWERTOOLS_LOG_LEVEL": constants.LOG_LEVEL,
            "POWERTOOLS_METRICS_NAMESPACE": self._backends.metrics_namespace,
            # Answers carry license keys and signed tokens: traces keep neither.
            "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
            "LOG_LEVEL": constants.LOG_LEVEL,
            constants.ENV_STAGE: self._backends.stage,
            constants.ENV_VENDOR_NAME: self._backends.vendor_name,
            constants.ENV_PUBLIC_BASE_URL: self._backends.public_base_url,
            constants.ENV_TEMPLATES_DIR: constants.LAMBDA_TEMPLATES_DIR,
            constants.ENV_SDK_CONNECT_TIMEOUT: str(sdk.connect_seconds),
            constants.ENV_SDK_READ_TIMEOUT: str(sdk.read_seconds),
            constants.ENV_SDK_MAX_ATTEMPTS: str(sdk.max_attempts),
        }
        wildcards: dict[str, str] = {
            "Resource::*": "X-Ray's PutTraceSegments and PutTelemetryRecords (active tracing) have no "
            "resource-level permissions.",
        }
        for right in spec.rights:
            environment.update(self._rights[right].environment)
            wildcards.update(self._rights[right].wildcards)
            self._rights[right].grant(role)
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
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel.INFO,
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
            tracing=lambda_.Tracing.ACTIVE,
            reserved_concurrent_executions=spec.reserved_concurrency,
        )
        # The version (and so the alias) changes with the code, the configuration and the layers.
        alias = lambda_.Alias(
            self, f"{prefix}LiveAlias", alias_name=constants.LIVE_ALIAS, version=function.current_version
        )
        self.aliases[spec.name] = alias
        if spec.queue is not None:
            alias.add_event_source(
                event_sources.SqsEventSource(
                    self._backends.queues[spec.queue],
                    batch_size=spec.batch_size,
                    report_batch_item_failures=True,
                    max_concurrency=spec.max_concurrency,
                )
            )
        if spec.schedule is not None:
            self._schedule(spec, spec.schedule, prefix, alias)
        _acknowledge_wildcards(role, wildcards)
        return function

    def _schedule(self, spec: catalogue.Function, expression: str, prefix: str, alias: lambda_.Alias) -> None:
        failures = sqs.Queue(
            self,
            f"{prefix}FailuresQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=FAILURE_RETENTION,
        )
        self.failure_queues[spec.name] = failures
        Validations.of(failures).acknowledge(
            Acknowledgment(
                id="AwsSolutions-SQS3",
                reason="This queue is itself the dead-letter queue of the schedule and of the "
                "function's asynchronous invocations (their DeadLetterConfig and OnFailure name it), "
                "which cdk-nag does not recognise as such.",
            )
        )
        # Scheduler invokes asynchronously: a run that fails is Lambda's to retry, then to report.
        alias.configure_async_invoke(
            retry_attempts=ASYNC_RETRIES,
            max_event_age=SCHEDULE_MAX_EVENT_AGE,
            on_failure=destinations.SqsDestination(failures),
        )
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
        alias.grant_invoke(role)
        failures.grant_send_messages(role)
        scheduler.CfnSchedule(
            self,
            f"{prefix}Schedule",
            description=f"Runs {spec.name}: {spec.description}",
            schedule_expression=expression,
            schedule_expression_timezone="UTC",
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            target=scheduler.CfnSchedule.TargetProperty(
                arn=alias.function_arn,
                role_arn=role.role_arn,
                # The function learns which day it runs for, even when a run is retried later.
                input=json.dumps({"scheduled_time": "<aws.scheduler.scheduled-time>"}),
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                    maximum_retry_attempts=SCHEDULE_RETRIES,
                    maximum_event_age_in_seconds=int(SCHEDULE_MAX_EVENT_AGE.to_seconds()),
                ),
                dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(arn=failures.queue_arn),
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
