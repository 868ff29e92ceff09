"""The /v1 license API through the local gateway and the real handler, on the emulator: what an
installed extension sees (API.md section 2)."""

from __future__ import annotations

import base64
import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import pytest
import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from licensing.adapters.dynamo import DynamoStore
from licensing.errors import Conflict, InvalidInput
from licensing.models import License, LicenseStatus, OnExpiry
from licensing.services.issuing import issue_licenses
from licensing.services.validation import activate, validate
from tests import factories


@dataclass
class Api:
    url: str
    store: DynamoStore
    aws: dict[str, Any]

    def post(self, path: str, body: dict[str, Any]) -> requests.Response:
        return requests.post(f"{self.url}/v1/licenses/{path}", json=body, timeout=20)

    def issue(self, **changes: Any) -> License:
        product = factories.product(**changes.pop("product", {}))
        self.store.put_product(product)
        (license,) = issue_licenses(self.store, None, product=product, account=factories.account(), actor="t")
        if changes:
            license = self.store.save_license(license.model_copy(update=changes))
        return license

    def queued(self) -> list[dict[str, Any]]:
        answer = boto3.client("sqs").receive_message(
            QueueUrl=self.aws["queues"]["transactional"], MaxNumberOfMessages=10
        )
        return [json.loads(message["Body"]) for message in answer.get("Messages", [])]


@pytest.fixture
def api(aws: dict[str, Any], gateway_url: str) -> Api:
    return Api(url=gateway_url, store=DynamoStore(aws["names"].table), aws=aws)


def verify(answer: requests.Response, api: Api) -> None:
    """The answer's signature verifies with the public key that /v1/keys names."""
    keys = requests.get(f"{api.url}/v1/keys", timeout=10).json()["keys"]
    (key,) = [k for k in keys if k["kid"] == answer.headers["X-Signature-Key-Id"]]
    assert key["alg"] == "Ed25519"
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(key["public_key"]))
    public.verify(base64.b64decode(answer.headers["X-Signature"]), answer.content)


# -- validate -------------------------------------------------------------------------------------


