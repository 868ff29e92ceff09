"""Lazily created boto3 clients. `AWS_ENDPOINT_URL` (set by the local dev server and the tests)
points every client at the embedded emulator; in Lambda it is unset.

boto3 itself is imported with this module, so that a function importing an adapter pays for it
in Lambda's init phase rather than in its first request; the clients are made at first use."""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from ..errors import Conflict, TransientError
from ..tracing import trace_calls

# Error codes after which a retry (by Stripe, SQS or the caller) can succeed.
TRANSIENT_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "InternalFailure",
        "ServiceUnavailable",
        "TransactionConflictException",
        "LimitExceededException",
        "Throttling",
        "TooManyRequestsException",
    }
)


@cache
def client(service: str) -> Any:
    # The stack sets these per function so that every retry fits within the function's timeout;
    # AWS_SDK_MAX_ATTEMPTS counts the first attempt too (botocore's total_max_attempts).
    attempts = os.environ.get("AWS_SDK_MAX_ATTEMPTS")
    return _client(
        service,
        {"mode": "standard", "total_max_attempts": int(attempts)}
        if attempts
        else {"mode": "standard", "max_attempts": 3},
    )


@cache
def sending_client(service: str) -> Any:
    """A client whose calls botocore never repeats, for sending mail: SES's throttling reaches the
    pacer at its first answer (which slows every worker down) instead of after botocore's own
    back-off retries, and each SES call is one mail. A connection error or timeout is not retried
    either: the send fails, its ledger entry is released and the queue redelivers the record."""
    return _client(service, {"mode": "standard", "total_max_attempts": 1})


def _client(service: str, retries: Any) -> Any:
    config = Config(
        retries=retries,
        connect_timeout=float(os.environ.get("AWS_SDK_CONNECT_TIMEOUT", "3")),
        read_timeout=float(os.environ.get("AWS_SDK_READ_TIMEOUT", "10")),
    )
    if service == "s3":
        config = config.merge(Config(signature_version="s3v4"))
    return trace_calls(boto3.client(service, config=config))


def reset_clients() -> None:
    """Forget cached clients (the dev server and tests change the endpoint)."""
    client.cache_clear()
    sending_client.cache_clear()


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def translate(error: ClientError, what: str) -> Exception:
    """A boto3 error as a domain error: transient ones ask for a retry, conflicts say so."""
    code = error_code(error)
    if code == "ConditionalCheckFailedException":
        return Conflict(f"{what}: the item changed or already exists")
    if code == "TransactionCanceledException":
        # Cancelled by a failed condition (a real conflict), or by throttling or a concurrent
        # transaction on the same items (try again): only the reasons tell which.
        reasons = {str(reason.get("Code")) for reason in error.response.get("CancellationReasons", [])}
        if "ConditionalCheckFailed" in reasons:
            return Conflict(f"{what}: the item changed or already exists")
        return TransientError(f"{what}: the write raced or was throttled; retry")
    if code in TRANSIENT_CODES or error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500:
        return TransientError(f"{what}: storage is temporarily unavailable")
    return error
