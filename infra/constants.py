"""Names used by the CDK app: construct ids, physical names, context keys, environment variables.

Construct ids decide CloudFormation logical ids: renaming one replaces the resource on the next
deploy, which for the table and the bucket means a new, empty one. Change them deliberately.
"""

from __future__ import annotations

from licensing import catalogue
from licensing.settings import Settings

STACK_NAME = catalogue.STACK_NAME

# Context keys (cdk.json or `cdk deploy -c KEY=VALUE`).
CONTEXT_SENDER_EMAIL = "licensing:senderEmail"
CONTEXT_VENDOR_NAME = "licensing:vendorName"

# Constructs composed by the stack.
STORAGE = "Storage"
MESSAGING = "Messaging"
SECRETS = "Secrets"
API = "Api"
FUNCTIONS = "Functions"

# Inside Storage.
TABLE = "Table"
RELEASE_BUCKET = "ReleaseBucket"
ACCESS_LOGS_BUCKET = "AccessLogsBucket"

# Inside Messaging; each catalogue queue adds "<Name>Queue", "<Name>DeadLetterQueue",
# "<Name>Rule" and "<Name>DeadLetterAlarm".
EVENT_BUS = "EventBus"
EVENT_BUS_NAME = "licensing"

# Inside Secrets.
STRIPE_WEBHOOK_SECRET = "StripeWebhookSecret"  # noqa: S105 (a construct id, not a secret)
STRIPE_API_KEY_SECRET = "StripeApiKeySecret"  # noqa: S105 (a construct id, not a secret)
SIGNING_KEY_SECRET = "SigningKeySecret"  # noqa: S105 (a construct id, not a secret)

# Inside Api.
HTTP_API = "HttpApi"
HTTP_API_NAME = "licensing"
DEFAULT_STAGE = "DefaultStage"
ACCESS_LOGS = "AccessLogs"
API_URL_OUTPUT = catalogue.OUTPUT_API_URL

# Inside Functions; each catalogue function adds "<Name>Function", "<Name>Role", "<Name>Logs"
# and, when scheduled, "<Name>Schedule" and "<Name>ScheduleRole".
LICENSING_LAYER = "LicensingLayer"
DEPENDENCIES_LAYER = "DependenciesLayer"

LOG_LEVEL = "INFO"
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
ENV_VENDOR_NAME = _environment_name("vendor_name")
ENV_PUBLIC_BASE_URL = _environment_name("public_base_url")
ENV_TEMPLATES_DIR = _environment_name("templates_dir")
ENV_STRIPE_WEBHOOK_SECRET_ARN = _environment_name("stripe_webhook_secret_arn")
ENV_STRIPE_API_KEY_SECRET_ARN = _environment_name("stripe_api_key_secret_arn")
ENV_SIGNING_KEY_SECRET_ARN = _environment_name("signing_key_secret_arn")
