"""The license state machine and the validity code computed from the dates."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest

from licensing.errors import TransitionRefused
from licensing.lifecycle import Action, days_left, is_valid, transition, validity_code
from licensing.models import License, LicenseStatus

PENDING, ACTIVE, SUSPENDED, REVOKED, EXPIRED = (
    LicenseStatus.PENDING,
    LicenseStatus.ACTIVE,
    LicenseStatus.SUSPENDED,
    LicenseStatus.REVOKED,
    LicenseStatus.EXPIRED,
)

# The lifecycle of DESIGN.md, written out pair by pair so that the table and the code check each other.
ALLOWED = {
    (PENDING, Action.CONFIRM_PAYMENT): ACTIVE,
    (ACTIVE, Action.SUSPEND): SUSPENDED,
    (EXPIRED, Action.SUSPEND): SUSPENDED,
    (SUSPENDED, Action.REINSTATE): ACTIVE,
    (PENDING, Action.REVOKE): REVOKED,
    (ACTIVE, Action.REVOKE): REVOKED,
    (SUSPENDED, Action.REVOKE): REVOKED,
    (EXPIRED, Action.REVOKE): REVOKED,
    (ACTIVE, Action.EXPIRE): EXPIRED,
    (ACTIVE, Action.RENEW): ACTIVE,
    (EXPIRED, Action.RENEW): ACTIVE,
}
REFUSED = [pair for pair in itertools.product(LicenseStatus, Action) if pair not in ALLOWED]

END = date(2027, 2, 28)


def make_license(status: LicenseStatus = ACTIVE, *, ends_on: date = END, grace_days: int = 7) -> License:
    return License(
        id="lic_test",
        key="0000000000000000000000001Y",
        name="Acme Pro",
        product="acme-pro",
        status=status,
        account_id="acc_1",
        starts_on=date(2026, 2, 28),
        ends_on=ends_on,
        max_sites=3,
        grace_days=grace_days,
    )


def test_the_matrix_covers_every_pair() -> None:
    assert len(ALLOWED) == 11
    assert len(ALLOWED) + len(REFUSED) == len(LicenseStatus) * len(Action) == 30


@pytest.mark.parametrize(("pair", "after"), list(ALLOWED.items()), ids=lambda value: str(value))
def test_allowed_transitions(pair: tuple[LicenseStatus, Action], after: LicenseStatus) -> None:
    status, action = pair
    assert transition(status, action) is after


@pytest.mark.parametrize(("status", "action"), REFUSED)
def test_refused_transitions(status: LicenseStatus, action: Action) -> None:
    with pytest.raises(TransitionRefused) as refused:
        transition(status, action)
    assert refused.value.code == "TRANSITION_REFUSED"
    assert refused.value.status == 409
    assert f" {status} license cannot " in refused.value.message
    assert refused.value.details == [{"status": str(status), "action": str(action)}]


@pytest.mark.parametrize("action", list(Action))
def test_revoked_is_final(action: Action) -> None:
    with pytest.raises(TransitionRefused, match="revocation is final"):
        transition(REVOKED, action)


@pytest.mark.parametrize(
    ("status", "action", "message"),
    [
        (REVOKED, Action.RENEW, "a REVOKED license cannot be renewed: revocation is final"),
        (PENDING, Action.RENEW, "a PENDING license cannot be renewed (only when ACTIVE or EXPIRED)"),
        (ACTIVE, Action.REINSTATE, "an ACTIVE license cannot be reinstated (only when SUSPENDED)"),
        (EXPIRED, Action.EXPIRE, "an EXPIRED license cannot expire (only when ACTIVE)"),
        (
            SUSPENDED,
            Action.CONFIRM_PAYMENT,
            "a SUSPENDED license cannot have its payment confirmed (only when PENDING)",
        ),
    ],
)
def test_refusal_messages_read_as_sentences(status: LicenseStatus, action: Action, message: str) -> None:
    with pytest.raises(TransitionRefused) as refused:
        transition(status, action)
    assert refused.value.message == message


@pytest.mark.parametrize(
    ("today", "code"),
    [
        (END - timedelta(days=365), "VALID"),
        (END - timedelta(days=1), "VALID"),
        (END, "VALID"),
        (END + timedelta(days=1), "GRACE_PERIOD"),
        (END + timedelta(days=6), "GRACE_PERIOD"),
        (END + timedelta(days=7), "GRACE_PERIOD"),
        (END + timedelta(days=8), "EXPIRED"),
        (END + timedelta(days=400), "EXPIRED"),
    ],
)
@pytest.mark.parametrize("status", [ACTIVE, EXPIRED])
def test_active_and_expired_answer_by_their_dates(status: LicenseStatus, today: date, code: str) -> None:
    assert validity_code(make_license(status, grace_days=7), today) == code


@pytest.mark.parametrize(
    ("today", "code"),
    [(END, "VALID"), (END + timedelta(days=1), "EXPIRED"), (END + timedelta(days=2), "EXPIRED")],
)
def test_without_grace_days_the_day_after_the_end_is_expired(today: date, code: str) -> None:
    assert validity_code(make_license(grace_days=0), today) == code


def test_a_stored_expired_license_with_an_extended_end_date_is_valid_again() -> None:
    extended = make_license(EXPIRED, ends_on=date(2028, 2, 29))
    assert validity_code(extended, date(2027, 6, 1)) == "VALID"


def test_an_active_license_past_its_grace_is_expired_before_any_job_runs() -> None:
    assert validity_code(make_license(ACTIVE), date(2027, 12, 31)) == "EXPIRED"


@pytest.mark.parametrize("status", [PENDING, SUSPENDED, REVOKED])
@pytest.mark.parametrize(
    "today", [END - timedelta(days=30), END, END + timedelta(days=3), END + timedelta(days=30)]
)
def test_pending_suspended_and_revoked_answer_as_stored(status: LicenseStatus, today: date) -> None:
    assert validity_code(make_license(status), today) == str(status)


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        ("VALID", True),
        ("GRACE_PERIOD", True),
        ("EXPIRED", False),
        ("PENDING", False),
        ("SUSPENDED", False),
        ("REVOKED", False),
        ("NOT_FOUND", False),
        ("valid", False),
    ],
)
def test_is_valid(code: str, valid: bool) -> None:
    assert is_valid(code) is valid


@pytest.mark.parametrize(
    ("today", "left"),
    [
        (date(2026, 2, 28), 365),
        (END - timedelta(days=1), 1),
        (END, 0),
        (END + timedelta(days=1), -1),
        (END + timedelta(days=10), -10),
    ],
)
def test_days_left(today: date, left: int) -> None:
    assert days_left(make_license(), today) == left
