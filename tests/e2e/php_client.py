"""Driving the PHP client (clients/php/LicenseManager.php) from the tests: one `php` process per
call, whose stderr must stay empty (a PHP warning or notice is a failure too)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from licensing.adapters.dynamo import DynamoStore
from licensing.devserver.resources import LOCAL
from licensing.signing import Signer
from tests.conftest import ROOT
from tests.e2e.conftest import LocalSystem

CALL = ROOT / "tests" / "e2e" / "php" / "call.php"
LICENSING = Path(sys.executable).with_name("licensing")


def php() -> str:
    found = shutil.which("php")
    assert found, (
        "the PHP client's tests need php-cli with curl and sodium (apt-get install php-cli php-curl)"
    )
    return found


def run_php(script: Path, stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [php(), "-d", "error_reporting=-1", "-d", "display_errors=stderr", "-d", "log_errors=0", str(script)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def call(
    base_url: str, method: str, *, product: str = "crm-exporter", options: dict[str, Any], **args: Any
) -> dict[str, Any]:
    """One client call; its {"answer": ...} or {"exception": class, "message", "status", "code"}."""
    request = {"base_url": base_url, "product": product, "options": options, "method": method, "args": args}
    result = run_php(CALL, json.dumps(request))
    assert result.returncode == 0 and result.stderr == "", (result.stdout, result.stderr)
    outcome: dict[str, Any] = json.loads(result.stdout)
    return outcome


def answer(outcome: dict[str, Any]) -> Any:
    assert "answer" in outcome, outcome
    return outcome["answer"]


def store_of(system: LocalSystem) -> DynamoStore:
    import boto3

    return DynamoStore(
        LOCAL.table, boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{system.aws_port}")
    )


def purchase(system: LocalSystem, email: str, product: str = "crm-exporter") -> str:
    """A paid checkout through the local webhook, as a customer buys; the new license's key."""
    result = subprocess.run(
        [
            str(LICENSING),
            "--json",
            "dev",
            "purchase",
            "--email",
            email,
            "--product",
            product,
            "--url",
            system.url,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    session = json.loads(result.stdout)["session"]
    store = store_of(system)
    (license_id,) = store.license_ids_for_ref(session)
    return store.require_license(license_id).display_key


def server_signer() -> Signer:
    """The local system's signer: `licensing dev` takes SIGNING_KEY from the tests' environment."""
    return Signer.from_seed_hex(os.environ["SIGNING_KEY"])
