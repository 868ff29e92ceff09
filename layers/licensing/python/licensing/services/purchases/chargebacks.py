"""Refunds and disputes: applied to the licenses their payment bought, or remembered until the
purchase lands when they come first (Stripe does not order its events)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from ...events import LicenseStatusChanged
from ...lifecycle import Action
from ...models import License, LicenseStatus, PaymentStatus
from ..licenses import Change
from .context import NOTE_TTL_DAYS, PurchaseContext, entry, logger, paid_status
from .payments import with_refund
from .stripe_events import Charge, Dispute

_DISPUTE_OPEN = ("created", "needs_response", "under_review", "warning_needs_response")


@dataclass
class Chargebacks:
    context: PurchaseContext

    def charge_refunded(self, charge: Charge) -> None:
        note = {
            "kind": "refund",
            "full": charge.fully_refunded,
            "amount_refunded": charge.amount_refunded,
            "cause": f"refund:{charge.id}",
            "payment": charge.payment,
        }
        earlier = self.context.store.get_claim(f"early:{charge.payment}:refund")
        if earlier and (earlier["full"] or earlier["amount_refunded"] > charge.amount_refunded):
            note = earlier  # `amount_refunded` is cumulative: an older event never undoes a newer one
        self._apply_or_remember(charge.payment, "refund", note)

    def dispute_opened(self, dispute: Dispute) -> None:
        self._dispute(dispute, "created")

    def dispute_closed(self, dispute: Dispute) -> None:
        self._dispute(dispute, dispute.status)

    def _dispute(self, dispute: Dispute, outcome: str) -> None:
        store = self.context.store
        state = store.get_claim(f"dispute:{dispute.id}")
        if outcome == "created" and state and state.get("outcome") != "created":
            logger.info("dispute opened after it closed: already settled", extra={"dispute": dispute.id})
            return
        store.remember(f"dispute:{dispute.id}", {"outcome": outcome}, ttl_days=NOTE_TTL_DAYS)
        note = {"kind": "dispute", "outcome": outcome, "cause": f"dispute:{dispute.id}:{outcome}"}
        self._apply_or_remember(dispute.payment, "dispute", note)

    def _apply_or_remember(self, payment: str, kind: str, note: dict[str, Any]) -> None:
        """Apply a refund or dispute to the licenses its payment bought. The note is written first
        and the licenses read after (the purchase does the opposite), so that whichever comes
        second sees the other: one arriving before its purchase is applied when the purchase lands."""
        store = self.context.store
        store.remember(f"early:{payment}:{kind}", note, ttl_days=NOTE_TTL_DAYS)
        ids = store.license_ids_for_ref(payment)
        if not ids:
            logger.warning("refund or dispute for a payment without license (yet)", extra={"kind": kind})
            return
        for license_id in ids:
            self.context.change(license_id, partial(_apply_note_recorded, note=note))
            self._announce_status(license_id, note)

    def apply_early_notes(self, ids: list[str], payment: str) -> None:
        """Apply the refund or dispute of `payment` that came before these licenses existed."""
        for kind in ("refund", "dispute"):
            note = self.context.store.get_claim(f"early:{payment}:{kind}")
            if note:
                for license_id in ids:
                    self.context.change(license_id, partial(_apply_note_recorded, note=note))

    def _announce_status(self, license_id: str, note: dict[str, Any]) -> None:
        """Tell the customer when this note is what changed the license's status (also on a retry,
        so an announcement lost to a failure is made again; the notifier mails it once)."""
        license = self.context.store.get_license(license_id)
        if license is None or license.status_cause != note["cause"]:
            return
        self.context.announce(
            LicenseStatusChanged(
                license_id=license.id,
                account_id=license.account_id,
                product=license.product,
                status=license.status.value,
                reason=license.status_reason,
                dedupe_key=f"LicenseStatusChanged:{license.id}:{note['cause']}",
            )
        )


def _apply_note_recorded(license: License, note: dict[str, Any]) -> Change | None:
    """A note applied, with a refund recorded on the payment it refunds (each license its share)."""
    change = _apply_note(license, note)
    if change is None or note["kind"] != "refund":
        return change
    refunded = with_refund(change.license, note.get("payment"), note["amount_refunded"], full=note["full"])
    return Change(refunded, change.history, change.refs, change.guard)


def _apply_note(license: License, note: dict[str, Any]) -> Change | None:
    """A refund or dispute applied to a license; None when it changes nothing (a retry, or an
    event older than what the license already reflects)."""
    cause = note["cause"]
    if note["kind"] == "refund":
        refunded = note["amount_refunded"]
        if note["full"]:
            if license.status is LicenseStatus.REVOKED:
                return None
            return paid_status(
                license, Action.REVOKE, "refunded", PaymentStatus.REFUNDED, cause, amount_refunded=refunded
            )
        if refunded <= license.billing.amount_refunded:
            return None
        billing = license.billing.model_copy(
            update={"payment_status": PaymentStatus.PARTIALLY_REFUNDED, "amount_refunded": refunded}
        )
        history = [entry(license, "partially refunded", amount_refunded=refunded, customer=False)]
        return Change(license.model_copy(update={"billing": billing}), history)
    outcome = note["outcome"]
    if outcome == "lost":
        if license.status is LicenseStatus.REVOKED:
            return None
        return paid_status(license, Action.REVOKE, "dispute lost", PaymentStatus.DISPUTED, cause)
    if outcome in _DISPUTE_OPEN:
        if license.status not in (LicenseStatus.ACTIVE, LicenseStatus.EXPIRED):
            return None
        return paid_status(license, Action.SUSPEND, "payment disputed", PaymentStatus.DISPUTED, cause)
    # won (or closed in the vendor's favour): the pause the dispute caused ends
    if license.status is not LicenseStatus.SUSPENDED or license.status_reason != "payment disputed":
        return None
    return paid_status(
        license, Action.REINSTATE, None, PaymentStatus.PAID, cause, history_reason="dispute won"
    )
