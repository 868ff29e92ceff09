"""Small builders of domain objects for tests."""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any

from licensing.models import Account, License, LicenseStatus, Product


def product(slug: str = "crm-exporter", **changes: Any) -> Product:
    values: dict[str, Any] = {
        "slug": slug,
        "name": "CRM Exporter",
        "stripe_price_ids": [f"price_{slug.replace('-', '_')}"],
        "term_months": 12,
        "max_sites": 3,
        "grace_days": 7,
    }
    return Product.model_validate(values | changes)


def account(name: str = "Globex GmbH", **changes: Any) -> Account:
    return Account.model_validate({"id": f"acc_{secrets.token_hex(6)}", "name": name} | changes)


def license(account_id: str = "acc_1", **changes: Any) -> License:
    ident = secrets.token_hex(8)
    values: dict[str, Any] = {
        "id": f"lic_{ident}",
        "key": f"KEY{ident.upper()}",
        "name": "CRM Exporter — Globex GmbH",
        "product": "crm-exporter",
        "status": LicenseStatus.ACTIVE,
        "account_id": account_id,
        "starts_on": date(2026, 1, 15),
        "ends_on": date(2027, 1, 15),
        "max_sites": 3,
        "grace_days": 7,
    }
    return License.model_validate(values | changes)
