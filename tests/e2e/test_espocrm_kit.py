"""The EspoCRM kit (clients/espocrm/): its daily job, assembled as the README says and run with
EspoCRM's classes stood in by the smallest fakes, against the running local system: EspoCRM's
license status and message for every answer, and the manifest's update check."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from licensing.dates import today
from licensing.models import LicenseStatus, OnExpiry
from tests.conftest import ROOT
from tests.e2e.conftest import LocalSystem
from tests.e2e.php_client import purchase, run_php, store_of
from tests.e2e.proxy import Proxy, running
from tests.e2e.test_local_system import demo_license

KIT = ROOT / "clients" / "espocrm"
RUN_JOB = ROOT / "tests" / "e2e" / "espocrm" / "run_job.php"
SITE_URL = "https://crm.northwind.com"
INSTALLED = {"name": "CRM Exporter", "version": "1.1.0", "isInstalled": True}


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The kit as a vendor copies it into an extension: the PHP client goes into its Lib/."""
    target = tmp_path_factory.mktemp("extension") / "espocrm"
    shutil.copytree(KIT, target)
    lib = target / "files" / "custom" / "Espo" / "Modules" / "CrmExporter" / "Lib"
    lib.mkdir(exist_ok=True)
    shutil.copy(ROOT / "clients" / "php" / "LicenseManager.php", lib / "LicenseManager.php")
    return target


