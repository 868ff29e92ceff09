"""`make run`: the whole local system answers on loopback, with the demo catalogue."""

from __future__ import annotations

import json

import boto3
import requests

from licensing.adapters.dynamo import DynamoStore
from licensing.devserver.resources import LOCAL
from licensing.models import License
from tests.e2e.conftest import LocalSystem, mails_to


def demo_license(store: DynamoStore, account_id: str) -> License:
    """Acme's custom license of the demo data (other tests may issue Acme more licenses)."""
    (license,) = [
        lic
        for lic in store.licenses_of_account(account_id)
        if store.license_history(lic.id)[0].actor == "demo data"
    ]
    return license


def local_client(system: LocalSystem, service: str) -> object:
    return boto3.client(service, endpoint_url=f"http://127.0.0.1:{system.aws_port}")


def test_health_through_the_gateway(local_system: LocalSystem) -> None:
    answer = requests.get(f"{local_system.url}/v1/health", timeout=5)
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}
    assert answer.headers["X-Request-Id"]


def test_unknown_routes_answer_404_in_the_error_shape(local_system: LocalSystem) -> None:
    answer = requests.get(f"{local_system.url}/no/such/page", timeout=5)
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "NOT_FOUND"
    assert answer.headers["X-Request-Id"]


def test_the_demo_catalogue_is_loaded(local_system: LocalSystem) -> None:
    store = DynamoStore(LOCAL.table, local_client(local_system, "dynamodb"))
    products = {product.slug: product for product in store.list_products()}
    assert set(products) == {"crm-exporter", "acme-sales-automation"}
    crm = products["crm-exporter"]
    assert (crm.term_months, crm.max_sites, crm.grace_days, crm.stripe_price_ids) == (
        12,
        3,
        7,
        ["price_crm_exporter"],
    )
    assert [r.version for r in store.list_releases("crm-exporter")] == ["1.2.0", "1.1.0", "1.0.0"]
    assert [r.version for r in store.list_releases("acme-sales-automation")] == ["1.0.0", "0.9.0"]
    custom = products["acme-sales-automation"]
    assert custom.kind == "custom"
    account = store.get_account(str(custom.owner_account_id))
    assert account is not None and account.name == "Acme Corp"
    assert store.contact_emails(account.id) == ["buyer@acme.test"]
    license = demo_license(store, account.id)
    assert (license.product, license.type.value, license.status.value) == (
        "acme-sales-automation",
        "custom",
        "ACTIVE",
    )


def test_release_files_are_real_zips_in_the_bucket(local_system: LocalSystem) -> None:
    import hashlib
    import io
    import zipfile

    store = DynamoStore(LOCAL.table, local_client(local_system, "dynamodb"))
    release = store.list_releases("crm-exporter")[0]
    s3 = local_client(local_system, "s3")
    data = s3.get_object(Bucket=LOCAL.bucket, Key=release.file_key)["Body"].read()  # type: ignore[attr-defined]
    assert hashlib.sha256(data).hexdigest() == release.sha256 and len(data) == release.size
    assert "manifest.json" in zipfile.ZipFile(io.BytesIO(data)).namelist()


def test_the_dev_mailbox_answers(local_system: LocalSystem) -> None:
    answer = requests.get(f"{local_system.url}/_dev/mail.json", timeout=5)
    assert answer.status_code == 200 and isinstance(answer.json(), list)
    page = requests.get(f"{local_system.url}/_dev/mail", timeout=5)
    assert page.status_code == 200 and "Dev mailbox" in page.text


def test_a_taken_port_is_refused_with_a_clear_message(local_system: LocalSystem) -> None:
    import subprocess
    import sys
    from pathlib import Path

    port = local_system.url.rsplit(":", 1)[1]
    licensing = Path(sys.executable).with_name("licensing")
    result = subprocess.run(
        [str(licensing), "dev", "--port", port, "--aws-port", "0"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert f"port {port} is already in use" in result.stderr


def test_a_local_purchase_becomes_a_license_and_an_email(local_system: LocalSystem) -> None:
    import subprocess
    import sys
    from pathlib import Path

    licensing = Path(sys.executable).with_name("licensing")
    result = subprocess.run(
        [
            str(licensing),
            "--json",
            "dev",
            "purchase",
            "--email",
            "new.buyer@example.test",
            "--product",
            "crm-exporter",
            "--quantity",
            "2",
            "--company",
            "Initech",
            "--url",
            local_system.url,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    session = json.loads(result.stdout)["session"]
    store = DynamoStore(LOCAL.table, local_client(local_system, "dynamodb"))
    licenses = [store.require_license(i) for i in store.license_ids_for_ref(session)]
    assert len(licenses) == 2 and {lic.status.value for lic in licenses} == {"ACTIVE"}
    (mail,) = mails_to(local_system, "new.buyer@example.test")
    assert "CRM Exporter" in str(mail["subject"])
    for license in licenses:
        assert license.display_key in str(mail["text"])
    assert "/portal/auth?token=" in str(mail["text"])


def test_an_extension_validates_the_demo_license_on_the_local_system(local_system: LocalSystem) -> None:
    store = DynamoStore(LOCAL.table, local_client(local_system, "dynamodb"))
    custom = store.require_product("acme-sales-automation")
    license = demo_license(store, str(custom.owner_account_id))
    body = {
        "key": license.display_key.lower(),
        "product": "acme-sales-automation",
        "site": "http://localhost:8080",
    }
    answer = requests.post(f"{local_system.url}/v1/licenses/validate", json=body, timeout=10)
    assert answer.status_code == 200 and answer.json()["code"] == "VALID"
    (key,) = requests.get(f"{local_system.url}/v1/keys", timeout=10).json()["keys"]
    assert answer.headers["X-Signature-Key-Id"] == key["kid"]


def test_the_local_checkout_stand_in_renews_a_license(local_system: LocalSystem) -> None:
    from urllib.parse import urlencode

    from licensing.dates import add_months

    store = DynamoStore(LOCAL.table, local_client(local_system, "dynamodb"))
    custom = store.require_product("acme-sales-automation")
    license = demo_license(store, str(custom.owner_account_id))
    parameters = {"license_id": license.id, "product": "acme-sales-automation", "email": "buyer@acme.test"}
    query = urlencode(parameters | {"amount": "9900", "currency": "eur"})
    page = requests.get(f"{local_system.url}/_dev/checkout?{query}", timeout=10)
    assert page.status_code == 200 and "Pay 99.00 EUR" in page.text
    paid = requests.post(
        f"{local_system.url}/_dev/checkout?{query}&return_url=/portal/", timeout=30, allow_redirects=False
    )
    assert paid.status_code == 303 and paid.headers["Location"] == "/portal/"
    renewed = store.require_license(license.id)
    assert renewed.ends_on == add_months(license.ends_on, 12)
