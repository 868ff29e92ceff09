"""Pacing mail to what SES allows: the account's send rate, shared by every worker, and its daily
quota, with bulk mail yielding first.

Why a shared schedule in the table rather than one worker: an SQS mapping's maximum concurrency is
at least 2, and a function held to one concurrent run by reserved concurrency has its other
batches throttled, which burns their receives. So each send books the next free slot of one
schedule item (`PACER#ses`), a conditional write: slots are one interval apart whichever worker
books them, so the rate holds for any number of workers. Bulk mail books a slot only when the
schedule is free within one interval; a transactional mail books the next slot whatever is queued,
so it waits behind at most the one slot each bulk worker holds, never behind a blast.

SES throttling answers with a pause of the whole schedule and the same send again, in this
invocation; only a send throttled again and again, or mail beyond the daily quota, is handed back
to its queue with a later visibility (`Deferred`), rather than retried at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from aws_lambda_powertools import Logger

from ..errors import LicensingError, TransientError
from ..mail import Mailer, Message

logger = Logger(service="licensing")

CHANNEL = "ses"
# How long everyone pauses after SES said "too many requests", and how often one send is tried.
SLOW_DOWN_SECONDS = 1.0
SEND_ATTEMPTS = 5
# How long a quota read is trusted (SentLast24Hours moves with every send, ours and others').
QUOTA_SECONDS = 60.0
QUOTA_DEFER_SECONDS = 3 * 3600


class Deferred(LicensingError):
    """Not now: the message goes back to its queue, visible again after `delay_seconds`."""

    code = "MAIL_DEFERRED"

    def __init__(self, message: str, *, delay_seconds: int) -> None:
        super().__init__(message)
        self.delay_seconds = delay_seconds


class Throttled(TransientError):
    """SES refused the send as too fast (TooManyRequestsException, Throttling)."""

    code = "MAIL_THROTTLED"


@dataclass(frozen=True)
class Quota:
    max_send_rate: float
    max_24_hour_send: float
    sent_last_24_hours: float


def read_quota(sesv2: Any) -> Quota | None:
    """The account's sending quota (`sesv2.get_account()`); None when SES does not say (the
    emulator does not implement it; a role without ses:GetAccount): the configured rate applies."""
    try:
        quota = sesv2.get_account()["SendQuota"]
    except Exception as error:  # any refusal leaves the configured ceiling in force
        logger.warning(
            "SES quota unavailable; pacing to the configured rate", extra={"error": type(error).__name__}
        )
        return None
    return Quota(
        max_send_rate=float(quota["MaxSendRate"]),
        max_24_hour_send=float(quota["Max24HourSend"]),
        sent_last_24_hours=float(quota["SentLast24Hours"]),
    )


class ScheduleStore(Protocol):
    def book_send_slot(self, name: str, *, now: float, interval: float, horizon: float) -> float | None: ...
    def push_send_schedule(self, name: str, *, not_before: float) -> None: ...


class Pacer:
    """The shared send schedule: `wait_turn` returns when this worker may send one mail."""

    def __init__(
        self,
        store: ScheduleStore,
        *,
        rate_per_second: float,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate_per_second <= 0:
            raise ValueError("the send rate must be positive")
        self.store = store
        self.interval = 1.0 / rate_per_second
        self.clock = clock
        self.sleep = sleep

    def wait_turn(self, *, bulk: bool) -> None:
        horizon = self.interval if bulk else float("inf")
        while True:
            now = self.clock()
            start = self.store.book_send_slot(CHANNEL, now=now, interval=self.interval, horizon=horizon)
            if start is not None:
                if start > now:
                    self.sleep(start - now)
                return
            if bulk:
                self.sleep(self.interval / 2)  # booked ahead, or another worker was first: wait

    def slow_down(self) -> None:
        self.store.push_send_schedule(CHANNEL, not_before=self.clock() + SLOW_DOWN_SECONDS)


class DailyQuota:
    """What is left of the SES daily quota; bulk mail stops at `1 - bulk_share` of it, so that the
    rest stays for keys and sign-in links."""

    def __init__(
        self,
        read: Callable[[], Quota | None],
        *,
        bulk_share: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.read = read
        self.bulk_share = bulk_share
        self.clock = clock
        self._quota: Quota | None = None
        self._read_at: float | None = None
        self._sent_since = 0

    def quota(self) -> Quota | None:
        now = self.clock()
        if self._read_at is None or now - self._read_at > QUOTA_SECONDS:
            self._quota, self._read_at, self._sent_since = self.read(), now, 0
        return self._quota

    def check(self, *, bulk: bool) -> None:
        quota = self.quota()
        if quota is None:
            return
        used = quota.sent_last_24_hours + self._sent_since
        allowed = quota.max_24_hour_send * (self.bulk_share if bulk else 1)
        if used >= allowed:
            # The sends of the last 24 hours free quota as they age: try again in three hours (with
            # the bulk queue's 20 receives, a message waits up to 60 hours before it dead-letters).
            raise Deferred(
                "the SES daily quota is spent for this kind of mail", delay_seconds=QUOTA_DEFER_SECONDS
            )

    def note_sent(self) -> None:
        self._sent_since += 1


class PacedMailer:
    """A mailer that sends on the shared schedule, within the daily quota."""

    def __init__(self, mailer: Mailer, pacer: Pacer, quota: DailyQuota, *, bulk: bool) -> None:
        self.mailer = mailer
        self.pacer = pacer
        self.daily = quota
        self.bulk = bulk
        self.throttled = 0

    def send(self, message: Message) -> str:
        self.daily.check(bulk=self.bulk)
        for _ in range(SEND_ATTEMPTS):
            self.pacer.wait_turn(bulk=self.bulk)
            try:
                answer = self.mailer.send(message)
            except Throttled:
                self.throttled += 1
                self.pacer.slow_down()
                continue
            self.daily.note_sent()
            return answer
        raise Deferred("SES keeps throttling", delay_seconds=30)


def send_rate(configured: float, quota: Quota | None) -> float:
    """The rate to pace to: the configured ceiling, or the account's, whichever is lower."""
    if quota is None or quota.max_send_rate <= 0:
        return configured
    return min(configured, quota.max_send_rate)
