"""The one declarative description of the system's functions, queues, event rules and schedules.

Read by the CDK stack (``infra/``) and by the local dev server (``licensing dev``), so that what
runs on a laptop is what is deployed. Pure data: no AWS calls, cheap to import.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Rights a function may be granted; the stack turns each into the narrowest `grant_*` it has.
TABLE_READ = "table:read"
TABLE_WRITE = "table:write"
BUCKET_READ = "bucket:read"
BUCKET_WRITE = "bucket:write"
EVENTS_PUT = "events:put"
MAIL_SEND = "mail:send"
STRIPE_WEBHOOK_SECRET = "secret:stripe-webhook"  # noqa: S105 (a right's name, not a secret)
STRIPE_API_KEY = "secret:stripe-api"
SIGNING_KEY = "secret:signing-key"


@dataclass(frozen=True)
class Queue:
    """An SQS queue fed by EventBridge rules, with its dead-letter queue."""

    name: str
    detail_types: tuple[str, ...]
    # AWS advises six times the consuming function's timeout, so a slow batch is not redelivered.
    visibility_timeout_seconds: int = 360
    max_receive_count: int = 5


@dataclass(frozen=True)
class Function:
    name: str
    description: str
    routes: tuple[str, ...] = ()
    queue: str | None = None
    schedule: str | None = None  # an EventBridge Scheduler expression
    rights: tuple[str, ...] = ()
    timeout_seconds: int = 10
    memory_mb: int = 512
    batch_size: int = 10
    extra_environment: dict[str, str] = field(default_factory=dict)

    @property
    def handler(self) -> str:
        return "handler.lambda_handler"

    @property
    def source_dir(self) -> str:
        return f"functions/{self.name}"


EVENT_SOURCE = "licensing"

# The deployed stack and the outputs through which the staff CLI finds its resources.
STACK_NAME = "LicensingStack"
OUTPUT_TABLE = "TableName"
OUTPUT_RELEASE_BUCKET = "ReleaseBucketName"
OUTPUT_EVENT_BUS = "EventBusName"
OUTPUT_API_URL = "ApiUrl"

NOTIFICATIONS = Queue(
    name="notifications",
    detail_types=(
        "LicenseIssued",
        "LicensePending",
        "LicenseRenewed",
        "LicenseStatusChanged",
        "PaymentFailed",
        "PaymentReceived",
        "SiteLimitReached",
        "LicenseExpiring",
        "LicenseExpired",
        "ReleasePublished",
        "ReleaseMail",
        "SignInRequested",
    ),
)

QUEUES: tuple[Queue, ...] = (NOTIFICATIONS,)

FUNCTIONS: tuple[Function, ...] = (
    Function(
        name="license_api",
        description="The /v1 license API for installed extensions.",
        routes=("ANY /v1/{proxy+}",),
        rights=(TABLE_READ, TABLE_WRITE, BUCKET_READ, EVENTS_PUT, SIGNING_KEY),
        memory_mb=1024,
    ),
    Function(
        name="stripe_webhook",
        description="Stripe events: paid checkouts become licenses, exactly once.",
        routes=("POST /webhooks/stripe",),
        rights=(TABLE_READ, TABLE_WRITE, EVENTS_PUT, STRIPE_WEBHOOK_SECRET, STRIPE_API_KEY),
        timeout_seconds=20,
    ),
    Function(
        name="portal",
        description="The customer portal, release-mail unsubscribe links, the 404 of unknown routes.",
        routes=("ANY /portal", "ANY /portal/{proxy+}", "GET /unsubscribe", "POST /unsubscribe", "$default"),
        rights=(TABLE_READ, TABLE_WRITE, BUCKET_READ, EVENTS_PUT, SIGNING_KEY),
    ),
    Function(
        name="lifecycle_job",
        description="Daily: expiry reminders, the expired mail, EXPIRED written after the grace period.",
        schedule="cron(15 6 * * ? *)",
        rights=(TABLE_READ, TABLE_WRITE, EVENTS_PUT),
        timeout_seconds=300,
    ),
    Function(
        name="notifier",
        description="Renders and sends every email, from the notifications queue.",
        queue=NOTIFICATIONS.name,
        # Events: a release's fan-out, one message per account; the key signs unsubscribe links.
        rights=(TABLE_READ, TABLE_WRITE, MAIL_SEND, EVENTS_PUT, SIGNING_KEY),
        timeout_seconds=60,
        batch_size=10,
    ),
)


def function(name: str) -> Function:
    for candidate in FUNCTIONS:
        if candidate.name == name:
            return candidate
    raise KeyError(name)


def queue(name: str) -> Queue:
    for candidate in QUEUES:
        if candidate.name == name:
            return candidate
    raise KeyError(name)
