"""The license mail says what the sale was: a purchase, a custom deal, a trial, a free license, a
payment still open with its invoice link; the pending mail names the invoice to pay."""

from __future__ import annotations

import re

import pytest

from licensing.models import Billing, LicenseStatus, LicenseType, PaymentStatus
from tests.integration.test_notifier import BEA, Invoke, Shop, batch, failed_ids, inbox, notifier, shop  # noqa: F401

INVOICE = "https://billing.vendor.example/inv/2026-007"


@pytest.mark.parametrize(
    ("kind", "status", "billing", "subject", "says"),
    [
        (
            LicenseType.COMMERCIAL,
            LicenseStatus.ACTIVE,
            Billing(),
            "Your CRM Exporter license",
            "Thank you for your purchase.",
        ),
        (
            LicenseType.TRIAL,
            LicenseStatus.ACTIVE,
            Billing(payment_status=PaymentStatus.FREE),
            "Your CRM Exporter trial",
            "Thank you for trying CRM Exporter",
        ),
        (
            LicenseType.CUSTOM,
            LicenseStatus.ACTIVE,
            Billing(method="invoice"),
            "Your CRM Exporter license",
            "developed for Acme Corp, is ready",
        ),
        (
            LicenseType.COMMERCIAL,
            LicenseStatus.ACTIVE,
            Billing(method="free", payment_status=PaymentStatus.FREE),
            "Your CRM Exporter license",
            "Your free license for CRM Exporter is ready.",
        ),
        (
            LicenseType.COMMERCIAL,
            LicenseStatus.ACTIVE,
            Billing(method="invoice", payment_status=PaymentStatus.PENDING, invoice_url=INVOICE),
            "Your CRM Exporter license",
            ("Thank you for your purchase.", "The payment is still open"),
        ),
        (
            LicenseType.COMMERCIAL,
            LicenseStatus.PENDING,
            Billing(method="invoice", payment_status=PaymentStatus.PENDING, invoice_url=INVOICE),
            "Your CRM Exporter order: payment pending",
            "please pay the invoice",
        ),
    ],
    ids=["purchase", "trial", "custom", "free", "open-invoice", "pending"],
)
def test_the_mail_says_what_the_sale_was(
    shop: Shop,  # noqa: F811
    notifier: Invoke,  # noqa: F811
    kind: LicenseType,
    status: LicenseStatus,
    billing: Billing,
    subject: str,
    says: str | tuple[str, ...],
) -> None:
    from licensing.services.issuing import issue_licenses

    (license,) = issue_licenses(
        shop.store,
        None,
        product=shop.product,
        account=shop.account,
        actor="test",
        license_type=kind,
        status=status,
        billing=billing,
    )
    assert failed_ids(notifier(batch(shop.issued_record([license])))) == []
    (message,) = inbox(BEA)
    assert message["subject"] == subject
    others = {
        "Thank you for your purchase.",
        "Thank you for trying",
        "developed for",
        "free license",
        "still open",
    }
    # The HTML part as a reader sees it: without its tags.
    for part in (message["text"], re.sub(r"<[^>]+>", "", message["html"])):
        phrases = (says,) if isinstance(says, str) else says
        assert [phrase for phrase in phrases if phrase not in part] == []
        assert [o for o in others if o in part and not any(o in phrase for phrase in phrases)] == []
    if billing.invoice_url:
        assert INVOICE in message["text"] and f'href="{INVOICE}"' in message["html"]
