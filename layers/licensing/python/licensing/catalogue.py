"""The one declarative description of the system's functions, queues, event rules and schedules.

Read by the CDK stack (``infra/``) and by the local dev server (``licensing dev``), so that what
runs on a laptop is what is deployed. Pure data: no AWS calls. The queues' detail types come from
the event models (`events.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .events import detail_types

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
# The HMAC key of download and unsubscribe tokens, apart from the signing key.
TOKEN_KEY = "secret:token-key"  # noqa: S105 (a right's name, not a secret)

# Set on every function, in Lambda and locally. No pydantic plugin is installed: without this,
# pydantic scans every installed distribution's entry points at the first model, in the cold start.
RUNTIME_ENVIRONMENT = {"PYDANTIC_DISABLE_PLUGINS": "__all__"}


@dataclass(frozen=True)
class Queue:
    """An SQS queue fed by EventBridge rules, with its dead-letter queue."""

    name: str
    detail_types: tuple[str, ...]
    # AWS advises six times the consuming function's timeout, so a slow batch is not redelivered.
    visibility_timeout_seconds: int = 360
    max_receive_count: int = 5


@dataclass(frozen=True)
class Throttle:
    """API Gateway throttling of a route: each route has its own bucket of this size, so that one
    misbehaving client of one route cannot exhaust the others. ``name`` groups routes in alarms."""

    name: str
    rate_per_second: int
    burst: int


# Extensions validate about once a day per site; activation and downloads are rare and costly.
THROTTLE_VALIDATE = Throttle(name="validate", rate_per_second=50, burst=100)
THROTTLE_ACTIVATE = Throttle(name="activate", rate_per_second=5, burst=20)
THROTTLE_UPDATES = Throttle(name="updates", rate_per_second=10, burst=20)
THROTTLE_DOWNLOAD = Throttle(name="download", rate_per_second=5, burst=10)
# Stripe retries and replays in bursts.
THROTTLE_WEBHOOK = Throttle(name="webhook", rate_per_second=25, burst=50)
# Also the stage's default, so every route without a throttle of its own ($default) gets it.
THROTTLE_PORTAL = Throttle(name="portal", rate_per_second=10, burst=20)


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
    # Route key -> its throttle; a route not named here gets THROTTLE_PORTAL (the stage default).
    throttles: dict[str, Throttle] = field(default_factory=dict)
    # Concurrency kept for this function alone (and its ceiling); None shares the account's pool.
    reserved_concurrency: int | None = None
    # The most concurrent invocations the queue's event source mapping starts (at least 2).
    max_concurrency: int | None = None
    # The folder under functions/ of its code, when it shares another function's (default: name).
    code: str | None = None

    def throttle(self, route: str) -> Throttle:
        return self.throttles.get(route, THROTTLE_PORTAL)

    @property
    def handler(self) -> str:
        return "handler.lambda_handler"

    @property
    def source_dir(self) -> str:
        return f"functions/{self.code or self.name}"


EVENT_SOURCE = "licensing"

# The deployed stack and the outputs through which the staff CLI finds its resources. Each stage
# (`cdk deploy -c stage=prod`) is a stack of its own, so that stages can share an account.
DEFAULT_STAGE = "dev"


def stack_name(stage: str = DEFAULT_STAGE) -> str:
    """The CloudFormation stack of a stage; every resource name of the stage starts with it."""
    return f"{stage}-licensing"


STACK_NAME = stack_name(DEFAULT_STAGE)
# The staff CLI works on the stage this variable names (default `dev`).
STAGE_VARIABLE = "LICENSING_STAGE"


def deployed_stack_name() -> str:
    """The stack the staff CLI works on: that of the stage in LICENSING_STAGE, else `dev`'s."""
    import os

    return stack_name(os.environ.get(STAGE_VARIABLE) or DEFAULT_STAGE)


OUTPUT_TABLE = "TableName"
OUTPUT_RELEASE_BUCKET = "ReleaseBucketName"
OUTPUT_EVENT_BUS = "EventBusName"
OUTPUT_API_URL = "ApiUrl"

# Mail a customer waits for: license keys, sign-in links, payments, status changes.
TRANSACTIONAL = Queue(name="transactional", detail_types=detail_types("transactional"))
# Release announcements (the fan-out's pages and one message per account) and reminders. Paced
# mail waits here for the send rate or the daily quota, its visibility moved on each time: more
# receives than a transactional message may need before it is given up.
BULK = Queue(name="bulk", detail_types=detail_types("bulk"), max_receive_count=20)

