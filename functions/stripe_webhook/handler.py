"""POST /webhooks/stripe: Stripe's events. A paid checkout becomes licenses, exactly once."""

from __future__ import annotations

import base64
import json
from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from licensing.web import JSON, create_resolver

logger = Logger(service="stripe_webhook")
app = create_resolver(enable_validation=False)


@lru_cache(maxsize=1)
def webhook_secrets() -> Any:
    from licensing.adapters.stripe_api import WebhookSecrets
    from licensing.settings import get_settings

    settings = get_settings()
    return WebhookSecrets(settings.stripe_webhook_secret_arn, settings.stripe_webhook_secret)


@lru_cache(maxsize=1)
def purchases() -> Any:
    from licensing.adapters.dynamo import DynamoStore
    from licensing.adapters.events import EventBridgePublisher
    from licensing.adapters.stripe_api import StripeApi, secret_values
    from licensing.dates import today
    from licensing.services.purchases import Purchases
    from licensing.settings import get_settings

    settings = get_settings()
    api_key = settings.stripe_api_key
    if settings.stripe_api_key_secret_arn:
        api_key = next(iter(secret_values(settings.stripe_api_key_secret_arn)), None)
    return Purchases(
        store=DynamoStore(settings.table_name),
        events=EventBridgePublisher(settings.event_bus_name),
        stripe=StripeApi(api_key, settings.stripe_api_base),
        today=today,
    )


@app.post("/webhooks/stripe")
def stripe_webhook() -> Response:
    event = app.current_event
    body = event.body or ""
    payload = base64.b64decode(body) if event.is_base64_encoded else body.encode()
    stripe_event = webhook_secrets().verify(payload, event.headers.get("stripe-signature"))
    logger.append_keys(stripe_event_id=stripe_event["id"], stripe_event_type=stripe_event.get("type"))
    answer = purchases().handle(stripe_event)
    return Response(status_code=200, content_type=JSON, body=json.dumps(answer))


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
