"""The /v1 license API: what installed extensions call. Also answers unknown routes ($default)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from licensing.web import create_resolver

logger = Logger(service="license_api")
app = create_resolver()


@app.get("/v1/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
