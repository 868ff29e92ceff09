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


def test_products_are_created_and_updated_and_their_prices_sell_them(local_system: LocalSystem) -> None:
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


def test_the_expiry_job_runs_on_demand_for_any_day(local_system: LocalSystem) -> None:
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
    local_system: LocalSystem, tmp_path: Path
) -> None:
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
