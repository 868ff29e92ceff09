"""`/v1/openapi.json` tells the truth (API.md section 2): a schema-driven fuzzer (schemathesis) finds
no 5xx, no undocumented status, header, media type or body shape on any route; and every documented
status is one the API really gives, shown by a request that gets it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from licensing import wiring
from licensing.adapters.dynamo import DynamoStore
from licensing.adapters.s3 import S3Files
from licensing.models import LicenseStatus, Release
from licensing.request_patterns import SITE_FORMAT
from licensing.services.issuing import issue_licenses
from licensing.services.releases import publish_release
from licensing.services.updates import download_token
from tests import factories
from tests.site_pattern import SITE_PATTERN

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

SIGNED_INPUT = {"/v1/download"}

# The document's `site` format: what the normaliser takes, which no pattern can state. The fuzzer
# draws sites from a pattern proven to stay inside it (tests/unit/test_site_pattern.py), and from
# real sites the pattern leaves out: punycode, marks, long labels.
schemathesis.openapi.format(
    SITE_FORMAT,
    st.from_regex(SITE_PATTERN, fullmatch=True)
    | st.sampled_from(
        [
            "https://xn--mller-kva.de/crm",
            "xn--80ak6aa92e.com",
            "https://मराठी.भारत/espo",
            "ไทย.example.com",
            f"https://{'a' * 63}.example.com:8443/",
        ]
    ),
)


@schemathesis.check
def schema_valid_input_is_never_refused(ctx: Any, response: Any, case: Any) -> None:
    """A request the document calls valid may get a documented answer (NOT_FOUND, 403, 409...), never 400.
    The download token is the exception: its signature, not its shape, makes it valid."""
    if case.operation.path in SIGNED_INPUT:
        return
    if case.meta is not None and case.meta.generation.mode.is_positive and response.status_code == 400:
        raise AssertionError(f"a schema-valid request was refused: {response.text}")


# Statuses only a fault or a lost race gives (no request can ask for them): documented, not shown.
UNPROVOKABLE = {500, 503}
RACES = {("post", "/v1/licenses/deactivate", 409)}


@pytest.fixture
def api(aws: dict[str, Any], gateway_url: str) -> tuple[str, DynamoStore, dict[str, Any]]:
    return gateway_url, DynamoStore(aws["names"].table), aws


def _document(url: str) -> dict[str, Any]:
    answer = requests.get(f"{url}/v1/openapi.json", timeout=20)
    assert answer.status_code == 200
    document: dict[str, Any] = answer.json()
    return document


@pytest.mark.timeout(600)
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_a_schema_driven_fuzzer_finds_no_5xx_and_nothing_undocumented(
    api: tuple[str, DynamoStore, dict[str, Any]], mode: GenerationMode
) -> None:
    url, store, _ = api
    product = factories.product()
    store.put_product(product)
    issue_licenses(store, None, product=product, account=factories.account(), actor="t")
    schema = schemathesis.openapi.from_dict(_document(url))
    negative = mode is GenerationMode.NEGATIVE
    checks = CHECKS + ([negative_data_rejection] if negative else [schema_valid_input_is_never_refused])
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) == 10
    for operation in operations:
        raw = operation.definition.raw
        if negative and not (raw.get("parameters") or raw.get("requestBody")):
            continue  # nothing to send wrong

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=40,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
        )
        def fuzz(case: Any) -> None:
            case.call_and_validate(base_url=url, checks=checks)

        fuzz()


def test_every_documented_status_is_one_the_api_gives(api: tuple[str, DynamoStore, dict[str, Any]]) -> None:
    url, store, aws = api
    document = _document(url)
    documented = {
        (method, path, int(status))
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        for status in operation["responses"]
    }
    assert not any(status == 422 for *_, status in documented)

    product = factories.product(max_sites=1)
    store.put_product(product)
    account = factories.account()

    def issue(**changes: Any) -> Any:
        (license,) = issue_licenses(store, None, product=product, account=account, actor="t")
        return store.save_license(license.model_copy(update=changes)) if changes else license

    license, suspended = issue(), issue(status=LicenseStatus.SUSPENDED)
    roomy = issue(max_sites=20)
    publish_release(
        store,
        S3Files(aws["names"].bucket),
        product="crm-exporter",
        version="1.0.0",
        filename="crm-exporter-1.0.0.zip",
        data=b"zip",
        notes_markdown="First.",
    )
    release = store.get_release("crm-exporter", "1.0.0")
    assert release is not None
    signer = wiring.signer()

    def post(path: str, body: Any, **options: Any) -> requests.Response:
        return requests.post(f"{url}{path}", json=body, timeout=20, **options)

    def plain(path: str) -> requests.Response:
        return requests.post(f"{url}{path}", data="key=x", headers={"content-type": "text/plain"}, timeout=20)

    def link(license_id: str, version: str = "1.0.0", hours: int = 1) -> requests.Response:
        gone = Release.model_validate(release.model_dump() | {"version": version})
        expires = datetime.now(UTC) + timedelta(hours=hours)
        token = download_token(wiring.token_key(), license_id=license_id, release=gone, expires=expires)
        return requests.get(f"{url}/v1/download", params={"token": token}, allow_redirects=False, timeout=20)

    def activate_twice(site: str) -> requests.Response:
        post("/v1/licenses/activate", {"key": license.key, "site": "one.globex.de"})
        return post("/v1/licenses/activate", {"key": license.key, "site": site})

    def eleventh_site() -> requests.Response:
        for n in range(10):
            assert (
                post("/v1/licenses/activate", {"key": roomy.key, "site": f"s{n}.globex.de"}).status_code
                == 200
            )
        return post("/v1/licenses/activate", {"key": roomy.key, "site": "s10.globex.de"})

    key = {"key": license.key}
    unknown = {"key": "ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ", "site": "x.globex.de"}
    shown: dict[tuple[str, str, int], Callable[[], requests.Response]] = {
        ("get", "/v1/health", 200): lambda: requests.get(f"{url}/v1/health", timeout=20),
        ("get", "/v1/keys", 200): lambda: requests.get(f"{url}/v1/keys", timeout=20),
        ("get", "/v1/openapi.json", 200): lambda: requests.get(f"{url}/v1/openapi.json", timeout=20),
        ("post", "/v1/licenses/validate", 200): lambda: post("/v1/licenses/validate", key),
        ("post", "/v1/licenses/validate", 400): lambda: post("/v1/licenses/validate", {"key": ""}),
        ("post", "/v1/licenses/validate", 415): lambda: plain("/v1/licenses/validate"),
        ("post", "/v1/licenses/activate", 200): lambda: post(
            "/v1/licenses/activate", key | {"site": "a.test"}
        ),
        ("post", "/v1/licenses/activate", 400): lambda: post("/v1/licenses/activate", key),
        ("post", "/v1/licenses/activate", 403): lambda: post(
            "/v1/licenses/activate", {"key": suspended.key, "site": "b.globex.de"}
        ),
        ("post", "/v1/licenses/activate", 404): lambda: post("/v1/licenses/activate", unknown),
        ("post", "/v1/licenses/activate", 409): lambda: activate_twice("two.globex.de"),
        ("post", "/v1/licenses/activate", 415): lambda: plain("/v1/licenses/activate"),
        ("post", "/v1/licenses/activate", 429): eleventh_site,
        ("post", "/v1/licenses/deactivate", 200): lambda: post(
            "/v1/licenses/deactivate", key | {"site": "one.globex.de"}
        ),
        ("post", "/v1/licenses/deactivate", 400): lambda: post("/v1/licenses/deactivate", key),
        ("post", "/v1/licenses/deactivate", 404): lambda: post("/v1/licenses/deactivate", unknown),
        ("post", "/v1/licenses/deactivate", 415): lambda: plain("/v1/licenses/deactivate"),
        ("post", "/v1/updates", 200): lambda: post("/v1/updates", key | {"product": "crm-exporter"}),
        ("post", "/v1/updates", 400): lambda: post("/v1/updates", key),
        ("post", "/v1/updates", 415): lambda: plain("/v1/updates"),
        ("get", "/v1/download", 303): lambda: link(license.id),
        ("get", "/v1/download", 400): lambda: requests.get(f"{url}/v1/download?token=forged", timeout=20),
        ("get", "/v1/download", 403): lambda: link(suspended.id),
        ("get", "/v1/download", 404): lambda: link(license.id, version="9.9.9"),
        ("get", "/v1/download", 410): lambda: link(license.id, hours=-1),
        ("post", "/v1/licenses/file", 200): lambda: post("/v1/licenses/file", key),
        ("post", "/v1/licenses/file", 400): lambda: post("/v1/licenses/file", {"key": 5}),
        ("post", "/v1/licenses/file", 403): lambda: post("/v1/licenses/file", {"key": suspended.key}),
        ("post", "/v1/licenses/file", 404): lambda: post("/v1/licenses/file", unknown),
        ("post", "/v1/licenses/file", 415): lambda: plain("/v1/licenses/file"),
        ("get", "/espocrm/release/latest", 200): lambda: requests.get(
            f"{url}/espocrm/release/latest/?name=crm-exporter", timeout=20
        ),
        ("get", "/espocrm/release/latest", 400): lambda: requests.get(
            f"{url}/espocrm/release/latest?name={'x' * 201}", timeout=20
        ),
        ("get", "/espocrm/release/latest", 404): lambda: requests.get(
            f"{url}/espocrm/release/latest?name=nobody", timeout=20
        ),
    }
    expected = {entry for entry in documented if entry[2] not in UNPROVOKABLE} - RACES
    assert set(shown) == expected
    for (method, path, status), request in shown.items():
        answer = request()
        assert answer.status_code == status, (method, path, answer.status_code, answer.text)
        if status == 303:
            assert answer.headers["Location"].startswith("http")
        elif path.startswith(("/v1/licenses/", "/v1/updates")):
            assert answer.headers["X-Signature"] and answer.headers["X-Signature-Key-Id"] == signer.kid
