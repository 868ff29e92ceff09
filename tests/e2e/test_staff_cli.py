"""The staff command line against the running local system (`licensing --local ...`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

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
