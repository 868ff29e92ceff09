"""What every HTTP function shares: the contract's error shape, X-Request-Id on every answer (and in
every log line of the request), a 4xx or 5xx metric per route, and domain errors turned into answers
in one place."""

from __future__ import annotations

import uuid
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from .errors import LicensingError
from .http import JSON, error_body, error_of, logger, no_such_route
from .http import count_status as _count_status

__all__ = ["JSON", "create_resolver", "error_body", "error_response", "logger", "request_id"]


def error_response(status: int, code: str, message: str, details: list[Any] | None = None) -> Response:
    return Response(status_code=status, content_type=JSON, body=error_body(code, message, details))


def request_id(app: APIGatewayHttpResolver) -> str:
    context = app.current_event.request_context
    return context.request_id or str(uuid.uuid4())


def _validation_details(error: RequestValidationError) -> list[dict[str, Any]]:
    details = []
    for item in error.errors():
        location = [str(part) for part in item.get("loc", ()) if part != "body"]
        details.append({"field": ".".join(location), "message": item.get("msg", "invalid")})
    return details


def count_status(app: APIGatewayHttpResolver, status: int) -> None:
    """One `4xx` or `5xx` metric (dimension `route`: the API route key) for an error answer."""
    _count_status(status, app.current_event.route_key or "$default")


def create_resolver(
    *, enable_validation: bool = True, function_logger: Logger | None = None
) -> APIGatewayHttpResolver:
    """An HTTP API resolver answering in the contract's shape, with X-Request-Id on every answer and
    in every log line of the request (the function's logger and the licensing package's)."""
    app = APIGatewayHttpResolver(enable_validation=enable_validation)
    loggers = [web_logger for web_logger in (function_logger, logger) if web_logger is not None]

    def add_request_id(resolver: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response:
        # The id a customer quotes from the header finds the request's log lines.
        for each in loggers:
            each.append_keys(request_id=request_id(resolver))
        response = next_middleware(resolver)
        response.headers["X-Request-Id"] = request_id(resolver)
        count_status(resolver, response.status_code)
        return response

    app.use(middlewares=[add_request_id])

    @app.exception_handler(RequestValidationError)
    def invalid_request(error: RequestValidationError) -> Response:
        return _with_request_id(
            app,
            error_response(400, "INVALID_REQUEST", "The request is not valid.", _validation_details(error)),
        )

    @app.exception_handler(Exception)
    @app.exception_handler(LicensingError)
    def failed(error: Exception) -> Response:
        # Still the contract's shape and a request id to quote (a 5xx for a bug or an outage).
        status, body = error_of(error)
        return _with_request_id(app, Response(status_code=status, content_type=JSON, body=body))

    @app.not_found
    def not_found(_: NotFoundError) -> Response:
        return failed(no_such_route())

    return app


def _with_request_id(app: APIGatewayHttpResolver, response: Response) -> Response:
    # Exception and not-found handlers run outside the middleware chain.
    response.headers["X-Request-Id"] = request_id(app)
    count_status(app, response.status_code)
    return response
