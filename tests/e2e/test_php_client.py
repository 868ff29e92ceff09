"""The PHP client against the running local system: every route, and every answer checked before
it is believed (signature, nonce), with the last good answer standing in for a server that is
down, slow or throttling, for the grace period the vendor sets, and not a day longer."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import subprocess
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from licensing.signing import Signer
from tests.e2e.conftest import LocalSystem
from tests.e2e.php_client import answer, call, purchase, server_signer
from tests.e2e.proxy import Proxy, running

SITE = "https://crm.initech.com/espo"


def options(tmp_path: Path, **more: Any) -> dict[str, Any]:
    return {"cache_dir": str(tmp_path / "cache"), "timeout": 2} | more


def test_every_route_through_the_php_client(local_system: LocalSystem, tmp_path: Path) -> None:
    url, opts = local_system.url, options(tmp_path)
    key = purchase(local_system, "php.routes@initech.test")

    valid = answer(call(url, "validate", options=opts, key=key))
    assert (valid["valid"], valid["code"], valid["fromCache"]) == (True, "VALID", False)
    assert valid["license"]["product"] == "crm-exporter" and valid["license"]["site_active"] is None
    elsewhere = answer(call(url, "validate", options=opts, key=key, site=SITE))
    assert (elsewhere["valid"], elsewhere["code"]) == (False, "SITE_NOT_ACTIVATED")

    activated = answer(call(url, "activate", options=opts, key=key.lower(), site=SITE))
    assert (activated["valid"], activated["code"], activated["license"]["sites_used"]) == (True, "VALID", 1)
    here = answer(call(url, "validate", options=opts, key=key, site="crm.initech.com", version="1.0.0"))
    assert (here["valid"], here["license"]["site_active"]) == (True, True)

    update = answer(
        call(
            url,
            "checkForUpdate",
            options=opts,
            key=key,
            currentVersion="1.0.0",
            site=SITE,
            hostVersion="8.4.1",
        )
    )
    assert (update["code"], update["updateAvailable"], update["latest"]["version"]) == (
        "VALID",
        True,
        "1.2.0",
    )
    assert update["latest"]["download_url"].startswith(f"{url}/v1/download?token=")
    current = answer(call(url, "checkForUpdate", options=opts, key=key, currentVersion="1.2.0"))
    assert current["updateAvailable"] is False

    destination = tmp_path / "crm-exporter.zip"
    update_args = {"key": key, "currentVersion": "1.0.0", "site": SITE}
    written = answer(call(url, "download", options=opts, update=update_args, destination=str(destination)))
    assert written == str(destination)
    with zipfile.ZipFile(destination) as archive:
        assert '"version": "1.2.0"' in archive.read("manifest.json").decode()

    document = answer(call(url, "licenseFile", options=opts, key=key, site=SITE))
    assert set(document) == {"kid", "alg", "payload", "signature"}
    content = answer(call(url, "readLicenseFile", options=opts, file=json.dumps(document)))
    assert content["license"]["id"] == valid["license"]["id"] and content["valid_until"] >= "2000-01-01"
    forged = document | {"payload": base64.b64encode(base64.b64decode(document["payload"]) + b" ").decode()}
    assert (
        call(url, "readLicenseFile", options=opts, file=forged)["exception"]
        == "LicenseManager\\SignatureError"
    )
    # Signed by the server's key over the bare payload, as API answers are signed: not a file.
    bare = document | {"signature": server_signer().sign(base64.b64decode(document["payload"]))}
    assert (
        call(url, "readLicenseFile", options=opts, file=bare)["exception"] == "LicenseManager\\SignatureError"
    )

    freed = answer(call(url, "deactivate", options=opts, key=key, site=SITE))
    assert (freed["valid"], freed["license"]["sites_used"]) == (True, 0)
    again = answer(call(url, "deactivate", options=opts, key=key, site=SITE))
    assert (again["valid"], again["code"]) == (False, "NOT_FOUND")


def test_refusals_are_answers_or_typed_exceptions(local_system: LocalSystem, tmp_path: Path) -> None:
    url, opts = local_system.url, options(tmp_path)
    key = purchase(local_system, "php.refusals@initech.test")
    other = answer(call(url, "validate", product="acme-sales-automation", options=opts, key=key))
    assert (other["valid"], other["code"]) == (False, "PRODUCT_MISMATCH")
    unknown = answer(call(url, "validate", options=opts, key="NOT-A-KEY-OF-OURS"))
    assert (unknown["valid"], unknown["code"], unknown["license"]) == (False, "NOT_FOUND", None)
    for number in range(3):
        assert answer(call(url, "activate", options=opts, key=key, site=f"shop{number}.initech.com"))["valid"]
    full = answer(call(url, "activate", options=opts, key=key, site="shop9.initech.com"))
    assert (full["valid"], full["code"]) == (False, "TOO_MANY_SITES")

    malformed = call(url, "validate", options=opts, key="")
    assert malformed["exception"] == "LicenseManager\\RequestError"
    assert (malformed["status"], malformed["code"]) == (400, "INVALID_REQUEST")
    no_file = call(url, "licenseFile", options=opts, key="NOT-A-KEY-OF-OURS")
    assert (no_file["exception"], no_file["status"], no_file["code"]) == (
        "LicenseManager\\RequestError",
        404,
        "NOT_FOUND",
    )
    expired_link = call(
        url,
        "download",
        options=opts,
        update={"key": "NOT-A-KEY-OF-OURS", "currentVersion": "1.0.0"},
        destination=str(tmp_path / "x.zip"),
    )
    assert expired_link["exception"] == "LicenseManager\\RequestError" and expired_link["code"] == "NOT_FOUND"


def test_a_tampered_or_unsigned_answer_is_refused(local_system: LocalSystem, tmp_path: Path) -> None:
    key = purchase(local_system, "php.tamper@initech.test")
    with running(Proxy(local_system.url, mode="flip")) as proxy:
        flipped = call(proxy.url, "validate", options=options(tmp_path), key=key)
        assert flipped["exception"] == "LicenseManager\\SignatureError", flipped
        proxy.mode = "unsigned"
        unsigned = call(proxy.url, "validate", options=options(tmp_path), key=key)
        assert unsigned["exception"] == "LicenseManager\\SignatureError", unsigned
        # A signed body that is not JSON: a typed exception, not a PHP warning (call() checks stderr).
        proxy.mode, proxy.signer = "garbage", server_signer()
        garbage = call(proxy.url, "validate", options=options(tmp_path), key=key)
        assert garbage["exception"] == "LicenseManager\\RequestError", garbage
        # Forged with a key the server never published.
        proxy.mode = "resign"
        proxy.signer, proxy.rewrite = Signer(Ed25519PrivateKey.generate()), lambda body: body
        forged = call(proxy.url, "validate", options=options(tmp_path), key=key)
        assert forged["exception"] == "LicenseManager\\SignatureError" and "unknown key" in forged["message"]


def test_a_replayed_answer_is_refused(local_system: LocalSystem, tmp_path: Path) -> None:
    key = purchase(local_system, "php.replay@initech.test")
    with running(Proxy(local_system.url, mode="record")) as proxy:
        first = answer(call(proxy.url, "validate", options=options(tmp_path), key=key))
        assert first["valid"] is True
        proxy.mode = "replay"  # the same genuine, signed bytes, to a request with a new nonce
        replayed = call(proxy.url, "validate", options=options(tmp_path), key=key)
        assert replayed["exception"] == "LicenseManager\\SignatureError" and "nonce" in replayed["message"]


def test_a_rotated_key_is_fetched_once_it_signs(local_system: LocalSystem, tmp_path: Path) -> None:
    key = purchase(local_system, "php.rotation@initech.test")
    opts = options(tmp_path)
    with running(Proxy(local_system.url)) as proxy:
        assert answer(call(proxy.url, "validate", options=opts, key=key))["valid"]  # caches today's key
        next_key = Signer(Ed25519PrivateKey.generate())
        proxy.extra_keys = [next_key.jwk()]
        proxy.mode, proxy.signer, proxy.rewrite = "resign", next_key, lambda body: body
        rotated = answer(call(proxy.url, "validate", options=opts, key=key))
        assert (rotated["valid"], rotated["fromCache"]) == (True, False)


def test_a_down_slow_or_throttling_server_never_disables_within_the_grace(
    local_system: LocalSystem, tmp_path: Path
) -> None:
    key = purchase(local_system, "php.offline@initech.test")
    opts = options(tmp_path, offline_grace_days=3, timeout=1)
    with running(Proxy(local_system.url)) as proxy:
        fresh = answer(call(proxy.url, "validate", options=opts, key=key, site="localhost"))
        assert (fresh["valid"], fresh["fromCache"]) == (True, False)
        for mode in ("status:503", "status:504", "status:429", "status:500", "sleep"):
            proxy.mode = mode
            cached = answer(call(proxy.url, "validate", options=opts, key=key, site="localhost"))
            assert (cached["valid"], cached["code"], cached["fromCache"]) == (True, "VALID", True), mode
            assert cached["timestamp"] == fresh["timestamp"]
        # Another site has no good answer to fall back on: the outage is told, typed.
        other = call(proxy.url, "validate", options=opts, key=key, site="dev.localhost")
        assert (
            other["exception"] == "LicenseManager\\UnavailableError"
            and "cannot be reached" in other["message"]
        )
        address = proxy.url
    stopped = answer(call(address, "validate", options=opts, key=key, site="localhost"))
    assert (stopped["valid"], stopped["fromCache"]) == (True, True)


def test_the_cached_answer_is_refused_after_the_grace(local_system: LocalSystem, tmp_path: Path) -> None:
    key = purchase(local_system, "php.stale@initech.test")
    four_days_ago = (datetime.now(UTC) - timedelta(days=4)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with running(Proxy(local_system.url, mode="resign", signer=server_signer())) as proxy:
        # The last good answer was signed four days ago (its signed timestamp says so).
        proxy.rewrite = lambda body: body | {"timestamp": four_days_ago}
        old = answer(call(proxy.url, "validate", options=options(tmp_path, offline_grace_days=3), key=key))
        assert (old["valid"], old["timestamp"]) == (True, four_days_ago)
        proxy.mode = "status:503"
        refused = call(proxy.url, "validate", options=options(tmp_path, offline_grace_days=3), key=key)
        assert refused["exception"] == "LicenseManager\\UnavailableError" and refused["status"] == 503
        honoured = answer(
            call(proxy.url, "validate", options=options(tmp_path, offline_grace_days=5), key=key)
        )
        assert (honoured["valid"], honoured["fromCache"]) == (True, True)


def test_a_tampered_cache_file_is_not_believed(local_system: LocalSystem, tmp_path: Path) -> None:
    key = purchase(local_system, "php.cachefile@initech.test")
    opts = options(tmp_path)
    with running(Proxy(local_system.url)) as proxy:
        assert answer(call(proxy.url, "validate", options=opts, key=key))["valid"]
        for cached in (tmp_path / "cache").glob("answer-*.json"):
            record = json.loads(cached.read_text())
            record["body"] = record["body"].replace("VALID", "VALIX", 1)
            cached.write_text(json.dumps(record))
        proxy.mode = "status:503"
        outcome = call(proxy.url, "validate", options=opts, key=key)
        assert outcome["exception"] == "LicenseManager\\UnavailableError"


NODE_VERIFY = """
const crypto = require('crypto');
const [body, signature, publicKey] = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const x = Buffer.from(publicKey, 'base64').toString('base64url');
const key = crypto.createPublicKey({key: {kty: 'OKP', crv: 'Ed25519', x}, format: 'jwk'});
const bytes = Buffer.from(body, 'base64');
const flipped = Buffer.from(bytes); flipped[10] ^= 1;
const sig = Buffer.from(signature, 'base64');
console.log(JSON.stringify([crypto.verify(null, bytes, key, sig), crypto.verify(null, flipped, key, sig)]));
"""


def test_node_verifies_the_same_signed_answer(local_system: LocalSystem) -> None:
    nonce = secrets.token_hex(8)
    reply = requests.post(
        f"{local_system.url}/v1/licenses/validate",
        json={"key": "NOT-A-KEY-OF-OURS", "product": "crm-exporter", "nonce": nonce},
        timeout=10,
    )
    (published,) = [
        k
        for k in requests.get(f"{local_system.url}/v1/keys", timeout=10).json()["keys"]
        if k["kid"] == reply.headers["X-Signature-Key-Id"]
    ]
    assert reply.json()["nonce"] == nonce
    stdin = json.dumps(
        [base64.b64encode(reply.content).decode(), reply.headers["X-Signature"], published["public_key"]]
    )
    result = subprocess.run(
        ["node", "-e", NODE_VERIFY], input=stdin, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [True, False]
    assert hashlib.sha256(base64.b64decode(published["public_key"])).hexdigest()[:16] == published["kid"]
