"""The staff command line against the running local system (`licensing --local ...`)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3

from licensing.adapters.dynamo import DynamoStore
from licensing.devserver.resources import LOCAL
from tests.e2e.conftest import LocalSystem, mails_to

LICENSING = Path(sys.executable).with_name("licensing")


def cli(system: LocalSystem, *arguments: str, json_output: bool = True) -> subprocess.CompletedProcess[str]:
    options = ["--local", "--aws-port", str(system.aws_port)] + (["--json"] if json_output else [])
    return subprocess.run([str(LICENSING), *options, *arguments], capture_output=True, text=True, timeout=60)


def ok(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_products_are_listed_from_the_local_system(local_system: LocalSystem) -> None:
    slugs = [product["slug"] for product in ok(cli(local_system, "products", "list"))]
    assert slugs == ["acme-sales-automation", "crm-exporter"]
    shown = ok(cli(local_system, "products", "show", "crm-exporter"))
    assert shown["releases"] == ["1.2.0", "1.1.0", "1.0.0"]
    table = cli(local_system, "products", "list", json_output=False)
    assert table.returncode == 0 and table.stdout.splitlines()[0].split()[:3] == ["slug", "name", "kind"]


def test_an_email_sale_is_issued_from_the_cli_and_the_customer_is_emailed(local_system: LocalSystem) -> None:
    account = ok(
        cli(
            local_system,
            "accounts",
            "create",
            "--name",
            "Umbrella Ltd",
            "--email",
            "ops@umbrella.test",
            "--yes",
        )
    )
    license = ok(
        cli(
            local_system,
            "licenses",
            "issue",
            "--account",
            "umbrella ltd",
            "--product",
            "crm-exporter",
            "--months",
            "6",
            "--payment-method",
            "bank_transfer",
            "--by",
            "ann",
            "--yes",
        )
    )
    assert (license["account_id"], license["type"], license["status"]) == (
        account["id"],
        "commercial",
        "ACTIVE",
    )
    assert license["payment_method"] == "bank_transfer"
    shown = ok(cli(local_system, "licenses", "show", license["key"].lower().replace("-", " ")))
    assert shown["id"] == license["id"]
    assert any("issued by staff:ann" in line for line in shown["history"])
    mails = mails_to(local_system, "ops@umbrella.test")
    assert mails and license["key"] in mails[0]["text"]


def test_a_custom_product_defaults_to_a_custom_license_and_only_for_its_owner(
    local_system: LocalSystem,
) -> None:
    refused = cli(
        local_system,
        "licenses",
        "issue",
        "--account",
        "Umbrella Ltd",
        "--product",
        "acme-sales-automation",
        "--yes",
    )
    assert refused.returncode != 0 and "custom product of another account" in refused.stderr
    license = ok(
        cli(
            local_system,
            "licenses",
            "issue",
            "--account",
            "Acme Corp",
            "--product",
            "acme-sales-automation",
            "--yes",
        )
    )
    assert license["type"] == "custom"


def test_errors_are_one_line_and_a_non_zero_exit(local_system: LocalSystem) -> None:
    for arguments in (
        ("products", "show", "nope"),
        ("licenses", "show", "ABCDE-FGHJK-MNPQR-STVWX-YZ010"),
        ("licenses", "issue", "--account", "Nobody", "--product", "crm-exporter", "--yes"),
    ):
        result = cli(local_system, *arguments)
        assert result.returncode != 0
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_products_are_created_and_updated_and_their_prices_sell_them(own_local_system: LocalSystem) -> None:
    local_system = own_local_system  # it changes what the other tests read (see conftest)
    created = ok(
        cli(
            local_system,
            "products",
            "create",
            "pdf-merger",
            "--name",
            "PDF Merger",
            "--price",
            "price_pdf",
            "--term-months",
            "6",
            "--max-sites",
            "2",
            "--renewal-price",
            "2900",
            "--yes",
        )
    )
    assert (created["name"], created["term_months"], created["stripe_price_ids"]) == (
        "PDF Merger",
        6,
        ["price_pdf"],
    )
    updated = ok(cli(local_system, "products", "update", "pdf-merger", "--max-sites", "5", "--yes"))
    assert (updated["max_sites"], updated["term_months"]) == (5, 6)
    store = DynamoStore(
        LOCAL.table, boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{local_system.aws_port}")
    )
    assert store.product_for_price("price_pdf") == "pdf-merger"
    custom = ok(
        cli(
            local_system,
            "products",
            "create",
            "umbrella-sync",
            "--name",
            "Umbrella Sync",
            "--custom-for",
            "Acme Corp",
            "--yes",
        )
    )
    assert custom["kind"] == "custom"
    again = cli(local_system, "products", "create", "pdf-merger", "--name", "X", "--yes")
    assert again.returncode != 0 and "exists" in again.stderr
    bad = cli(local_system, "products", "create", "Bad Slug", "--name", "X", "--yes")
    assert bad.returncode != 0 and "slug" in bad.stderr


def test_the_expiry_job_runs_on_demand_for_any_day(own_local_system: LocalSystem) -> None:
    local_system = own_local_system  # it changes what the other tests read (see conftest)
    account = ["accounts", "create", "--name", "Soon Ending Ltd", "--email", "soon@ending.test", "--yes"]
    ok(cli(local_system, *account))
    issue = [
        "licenses",
        "issue",
        "--account",
        "Soon Ending Ltd",
        "--product",
        "crm-exporter",
        "--ends",
        "2031-05-20",
    ]
    assert ok(cli(local_system, *issue, "--yes"))["ends_on"] == "2031-05-20"
    report = ok(cli(local_system, "jobs", "run", "expiry", "--today", "2031-05-13", "--yes"))
    assert report["reminders"] >= 1 and report["days"][-1] == "2031-05-13"
    deadline = time.monotonic() + 30
    subjects: list[str] = []
    while "Your CRM Exporter license ends in 7 days" not in subjects and time.monotonic() < deadline:
        subjects = [mail["subject"] for mail in mails_to(local_system, "soon@ending.test")]
    assert "Your CRM Exporter license ends in 7 days" in subjects


def test_a_published_release_is_listed_and_mailed_to_license_holders(
    own_local_system: LocalSystem, tmp_path: Path
) -> None:
    local_system = own_local_system  # it changes what the other tests read (see conftest)
    ok(
        cli(
            local_system,
            "accounts",
            "create",
            "--name",
            "Release Fans",
            "--email",
            "fan@release.test",
            "--yes",
        )
    )
    ok(
        cli(
            local_system,
            "licenses",
            "issue",
            "--account",
            "Release Fans",
            "--product",
            "crm-exporter",
            "--yes",
        )
    )
    package, notes = tmp_path / "crm-exporter-2.0.0.zip", tmp_path / "notes.md"
    package.write_bytes(b"PK-the-extension")
    notes.write_text("### New\n\n- Dark mode\n")
    publish = ["releases", "publish", "crm-exporter", "2.0.0", "--file", str(package), "--notes", str(notes)]
    release = ok(cli(local_system, *publish, "--requires-host", ">=8.0", "--yes"))
    assert (release["version"], release["size"]) == ("2.0.0", len(b"PK-the-extension"))
    assert ok(cli(local_system, "releases", "list", "crm-exporter"))[0]["version"] == "2.0.0"
    deadline = time.monotonic() + 30
    subjects: list[str] = []
    while "CRM Exporter 2.0.0 is available" not in subjects and time.monotonic() < deadline:
        subjects = [mail["subject"] for mail in mails_to(local_system, "fan@release.test")]
    assert "CRM Exporter 2.0.0 is available" in subjects
    again = cli(local_system, *publish, "--yes")
    assert again.returncode != 0 and "already published" in again.stderr


def test_contacts_are_added_and_removed_and_accounts_shown(local_system: LocalSystem) -> None:
    ok(
        cli(
            local_system,
            "accounts",
            "create",
            "--name",
            "Contact Co",
            "--email",
            "first@contact.test",
            "--yes",
        )
    )
    ok(cli(local_system, "accounts", "contacts", "add", "Contact Co", "Second@Contact.test", "--yes"))
    shown = ok(cli(local_system, "accounts", "show", "contact co"))
    assert sorted(shown["contacts"]) == ["first@contact.test", "second@contact.test"]
    ok(cli(local_system, "accounts", "contacts", "remove", "Contact Co", "first@contact.test", "--yes"))
    assert ok(cli(local_system, "accounts", "show", "Contact Co"))["contacts"] == ["second@contact.test"]
    again = cli(local_system, "accounts", "contacts", "remove", "Contact Co", "first@contact.test", "--yes")
    assert again.returncode != 0 and "not a contact" in again.stderr
    bad = cli(local_system, "accounts", "contacts", "add", "Contact Co", "not-an-email", "--yes")
    assert bad.returncode != 0 and len(bad.stderr.strip().splitlines()) == 1


def run(*arguments: str) -> subprocess.CompletedProcess[str]:
    """The CLI exactly as typed: no options added."""
    return subprocess.run([str(LICENSING), *arguments], capture_output=True, text=True, timeout=60)


def test_shared_options_work_wherever_they_stand(local_system: LocalSystem) -> None:
    """`--json`, `--local`, `--aws-port`, `--yes` and `--by` on the group or on the command."""
    port = str(local_system.aws_port)
    create = [
        "accounts",
        "--json",
        "create",
        "--name",
        "Anywhere Ltd",
        "--local",
        "--yes",
        "--aws-port",
        port,
    ]
    assert ok(run(*create, "--email", "any@where.test"))["name"] == "Anywhere Ltd"
    issue = ["--by", "group-level", "licenses", "issue", "--account", "any@where.test", "--product"]
    issued = ok(run(*issue, "crm-exporter", "--by", "bea", "--yes", "--local", "--json", "--aws-port", port))
    shown = ok(run("licenses", "show", issued["key"], "--json", "--local", "--aws-port", port))
    assert shown["id"] == issued["id"]
    assert any("issued by staff:bea" in line for line in shown["history"])  # the command's --by wins
    table = cli(local_system, "licenses", "show", issued["id"], json_output=False)
    assert table.returncode == 0 and table.stdout.startswith("id ")


def test_a_week_of_support_work_from_the_command_line(local_system: LocalSystem, tmp_path: Path) -> None:
    """Monday a customer lost their key, Tuesday a bank transfer arrived, Wednesday a site moved,
    Thursday a custom deal was renewed, Friday a chargeback: each from what the customer wrote."""
    ok(cli(local_system, "accounts", "create", "--name", "Weekday GmbH", "--yes"))
    ok(
        cli(
            local_system,
            *("accounts", "contacts", "add", "Weekday GmbH", "Lena@Weekday.test", "--name", "Lena"),
            "--yes",
        )
    )
    issue = ["licenses", "issue", "--account", "lena@weekday.test", "--product", "crm-exporter"]
    sale = ok(
        cli(
            local_system,
            *issue,
            *("--name", "Weekday shop", "--payment-method", "bank_transfer", "--payment-status", "pending"),
            "--yes",
        )
    )
    assert (sale["name"], sale["payment_status"]) == ("Weekday shop", "pending")
    assert mails_to(local_system, "lena@weekday.test")
    # Monday: "I lost my key" from lena@weekday.test.
    (found,) = ok(cli(local_system, "licenses", "search", "--email", "LENA@weekday.test"))
    assert found["key"] == sale["key"]
    ok(cli(local_system, "licenses", "resend", found["key"], "--by", "ann", "--yes"))
    deadline = time.monotonic() + 30
    while len(mails_to(local_system, "lena@weekday.test")) < 2 and time.monotonic() < deadline:
        time.sleep(0.3)
    resent = mails_to(local_system, "lena@weekday.test")[-1]
    assert sale["key"] in resent["text"] and "/portal/auth?token=" in resent["text"]
    assert resent["text"].startswith("Hello Lena,")
    # Tuesday: the bank transfer arrived.
    paid = ok(
        cli(
            local_system,
            *("licenses", "billing", sale["key"], "--payment-status", "paid", "--paid-on", "2026-01-05"),
            *("--invoice-url", "https://invoices.test/W-1", "--yes"),
        )
    )
    assert (paid["payment_status"], paid["paid_on"]) == ("paid", "2026-01-05")
    deadline = time.monotonic() + 30
    subjects: list[str] = []
    while "Payment received for your CRM Exporter license" not in subjects and time.monotonic() < deadline:
        subjects = [mail["subject"] for mail in mails_to(local_system, "lena@weekday.test")]
    assert "Payment received for your CRM Exporter license" in subjects
    # Wednesday: the shop moved to a new domain.
    ok(cli(local_system, "licenses", "sites", "add", sale["id"], "https://old.weekday.test/shop", "--yes"))
    ok(cli(local_system, "licenses", "sites", "remove", sale["id"], "old.weekday.test", "--yes"))
    moved = ok(cli(local_system, "licenses", "sites", "add", sale["id"], "https://Shop.Weekday.de/", "--yes"))
    assert moved["sites"] == ["shop.weekday.de"]
    (by_site,) = ok(cli(local_system, "licenses", "search", "--site", "http://shop.weekday.de/checkout"))
    assert by_site["id"] == sale["id"]
    # Thursday: the deal is renewed by invoice for 24 months.
    renewed = ok(
        cli(
            local_system,
            *("licenses", "renew", sale["key"], "--months", "24", "--payment-method", "invoice"),
            *("--amount", "98.00", "--currency", "eur", "--by", "bob", "--yes"),
        )
    )
    assert renewed["ends_on"] > sale["ends_on"]
    subjects = []
    deadline = time.monotonic() + 30
    while not any("is renewed until" in s for s in subjects) and time.monotonic() < deadline:
        subjects = [mail["subject"] for mail in mails_to(local_system, "lena@weekday.test")]
    assert f"Your CRM Exporter license is renewed until {renewed['ends_on']}" in subjects
    # Friday: a chargeback is looked into, then the license revoked; a reinstatement is refused.
    assert (
        ok(cli(local_system, "licenses", "suspend", sale["key"], "--reason", "chargeback", "--yes"))["status"]
        == "SUSPENDED"
    )
    ok(cli(local_system, "licenses", "revoke", sale["key"], "--reason", "chargeback lost", "--yes"))
    refused = cli(local_system, "licenses", "reinstate", sale["key"], "--yes")
    assert refused.returncode != 0 and "revocation is final" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    shown = ok(cli(local_system, "licenses", "show", sale["key"]))
    assert shown["status"] == "REVOKED"
    actions = " | ".join(shown["history"])
    for done in ("issued", "payment received", "site activated", "renewed by staff:bob", "revoked"):
        assert done in actions
    exported = tmp_path / "licenses.csv"
    ok_export = cli(
        local_system, "licenses", "export", "--format", "csv", "--status", "revoked", "-o", str(exported)
    )
    assert ok_export.returncode == 0, ok_export.stderr
    assert sale["key"] in exported.read_text() and "lena@weekday.test" in exported.read_text()


def test_bad_input_is_one_line_a_non_zero_exit_and_changes_nothing(local_system: LocalSystem) -> None:
    ok(cli(local_system, "accounts", "create", "--name", "Careful Ltd", "--email", "c@careful.test", "--yes"))
    license = ok(
        cli(
            local_system,
            "licenses",
            "issue",
            "--account",
            "Careful Ltd",
            "--product",
            "crm-exporter",
            "--yes",
        )
    )
    for arguments, says in (
        (("licenses", "suspend", "lic_doesnotexist", "--yes"), "no license"),
        (
            ("licenses", "extend", license["key"], "--ends", "2001-01-01", "--yes"),
            "before the license's start",
        ),
        (("licenses", "search", "--product", "nope"), "no product"),
        (("licenses", "search", "--status", "sleeping"), "no status"),
        (("accounts", "show", "nobody@careful.test"), "no account"),
        (("accounts", "erase", "Nobody Inc", "--yes"), "no account named"),
        (("licenses", "renew", license["key"], "--amount", "12.345", "--yes"), "not an amount"),
        (("licenses", "sites", "remove", license["key"], "never.careful.test", "--yes"), "not activated"),
        (("licenses", "billing", license["key"], "--yes"), "give --payment-status"),
    ):
        result = cli(local_system, *arguments)
        assert result.returncode != 0, arguments
        assert says in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    unchanged = ok(cli(local_system, "licenses", "show", license["key"]))
    assert (unchanged["ends_on"], unchanged["status"], unchanged["sites"]) == (
        license["ends_on"],
        "ACTIVE",
        [],
    )
    assert [line.split(" by ")[0][17:] for line in unchanged["history"]] == ["issued"]


def test_an_account_is_exported_and_erased_and_mails_stop(local_system: LocalSystem) -> None:
    ok(cli(local_system, "accounts", "create", "--name", "Forget Me", "--person", "--yes"))
    ok(
        cli(
            local_system,
            "accounts",
            "contacts",
            "add",
            "Forget Me",
            "me@forget.test",
            "--name",
            "Fay",
            "--yes",
        )
    )
    license = ok(
        cli(
            local_system,
            "licenses",
            "issue",
            "--account",
            "me@forget.test",
            "--product",
            "crm-exporter",
            "--yes",
        )
    )
    assert mails_to(local_system, "me@forget.test")
    exported = ok(cli(local_system, "accounts", "export", "me@forget.test"))
    assert exported["contacts"][0]["contact"]["email"] == "me@forget.test"
    assert exported["licenses"][0]["id"] == license["id"]
    ok(cli(local_system, "accounts", "erase", "me@forget.test", "--yes"))
    assert cli(local_system, "accounts", "show", "me@forget.test").returncode != 0
    kept = ok(cli(local_system, "licenses", "show", license["key"]))
    assert kept["status"] == "ACTIVE" and "Forget Me" not in kept["name"]
    before = len(mails_to(local_system, "me@forget.test", wait_seconds=0))
    refused = cli(local_system, "licenses", "resend", license["key"], "--yes")
    assert refused.returncode != 0 and "no contact" in refused.stderr
    assert len(mails_to(local_system, "me@forget.test", wait_seconds=0)) == before


def test_reports_expiring_lists_what_ends_soon(local_system: LocalSystem) -> None:
    from datetime import timedelta

    from licensing.dates import today

    ok(cli(local_system, "accounts", "create", "--name", "Ending Soon AG", "--yes"))
    ends = (today() + timedelta(days=3)).isoformat()
    license = ok(
        cli(
            local_system,
            *(
                "licenses",
                "issue",
                "--account",
                "Ending Soon AG",
                "--product",
                "crm-exporter",
                "--ends",
                ends,
            ),
            "--yes",
        )
    )
    rows = ok(cli(local_system, "reports", "expiring", "--days", "7"))
    assert [(row["key"], row["days_left"]) for row in rows if row["account"] == "Ending Soon AG"] == [
        (license["key"], 3)
    ]


def test_a_bounce_on_the_local_mail_events_queue_is_shown_to_staff_and_lifted(
    local_system: LocalSystem,
) -> None:
    address = "bounced@suppress.test"
    ok(cli(local_system, "accounts", "create", "--name", "Bounce Co", "--email", address, "--yes"))
    event = json.loads(
        (Path(__file__).parents[1] / "fixtures" / "aws-events" / "sesBounceEvent.json").read_text()
    )
    event["detail"]["bounce"]["bouncedRecipients"][0]["emailAddress"] = address
    sqs = boto3.client("sqs", endpoint_url=f"http://127.0.0.1:{local_system.aws_port}")
    queue_url = sqs.get_queue_url(QueueName=LOCAL.queue("mail_events"))["QueueUrl"]
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(event))

    # The dev server's worker reads the queue as Lambda's event source mapping would.
    deadline = time.monotonic() + 20
    while (
        "suppressed since"
        not in (shown := ok(cli(local_system, "accounts", "show", "Bounce Co")))["contacts"][0]
    ):
        assert time.monotonic() < deadline, shown
        time.sleep(0.3)
    assert shown["contacts"] == [f"{address} [suppressed since 2017-08-05: bounce: General (5.1.1)]"]

    lifted = ok(cli(local_system, "accounts", "contacts", "unsuppress", address, "--yes"))
    assert lifted == {"email": address, "suppressed": None}
    assert ok(cli(local_system, "accounts", "show", "Bounce Co"))["contacts"] == [address]
    again = cli(local_system, "accounts", "contacts", "unsuppress", address, "--yes")
    assert again.returncode != 0 and "not a suppressed contact" in again.stderr
