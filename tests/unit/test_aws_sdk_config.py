"""boto3 clients take the SDK timeouts the stack sets per function (infra.functions.SdkTimeouts)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from infra import constants
from licensing.adapters.aws import client, reset_clients


@pytest.fixture(autouse=True)
def fresh_clients(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    reset_clients()
    yield
    reset_clients()


def test_the_stack_s_timeouts_reach_the_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(constants.ENV_SDK_CONNECT_TIMEOUT, "1")
    monkeypatch.setenv(constants.ENV_SDK_READ_TIMEOUT, "3")
    monkeypatch.setenv(constants.ENV_SDK_MAX_ATTEMPTS, "2")

    config = client("dynamodb").meta.config

    assert (config.connect_timeout, config.read_timeout) == (1, 3)
    assert config.retries == {"mode": "standard", "total_max_attempts": 2}


def test_without_them_the_local_defaults_stay(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        constants.ENV_SDK_CONNECT_TIMEOUT,
        constants.ENV_SDK_READ_TIMEOUT,
        constants.ENV_SDK_MAX_ATTEMPTS,
    ):
        monkeypatch.delenv(name, raising=False)

    config = client("s3").meta.config

    assert (config.connect_timeout, config.read_timeout) == (3, 10)
    assert config.signature_version == "s3v4"


def test_the_sending_client_retries_nothing_and_the_others_keep_their_retries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from licensing.adapters.aws import sending_client

    monkeypatch.setenv(constants.ENV_SDK_MAX_ATTEMPTS, "3")

    # SES's throttling goes to the pacer at its first answer; the quota read may be retried.
    assert sending_client("sesv2").meta.config.retries == {"mode": "standard", "total_max_attempts": 1}
    assert client("sesv2").meta.config.retries == {"mode": "standard", "total_max_attempts": 3}
    assert sending_client("sesv2") is not client("sesv2")
