"""GET /espocrm/release/latest/?name=...: EspoCRM's own daily update check (API.md section 2),
through the local gateway and the real handler, on the emulator."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from licensing.adapters.aws import client
from licensing.adapters.dynamo import DynamoStore
from licensing.models import Release
from tests import factories


def publish(store: DynamoStore, slug: str, version: str, notes: str) -> None:
    store.put_release(
        Release(
            product=slug,
            version=version,
            notes_markdown=notes,
            file_key=f"{slug}/{version}.zip",
            filename=f"{slug}-{version}.zip",
            sha256="0" * 64,
            size=1,
        )
    )


@pytest.fixture
def store(aws: dict[str, Any]) -> DynamoStore:
    store = DynamoStore(aws["names"].table)
    store.put_product(factories.product(slug="crm-exporter", name="CRM Exporter"))
    publish(store, "crm-exporter", "1.9.0", "Old.")
    publish(
        store, "crm-exporter", "1.10.0", "### New\n\n- Filters & *presets*\n- EspoCRM 9\n\nSee <the docs>."
    )
    store.put_product(factories.product(slug="mailer", name="Newsletter Sender"))
    publish(store, "mailer", "2.0.0", "Two.")
    store.put_product(
        factories.product(slug="acme-addon", name="Acme Addon", kind="custom", owner_account_id="acc_acme")
    )
    publish(store, "acme-addon", "3.0.0", "Custom.")
    store.put_product(factories.product(slug="unreleased", name="Unreleased"))
    return store


def latest(url: str, path: str = "/espocrm/release/latest/", **params: str) -> requests.Response:
    return requests.get(f"{url}{path}", params=params, timeout=10)


def test_the_newest_release_by_name_or_slug_with_or_without_the_slash(
    store: DynamoStore, gateway_url: str
) -> None:
    for path in ("/espocrm/release/latest/", "/espocrm/release/latest"):
        for name in ("CRM Exporter", "crm exporter", "crm-exporter", "CRM-EXPORTER"):
            answer = latest(gateway_url, path, name=name)
            assert answer.status_code == 200, (path, name, answer.text)
            assert answer.json() == {
                "version": "1.10.0",  # newest by version order, not by text
                "notes": "New\n\n- Filters & presets\n- EspoCRM 9\n\nSee <the docs>.",
            }
            assert answer.headers["Cache-Control"] == "public, max-age=3600"
            assert answer.headers["Content-Type"].startswith("application/json")
    # A product whose name does not read as its slug is found by its name too.
    assert latest(gateway_url, name="newsletter sender").json()["version"] == "2.0.0"


def test_custom_unknown_and_unreleased_products_answer_404(store: DynamoStore, gateway_url: str) -> None:
    for name in ("Acme Addon", "acme-addon", "No Such Extension", "", "unreleased"):
        answer = latest(gateway_url, name=name)
        assert answer.status_code == 404, name
        assert answer.json()["error"]["code"] == "NOT_FOUND"
        assert "Cache-Control" not in answer.headers or "public" not in answer.headers["Cache-Control"]
    assert latest(gateway_url).status_code == 404
    assert latest(gateway_url, name="x" * 500).status_code == 400
    assert requests.get(f"{gateway_url}/espocrm/other", timeout=10).status_code == 404


def test_one_query_answers_the_usual_check(store: DynamoStore, gateway_url: str) -> None:
    assert latest(gateway_url, name="CRM Exporter").status_code == 200  # warm: clients built
    calls: list[str] = []
    client("dynamodb").meta.events.register(
        "before-call.dynamodb.*", lambda model, **_: calls.append(model.name)
    )
    assert latest(gateway_url, name="CRM Exporter").status_code == 200
    assert calls == ["Query"]
