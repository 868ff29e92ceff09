"""boto3 errors become domain errors: a failed condition is a conflict; throttling and racing
transactions ask for a retry, so that a sale is never taken for already done."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from licensing.adapters.aws import translate
from licensing.errors import Conflict, TransientError


def cancelled(*reasons: str) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
            "CancellationReasons": [{"Code": code} for code in reasons],
            "ResponseMetadata": {"HTTPStatusCode": 400},
        },
        "TransactWriteItems",
    )


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (cancelled("None", "ConditionalCheckFailed"), Conflict),
        (cancelled("TransactionConflict", "None"), TransientError),
        (cancelled("ThrottlingError"), TransientError),
        (cancelled("ProvisionedThroughputExceeded", "None"), TransientError),
        (ClientError({"Error": {"Code": "ConditionalCheckFailedException"}}, "PutItem"), Conflict),
        (
            ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "GetItem"),
            TransientError,
        ),
        (
            ClientError(
                {"Error": {"Code": "Whatever"}, "ResponseMetadata": {"HTTPStatusCode": 503}}, "Query"
            ),
            TransientError,
        ),
    ],
)
def test_errors_are_translated_by_their_reasons(error: ClientError, expected: type[Exception]) -> None:
    assert isinstance(translate(error, "write"), expected)


def test_a_validation_error_stays_what_it_is() -> None:
    error = ClientError(
        {"Error": {"Code": "ValidationException"}, "ResponseMetadata": {"HTTPStatusCode": 400}}, "Query"
    )
    assert translate(error, "query") is error