def run_job(
    kit: Path, server: str, cache: Path, key: str | None, extensions: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    request = {
        "kit": str(kit),
        "server": server,
        "cache_dir": str(cache),
        "config": {"siteUrl": SITE_URL, "version": "8.4.2", "crmExporterLicenseKey": key},
        "extensions": [INSTALLED] if extensions is None else extensions,
    }
    result = run_php(RUN_JOB, json.dumps(request))
    assert result.returncode == 0 and result.stderr == "", (result.stdout, result.stderr)
    outcome: dict[str, Any] = json.loads(result.stdout)
    return outcome


def status(kit: Path, server: str, cache: Path, key: str | None) -> tuple[str, str]:
    (saved,) = run_job(kit, server, cache, key)["saved"]
    return saved["licenseStatus"], saved["licenseStatusMessage"]


def activated_key(system: LocalSystem, email: str) -> str:
    key = purchase(system, email)
    reply = requests.post(
        f"{system.url}/v1/licenses/activate",
        json={"key": key, "site": SITE_URL, "product": "crm-exporter"},
        timeout=10,
    )
    assert reply.json()["activated"] is True
    return key


def change(system: LocalSystem, key: str, **fields: Any) -> None:
    from licensing.keys import license_id_for_key, lookup_key

    store = store_of(system)
    lookup = lookup_key(key)
    assert lookup
    license = store.require_license(license_id_for_key(lookup))
    store.save_license(license.model_copy(update=fields))


def test_every_answer_becomes_espocrms_license_status(
    local_system: LocalSystem, kit: Path, tmp_path: Path
) -> None:
    url = local_system.url
    valid = activated_key(local_system, "espo.valid@northwind.test")
    assert status(kit, url, tmp_path / "a", valid) == ("Valid", "The license is valid.")

    grace = activated_key(local_system, "espo.grace@northwind.test")
    change(local_system, grace, ends_on=today() - timedelta(days=2))  # crm-exporter: 7 grace days
    assert status(kit, url, tmp_path / "b", grace)[0] == "Soft-Expired"

    expired = activated_key(local_system, "espo.expired@northwind.test")
    # A product sold as a service stops at the end of its term (on_expiry "stop").
    change(local_system, expired, ends_on=today() - timedelta(days=30), on_expiry=OnExpiry.STOP)
    assert status(kit, url, tmp_path / "c", expired) == ("Expired", "The license has expired.")

    suspended = activated_key(local_system, "espo.suspended@northwind.test")
    change(local_system, suspended, status=LicenseStatus.SUSPENDED)
    assert status(kit, url, tmp_path / "d", suspended) == ("Invalid", "The license is suspended.")

    revoked = activated_key(local_system, "espo.revoked@northwind.test")
    change(local_system, revoked, status=LicenseStatus.REVOKED)
    assert status(kit, url, tmp_path / "e", revoked) == ("Invalid", "The license has been revoked.")

    pending = purchase(local_system, "espo.pending@northwind.test")
    change(local_system, pending, status=LicenseStatus.PENDING)
    assert status(kit, url, tmp_path / "f", pending) == ("Invalid", "The license awaits its payment.")

    elsewhere = purchase(local_system, "espo.elsewhere@northwind.test")  # never activated for SITE_URL
    assert status(kit, url, tmp_path / "g", elsewhere) == (
        "Invalid",
        "The license is not activated for this site.",
    )

    store = store_of(local_system)
    acme = demo_license(store, str(store.require_product("acme-sales-automation").owner_account_id))
    other_product = acme.display_key
    assert status(kit, url, tmp_path / "h", other_product) == (
        "Invalid",
        "The key belongs to another product.",
    )

    assert status(kit, url, tmp_path / "i", "NOT-A-KEY-OF-OURS") == ("Invalid", "No license has this key.")
    assert status(kit, url, tmp_path / "j", None)[0] == "Invalid"


def test_a_product_that_keeps_working_after_expiry_is_soft_expired(
    local_system: LocalSystem, kit: Path, tmp_path: Path
) -> None:
    # on_expiry keep_working (crm-exporter's, the default) answers EXPIRED with valid true (API.md
    # section 2): the extension keeps running and EspoCRM shows the renewal notice.
    expired = activated_key(local_system, "espo.keepworking@northwind.test")
    change(local_system, expired, ends_on=today() - timedelta(days=30))
    assert status(kit, local_system.url, tmp_path, expired) == ("Soft-Expired", "The license has expired.")


def test_an_unreachable_server_keeps_the_status_within_the_grace_only(
    local_system: LocalSystem, kit: Path, tmp_path: Path
) -> None:
    key = activated_key(local_system, "espo.offline@northwind.test")
    with running(Proxy(local_system.url)) as proxy:
        assert status(kit, proxy.url, tmp_path, key)[0] == "Valid"
        proxy.mode = "status:503"
        assert status(kit, proxy.url, tmp_path, key)[0] == "Valid"  # the last good answer
        never_checked = status(kit, proxy.url, tmp_path / "other", key)
        assert never_checked[0] == "Invalid" and "not been reachable" in never_checked[1]
        proxy.mode = "flip"
        assert status(kit, proxy.url, tmp_path / "other", key) == (
            "Invalid",
            "The license server's answer could not be verified.",
        )


def test_nothing_is_written_when_the_extension_is_not_installed(
    local_system: LocalSystem, kit: Path, tmp_path: Path
) -> None:
    uninstalled = INSTALLED | {"isInstalled": False}
    assert run_job(kit, local_system.url, tmp_path, "NOT-A-KEY-OF-OURS", [uninstalled])["saved"] == []


def test_the_kit_names_espocrms_own_hooks() -> None:
    manifest = json.loads((KIT / "manifest.json").read_text())
    assert manifest["checkVersionUrl"].endswith("/espocrm")
    module = KIT / "files" / "custom" / "Espo" / "Modules" / "CrmExporter" / "Resources"
    jobs = json.loads((module / "metadata" / "app" / "scheduledJobs.json").read_text())
    assert jobs["CrmExporterCheckLicense"]["jobClassName"] == "Espo\\Modules\\CrmExporter\\Jobs\\CheckLicense"
    settings = json.loads((module / "metadata" / "entityDefs" / "Settings.json").read_text())
    assert settings["fields"]["crmExporterLicenseKey"]["type"] == "varchar"
    # The key is readable by administrators only, never sent to every user's browser.
    config = json.loads((module / "metadata" / "app" / "config.json").read_text())
    assert config["params"]["crmExporterLicenseKey"]["level"] == "admin"


def test_espocrms_update_check_finds_the_newest_release(local_system: LocalSystem) -> None:
    # The URL EspoCRM's CheckNewExtensionVersion job builds: {checkVersionUrl}/release/latest/?name=...
    check_version_url = f"{local_system.url}/espocrm"
    query = "name=CRM+Exporter"
    answer = requests.get(f"{check_version_url}/release/latest/?{query}", timeout=10)
    assert answer.status_code == 200 and answer.json()["version"] == "1.2.0"
    assert "Support for EspoCRM 9" in answer.json()["notes"]
    custom = requests.get(f"{check_version_url}/release/latest/?name=Acme+Sales+Automation", timeout=10)
    assert custom.status_code == 404