def test_a_valid_key_answers_valid_signed_with_the_nonce(api: Api) -> None:
    license = api.issue()
    answer = api.post("validate", {"key": license.display_key, "product": "crm-exporter", "nonce": "n-123"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["valid"], body["code"], body["nonce"]) == (True, "VALID", "n-123")
    assert body["timestamp"].endswith("Z")
    assert body["license"] == {
        "id": license.id,
        "product": "crm-exporter",
        "type": "commercial",
        "status": "ACTIVE",
        "starts_on": license.starts_on.isoformat(),
        "ends_on": license.ends_on.isoformat(),
        "days_left": (license.ends_on - datetime.now(UTC).date()).days,
        "updates_until": license.ends_on.isoformat(),
        "max_sites": 3,
        "sites_used": 0,
        "site_active": None,
    }
    verify(answer, api)


def test_a_forged_answer_fails_verification(api: Api) -> None:
    license = api.issue()
    answer = api.post("validate", {"key": license.key, "nonce": "abc"})
    forged = requests.Response()
    forged._content = answer.content.replace(b"true", b"false", 1)
    assert forged.content != answer.content
    forged.headers = answer.headers
    with pytest.raises(InvalidSignature):
        verify(forged, api)


@pytest.mark.parametrize(
    "spelling", [str.lower, lambda key: key.replace("-", ""), lambda key: key.replace("-", " ")]
)
def test_keys_are_case_dash_and_space_insensitive(api: Api, spelling: Any) -> None:
    license = api.issue()
    assert api.post("validate", {"key": spelling(license.display_key)}).json()["code"] == "VALID"


def test_an_unknown_or_mistyped_key_is_not_found(api: Api) -> None:
    license = api.issue()
    mistyped = ("1" if license.key[0] != "1" else "2") + license.key[1:]
    for key in (mistyped, "SOME-IMPORTED-KEY-THAT-IS-NOT-THERE"):
        body = api.post("validate", {"key": key}).json()
        assert (body["valid"], body["code"], body["license"]) == (False, "NOT_FOUND", None)


def test_a_mistyped_key_costs_no_read() -> None:
    class NoReads:
        def get_license(self, license_id: str) -> License | None:
            raise AssertionError("a mistyped key must not reach the database")

    key = "ABCDE-FGHJK-MNPQR-STVWX-YZ01"
    for check in "0123456789ABCDEFGHJKMNPQRSTVWXYZ":
        try:
            answer = validate(NoReads(), key=key + check, product=None, site=None, today=date(2027, 1, 1))
        except AssertionError:
            continue  # the one right check character reads
        assert answer.code == "NOT_FOUND"


@pytest.mark.parametrize(
    ("changes", "code", "valid"),
    [
        ({"status": LicenseStatus.PENDING}, "PENDING", False),
        ({"status": LicenseStatus.SUSPENDED}, "SUSPENDED", False),
        ({"status": LicenseStatus.REVOKED}, "REVOKED", False),
        ({"ends_on": datetime.now(UTC).date() - timedelta(days=1)}, "GRACE_PERIOD", True),
        ({"ends_on": datetime.now(UTC).date() - timedelta(days=8)}, "EXPIRED", True),  # keep_working
        (
            {"ends_on": datetime.now(UTC).date() - timedelta(days=8), "on_expiry": OnExpiry.STOP},
            "EXPIRED",
            False,
        ),
    ],
)
def test_each_status_has_its_code(api: Api, changes: dict[str, Any], code: str, valid: bool) -> None:
    license = api.issue(**changes)
    body = api.post("validate", {"key": license.key}).json()
    assert (body["code"], body["valid"]) == (code, valid)
    if code == "EXPIRED":
        assert body["license"]["status"] == "EXPIRED"  # computed at read time


def test_another_products_key_is_a_mismatch(api: Api) -> None:
    license = api.issue()
    assert (
        api.post("validate", {"key": license.key, "product": "other-thing"}).json()["code"]
        == "PRODUCT_MISMATCH"
    )


@pytest.mark.parametrize(
    ("site", "host"),
    [
        ("https://xn--mller-kva.de/crm", "xn--mller-kva.de"),  # as EspoCRM stores an IDN site
        ("https://Müller.de/crm", "xn--mller-kva.de"),
        ("https://मराठी.भारत/espo", "xn--d2b1ag0dl.xn--h2brj9c"),  # a script with marks
        (f"https://{'a' * 63}.example.com:8443/", f"{'a' * 63}.example.com"),  # the longest label
    ],
)
def test_every_real_site_is_taken_in_any_spelling(api: Api, site: str, host: str) -> None:
    license = api.issue()
    activated = api.post("activate", {"key": license.key, "site": site})
    assert activated.status_code == 200, activated.text
    answer = api.post("validate", {"key": license.key, "product": license.product, "site": host})
    assert answer.json()["code"] == "VALID"


def test_sites_must_be_activated_but_development_hosts_are_free(api: Api) -> None:
    license = api.issue()
    for site, code in [
        ("https://shop.example.com/", "SITE_NOT_ACTIVATED"),
        ("http://localhost:8080", "VALID"),
        ("crm.shop.test", "VALID"),
        ("x.developer.com", "SITE_NOT_ACTIVATED"),
        ("crm.local", "SITE_NOT_ACTIVATED"),
    ]:
        assert api.post("validate", {"key": license.key, "site": site}).json()["code"] == code, site
    api.post("activate", {"key": license.key, "site": "https://www.Shop.Example.com:443/crm"})
    body = api.post("validate", {"key": license.key, "site": "shop.example.com"}).json()
    assert body["code"] == "VALID" and body["license"]["site_active"] is True


def test_malformed_requests_are_400_and_signed(api: Api) -> None:
    for body in ({}, {"key": ""}, {"key": "K", "site": "not a host!"}, {"key": "K" * 300}):
        answer = api.post("validate", body)
        assert answer.status_code == 400, body
        assert answer.json()["error"]["code"] == "INVALID_REQUEST"
        verify(answer, api)


def test_the_answer_tells_a_key_holder_nothing_of_the_customer(api: Api) -> None:
    license = api.issue()
    api.post("activate", {"key": license.key, "site": "one.example.com"})
    text = api.post("validate", {"key": license.key, "site": "two.example.com"}).text
    for secret in ("one.example.com", "Globex", license.account_id, "billing", "@"):
        assert secret not in text


# -- activate and deactivate ----------------------------------------------------------------------


def test_activation_within_the_limit_then_too_many_sites(api: Api) -> None:
    license = api.issue()
    for n in range(3):
        answer = api.post("activate", {"key": license.key, "site": f"site{n}.example.com"})
        assert answer.status_code == 200 and answer.json()["activated"] is True
        verify(answer, api)
    again = api.post("activate", {"key": license.key, "site": "site0.example.com"})
    assert again.status_code == 200 and again.json()["license"]["sites_used"] == 3
    refused = api.post("activate", {"key": license.key, "site": "site3.example.com"})
    assert refused.status_code == 409
    assert refused.json()["activated"] is False and refused.json()["code"] == "TOO_MANY_SITES"
    free = api.post("activate", {"key": license.key, "site": "localhost"})
    assert free.status_code == 200 and free.json()["license"]["sites_used"] == 3
    stored = api.store.require_license(license.id)
    assert stored.sites["localhost"].counted is False
    assert [e.action for e in api.store.license_history(license.id)].count("site activated") == 4


def test_the_last_slot_tells_the_account(api: Api) -> None:
    license = api.issue()
    for n in range(3):
        api.post("activate", {"key": license.key, "site": f"s{n}.example.com"})
    (event,) = api.queued()
    assert event["detail-type"] == "SiteLimitReached" and event["detail"]["site"] == "s2.example.com"


def test_refusals_have_their_status(api: Api) -> None:
    revoked = api.issue(status=LicenseStatus.REVOKED)
    assert api.post("activate", {"key": revoked.key, "site": "a.example.com"}).status_code == 403
    assert api.post("activate", {"key": "NO-SUCH-KEY", "site": "a.example.com"}).status_code == 404
    other = api.issue()
    mismatch = api.post("activate", {"key": other.key, "site": "a.example.com", "product": "other"})
    assert mismatch.status_code == 403 and mismatch.json()["code"] == "PRODUCT_MISMATCH"


def test_new_sites_per_key_per_day_are_capped(api: Api) -> None:
    license = api.issue(max_sites=50)
    codes = [
        api.post("activate", {"key": license.key, "site": f"s{n}.example.com"}).status_code for n in range(11)
    ]
    assert codes == [200] * 10 + [429]
    refused = api.post("activate", {"key": license.key, "site": "s99.example.com"}).json()
    assert refused["code"] == "RATE_LIMITED"
    assert api.post("activate", {"key": license.key, "site": "dev.localhost"}).status_code == 200


def test_deactivation_frees_the_slot(api: Api) -> None:
    license = api.issue(max_sites=1)
    api.post("activate", {"key": license.key, "site": "old.example.com"})
    answer = api.post("deactivate", {"key": license.key, "site": "https://old.example.com/"})
    assert answer.status_code == 200 and answer.json()["deactivated"] is True
    verify(answer, api)
    assert api.post("activate", {"key": license.key, "site": "new.example.com"}).status_code == 200
    unknown = api.post("deactivate", {"key": license.key, "site": "never.example.com"})
    assert unknown.status_code == 404
    assert api.post("deactivate", {"key": "NO-SUCH-KEY", "site": "x.example.com"}).status_code == 404


def test_the_openapi_document_lists_every_route(api: Api) -> None:
    document = requests.get(f"{api.url}/v1/openapi.json", timeout=10).json()
    assert document["openapi"].startswith("3.")
    for path in (
        "/v1/health",
        "/v1/keys",
        "/v1/licenses/validate",
        "/v1/licenses/activate",
        "/v1/licenses/deactivate",
    ):
        assert path in document["paths"]
    schema = document["components"]["schemas"]["ValidateRequest"]
    assert schema["required"] == ["key"]


@pytest.mark.dynamodb_local
def test_concurrent_activations_hold_the_site_limit(local_store: DynamoStore) -> None:
    store = local_store
    (license,) = issue_licenses(
        store, None, product=factories.product(), account=factories.account(), actor="t"
    )
    today = datetime.now(UTC).date()

    def attempt(n: int) -> str:
        try:
            return activate(
                store, key=license.key, site=f"site{n}.example.com", product=None, today=today
            ).code
        except Conflict:
            return "CONFLICT"

    with ThreadPoolExecutor(max_workers=10) as pool:
        codes = list(pool.map(attempt, range(20)))
    assert codes.count("VALID") == 3
    stored = store.require_license(license.id)
    assert stored.sites_used == 3 and len(stored.sites) == 3


# -- updates, downloads, offline files ------------------------------------------------------------


def publish(api: Api, version: str, *, requires_host: str | None = None, days_ago: int = 0) -> None:
    from licensing.adapters.s3 import S3Files
    from licensing.models import Release
    from licensing.services.releases import publish_release

    publish_release(
        api.store,
        S3Files(api.aws["names"].bucket),
        product="crm-exporter",
        version=version,
        filename=f"crm-exporter-{version}.zip",
        data=f"zip of {version}".encode(),
        notes_markdown=f"Notes of {version}",
        requires_host=requires_host,
    )
    if days_ago:
        release = api.store.get_release("crm-exporter", version)
        assert release is not None
        moved = Release.model_validate(
            release.model_dump() | {"published_at": datetime.now(UTC) - timedelta(days=days_ago)}
        )
        api.store.dynamodb.delete_item(
            TableName=api.store.table_name,
            Key={"pk": {"S": "PRODUCT#crm-exporter"}, "sk": {"S": f"RELEASE#{_sort_key(version)}"}},
        )
        api.store.put_release(moved)


def _sort_key(version: str) -> str:
    from licensing.versions import version_sort_key

    return version_sort_key(version)


def updates(api: Api, **body: Any) -> requests.Response:
    return requests.post(f"{api.url}/v1/updates", json=body, timeout=20)


def test_an_update_is_offered_with_a_link_that_downloads_the_file(api: Api) -> None:
    license = api.issue()
    publish(api, "1.0.0")
    publish(api, "1.1.0")
    answer = updates(api, key=license.key, product="crm-exporter", current_version="1.0.0", nonce="x")
    assert answer.status_code == 200
    verify(answer, api)
    body = answer.json()
    assert (body["code"], body["update_available"]) == ("VALID", True)
    latest = body["latest"]
    assert latest["version"] == "1.1.0" and latest["notes_markdown"] == "Notes of 1.1.0"
    assert latest["size"] == len(b"zip of 1.1.0")
    expires = datetime.fromisoformat(latest["download_expires_at"].replace("Z", "+00:00"))
    assert timedelta(hours=23) < expires - datetime.now(UTC) <= timedelta(hours=24)
    first = requests.get(latest["download_url"], allow_redirects=False, timeout=10)
    assert first.status_code == 303
    location = first.headers["Location"]
    assert "X-Amz-Expires=300" in location and "crm-exporter-1.1.0.zip" in location
    assert requests.get(location, timeout=10).content == b"zip of 1.1.0"
    second = requests.get(latest["download_url"], allow_redirects=False, timeout=10)
    assert second.status_code == 303  # the link is stable for a day; each use presigns anew
    assert "downloaded" in [entry.action for entry in api.store.license_history(license.id)]


def test_no_update_when_current_and_the_host_version_picks_the_release(api: Api) -> None:
    license = api.issue()
    publish(api, "1.0.0", requires_host=">=7.0,<9")
    publish(api, "2.0.0", requires_host=">=9.0")
    current = updates(api, key=license.key, product="crm-exporter", current_version="2.0.0").json()
    assert current["update_available"] is False and current["latest"]["version"] == "2.0.0"
    old_host = updates(
        api, key=license.key, product="crm-exporter", current_version="0.9.0", host_version="8.2"
    ).json()
    assert old_host["latest"]["version"] == "1.0.0" and old_host["update_available"] is True


def test_an_expired_license_keeps_what_it_paid_for(api: Api) -> None:
    ended = datetime.now(UTC).date() - timedelta(days=30)
    license = api.issue(ends_on=ended)
    publish(api, "1.0.0", days_ago=60)
    old = updates(api, key=license.key, product="crm-exporter").json()
    assert old["code"] == "EXPIRED" and old["latest"]["download_url"]
    assert old["renewal_brings"] is None
    publish(api, "1.1.0")
    new = updates(api, key=license.key, product="crm-exporter", current_version="0.9.0").json()
    # Offered the newest release it may still download, told that renewing brings the newer one.
    assert new["code"] == "EXPIRED" and new["latest"]["version"] == "1.0.0"
    assert new["latest"]["download_url"] and new["update_available"] is True
    assert new["renewal_brings"] == "1.1.0" and "1.1.0" in new["detail"] and "renew" in new["detail"]
    assert requests.get(new["latest"]["download_url"], allow_redirects=False, timeout=10).status_code == 303


def test_no_download_for_a_suspended_license_or_another_product(api: Api) -> None:
    suspended = api.issue(status=LicenseStatus.SUSPENDED)
    publish(api, "1.0.0")
    body = updates(api, key=suspended.key, product="crm-exporter").json()
    assert body["code"] == "SUSPENDED" and body["latest"]["download_url"] is None
    other = updates(api, key=api.issue().key, product="acme-sales-automation").json()
    assert (other["code"], other["update_available"], other["latest"]) == ("PRODUCT_MISMATCH", False, None)


def test_a_forged_or_expired_download_link_is_refused(api: Api) -> None:
    from licensing.services.updates import download_token
    from licensing.tokens import TokenKey

    license = api.issue()
    publish(api, "1.0.0")
    url = updates(api, key=license.key, product="crm-exporter").json()["latest"]["download_url"]
    token = url.split("token=")[1]
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    assert (
        requests.get(f"{api.url}/v1/download?token={tampered}", allow_redirects=False, timeout=10).status_code
        == 400
    )
    release = api.store.get_release("crm-exporter", "1.0.0")
    assert release is not None
    token_key = TokenKey.from_hex(os.environ["TOKEN_KEY"])
    old = download_token(
        token_key, license_id=license.id, release=release, expires=datetime.now(UTC) - timedelta(seconds=1)
    )
    answer = requests.get(f"{api.url}/v1/download?token={old}", allow_redirects=False, timeout=10)
    assert answer.status_code == 410 and answer.json()["error"]["code"] == "LINK_EXPIRED"
    # A live link made with the signing key's seed (the key of tokens before) is refused.
    later = datetime.now(UTC) + timedelta(hours=1)
    with_signing_key = download_token(
        TokenKey.from_hex(os.environ["SIGNING_KEY"]), license_id=license.id, release=release, expires=later
    )
    fresh = download_token(token_key, license_id=license.id, release=release, expires=later)
    for token, status in ((with_signing_key, 400), (fresh, 303)):
        answer = requests.get(f"{api.url}/v1/download?token={token}", allow_redirects=False, timeout=10)
        assert answer.status_code == status


def test_an_offline_license_file_is_signed_and_ends_with_the_license(api: Api) -> None:
    ends = datetime.now(UTC).date() + timedelta(days=10)
    license = api.issue(ends_on=ends)
    answer = requests.post(f"{api.url}/v1/licenses/file", json={"key": license.key}, timeout=10)
    assert answer.status_code == 200
    document = answer.json()
    keys = requests.get(f"{api.url}/v1/keys", timeout=10).json()["keys"]
    (key,) = [k for k in keys if k["kid"] == document["kid"]]
    payload = base64.b64decode(document["payload"])
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(key["public_key"]))
    # Signed with the offline file's own context, never over the bare payload (as answers are).
    public.verify(base64.b64decode(document["signature"]), b"licensing-offline-file:v1\n" + payload)
    with pytest.raises(InvalidSignature):
        public.verify(base64.b64decode(document["signature"]), payload)
    content = json.loads(payload)
    assert content["license"]["id"] == license.id and content["valid_until"] == ends.isoformat()
    revoked = api.issue(status=LicenseStatus.REVOKED)
    refused = requests.post(f"{api.url}/v1/licenses/file", json={"key": revoked.key}, timeout=10)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "REVOKED"


