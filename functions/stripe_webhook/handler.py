"""POST /webhooks/stripe: Stripe's events. A paid checkout becomes licenses, exactly once."""

from __future__ import annotations

import base64
import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

# The adapters it uses, imported in Lambda's init phase rather than in the first request.
import licensing.adapters.dynamo
import licensing.adapters.events
import licensing.adapters.stripe_api
import licensing.services.purchases  # noqa: F401
from licensing import wiring
from licensing.web import JSON, create_resolver

logger = Logger(service="stripe_webhook")
app = create_resolver(enable_validation=False, function_logger=logger)


@app.post("/webhooks/stripe")
def stripe_webhook() -> Response:
    event = app.current_event
    body = event.body or ""
    payload = base64.b64decode(body) if event.is_base64_encoded else body.encode()
    stripe_event = wiring.webhook_secrets().verify(payload, event.headers.get("stripe-signature"))
    logger.append_keys(stripe_event_id=stripe_event["id"], stripe_event_type=stripe_event.get("type"))
    answer = wiring.purchases().handle(stripe_event)
    return Response(status_code=200, content_type=JSON, body=json.dumps(answer))


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
