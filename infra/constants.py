"""Names used by the CDK app: construct ids, physical names, context keys, environment variables.

Construct ids decide CloudFormation logical ids: renaming one replaces the resource on the next
deploy, which for the table and the bucket means a new, empty one. Change them deliberately.
"""

from __future__ import annotations

from licensing import catalogue
from licensing.settings import Settings

STACK_NAME = catalogue.STACK_NAME

# Context keys (cdk.json or `cdk deploy -c KEY=VALUE`); the short ones are API.md section 6.
CONTEXT_SENDER_EMAIL = "licensing:senderEmail"
CONTEXT_VENDOR_NAME = "licensing:vendorName"
CONTEXT_STAGE = "stage"
CONTEXT_DOMAIN = "domain"
CONTEXT_CERTIFICATE_ARN = "certificate_arn"
CONTEXT_ALARM_EMAIL = "alarm_email"
CONTEXT_STAFF_EMAIL = "staff_email"
CONTEXT_MAIL_FROM = "mail_from"
CONTEXT_MONTHLY_BUDGET = "licensing:monthlyBudgetUsd"
# Tests only: synthesize with an empty stand-in for the dependencies layer (never for a deploy).
CONTEXT_PLACEHOLDER_LAYERS = "licensing:placeholderLayers"

# Constructs composed by the stack.
MONITORING = "Monitoring"
MAIL = "Mail"

STORAGE = "Storage"
MESSAGING = "Messaging"
SECRETS = "Secrets"
API = "Api"
FUNCTIONS = "Functions"

# Inside Storage.
TABLE = "Table"
RELEASE_BUCKET = "ReleaseBucket"
ACCESS_LOGS_BUCKET = "AccessLogsBucket"

# Inside Messaging; each catalogue queue adds "<Name>Queue", "<Name>DeadLetterQueue" and
# "<Name>Rule" (its alarms are Monitoring's). The bus is named by stage.
EVENT_BUS = "EventBus"

# Inside Secrets.
STRIPE_WEBHOOK_SECRET = "StripeWebhookSecret"  # noqa: S105 (a construct id, not a secret)
STRIPE_API_KEY_SECRET = "StripeApiKeySecret"  # noqa: S105 (a construct id, not a secret)
SIGNING_KEY_SECRET = "SigningKeySecret"  # noqa: S105 (a construct id, not a secret)
TOKEN_KEY_SECRET = "TokenKeySecret"  # noqa: S105 (a construct id, not a secret)
# The function that puts a generated value into an empty secret, once, at its creation.
SECRET_SEEDER = "Seeder"  # noqa: S105 (a construct id, not a secret)
SECRET_SEED = "Seed"  # noqa: S105 (a construct id, not a secret)

# Inside Api.
HTTP_API = "HttpApi"
DEFAULT_STAGE = "DefaultStage"
ACCESS_LOGS = "AccessLogs"
API_URL_OUTPUT = catalogue.OUTPUT_API_URL
DOMAIN_NAME = "DomainName"
API_MAPPING = "ApiMapping"
# Where the operator points the domain's DNS record (CNAME or alias).
DOMAIN_TARGET_OUTPUT = "DomainTarget"
DOMAIN_ZONE_OUTPUT = "DomainHostedZoneId"

# Inside Monitoring.
ALARM_TOPIC = "AlarmTopic"
ALARM_TOPIC_OUTPUT = "AlarmTopicArn"
DASHBOARD = "Dashboard"
BUDGET = "Budget"
DEFAULT_MONTHLY_BUDGET_USD = 10

# Inside Mail.
EMAIL_IDENTITY = "EmailIdentity"
CONFIGURATION_SET = "ConfigurationSet"
MAIL_FROM_SUBDOMAIN = "bounce"

# Inside Functions; each catalogue function adds "<Name>Function", "<Name>Role", "<Name>Logs",
# "<Name>LiveAlias" and, when scheduled, "<Name>Schedule", "<Name>ScheduleRole" and
# "<Name>FailuresQueue".
LICENSING_LAYER = "LicensingLayer"
DEPENDENCIES_LAYER = "DependenciesLayer"

LOG_LEVEL = "INFO"
# Every function is invoked through this alias, so a deploy switches code and layers at once.
LIVE_ALIAS = "live"
# Lambda mounts layers at /opt: where the licensing layer's `templates/` folder appears (infra.build).
LAMBDA_TEMPLATES_DIR = "/opt/templates"


def pascal(name: str) -> str:
    """A catalogue name (``license_api``) as a construct id prefix (``LicenseApi``)."""
    return "".join(part.capitalize() for part in name.replace("-", "_").split("_"))


def _environment_name(field: str) -> str:
    # The functions read these variables through `Settings`: take its aliases so the two never drift.
    alias = Settings.model_fields[field].alias
    if alias is None:
        raise ValueError(f"Settings.{field} has no environment alias")
    return alias


ENV_TABLE = _environment_name("table_name")
ENV_RELEASE_BUCKET = _environment_name("release_bucket")
ENV_EVENT_BUS = _environment_name("event_bus_name")
ENV_MAIL_FROM = _environment_name("mail_from")
ENV_STAFF_EMAIL = _environment_name("staff_email")
ENV_VENDOR_NAME = _environment_name("vendor_name")
ENV_PUBLIC_BASE_URL = _environment_name("public_base_url")
ENV_TEMPLATES_DIR = _environment_name("templates_dir")
ENV_STRIPE_WEBHOOK_SECRET_ARN = _environment_name("stripe_webhook_secret_arn")
ENV_STRIPE_API_KEY_SECRET_ARN = _environment_name("stripe_api_key_secret_arn")
ENV_SIGNING_KEY_SECRET_ARN = _environment_name("signing_key_secret_arn")
ENV_TOKEN_KEY_SECRET_ARN = _environment_name("token_key_secret_arn")
ENV_SES_CONFIGURATION_SET = _environment_name("ses_configuration_set")
# Not a Settings field: the stage's name (the variable the staff CLI reads to pick its stack).
ENV_STAGE = catalogue.STAGE_VARIABLE
# Read by licensing.adapters.aws: SDK timeouts kept under the function's own.
ENV_SDK_CONNECT_TIMEOUT = "AWS_SDK_CONNECT_TIMEOUT"
ENV_SDK_READ_TIMEOUT = "AWS_SDK_READ_TIMEOUT"
ENV_SDK_MAX_ATTEMPTS = "AWS_SDK_MAX_ATTEMPTS"
