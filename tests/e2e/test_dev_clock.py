"""`licensing dev clock` (API.md section 5): moving the local system's day moves validation, the
portal and the daily job alike, so their answers agree; `DELETE /_dev/clock` returns to the real day."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import requests

from licensing.adapters.dynamo import DynamoStore
from licensing.devserver.resources import LOCAL
from licensing.models import LicenseStatus
from licensing.services.issuing import issue_licenses
from tests import factories
from tests.e2e.conftest import LocalSystem, mails_to
from tests.e2e.test_local_system import local_client

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
TOKEN = re.compile(r"/portal/auth\?token=([A-Za-z0-9_\-]+)")
EMAIL = "clock.watcher@example.test"


def clock(system: LocalSystem, *args: str) -> str:
    licensing = Path(sys.executable).with_name("licensing")
    result = subprocess.run(
        [str(licensing), "dev", "clock", *args, "--url", system.url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def real_day_after(local_system: LocalSystem) -> Iterator[None]:
    """The local system is shared by the e2e tests: give it back on the real day, whatever happens."""
    yield
    requests.delete(f"{local_system.url}/_dev/clock", timeout=120)


def sign_in(system: LocalSystem) -> requests.Session:
    browser = requests.Session()
    login = browser.get(f"{system.url}/portal/login", timeout=10)
    before = len(mails_to(system, EMAIL, wait_seconds=0))
    browser.post(
        f"{system.url}/portal/login", data={"email": EMAIL, "csrf": CSRF.findall(login.text)[0]}, timeout=10
    )
    deadline = time.monotonic() + 30
    while len(mails := mails_to(system, EMAIL, wait_seconds=0)) == before and time.monotonic() < deadline:
        time.sleep(0.3)  # the notifier sends it asynchronously
    token = TOKEN.findall(str(mails[-1]["text"]))[0]
    button = browser.get(f"{system.url}/portal/auth?token={token}", timeout=10)
    home = browser.post(
        f"{system.url}/portal/auth", data={"token": token, "csrf": CSRF.findall(button.text)[0]}, timeout=10
    )
    assert home.url.endswith("/portal/"), home.text
    return browser


def test_moving_the_clock_past_the_grace_period_moves_the_whole_system(
    local_system: LocalSystem, real_day_after: None
) -> None:
    store = DynamoStore(LOCAL.table, local_client(local_system, "dynamodb"))
    account = factories.account("Clockwork Ltd")
    store.create_account(account)
    store.add_contact(account.id, EMAIL, "Cleo")
    real_today = datetime.now(UTC).date()
    ends_on = real_today + timedelta(days=5)
    product = store.require_product("crm-exporter")  # the demo's: 7 grace days, keep_working
    (license,) = issue_licenses(store, None, product=product, account=account, actor="t", ends_on=ends_on)

    def validate() -> dict[str, object]:
        body: dict[str, object] = requests.post(
            f"{local_system.url}/v1/licenses/validate", json={"key": license.key}, timeout=10
        ).json()
        return body

    assert validate()["code"] == "VALID"

    # The day after the end: grace, and the job's "has ended" mail.
    printed = clock(local_system, (ends_on + timedelta(days=1)).isoformat())
    assert f"The local system's day is {ends_on + timedelta(days=1)} (moved)" in printed
    assert "expired mail" in printed
    grace = validate()
    assert (grace["code"], grace["valid"]) == ("GRACE_PERIOD", True)
    # The job caught up the days in between too (the "ends tomorrow" reminder): wait for this one.
    deadline = time.monotonic() + 30
    subjects: list[str] = []
    while "Your CRM Exporter license has ended" not in subjects and time.monotonic() < deadline:
        subjects = [str(mail["subject"]) for mail in mails_to(local_system, EMAIL)]
        time.sleep(0.3)
    assert "Your CRM Exporter license has ended" in subjects

    # Past the grace period: validation, the stored status (the job) and the portal agree.
    lapsed_day = ends_on + timedelta(days=8)
    clock(local_system, lapsed_day.isoformat())
    state = requests.get(f"{local_system.url}/_dev/clock", timeout=10).json()
    assert state == {"today": lapsed_day.isoformat(), "moved": True}
    expired = validate()
    assert (expired["code"], expired["valid"]) == ("EXPIRED", True)  # keep_working
    shown = expired["license"]
    assert isinstance(shown, dict) and shown["status"] == "EXPIRED" and shown["days_left"] == -8
    assert store.require_license(license.id).status is LicenseStatus.EXPIRED
    browser = sign_in(local_system)
    page = browser.get(f"{local_system.url}/portal/licenses/{license.id}", timeout=10).text
    assert "This license has expired" in page and "keeps working" in page
    renew = browser.get(f"{local_system.url}/portal/licenses/{license.id}/renew", timeout=10).text
    # A renewal paid on the moved day runs a term from that day.
    assert date(lapsed_day.year + 1, lapsed_day.month, lapsed_day.day).isoformat() in renew

    # Bad input changes nothing; DELETE returns to the real day.
    refused = requests.post(f"{local_system.url}/_dev/clock", json={"today": "next week"}, timeout=10)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "INVALID_INPUT"
    assert (
        requests.get(f"{local_system.url}/_dev/clock", timeout=10).json()["today"] == lapsed_day.isoformat()
    )
    assert "(the real day)" in clock(local_system, "--real")
    back = validate()
    assert back["code"] == "VALID" and isinstance(back["license"], dict)
    assert back["license"]["days_left"] == 5
