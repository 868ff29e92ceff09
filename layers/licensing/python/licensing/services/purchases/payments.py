"""Stripe payments as a list on the license: a checkout's, a renewal's, and the refunds recorded on
the payment they refund. Of a multi-license order each license records its share of the total
(split evenly, the remainder cents to the first), so that the shares add up to what was paid."""

from __future__ import annotations

from datetime import date

from ...models import License, Payment, PaymentStatus


def split_amount(total: int | None, count: int) -> list[int | None]:
    """`total` in `count` shares that add up to it; the remainder goes to the first."""
    if total is None:
        return [None] * count
    share = total // count
    shares: list[int | None] = [share + total - share * count]
    return shares + [share] * (count - 1)


def order_payments(
    *,
    at: date,
    total: int | None,
    count: int,
    currency: str | None,
    status: PaymentStatus,
    invoice_url: str | None,
    stripe_payment_id: str | None,
    reason: str,
) -> list[Payment]:
    """One payment per license of an order, each with its share of `total`."""
    return [
        Payment(
            at=at,
            amount=amount,
            currency=currency,
            method="stripe",
            status=status,
            invoice_url=invoice_url,
            paid_on=at if status is PaymentStatus.PAID else None,
            reason=reason,
            stripe_payment_id=stripe_payment_id,
            order_amount=total if count > 1 else None,
        )
        for amount in split_amount(total, count)
    ]


def with_refund(license: License, stripe_payment_id: str | None, refunded: int, *, full: bool) -> License:
    """The license with a refund recorded on the payment it refunds: `refunded` is the charge's
    cumulative refunded amount, of which this license's payment carries its share."""
    if stripe_payment_id is None:
        return license
    payments = []
    for payment in license.payments:
        if payment.stripe_payment_id == stripe_payment_id:
            amount = payment.amount or 0
            if full:
                share = amount
            elif payment.order_amount:
                share = min(amount, refunded * amount // payment.order_amount)
            else:
                share = min(amount, refunded) if payment.amount is not None else refunded
            status = (
                PaymentStatus.REFUNDED if full or share >= amount > 0 else PaymentStatus.PARTIALLY_REFUNDED
            )
            payment = payment.model_copy(update={"amount_refunded": share, "status": status})
        payments.append(payment)
    return license.model_copy(update={"payments": payments})


def confirmed(license: License, stripe_payment_id: str | None, day: date) -> list[Payment]:
    """The license's payments with a pending Stripe payment of this sale now paid."""
    return [
        payment.model_copy(update={"status": PaymentStatus.PAID, "paid_on": day})
        if payment.status is PaymentStatus.PENDING
        and payment.method == "stripe"
        and (stripe_payment_id is None or payment.stripe_payment_id in (stripe_payment_id, None))
        else payment
        for payment in license.payments
    ]
