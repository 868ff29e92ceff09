"""SES throttling reaches our pacer at its first answer: the sending client retries nothing itself,
so every SES call is one mail and the shared schedule slows down at once. The real SES v2 client
(botocore) against a local endpoint that answers as SES does; the schedule on the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from licensing.adapters.aws import reset_clients, sending_client
from licensing.adapters.dynamo import DynamoStore
from licensing.adapters.ses import SesMailer
from licensing.errors import TransientError
from licensing.mail import Message
from licensing.services.pacing import DailyQuota, PacedMailer, Pacer
from tests.sesv2_endpoint import SesV2Endpoint, sesv2_endpoint

MESSAGE = Message(to=("it@firm.test",), subject="Your license key", text="KEY", html="<p>KEY</p>")
SENDER = "licenses@vendor.example"


class Clock:
    def __init__(self) -> None:
        self.now = 2_000_000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class WatchedPacer(Pacer):
    """The real pacer; it notes how many SES calls the client had made when it was told to slow down."""

    def __init__(self, store: DynamoStore, clock: Clock, calls: list[str]) -> None:
        super().__init__(store, rate_per_second=10, clock=clock, sleep=clock.sleep)
        self.calls = calls
        self.slowed_after: list[int] = []

    def slow_down(self) -> None:
        self.slowed_after.append(len(self.calls))
        super().slow_down()


@pytest.fixture
def ses(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[SesV2Endpoint, list[str]]]:
    with sesv2_endpoint() as endpoint:
        # Only SES v2 goes to the local endpoint; the table stays on the emulator.
        monkeypatch.setenv("AWS_ENDPOINT_URL_SESV2", endpoint.url)
        monkeypatch.setenv("AWS_SDK_MAX_ATTEMPTS", "3")  # what the stack sets for the other clients
        reset_clients()
        calls: list[str] = []
        # before-send fires once per HTTP attempt, botocore's own retries included.
        sending_client("sesv2").meta.events.register(
            "before-send.sesv2.SendEmail", lambda **_: calls.append("SendEmail")
        )
        yield endpoint, calls
    reset_clients()


@pytest.mark.parametrize("refusal", ["TooManyRequestsException", "ThrottlingException", "Throttling"])
def test_a_throttled_send_reaches_the_pacer_after_exactly_one_ses_call(
    aws: dict[str, Any], ses: tuple[SesV2Endpoint, list[str]], refusal: str
) -> None:
    endpoint, calls = ses
    endpoint.answers = [refusal]
    clock = Clock()
    pacer = WatchedPacer(DynamoStore(aws["names"].table), clock, calls)
    mailer = PacedMailer(SesMailer(SENDER), pacer, DailyQuota(lambda: None, bulk_share=0.9), bulk=False)

    started = clock()
    message_id = mailer.send(MESSAGE)

    assert pacer.slowed_after == [1]  # the first refusal, not botocore's retries, reached the pacer
    assert mailer.throttled == 1
    assert clock() - started >= 1.0  # the schedule paused before the second try
    assert len(calls) == len(endpoint.requests) == 2  # one refused call, one sent: nothing hidden
    assert len(endpoint.sent) == 1 and message_id


def test_a_healthy_run_makes_one_ses_call_per_mail(
    aws: dict[str, Any], ses: tuple[SesV2Endpoint, list[str]]
) -> None:
    endpoint, calls = ses
    clock = Clock()
    pacer = WatchedPacer(DynamoStore(aws["names"].table), clock, calls)
    mailer = PacedMailer(SesMailer(SENDER), pacer, DailyQuota(lambda: None, bulk_share=0.9), bulk=True)
    for n in range(100):
        mailer.send(Message(to=(f"it{n}@firm.test",), subject="New release", text="1.1", html="<p>1.1</p>"))
    assert len(calls) == len(endpoint.requests) == len(endpoint.sent) == 100
    assert pacer.slowed_after == []


def test_an_unavailable_ses_fails_the_send_at_once_for_the_queue_to_redeliver(
    ses: tuple[SesV2Endpoint, list[str]],
) -> None:
    endpoint, calls = ses
    endpoint.answers = ["ServiceUnavailable"]
    with pytest.raises(TransientError):
        SesMailer(SENDER).send(MESSAGE)
    assert len(calls) == len(endpoint.requests) == 1


def test_a_refused_connection_is_not_retried_by_the_sending_client(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import EndpointConnectionError

    with sesv2_endpoint() as endpoint:
        closed = endpoint.url
    monkeypatch.setenv("AWS_ENDPOINT_URL_SESV2", closed)  # nobody listens there any more
    reset_clients()
    attempts: list[str] = []
    sending_client("sesv2").meta.events.register(
        "before-send.sesv2.SendEmail", lambda **_: attempts.append("SendEmail")
    )
    try:
        with pytest.raises(EndpointConnectionError):
            SesMailer(SENDER).send(MESSAGE)
        assert attempts == ["SendEmail"]
    finally:
        reset_clients()