def test_updates_for_a_site_that_is_not_activated_offer_no_download(api: Api) -> None:
    license = api.issue()
    publish(api, "1.0.0")
    body = updates(
        api, key=license.key, product="crm-exporter", site="stranger.example.com", nonce="n-7"
    ).json()
    assert body["code"] == "SITE_NOT_ACTIVATED" and body["latest"]["download_url"] is None
    assert body["nonce"] == "n-7" and body["timestamp"].endswith("Z")
    dev = updates(api, key=license.key, product="crm-exporter", site="localhost").json()
    assert dev["code"] == "VALID" and dev["latest"]["download_url"]


def test_a_download_link_dies_with_the_license(api: Api) -> None:
    license = api.issue()
    publish(api, "1.0.0")
    url = updates(api, key=license.key, product="crm-exporter").json()["latest"]["download_url"]
    revoked = api.store.require_license(license.id)
    api.store.save_license(revoked.model_copy(update={"status": LicenseStatus.REVOKED}))
    assert requests.get(url, allow_redirects=False, timeout=10).status_code == 403


def test_development_hosts_are_free_but_not_endless(api: Api) -> None:
    license = api.issue()
    codes = [
        api.post("activate", {"key": license.key, "site": f"dev{n}.test"}).status_code for n in range(51)
    ]
    assert codes == [200] * 50 + [409]


