"""Each catalogue function: runtime, layers, environment, triggers, and only the rights it is given.

Most tests run on both stacks (``deployment``): the real catalogue, and the example catalogue
that uses every right and trigger.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

from infra import build, constants
from infra.functions import LayerAssets, SdkTimeouts
from infra.stack import LicensingConfig, LicensingStack
from licensing import catalogue
from licensing.settings import Settings
from tests.infra.conftest import (
    EXAMPLE_FUNCTIONS,
    PRODUCTION,
    PRODUCTION_STACK_NAME,
    ROOT,
    SENDER_EMAIL,
    VENDOR_NAME,
    Deployment,
    Synthesis,
)

# What each right must put in a function's environment, and the only IAM service it may open.
RIGHTS: dict[str, tuple[str, str]] = {
    catalogue.TABLE_READ: (constants.ENV_TABLE, "dynamodb"),
    catalogue.TABLE_WRITE: (constants.ENV_TABLE, "dynamodb"),
    catalogue.BUCKET_READ: (constants.ENV_RELEASE_BUCKET, "s3"),
    catalogue.BUCKET_WRITE: (constants.ENV_RELEASE_BUCKET, "s3"),
    catalogue.EVENTS_PUT: (constants.ENV_EVENT_BUS, "events"),
    catalogue.MAIL_SEND: (constants.ENV_MAIL_FROM, "ses"),
    catalogue.STRIPE_WEBHOOK_SECRET: (constants.ENV_STRIPE_WEBHOOK_SECRET_ARN, "secretsmanager"),
    catalogue.STRIPE_API_KEY: (constants.ENV_STRIPE_API_KEY_SECRET_ARN, "secretsmanager"),
    catalogue.SIGNING_KEY: (constants.ENV_SIGNING_KEY_SECRET_ARN, "secretsmanager"),
    catalogue.TOKEN_KEY: (constants.ENV_TOKEN_KEY_SECRET_ARN, "secretsmanager"),
}
SECRET_OF_RIGHT = {
    catalogue.STRIPE_WEBHOOK_SECRET: constants.STRIPE_WEBHOOK_SECRET,
    catalogue.STRIPE_API_KEY: constants.STRIPE_API_KEY_SECRET,
    catalogue.SIGNING_KEY: constants.SIGNING_KEY_SECRET,
    catalogue.TOKEN_KEY: constants.TOKEN_KEY_SECRET,
}
POWERTOOLS = {
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_LOG_LEVEL",
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_TRACER_CAPTURE_RESPONSE",
    "LOG_LEVEL",
}
SDK = {constants.ENV_SDK_CONNECT_TIMEOUT, constants.ENV_SDK_READ_TIMEOUT, constants.ENV_SDK_MAX_ATTEMPTS}
ALWAYS = (
    POWERTOOLS
    | SDK
    | {
        constants.ENV_STAGE,
        constants.ENV_VENDOR_NAME,
        constants.ENV_PUBLIC_BASE_URL,
        constants.ENV_TEMPLATES_DIR,
        "PYDANTIC_DISABLE_PLUGINS",
    }
)


def _properties(deployment: Deployment, spec: catalogue.Function) -> dict[str, Any]:
    return deployment.function(spec.name)[1]["Properties"]


def _services(statements: list[dict[str, Any]]) -> set[str]:
    return {action.split(":")[0] for statement in statements for action in Deployment.actions(statement)}


def test_the_example_catalogue_exercises_every_right_and_trigger() -> None:
    assert {right for spec in EXAMPLE_FUNCTIONS for right in spec.rights} == set(RIGHTS)
    assert any(spec.routes for spec in EXAMPLE_FUNCTIONS)
    assert any(spec.queue for spec in EXAMPLE_FUNCTIONS)
    assert any(spec.schedule for spec in EXAMPLE_FUNCTIONS)


def test_every_function_runs_python_3_14_on_arm_with_both_layers(deployment: Deployment) -> None:
    licensing_layer = deployment.logical_id(
        f"{constants.FUNCTIONS}{constants.LICENSING_LAYER}", "AWS::Lambda::LayerVersion"
    )
    dependencies_layer = deployment.logical_id(
        f"{constants.FUNCTIONS}{constants.DEPENDENCIES_LAYER}", "AWS::Lambda::LayerVersion"
    )
    # The catalogue's functions and the custom resource that seeds the keys.
    assert len(deployment.resources("AWS::Lambda::Function")) == len(deployment.functions) + 1
    for spec in deployment.functions:
        properties = _properties(deployment, spec)
        assert properties["Runtime"] == "python3.14"
        assert properties["Architectures"] == ["arm64"]
        assert properties["Handler"] == spec.handler
        assert properties["Timeout"] == spec.timeout_seconds
        assert properties["MemorySize"] == spec.memory_mb
        assert properties["Description"] == spec.description
        # Their files never overlap, so their order does not matter.
        assert sorted(layer["Ref"] for layer in properties["Layers"]) == sorted(
            [licensing_layer, dependencies_layer]
        )
    for layer in deployment.resources("AWS::Lambda::LayerVersion").values():
        assert layer["Properties"]["CompatibleRuntimes"] == ["python3.14"]
        assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]


def test_the_layers_ship_the_byte_code_built_for_lambdas_python_and_no_other(
    stack: Deployment, synthesis: Synthesis
) -> None:
    dependencies_layer = stack.logical_id(
        f"{constants.FUNCTIONS}{constants.DEPENDENCIES_LAYER}", "AWS::Lambda::LayerVersion"
    )
    content = stack.resources("AWS::Lambda::LayerVersion")[dependencies_layer]["Properties"]["Content"]
    # The asset is staged in the cloud assembly under its hash, as it will be zipped.
    staged = synthesis.outdir / f"asset.{content['S3Key'].removesuffix('.zip')}"
    shipped = {path.name for path in (staged / "python" / "compiled" / "__pycache__").iterdir()}
    # make build compiles for python3.14 (infra/build.py); byte code of another Python is dead weight.
    assert shipped == {"module.cpython-314.pyc"}


def test_environment_names_what_each_right_grants_and_nothing_more(deployment: Deployment) -> None:
    api = deployment.logical_id(f"{constants.API}{constants.HTTP_API}", "AWS::ApiGatewayV2::Api")
    table = deployment.logical_id(f"{constants.STORAGE}{constants.TABLE}", "AWS::DynamoDB::GlobalTable")
    for spec in deployment.functions:
        environment = _properties(deployment, spec)["Environment"]["Variables"]
        expected = ALWAYS | {RIGHTS[right][0] for right in spec.rights} | set(spec.extra_environment)
        if catalogue.MAIL_SEND in spec.rights and deployment.resources("AWS::SES::ConfigurationSet"):
            expected.add(constants.ENV_SES_CONFIGURATION_SET)
        if catalogue.MAIL_SEND in spec.rights and deployment.name == PRODUCTION_STACK_NAME:
            # The staff address (`staff_email`) reaches the function that mails staff.
            expected.add(constants.ENV_STAFF_EMAIL)
        assert set(environment) == expected, spec.name
        assert environment["POWERTOOLS_SERVICE_NAME"] == spec.name
        assert environment[constants.ENV_VENDOR_NAME] == VENDOR_NAME
        if not deployment.resources("AWS::ApiGatewayV2::DomainName"):
            assert environment[constants.ENV_PUBLIC_BASE_URL] == {"Fn::GetAtt": [api, "ApiEndpoint"]}
        assert environment[constants.ENV_TEMPLATES_DIR] == "/opt/templates"
        # No pydantic plugin is shipped: the cold start skips the scan for them.
        assert environment["PYDANTIC_DISABLE_PLUGINS"] == "__all__"
        if constants.ENV_TABLE in environment:
            assert environment[constants.ENV_TABLE] == {"Ref": table}
        if constants.ENV_STAFF_EMAIL in environment:
            assert environment[constants.ENV_STAFF_EMAIL] == PRODUCTION["staff_email"]
        if constants.ENV_MAIL_FROM in environment:
            sender = PRODUCTION["mail_from"] if deployment.name == PRODUCTION_STACK_NAME else SENDER_EMAIL
            assert environment[constants.ENV_MAIL_FROM] == f"{VENDOR_NAME} <{sender}>"
        for right, construct_id in SECRET_OF_RIGHT.items():
            if right in spec.rights:
                secret = deployment.logical_id(
                    f"{constants.SECRETS}{construct_id}", "AWS::SecretsManager::Secret"
                )
                assert environment[RIGHTS[right][0]] == {"Ref": secret}
        for name, value in spec.extra_environment.items():
            assert environment[name] == value


def test_environment_variables_are_those_settings_reads(deployment: Deployment) -> None:
    aliases = {field.alias for field in Settings.model_fields.values()}
    # Powertools and pydantic read their own, licensing.adapters.aws the SDK's; the rest is the
    # runtime's to read (README: what the stack gives the functions).
    known = aliases | POWERTOOLS | SDK | {"PYDANTIC_DISABLE_PLUGINS", constants.ENV_STAGE}
    for spec in deployment.functions:
        environment = _properties(deployment, spec)["Environment"]["Variables"]
        assert set(environment) - set(spec.extra_environment) <= known, spec.name


def test_each_function_may_use_only_the_services_of_its_rights(deployment: Deployment) -> None:
    for spec in deployment.functions:
        # Every function traces (X-Ray); a scheduled one sends its failed runs to its queue.
        expected = (
            {"logs", "xray"}
            | {RIGHTS[right][1] for right in spec.rights}
            | ({"sqs"} if spec.queue or spec.schedule else set())
        )
        assert _services(deployment.statements_of(spec.name)) == expected, spec.name


def test_each_function_may_read_only_the_secrets_of_its_rights(deployment: Deployment) -> None:
    for spec in deployment.functions:
        readable = {
            str(resource)
            for statement in deployment.statements_of(spec.name)
            if "secretsmanager:GetSecretValue" in Deployment.actions(statement)
            for resource in Deployment.resources_of(statement)
        }
        expected = {
            str(
                {
                    "Ref": deployment.logical_id(
                        f"{constants.SECRETS}{construct_id}", "AWS::SecretsManager::Secret"
                    )
                }
            )
            for right, construct_id in SECRET_OF_RIGHT.items()
            if right in spec.rights
        }
        assert readable == expected, spec.name


def test_only_the_license_api_reads_the_signing_key(deployment: Deployment) -> None:
    # Tokens have a key of their own: the portal and the notifier never hold the signing key.
    signing_key = str(
        {
            "Ref": deployment.logical_id(
                f"{constants.SECRETS}{constants.SIGNING_KEY_SECRET}", "AWS::SecretsManager::Secret"
            )
        }
    )
    readers = {
        spec.name
        for spec in deployment.functions
        for statement in deployment.statements_of(spec.name)
        if "secretsmanager:GetSecretValue" in Deployment.actions(statement)
        and signing_key in {str(resource) for resource in Deployment.resources_of(statement)}
    }
    # The example deployment declares functions of its own: there, those whose rights name it.
    expected = {spec.name for spec in deployment.functions if catalogue.SIGNING_KEY in spec.rights}
    assert readers == expected
    if tuple(deployment.functions) == catalogue.FUNCTIONS:
        assert readers == {"license_api"}


# Actions that only the right named may bring, whatever else a function is given.
ACTIONS_OF_RIGHT = {
    catalogue.TABLE_READ: ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:BatchGetItem"),
    catalogue.TABLE_WRITE: ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"),
    catalogue.BUCKET_READ: ("s3:GetObject", "s3:List"),
    catalogue.BUCKET_WRITE: ("s3:PutObject", "s3:Delete"),
}
# What no function is given, whatever its rights: table scans, stream reads, bucket listings.
NEVER = (
    "dynamodb:Scan",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:DescribeStream",
    "dynamodb:ListStreams",
    "s3:List",
    "s3:GetBucket",
    "s3:DeleteObject",
    "dynamodb:DescribeTable",
)


def test_read_rights_do_not_write_and_write_rights_do_not_read(deployment: Deployment) -> None:
    for spec in deployment.functions:
        granted = {
            a for statement in deployment.statements_of(spec.name) for a in Deployment.actions(statement)
        }
        for right, prefixes in ACTIONS_OF_RIGHT.items():
            brought = {action for action in granted if action.startswith(prefixes)}
            assert bool(brought) == (right in spec.rights), (spec.name, right, brought)


def test_no_function_may_scan_read_streams_or_list_the_bucket(deployment: Deployment) -> None:
    for spec in deployment.functions:
        granted = {
            a for statement in deployment.statements_of(spec.name) for a in Deployment.actions(statement)
        }
        assert not {action for action in granted if action.startswith(NEVER)}, spec.name
        # Wildcard actions would bring them back.
        assert not {action for action in granted if "*" in action}, spec.name


def test_bucket_rights_reach_only_the_release_objects(deployment: Deployment) -> None:
    bucket = deployment.logical_id(f"{constants.STORAGE}{constants.RELEASE_BUCKET}", "AWS::S3::Bucket")
    for spec in deployment.functions:
        for statement in deployment.statements_of(spec.name):
            if any(action.startswith("s3:") for action in Deployment.actions(statement)):
                assert Deployment.resources_of(statement) == [
                    {"Fn::Join": ["", [{"Fn::GetAtt": [bucket, "Arn"]}, "/releases/*"]]}
                ], spec.name


def test_license_api_reads_licenses_and_files_signs_and_announces_but_never_mails(stack: Deployment) -> None:
    statements = stack.statements_of("license_api")
    every_action = {action for statement in statements for action in Deployment.actions(statement)}
    assert {
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "events:PutEvents",
        "secretsmanager:GetSecretValue",
    } <= every_action
    assert "s3:GetObject" in every_action and not {a for a in every_action if a.startswith("s3:Put")}
    assert not {action for action in every_action if action.startswith("ses:")}
    assert _services(statements) == {"logs", "xray", "dynamodb", "events", "secretsmanager", "s3"}


def test_the_webhook_writes_licenses_puts_events_and_reads_only_the_stripe_secrets(stack: Deployment) -> None:
    statements = stack.statements_of("stripe_webhook")
    every_action = {action for statement in statements for action in Deployment.actions(statement)}
    # Transactions need no action of their own: each Put, Update or ConditionCheck in them is checked.
    assert {
        "events:PutEvents",
        "dynamodb:PutItem",
        "dynamodb:ConditionCheckItem",
        "dynamodb:Query",
    } <= every_action
    assert _services(statements) == {"logs", "xray", "dynamodb", "events", "secretsmanager"}
    assert not {action for action in every_action if action.startswith(("ses:", "s3:"))}


def test_the_notifier_sends_mail_and_consumes_its_queue(stack: Deployment) -> None:
    statements = stack.statements_of("notifier")
    every_action = {action for statement in statements for action in Deployment.actions(statement)}
    assert {"ses:SendRawEmail", "sqs:ReceiveMessage", "sqs:DeleteMessage"} <= every_action
    # It fans a release out to one event per account, and signs unsubscribe links with the key.
    assert "events:PutEvents" in every_action and not {a for a in every_action if a.startswith("s3:")}


def test_no_statement_allows_every_action_or_every_resource(deployment: Deployment) -> None:
    for logical_id, policy in deployment.resources("AWS::IAM::Policy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            for action in Deployment.actions(statement):
                assert action != "*" and not action.endswith(":*"), (logical_id, action)
            # X-Ray's two write actions and SES's account read have no resource-level permissions.
            if set(Deployment.actions(statement)) not in (
                {"xray:PutTraceSegments", "xray:PutTelemetryRecords"},
                {"ses:GetAccount"},
            ):
                assert "*" not in Deployment.resources_of(statement), (logical_id, statement)


def test_mail_may_be_sent_only_from_the_sender_identity(example: Deployment) -> None:
    senders = [spec for spec in example.functions if catalogue.MAIL_SEND in spec.rights]
    assert senders
    for spec in senders:
        ses = [
            statement
            for statement in example.statements_of(spec.name)
            if any(action.startswith("ses:") for action in Deployment.actions(statement))
        ]
        # Besides the send, only the account's send rate and quota (pacing), which has no resource.
        (account,) = [s for s in ses if Deployment.actions(s) == ["ses:GetAccount"]]
        assert Deployment.resources_of(account) == ["*"]
        (statement,) = [s for s in ses if s is not account]
        assert sorted(Deployment.actions(statement)) == ["ses:SendEmail", "ses:SendRawEmail"]
        identities = [resource["Fn::Join"][1][-1] for resource in Deployment.resources_of(statement)]
        domain = SENDER_EMAIL.partition("@")[2]
        assert identities == [f":identity/{SENDER_EMAIL}", f":identity/{domain}"]


def test_each_function_logs_to_its_own_log_group_and_nowhere_else(deployment: Deployment) -> None:
    log_groups = deployment.resources("AWS::Logs::LogGroup")
    for spec in deployment.functions:
        _, function = deployment.function(spec.name)
        log_group = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert log_groups[log_group]["Properties"]["RetentionInDays"] == 90
        (statement,) = [
            statement
            for statement in deployment.statements_of(spec.name)
            if any(action.startswith("logs:") for action in Deployment.actions(statement))
        ]
        assert statement["Resource"] == {"Fn::GetAtt": [log_group, "Arn"]}
        role = function["Properties"]["Role"]["Fn::GetAtt"][0]
        # No managed policy: AWSLambdaBasicExecutionRole would open every log group.
        assert "ManagedPolicyArns" not in deployment.resources("AWS::IAM::Role")[role]["Properties"]


def test_a_queue_worker_is_fed_by_its_queue_and_reports_partial_failures(deployment: Deployment) -> None:
    mappings = deployment.resources("AWS::Lambda::EventSourceMapping").values()
    queues = deployment.resources("AWS::SQS::Queue")
    workers = [spec for spec in deployment.functions if spec.queue]
    assert len(mappings) == len(workers)
    for spec in workers:
        assert spec.queue is not None
        _, function = deployment.function(spec.name)
        alias_id, _ = deployment.alias(spec.name)
        (mapping,) = [
            m["Properties"] for m in mappings if _names_alias(m["Properties"]["FunctionName"], alias_id)
        ]
        # SES's events come through the mail construct's queue (`mail_from`), the others through Messaging.
        owner = constants.MAIL if spec.queue == catalogue.MAIL_EVENTS.name else constants.MESSAGING
        queue_id = deployment.logical_id(f"{owner}{constants.pascal(spec.queue)}Queue", "AWS::SQS::Queue")
        assert mapping["EventSourceArn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
        assert mapping["BatchSize"] == spec.batch_size
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        if spec.max_concurrency is not None:
            assert mapping["ScalingConfig"] == {"MaximumConcurrency": spec.max_concurrency}
        # Lambda refuses a queue whose messages reappear before the function may have finished.
        assert function["Properties"]["Timeout"] <= queues[queue_id]["Properties"]["VisibilityTimeout"]


def _names_alias(value: Any, alias_id: str) -> bool:
    # CDK names an alias by parts of its ARN (a Ref of the alias): "<function name>:live" or "live".
    return f'"Ref": "{alias_id}"' in json.dumps(value)


def test_the_notifiers_take_at_most_two_concurrent_batches(stack: Deployment) -> None:
    mappings = stack.resources("AWS::Lambda::EventSourceMapping").values()
    assert len(mappings) == 2  # the transactional and the bulk queue
    for mapping in mappings:
        assert mapping["Properties"]["ScalingConfig"] == {"MaximumConcurrency": 2}


def test_the_license_api_and_the_webhook_have_concurrency_of_their_own(deployment: Deployment) -> None:
    for spec in deployment.functions:
        properties = _properties(deployment, spec)
        assert properties.get("ReservedConcurrentExecutions") == spec.reserved_concurrency, spec.name
    assert catalogue.function("license_api").reserved_concurrency
    assert catalogue.function("stripe_webhook").reserved_concurrency


def test_every_function_traces_and_logs_json_at_info(deployment: Deployment) -> None:
    for spec in deployment.functions:
        properties = _properties(deployment, spec)
        assert properties["TracingConfig"] == {"Mode": "Active"}, spec.name
        logging = properties["LoggingConfig"]
        assert logging["LogFormat"] == "JSON"
        assert logging["ApplicationLogLevel"] == "INFO"
        assert logging["SystemLogLevel"] == "WARN"
        environment = properties["Environment"]["Variables"]
        assert environment["POWERTOOLS_LOG_LEVEL"] == "INFO"
        # Answers carry keys and signed tokens: the traces must not.
        assert environment["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false"
        assert environment["POWERTOOLS_METRICS_NAMESPACE"] == f"Licensing/{deployment.name}"
        assert environment[constants.ENV_STAGE] == deployment.name.removesuffix("-licensing")


def test_sdk_timeouts_fit_within_each_function_timeout(deployment: Deployment) -> None:
    for spec in deployment.functions:
        environment = _properties(deployment, spec)["Environment"]["Variables"]
        connect = int(environment[constants.ENV_SDK_CONNECT_TIMEOUT])
        read = int(environment[constants.ENV_SDK_READ_TIMEOUT])
        attempts = int(environment[constants.ENV_SDK_MAX_ATTEMPTS])
        # Every attempt timing out, with standard mode's longest waits between them.
        worst = attempts * (connect + read) + 2 ** (attempts - 1) - 1
        assert worst < spec.timeout_seconds, (spec.name, connect, read, attempts)
        assert attempts >= 2 and read >= 1


@pytest.mark.parametrize("timeout", [3, 5, 10, 20, 60, 300, 900])
def test_sdk_timeouts_leave_a_fifth_of_any_function_timeout(timeout: int) -> None:
    sdk = SdkTimeouts.within(timeout)
    assert sdk.worst_case_seconds <= timeout * 0.8
    # A retry whenever the function has the time for one.
    assert sdk.max_attempts >= (2 if timeout >= 10 else 1)


def test_every_function_is_reached_through_a_live_alias_of_its_current_version(
    deployment: Deployment,
) -> None:
    versions = deployment.resources("AWS::Lambda::Version")
    for spec in deployment.functions:
        function_id, _ = deployment.function(spec.name)
        _, alias = deployment.alias(spec.name)
        assert alias["Properties"]["Name"] == constants.LIVE_ALIAS
        version_id = alias["Properties"]["FunctionVersion"]["Fn::GetAtt"][0]
        assert versions[version_id]["Properties"]["FunctionName"] == {"Ref": function_id}


def test_a_new_dependencies_layer_makes_a_new_version_behind_the_alias(
    stack: Deployment, production: Deployment
) -> None:
    # Production was synthesized with another dependencies layer; same code, same catalogue.
    for spec in stack.functions:
        dev_version = stack.alias(spec.name)[1]["Properties"]["FunctionVersion"]["Fn::GetAtt"][0]
        prod_version = production.alias(spec.name)[1]["Properties"]["FunctionVersion"]["Fn::GetAtt"][0]
        assert dev_version != prod_version, spec.name


def test_a_scheduled_function_is_invoked_by_a_role_that_may_invoke_only_it(deployment: Deployment) -> None:
    schedules = deployment.resources("AWS::Scheduler::Schedule").values()
    scheduled = [spec for spec in deployment.functions if spec.schedule]
    assert len(schedules) == len(scheduled)
    for spec in scheduled:
        alias_id, _ = deployment.alias(spec.name)
        (schedule,) = [
            s["Properties"] for s in schedules if s["Properties"]["Target"]["Arn"] == {"Ref": alias_id}
        ]
        assert schedule["ScheduleExpression"] == spec.schedule
        assert schedule["ScheduleExpressionTimezone"] == "UTC"
        role_id = schedule["Target"]["RoleArn"]["Fn::GetAtt"][0]
        statements = deployment.role_statements(role_id)
        invoke = [st for st in statements if Deployment.actions(st) == ["lambda:InvokeFunction"]]
        assert [Deployment.resources_of(st) for st in invoke] == [[{"Ref": alias_id}]]
        # Besides invoking, only sending its failed runs to its own queue.
        failures = schedule["Target"]["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
        others = [st for st in statements if st not in invoke]
        assert {a for st in others for a in Deployment.actions(st)} <= {
            "sqs:SendMessage",
            "sqs:GetQueueAttributes",
            "sqs:GetQueueUrl",
        }
        assert all(Deployment.resources_of(st) == [{"Fn::GetAtt": [failures, "Arn"]}] for st in others)
        (trust,) = deployment.resources("AWS::IAM::Role")[role_id]["Properties"]["AssumeRolePolicyDocument"][
            "Statement"
        ]
        assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
        assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


def test_a_failed_scheduled_run_is_retried_then_kept_in_a_queue(deployment: Deployment) -> None:
    configs = deployment.resources("AWS::Lambda::EventInvokeConfig").values()
    for spec in [spec for spec in deployment.functions if spec.schedule]:
        function_id, _ = deployment.function(spec.name)
        (schedule,) = [
            s["Properties"]
            for s in deployment.resources("AWS::Scheduler::Schedule").values()
            if s["Properties"]["Target"]["Arn"] == {"Ref": deployment.alias(spec.name)[0]}
        ]
        assert schedule["Target"]["RetryPolicy"] == {
            "MaximumRetryAttempts": 3,
            "MaximumEventAgeInSeconds": 21600,
        }
        failures = schedule["Target"]["DeadLetterConfig"]["Arn"]
        # A run that fails inside the function: Lambda retries it twice, then reports it there too.
        (config,) = [
            c["Properties"] for c in configs if c["Properties"]["FunctionName"] == {"Ref": function_id}
        ]
        assert _names_alias(config["Qualifier"], deployment.alias(spec.name)[0])
        assert config["MaximumRetryAttempts"] == 2
        assert config["DestinationConfig"] == {"OnFailure": {"Destination": failures}}


def test_a_right_the_stack_cannot_grant_is_refused(tmp_path: Path) -> None:
    spec = catalogue.Function(name="license_api", description="d", rights=("table:everything",))
    layer = build.placeholder_layer(tmp_path / "layer")
    with pytest.raises(ValueError, match="table:everything"):
        LicensingStack(
            cdk.App(outdir=str(tmp_path / "cdk.out")),
            "RefusedStack",
            config=LicensingConfig(
                sender_email=SENDER_EMAIL,
                vendor_name=VENDOR_NAME,
                source_root=ROOT,
                layers=LayerAssets(licensing=layer, dependencies=layer),
                functions=(spec,),
            ),
        )


def test_the_lifecycle_job_runs_daily_and_learns_its_day(stack: Deployment) -> None:
    (schedule,) = stack.resources("AWS::Scheduler::Schedule").values()
    properties = schedule["Properties"]
    assert properties["ScheduleExpression"] == catalogue.function("lifecycle_job").schedule
    assert properties["ScheduleExpressionTimezone"] == "UTC"
    assert json.loads(properties["Target"]["Input"]) == {"scheduled_time": "<aws.scheduler.scheduled-time>"}
    alias_id, _ = stack.alias("lifecycle_job")
    assert properties["Target"]["Arn"] == {"Ref": alias_id}
