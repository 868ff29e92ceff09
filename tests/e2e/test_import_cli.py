"""`licensing import` against the running local system: the shipped CRM sample, as the README
shows it, then the same file again (nothing changes), then a file with a bad row."""

from __future__ import annotations

import json

from tests.conftest import ROOT
from tests.e2e.conftest import LocalSystem
from tests.e2e.test_staff_cli import cli, ok

EXAMPLES = ROOT / "examples" / "import"


def test_the_crm_sample_is_imported_once_and_a_bad_row_is_one_line_and_exit_1(
    local_system: LocalSystem, tmp_path: object
) -> None:
    sample = [str(EXAMPLES / "crm-licenses.csv"), "--map", str(EXAMPLES / "crm-mapping.json")]
    options = ["--date-format", "DD.MM.YYYY", "--yes", "--by", "ann"]
    dry = ok(cli(local_system, "import", *sample, *options, "--dry-run"))
    assert (dry["dry_run"], dry["created"]) == (True, 3)
    assert cli(local_system, "licenses", "show", "GLBX-2026-0001-AAAA").returncode != 0

    first = ok(cli(local_system, "import", *sample, *options))
    assert (first["created"], first["unchanged"], first["refused"]) == (3, 0, 0)
    shown = ok(cli(local_system, "licenses", "show", "glbx 2026 0001 aaaa"))
    assert shown["account_id"] and shown["sites"] == ["crm.globex.test", "globex.example.com"]
    assert any("imported by staff:ann" in line for line in shown["history"])
    assert any(
        "bank_transfer paid https://billing.vendor.example/inv/2026-014" in p for p in shown["payments"]
    )

    again = cli(local_system, "import", *sample, *options, json_output=False)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[0] == "crm-licenses.csv: 0 created, 3 unchanged, 0 refused"

    bad = tmp_path / "bad.json"  # type: ignore[operator]
    bad.write_text(
        json.dumps(
            [
                {
                    "account": "Vandelay",
                    "product": "crm-exporter",
                    "key": "VANDELAY-1",
                    "starts_on": "2026-02-01",
                },
                {
                    "account": "Vandelay",
                    "product": "latex-importer",
                    "key": "VANDELAY-2",
                    "starts_on": "2026-02-01",
                },
            ]
        )
    )
    result = cli(local_system, "import", str(bad), "--yes", json_output=False)
    assert result.returncode == 1
    assert "0 unchanged, 1 refused" in result.stdout.splitlines()[0]
    assert "no product 'latex-importer'" in result.stdout
    assert ok(cli(local_system, "licenses", "show", "VANDELAY-1"))["status"] == "ACTIVE"