def test_a_retried_activation_of_the_last_slot_announces_it_again_with_the_same_key(api: Api) -> None:
    license = api.issue(max_sites=1)
    api.post("activate", {"key": license.key, "site": "only.example.com"})
    api.post("activate", {"key": license.key, "site": "only.example.com"})  # the client retried
    events = api.queued()
    assert len(events) == 2 and len({e["detail"]["dedupe_key"] for e in events}) == 1


def test_a_release_file_downloads_under_its_name_whatever_the_name_holds(api: Api) -> None:
    from licensing.adapters.s3 import S3Files
    from licensing.services.releases import publish_release

    license = api.issue()
    files = S3Files(api.aws["names"].bucket)

    def publish_as(filename: str) -> None:
        publish_release(
            api.store, files, product="crm-exporter", version="2.0.0", filename=filename, data=b"zip of 2.0.0"
        )

    with pytest.raises(InvalidInput, match="control character"):
        publish_as("crm-exporter\r\n2.0.zip")
    assert api.store.get_release("crm-exporter", "2.0.0") is None
    publish_as('CRM "Exporter"; Größe 2.0.zip')
    latest = updates(api, key=license.key, product="crm-exporter", current_version="1.0.0").json()["latest"]
    location = requests.get(latest["download_url"], allow_redirects=False, timeout=10).headers["Location"]
    download = requests.get(location, timeout=10)
    assert download.content == b"zip of 2.0.0"
    # One header, one attachment: the quoted fallback cannot end early or start a second header.
    assert download.headers["Content-Disposition"] == (
        'attachment; filename="CRM _Exporter__ Gr__e 2.0.zip"; '
        "filename*=UTF-8''CRM%20%22Exporter%22%3B%20Gr%C3%B6%C3%9Fe%202.0.zip"
    )
