"""The demo catalogue of API.md section 5, loaded at every start of the local system."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime

from ..adapters.dynamo import DynamoStore
from ..adapters.s3 import S3Files
from ..dates import today
from ..ids import new_id
from ..models import Account, Billing, LicenseType, PaymentStatus, Price, Product
from ..services.issuing import issue_licenses
from ..services.releases import publish_release

CRM_EXPORTER_NOTES = {
    "1.0.0": "First release.\n\n- Export contacts, accounts and opportunities to CSV\n- Scheduled exports",
    "1.1.0": "### New\n\n- Excel (XLSX) export\n\n### Fixed\n\n- Dates in exports use the user's time zone",
    "1.2.0": (
        "### New\n\n- Export filters per entity\n- Support for EspoCRM 9\n\n"
        "### Fixed\n\n- Large exports no longer time out"
    ),
}
ACME_NOTES = {
    "0.9.0": "Preview for Acme's sales team: lead scoring and automatic follow-ups.",
    "1.0.0": "### Delivered\n\n- Lead scoring rules agreed on 2026-10-02\n- Follow-up reminders by territory",
}


def extension_zip(slug: str, version: str, notes: str) -> bytes:
    """A small but real extension package: a manifest and a script."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "manifest.json",
            f'{{"name": "{slug}", "version": "{version}", "acceptableVersions": [">=8.0.0"]}}\n',
        )
        archive.writestr("README.md", f"# {slug} {version}\n\n{notes}\n")
        archive.writestr(f"files/custom/Espo/Modules/{slug}/Resources/module.json", '{"order": 30}\n')
    return buffer.getvalue()


def load_demo_data(store: DynamoStore, files: S3Files) -> dict[str, str]:
    """Products, releases, the Acme Corp account and its custom license. Returns ids by name."""
    crm = Product(
        slug="crm-exporter",
        name="CRM Exporter",
        stripe_price_ids=["price_crm_exporter"],
        term_months=12,
        max_sites=3,
        grace_days=7,
        renewal_price=Price(amount=4900, currency="eur"),
        description="Export EspoCRM records to CSV and Excel, on demand or on a schedule.",
    )
    store.put_product(crm)
    acme = Account(id=new_id("acc"), name="Acme Corp", kind="organisation")
    store.create_account(acme)
    store.add_contact(acme.id, "buyer@acme.test", "Bea Buyer")
    custom = Product(
        slug="acme-sales-automation",
        name="Acme Sales Automation",
        kind="custom",
        owner_account_id=acme.id,
        term_months=12,
        max_sites=2,
        grace_days=14,
        description="Sales automation module developed for Acme Corp.",
    )
    store.put_product(custom)
    for product, notes in ((crm, CRM_EXPORTER_NOTES), (custom, ACME_NOTES)):
        for version, text in notes.items():
            publish_release(
                store,
                files,
                product=product.slug,
                version=version,
                filename=f"{product.slug}-{version}.zip",
                data=extension_zip(product.slug, version, text),
                notes_markdown=text,
                requires_host=">=8.0",
            )
    (license,) = issue_licenses(
        store,
        None,
        product=custom,
        account=acme,
        actor="demo data",
        license_type=LicenseType.CUSTOM,
        starts_on=today(),
        billing=Billing(payment_status=PaymentStatus.PAID, method="invoice", invoice_url=None),
    )
    return {
        "acme_account_id": acme.id,
        "acme_license_id": license.id,
        "loaded_at": datetime.now(UTC).isoformat(),
    }
