"""The license lifecycle: which status changes are allowed, and what a license answers on a given day.

``PENDING`` -> ``ACTIVE`` -> ``SUSPENDED`` (and back), ``EXPIRED`` or ``REVOKED`` (final). What
the API answers is computed from the dates at read time, so a license whose end date has passed
answers ``GRACE_PERIOD`` or ``EXPIRED`` before the daily job has written anything.
"""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum

from .codes import Code
from .errors import TransitionRefused
from .models import License, LicenseStatus

VALID = Code.VALID
GRACE_PERIOD = Code.GRACE_PERIOD
EXPIRED = Code.EXPIRED


class Action(StrEnum):
    CONFIRM_PAYMENT = "CONFIRM_PAYMENT"
    SUSPEND = "SUSPEND"
    REINSTATE = "REINSTATE"
    REVOKE = "REVOKE"
    EXPIRE = "EXPIRE"
    RENEW = "RENEW"


_ALLOWED: dict[Action, tuple[frozenset[LicenseStatus], LicenseStatus]] = {
    Action.CONFIRM_PAYMENT: (frozenset({LicenseStatus.PENDING}), LicenseStatus.ACTIVE),
    # A dispute can arrive after the license has expired; it must still be paused.
    Action.SUSPEND: (frozenset({LicenseStatus.ACTIVE, LicenseStatus.EXPIRED}), LicenseStatus.SUSPENDED),
    Action.REINSTATE: (frozenset({LicenseStatus.SUSPENDED}), LicenseStatus.ACTIVE),
    Action.REVOKE: (frozenset(set(LicenseStatus) - {LicenseStatus.REVOKED}), LicenseStatus.REVOKED),
    Action.EXPIRE: (frozenset({LicenseStatus.ACTIVE}), LicenseStatus.EXPIRED),
    Action.RENEW: (frozenset({LicenseStatus.ACTIVE, LicenseStatus.EXPIRED}), LicenseStatus.ACTIVE),
}

_REFUSED_VERB = {
    Action.CONFIRM_PAYMENT: "have its payment confirmed",
    Action.SUSPEND: "be suspended",
    Action.REINSTATE: "be reinstated",
    Action.REVOKE: "be revoked",
    Action.EXPIRE: "expire",
    Action.RENEW: "be renewed",
}

# Stored statuses that answer as they are, whatever the dates say.
_ANSWERED_AS_STORED = frozenset({LicenseStatus.PENDING, LicenseStatus.SUSPENDED, LicenseStatus.REVOKED})


def _refusal(status: LicenseStatus, action: Action) -> str:
    article = "an" if status[0] in "AEIOU" else "a"
    message = f"{article} {status} license cannot {_REFUSED_VERB[action]}"
    if status is LicenseStatus.REVOKED:
        return message + ": revocation is final"
    allowed = " or ".join(sorted(_ALLOWED[action][0]))
    return f"{message} (only when {allowed})"


def transition(status: LicenseStatus, action: Action) -> LicenseStatus:
    """The status a license with this status has after this action.

    Raises TransitionRefused, with a message such as "a REVOKED license cannot be renewed", for a
    pair the lifecycle does not allow.
    """
    sources, target = _ALLOWED[action]
    if status not in sources:
        raise TransitionRefused(
            _refusal(status, action), details=[{"status": str(status), "action": str(action)}]
        )
    return target


def validity_code(license: License, today: date) -> Code:
    """The code the API answers for a license on a given UTC day.

    PENDING, SUSPENDED and REVOKED answer as stored. ACTIVE and EXPIRED answer by their dates:
    VALID through ``ends_on``, GRACE_PERIOD through ``ends_on + grace_days``, EXPIRED after; so
    a stored EXPIRED whose end date was extended answers VALID again.
    """
    if license.status in _ANSWERED_AS_STORED:
        return Code(license.status.value)
    if today <= license.ends_on:
        return VALID
    if today <= grace_ends_on(license):
        return GRACE_PERIOD
    return EXPIRED


def grace_ends_on(license: License) -> date:
    """The last day of a license's grace period, ``ends_on + grace_days``: it lapses the day after."""
    return license.ends_on + timedelta(days=license.grace_days)


def is_valid(code: str) -> bool:
    """Whether a validity code lets the software run: VALID and GRACE_PERIOD do."""
    return code in (VALID, GRACE_PERIOD)


def keeps_running(license: License, code: str) -> bool:
    """Whether the software may run with this code: VALID and GRACE_PERIOD always, EXPIRED when the
    product's `on_expiry` is keep_working (the term buys updates and support, not the right to run)."""
    from .models import OnExpiry

    return is_valid(code) or (code == EXPIRED and license.on_expiry is OnExpiry.KEEP_WORKING)


def updates_until(license: License) -> date:
    """The last day whose releases the license may download once it has expired: its end date."""
    return license.ends_on


def days_left(license: License, today: date) -> int:
    """Days from today through ``ends_on``: 0 on the last day of the term, negative after it."""
    return (license.ends_on - today).days


def renewal_end(ends_on: date, today: date, term_months: int) -> date:
    """The end date a renewal paid today gives: the term added to the later of today and the
    current end date (DESIGN.md, License lifecycle)."""
    from .dates import add_months

    return add_months(max(today, ends_on), term_months)
