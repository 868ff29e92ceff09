"""Usage tracking as staff see it: `licensing licenses show` lists each activated site with when it
was last seen and the extension's and host's versions it runs (API.md section 2)."""

from __future__ import annotations

from datetime import UTC, datetime

import requests

from tests.e2e.conftest import LocalSystem
from tests.e2e.test_staff_cli import cli, ok


def test_licenses_show_lists_each_site_with_last_seen_and_versions(local_system: LocalSystem) -> None:
    ok(
        cli(
            local_system,
            "accounts",
            "create",
            "--name",
            "Usage Seen GmbH",
            "--email",
            "it@seen.test",
            "--yes",
        )
    )
    issue = ("licenses", "issue", "--account", "it@seen.test", "--product", "crm-exporter", "--yes")
    license = ok(cli(local_system, *issue))
    api = f"{local_system.url}/v1/licenses"
    for site in ("https://crm.seen.test/", "https://shop.seen.de/"):
        activated = requests.post(f"{api}/activate", json={"key": license["key"], "site": site}, timeout=20)
        assert activated.status_code == 200, activated.text
    seen = {"key": license["key"], "site": "shop.seen.de", "version": "3.1.4", "host_version": "8.4.2"}
    assert requests.post(f"{api}/validate", json=seen, timeout=20).json()["valid"] is True

    shown = ok(cli(local_system, "licenses", "show", license["key"]))
    today = datetime.now(UTC).date().isoformat()
    assert shown["site_usage"] == [
        {
            "host": "crm.seen.test",
            "counted": False,
            "last_seen_on": None,
            "version": None,
            "host_version": None,
        },
        {
            "host": "shop.seen.de",
            "counted": True,
            "last_seen_on": today,
            "version": "3.1.4",
            "host_version": "8.4.2",
        },
    ]
    table = cli(local_system, "licenses", "show", license["id"], json_output=False)
    assert table.returncode == 0, table.stderr
    assert f"shop.seen.de: last seen {today}, version 3.1.4, host 8.4.2" in table.stdout
    assert "crm.seen.test (development): never seen" in table.stdout

    rows = ok(cli(local_system, "reports", "versions", "crm-exporter"))
    assert {"version": "3.1.4", "host_version": "8.4.2", "sites": 1} in rows
    assert all(row["sites"] >= 1 for row in rows)
    report = cli(local_system, "reports", "versions", "crm-exporter", json_output=False)
    assert report.returncode == 0 and report.stdout.startswith("version ")
    unknown = cli(local_system, "reports", "versions", "no-such-product")
    assert unknown.returncode != 0 and "no product" in unknown.stderr
