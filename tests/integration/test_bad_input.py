"""Bodies no client of the contract sends, on every /v1 POST through the local gateway and the real
handler: each a 4xx in the error shape (signed, as every /v1/licenses/* answer), nothing written."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
import requests

from licensing.adapters.dynamo import DynamoStore
from licensing.services.issuing import issue_licenses
from tests import factories

POSTS = (
    "/v1/licenses/validate",
    "/v1/licenses/activate",
    "/v1/licenses/deactivate",
    "/v1/licenses/file",
    "/v1/updates",
)
JSON = {"Content-Type": "application/json"}


def table_items(aws: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = boto3.client("dynamodb").scan(TableName=aws["names"].table)["Items"]
    return items


@pytest.fixture
def key(aws: dict[str, Any]) -> str:
    store = DynamoStore(aws["names"].table)
    product = factories.product()
    store.put_product(product)
    (license,) = issue_licenses(store, None, product=product, account=factories.account(), actor="t")
    return license.display_key


def refused(answer: requests.Response, status: int, code: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code and answer.json()["error"]["message"]
    assert answer.headers["X-Request-Id"] and answer.headers["X-Signature"]


@pytest.mark.parametrize("path", POSTS)
def test_unreadable_bodies_are_refused_and_change_nothing(
    path: str, key: str, aws: dict[str, Any], served_gateway_url: str
) -> None:
    before = table_items(aws)
    good = f'{{"key": "{key}", "site": "shop.example.com", "product": "crm-exporter"}}'
    cases: list[tuple[bytes, dict[str, str], int, str]] = [
        (
            b'{"key": "\xff\xfe", "site": "shop.example.com", "product": "crm-exporter"}',
            JSON,
            400,
            "INVALID_REQUEST",
        ),
        (b"[" * 5000 + b"]" * 5000, JSON, 400, "INVALID_REQUEST"),
        (b'{"key": ' * 5000 + b"1" + b"}" * 5000, JSON, 400, "INVALID_REQUEST"),
        (good.encode(), {"Content-Type": "text/plain"}, 415, "UNSUPPORTED_MEDIA_TYPE"),
        (good.encode(), {"Content-Type": "application/x-www-form-urlencoded"}, 415, "UNSUPPORTED_MEDIA_TYPE"),
        (b"[]", JSON, 400, "INVALID_REQUEST"),
        (b'"x"', JSON, 400, "INVALID_REQUEST"),
        (b"null", JSON, 400, "INVALID_REQUEST"),
        (b'{"key": ', JSON, 400, "INVALID_REQUEST"),
    ]
    for body, headers, status, code in cases:
        refused(
            requests.post(f"{served_gateway_url}{path}", data=body, headers=headers, timeout=20), status, code
        )
    assert table_items(aws) == before


def test_a_json_body_with_a_charset_is_read(key: str, served_gateway_url: str) -> None:
    answer = requests.post(
        f"{served_gateway_url}/v1/licenses/validate",
        data=f'{{"key": "{key}", "product": "crm-exporter"}}'.encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
        timeout=20,
    )
    assert answer.status_code == 200 and answer.json()["code"] == "VALID"
