"""Mail suppression from SES's bounce and complaint events (EventBridge's "Email Bounced" and
"Email Complaint Received", whose detail is SES's event record).

A permanent bounce or a complaint marks the recipient's contact suppressed (why, and since when) and
adds an entry to the history of every license of its accounts, so that staff see why a customer
never got their key; the notifier then sends nothing to the address (and writes no "sent" entry).
A transient or undetermined bounce changes nothing: SES has retried already, and the next mail may
arrive. Staff lift a suppression (`licensing accounts contacts unsuppress EMAIL`) once the address
works again. SES keeps its own suppression list too; lifting ours does not lift SES's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from aws_lambda_powertools import Logger

from ..dates import utc_now
from ..errors import NotFound
from ..models import Contact, HistoryEntry, License, Suppression

logger = Logger(service="licensing")

BOUNCED = "Email Bounced"
COMPLAINED = "Email Complaint Received"
ACTOR = "ses"
SUPPRESSED = "mail_suppressed"
UNSUPPRESSED = "mail_unsuppressed"


class SuppressionStore(Protocol):
    def get_contact(self, email: str) -> Contact | None: ...
    def set_suppression(self, email: str, suppression: Suppression | None) -> bool: ...
    def licenses_of_account(self, account_id: str) -> list[License]: ...
    def add_history(self, entry: HistoryEntry) -> None: ...


@dataclass(frozen=True)
class MailFeedback:
    """What one SES event says: the addresses to suppress, why, and when."""

    recipients: tuple[str, ...]
    reason: str
    at: datetime


def feedback(detail_type: str, detail: dict[str, Any]) -> MailFeedback | None:
    """The suppression an SES event calls for; None for one that calls for none (a transient bounce,
    another event type). ValueError for a record without the fields SES always sends."""
    if detail_type == BOUNCED:
        bounce = detail["bounce"]
        if bounce.get("bounceType") != "Permanent":
            return None
        recipients = [r["emailAddress"] for r in bounce.get("bouncedRecipients", [])]
        reason = f"bounce: {bounce.get('bounceSubType', 'General')}"
        status = next((r.get("status") for r in bounce.get("bouncedRecipients", []) if r.get("status")), None)
        if status:
            reason += f" ({status})"
        timestamp = bounce.get("timestamp")
    elif detail_type == COMPLAINED:
        complaint = detail["complaint"]
        recipients = [r["emailAddress"] for r in complaint.get("complainedRecipients", [])]
        reason = f"complaint: {complaint.get('complaintFeedbackType') or 'unspecified'}"
        timestamp = complaint.get("timestamp")
    else:
        return None
    at = datetime.fromisoformat(str(timestamp).replace("Z", "+00:00")) if timestamp else utc_now()
    return MailFeedback(tuple(_address(r) for r in recipients), reason, at)


def apply(store: SuppressionStore, detail_type: str, found: MailFeedback | None) -> int:
    """Suppress the addresses of an SES event's feedback (read with `feedback`); returns how many
    contacts were newly suppressed.

    Idempotent: an address already suppressed is left as it is (a redelivered event adds nothing).
    The history is written before the mark, so that a failure midway is retried whole.
    """
    if found is None:
        logger.info("SES event without suppression", extra={"detail_type": detail_type})
        return 0
    suppressed = 0
    for address in found.recipients:
        contact = store.get_contact(address)
        if contact is None:
            # Not one of ours (or erased since): SES suppresses it for this configuration set anyway.
            logger.info("SES feedback for an address that is no contact", extra={"detail_type": detail_type})
            continue
        if contact.suppressed is not None:
            continue
        license_ids = _record(
            store, contact, SUPPRESSED, {"email": contact.email, "reason": found.reason}, found.at
        )
        store.set_suppression(contact.email, Suppression(reason=found.reason, at=found.at))
        logger.warning(
            "A contact's mail is suppressed", extra={"reason": found.reason, "license_ids": license_ids}
        )
        suppressed += 1
    return suppressed


def unsuppress(store: SuppressionStore, email: str, *, actor: str) -> Contact:
    """Lift a contact's suppression (staff); NotFound for an unknown or unsuppressed address."""
    contact = store.get_contact(_address(email))
    if contact is None:
        raise NotFound(f"{email} is not a contact.")
    if contact.suppressed is None:
        raise NotFound(f"{contact.email} is not suppressed.")
    _record(
        store,
        contact,
        UNSUPPRESSED,
        {"email": contact.email, "was": contact.suppressed.reason},
        utc_now(),
        actor,
    )
    store.set_suppression(contact.email, None)
    return contact.model_copy(update={"suppressed": None})


def is_suppressed(store: Any, address: str) -> bool:
    """Whether nothing may be mailed to `address` (the notifier's check before it claims a send)."""
    contact = store.get_contact(address)
    return contact is not None and contact.suppressed is not None


def _record(
    store: SuppressionStore,
    contact: Contact,
    action: str,
    detail: dict[str, Any],
    at: datetime,
    actor: str = ACTOR,
) -> list[str]:
    license_ids = [
        license.id for account_id in contact.account_ids for license in store.licenses_of_account(account_id)
    ]
    for license_id in license_ids:
        store.add_history(
            HistoryEntry(license_id=license_id, at=at, actor=actor, action=action, detail=detail)
        )
    return license_ids


def _address(raw: str) -> str:
    # SES may give "Name <a@b>" in some records; contacts are kept lower-case.
    text = raw.strip()
    if "<" in text and text.endswith(">"):
        text = text[text.rindex("<") + 1 : -1]
    return text.lower()