QUEUES: tuple[Queue, ...] = (TRANSACTIONAL, BULK)

# SES's bounce and complaint events (their EventBridge detail types). They reach EventBridge's default
# bus, not the licensing bus: the stack's mail construct (`mail_from`) makes this queue and its rule,
# so a stage without `mail_from` has neither the queue nor its function; the dev server makes the
# queue alone (no SES there: tests put SES's events on it).
MAIL_EVENTS = Queue(name="mail_events", detail_types=("Email Bounced", "Email Complaint Received"))
EXTERNAL_QUEUES: tuple[Queue, ...] = (MAIL_EVENTS,)

# Every /v1 route of the license API (API.md section 2), each with its own throttle; other /v1
# paths fall to $default, which answers 404.
LICENSE_API_ROUTES: dict[str, Throttle] = {
    "GET /v1/health": THROTTLE_VALIDATE,
    "GET /v1/keys": THROTTLE_VALIDATE,
    "GET /v1/openapi.json": THROTTLE_VALIDATE,
    "POST /v1/licenses/validate": THROTTLE_VALIDATE,
    "POST /v1/licenses/file": THROTTLE_VALIDATE,
    "POST /v1/licenses/activate": THROTTLE_ACTIVATE,
    "POST /v1/licenses/deactivate": THROTTLE_ACTIVATE,
    "POST /v1/updates": THROTTLE_UPDATES,
    "GET /v1/download": THROTTLE_DOWNLOAD,
    # EspoCRM's daily update check, with and without the trailing slash (one greedy route).
    "GET /espocrm/{proxy+}": THROTTLE_UPDATES,
}

FUNCTIONS: tuple[Function, ...] = (
    Function(
        name="license_api",
        description="The /v1 license API for installed extensions, and EspoCRM's update check.",
        routes=tuple(LICENSE_API_ROUTES),
        rights=(TABLE_READ, TABLE_WRITE, BUCKET_READ, EVENTS_PUT, SIGNING_KEY, TOKEN_KEY),
        memory_mb=1024,
        throttles=LICENSE_API_ROUTES,
        reserved_concurrency=20,
    ),
    Function(
        name="stripe_webhook",
        description="Stripe events: paid checkouts become licenses, exactly once.",
        routes=("POST /webhooks/stripe",),
        rights=(TABLE_READ, TABLE_WRITE, EVENTS_PUT, STRIPE_WEBHOOK_SECRET, STRIPE_API_KEY),
        timeout_seconds=20,
        throttles={"POST /webhooks/stripe": THROTTLE_WEBHOOK},
        reserved_concurrency=5,
    ),
    Function(
        name="portal",
        description="The customer portal, release-mail unsubscribe links, the 404 of unknown routes.",
        routes=("ANY /portal", "ANY /portal/{proxy+}", "GET /unsubscribe", "POST /unsubscribe", "$default"),
        # The Stripe API key creates the Checkout Session that pays a renewal ("Renew").
        rights=(TABLE_READ, TABLE_WRITE, BUCKET_READ, EVENTS_PUT, TOKEN_KEY, STRIPE_API_KEY),
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
        description="Renders and sends transactional email (keys, sign-in links, payments).",
        queue=TRANSACTIONAL.name,
        # The token key MACs unsubscribe links (release mail redelivered here by an old version).
        rights=(TABLE_READ, TABLE_WRITE, MAIL_SEND, EVENTS_PUT, TOKEN_KEY),
        timeout_seconds=60,
        batch_size=10,
        # A mail surge must not take the concurrency that the license API and webhook rely on.
        max_concurrency=2,
    ),
    Function(
        name="bulk_notifier",
        description="Release announcements (paged fan-out) and reminders, paced below the SES rate.",
        queue=BULK.name,
        code="notifier",
        # Events: the fan-out's continuation and one message per account; the token key MACs
        # unsubscribe links.
        rights=(TABLE_READ, TABLE_WRITE, MAIL_SEND, EVENTS_PUT, TOKEN_KEY),
        timeout_seconds=60,
        batch_size=10,
        # The shared pacer in the table keeps the rate whatever the concurrency; this keeps a blast
        # from taking the account's concurrency (2 is the mapping's minimum).
        max_concurrency=2,
    ),
    Function(
        name="ses_events",
        description="SES bounces and complaints: the address is suppressed, the licenses' history says so.",
        queue=MAIL_EVENTS.name,
        rights=(TABLE_READ, TABLE_WRITE),
        timeout_seconds=30,
        max_concurrency=2,
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
