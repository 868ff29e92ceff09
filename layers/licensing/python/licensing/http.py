"""The contract's HTTP answers in API Gateway's payload 2.0 shape, without Powertools' resolver: the
error body, the answer to an exception, and the request id. The resolver's handlers (`web.py`) and
the license API's hot path (`functions/license_api`) answer through these, so both say the same."""

from __future__ import annotations

import json
import uuid
from typing import Any

from aws_lambda_powertools import Logger

from . import metrics
from .errors import LicensingError, NotFound

logger = Logger(service="licensing")

JSON = "application/json"


def error_body(code: str, message: str, details: list[Any] | None = None) -> str:
    return json.dumps({"error": {"code": code, "message": message, "details": details or []}})


def no_such_route() -> NotFound:
    """What a path that no route serves answers (API.md's `NOT_FOUND`), the same from the license
    API, the portal's JSON routes and the dev gateway."""
    return NotFound("No such route.")


def error_of(error: Exception) -> tuple[int, str]:
    """The status and body that answer an exception: a domain error says its own; anything else (a
    bug, or an outage below the domain such as a network timeout) is a 500 that a caller (Stripe)
    retries, logged with its type only."""
    if isinstance(error, LicensingError):
        if error.status >= 500:
            logger.error("request failed", extra={"code": error.code})
        return error.status, error_body(error.code, error.message, error.details)
    logger.exception("unexpected error", extra={"error_type": type(error).__name__})
    return 500, error_body("INTERNAL_ERROR", "Something went wrong on our side; try again later.")


def request_id_of(event: dict[str, Any]) -> str:
    """API Gateway's id of the request, which a customer quotes from X-Request-Id."""
    return str((event.get("requestContext") or {}).get("requestId") or "") or str(uuid.uuid4())


def count_status(status: int, route: str) -> None:
    """One `4xx` or `5xx` metric (dimension `route`: the API route key) for an error answer."""
    if status >= 400:
        metrics.count("5xx" if status >= 500 else "4xx", route=route or "$default")


def proxy_answer(
    status: int, body: str, request_id: str, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """A JSON answer as API Gateway takes it from Lambda, shaped as Powertools' resolver shapes it."""
    return {
        "statusCode": status,
        "body": body,
        "isBase64Encoded": False,
        "headers": {"Content-Type": JSON, **(headers or {}), "X-Request-Id": request_id},
        "cookies": [],
    }
