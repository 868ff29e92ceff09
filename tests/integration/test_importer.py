"""`licensing import` on the emulator: the shipped CRM sample moves over with its keys still
validating, sites, payments and history; a second run writes nothing; bad rows are refused with
their line and reason while the good ones are imported; no mail unless asked."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import boto3
import pytest

from bench.__main__ import WRITES, RequestCounter
from licensing.adapters.dynamo import DynamoStore
from licensing.adapters.events import EventBridgePublisher
from licensing.errors import InvalidInput
from licensing.keys import generate_key
from licensing.models import LicenseStatus, LicenseType, PaymentStatus
from licensing.services.importer import import_licenses, load_mapping, read_rows
from licensing.services.issuing import issue_licenses
from licensing.services.lookup import find_account, find_license
from licensing.services.validation import validate
from tests import factories
from tests.conftest import ROOT

EXAMPLES = ROOT / "examples" / "import"
STAFF = "staff:ann"
DAY = date(2026, 12, 1)


def queued(aws: dict[str, Any]) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    answer = sqs.receive_message(QueueUrl=aws["queues"]["transactional"], MaxNumberOfMessages=10)
    return [json.loads(message["Body"]) for message in answer.get("Messages", [])]


@pytest.fixture
def store(aws: dict[str, Any]) -> DynamoStore:
    store = DynamoStore(aws["names"].table, boto3.client("dynamodb"))
    store.put_product(factories.product("crm-exporter", max_sites=1))
    return store


def sample_rows() -> list[Any]:
    mapping = load_mapping((EXAMPLES / "crm-mapping.json").read_text())
    rows, ignored = read_rows((EXAMPLES / "crm-licenses.csv").read_text(), mapping=mapping)
    assert ignored == []
    return rows


def test_the_crm_sample_is_imported_with_its_keys_still_valid_and_a_second_run_writes_nothing(
    aws: dict[str, Any], store: DynamoStore
) -> None:
    report = import_licenses(store, None, sample_rows(), actor=STAFF, date_format="DD.MM.YYYY")
    assert [(row.line, row.outcome) for row in report.rows] == [
        (2, "created"),
        (3, "created"),
        (4, "created"),
    ]

    globex = find_license(store, "glbx-2026-0001-aaaa")  # as a customer would type it
    assert globex.name == "CRM Exporter for Globex"
    assert (globex.starts_on, globex.ends_on) == (date(2026, 1, 15), date(2027, 1, 15))
    assert sorted(globex.sites) == ["crm.globex.test", "globex.example.com"]
    # Two sites in use, one of them a development host: the product's limit of 1 still holds them.
    assert globex.sites_used == 1 and globex.max_sites == 1
    assert globex.billing.method == "bank_transfer"
    assert globex.billing.invoice_url == "https://billing.vendor.example/inv/2026-014"
    [payment] = globex.payments
    assert (payment.status, payment.method, payment.at) == (
        PaymentStatus.PAID,
        "bank_transfer",
        date(2026, 1, 15),
    )
    [entry] = store.license_history(globex.id)
    assert (entry.action, entry.actor, entry.detail["notes"]) == (
        "imported",
        STAFF,
        "Bought by email in January",
    )

    account = find_account(store, "maria@globex.example.com")
    assert account.name == "Globex GmbH"
    assert sorted(store.contact_emails(account.id)) == ["it@globex.example.com", "maria@globex.example.com"]
    maria = store.get_contact("maria@globex.example.com")
    assert maria is not None and maria.name == "Maria Muster"

    answer = validate(
        store,
        key="GLBX-2026-0001-AAAA",
        product="crm-exporter",
        site="https://globex.example.com/",
        today=DAY,
    )
    assert answer.code.value == "VALID"
    initrode = find_license(store, "INIT-2025-0042-BBBB")
    assert initrode.status is LicenseStatus.EXPIRED
    assert (
        validate(store, key="INIT-2025-0042-BBBB", product=None, site=None, today=DAY).code.value == "EXPIRED"
    )
    hooli = find_license(store, "HOOLI-TRIAL-7")
    assert hooli.type is LicenseType.TRIAL and hooli.payments == [] and hooli.sites == {}
    assert queued(aws) == []  # imported licenses send no mail unless asked

    counter = RequestCounter(store.dynamodb)
    again = import_licenses(store, None, sample_rows(), actor=STAFF, date_format="DD.MM.YYYY")
    assert [row.outcome for row in again.rows] == ["unchanged"] * 3
    assert [call for call in counter.calls if call in WRITES] == []
    assert len(store.license_history(globex.id)) == 1


def csv_file(*lines: str) -> list[Any]:
    header = "account,email,product,key,status,type,starts_on,ends_on,sites"
    return read_rows("\n".join([header, *lines]) + "\n")[0]


def test_a_row_whose_invoice_link_is_not_a_web_link_is_refused(store: DynamoStore) -> None:
    header = "account,email,product,key,status,starts_on,ends_on,invoice_url"
    rows = read_rows(
        f"{header}\n"
        "Good Corp,ops@good.test,crm-exporter,GOOD-1,Active,2026-01-01,2027-01-01,https://erp.example/inv/1\n"
        "Good Corp,ops@good.test,crm-exporter,GOOD-2,Active,2026-01-01,2027-01-01,javascript:alert(1)\n"
    )[0]
    report = import_licenses(store, None, rows, actor=STAFF)
    assert [(row.line, row.outcome) for row in report.rows] == [(2, "created"), (3, "refused")]
    assert str(report.rows[1].reason).startswith(
        "invoice_url 'javascript:alert(1)': the invoice link is an http(s)"
    )
    assert find_license(store, "GOOD-1").billing.invoice_url == "https://erp.example/inv/1"
    with pytest.raises(Exception, match="no license"):
        find_license(store, "GOOD-2")


def test_bad_rows_are_refused_with_their_line_and_reason_and_the_good_ones_imported(
    store: DynamoStore,
) -> None:
    other = factories.account("Umbrella Ltd")
    store.create_account(other)
    (taken,) = issue_licenses(
        store, None, product=factories.product(), account=other, actor=STAFF, keys=["OLD-KEY-UMBRELLA"]
    )
    good = generate_key()
    mistyped = good[:-1] + ("0" if good[-1] != "0" else "1")  # this system's format, wrong check
    rows = csv_file(
        "Good Corp,ops@good.test,crm-exporter,GOOD-1,Active,Commercial,2026-01-01,2027-01-01,good.example",
        "Good Corp,ops@good.test,no-such-product,GOOD-2,Active,,2026-01-01,2027-01-01,",
        f"Good Corp,ops@good.test,crm-exporter,{mistyped},active,,2026-01-01,2027-01-01,",
        "Good Corp,ops@good.test,crm-exporter,GOOD-3,Active,,31/12/2026,2027-01-01,",
        "Good Corp,ops@good.test,crm-exporter,GOOD-4,Active,,2026-06-01,2026-01-01,",
        "Good Corp,ops@good.test,crm-exporter,good 1,Active,,2026-01-01,2027-01-01,",
        "Good Corp,ops@good.test,crm-exporter,old-key-umbrella,Active,,2026-01-01,2027-01-01,",
        "Good Corp,not-an-email,crm-exporter,GOOD-5,Active,,2026-01-01,2027-01-01,",
        "Good Corp,ops@good.test,crm-exporter,GOOD-6,Lost,,2026-01-01,2027-01-01,",
        "Good Corp,ops@good.test,crm-exporter,GOOD-7,Active,,2026-01-01,2027-01-01,https://",
    )
    report = import_licenses(store, None, rows, actor=STAFF)
    refused = {row.line: row.reason for row in report.rows if row.outcome == "refused"}
    assert [row.line for row in report.rows if row.outcome == "created"] == [2]
    assert refused[3] == "no product 'no-such-product' (create it with `licensing products create`)"
    assert "wrong check character" in str(refused[4])
    assert refused[5] == "starts_on '31/12/2026' is not a date in YYYY-MM-DD (see --date-format)"
    assert refused[6] == "ends_on 2026-01-01 is before starts_on 2026-06-01"
    assert refused[7] == "the same key is on line 2 already"
    assert (
        refused[8]
        == f"the key already belongs to license {taken.id} (account {other.id}, product crm-exporter)"
    )
    assert "not one or more addresses" in str(refused[9])
    assert str(refused[10]).startswith("status 'Lost' is not one of pending, active")
    assert str(refused[11]).startswith("site 'https://'")
    assert len(refused) == 9
    # Nothing of a refused row was written; the taken key still belongs to its license.
    for key in ("GOOD-2", "GOOD-3", "GOOD-4", "GOOD-5", "GOOD-6", "GOOD-7"):
        with pytest.raises(Exception, match="no license"):
            find_license(store, key)
    assert find_license(store, "OLD-KEY-UMBRELLA").account_id == other.id
    assert find_license(store, "GOOD-1").sites.keys() == {"good.example"}


def test_a_dry_run_writes_nothing_and_reports_what_would_be_created(store: DynamoStore) -> None:
    counter = RequestCounter(store.dynamodb)
    report = import_licenses(store, None, sample_rows(), actor=STAFF, date_format="DD.MM.YYYY", dry_run=True)
    assert report.as_dict()["created"] == 3 and report.dry_run
    assert [call for call in counter.calls if call in WRITES] == []
    assert store.list_accounts() == []


def test_send_mails_announces_the_active_imported_licenses(aws: dict[str, Any], store: DynamoStore) -> None:
    events = EventBridgePublisher(aws["names"].bus)
    import_licenses(store, events, sample_rows(), actor=STAFF, date_format="DD.MM.YYYY", send_mails=True)
    announced = sorted(message["detail"]["license_ids"][0] for message in queued(aws))
    # The expired Initrode license is not announced as a new one.
    expected = sorted(find_license(store, key).id for key in ("GLBX-2026-0001-AAAA", "HOOLI-TRIAL-7"))
    assert announced == expected


def test_json_exports_and_mappings_are_read_and_a_bad_mapping_is_refused() -> None:
    text = json.dumps(
        [
            {
                "Kunde": "Globex",
                "Schlüssel": "K-1",
                "product": "crm-exporter",
                "sites": ["a.example", "b.example"],
            }
        ]
    )
    rows, ignored = read_rows(text, mapping=load_mapping('{"Kunde": "account", "Schlüssel": "key"}'))
    assert rows[0].values == {
        "account": "Globex",
        "key": "K-1",
        "product": "crm-exporter",
        "sites": "a.example;b.example",
    }
    assert (rows[0].line, ignored) == (1, [])
    with pytest.raises(InvalidInput, match="unknown fields licence"):
        load_mapping('{"Key": "licence"}')


def test_an_import_costs_about_one_write_per_license(store: DynamoStore) -> None:
    """The bench's import on a small scale: one transaction per license, the rest batched."""
    from bench.imports import import_figures

    figures = import_figures(store, RequestCounter(store.dynamodb), rows_count=50)
    # 50 licenses, 10 new contacts, 1 batch of 10 accounts: 61 writes.
    assert figures["import_writes_per_row"] == 61 / 50
