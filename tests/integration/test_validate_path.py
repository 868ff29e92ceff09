"""A validation, the call every installed extension makes, is answered by the license API's handler
without Powertools' resolver (issue 6's cold start): the same bytes, signature and status as the
resolver's route, and a cold process that only validates never imports the resolver."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from licensing import catalogue, wiring
from licensing.adapters.dynamo import DynamoStore
from licensing.devserver.functions import LambdaContext, load_handler, module_name
from licensing.devserver.gateway import json_request_event
from licensing.license_api import answers
from licensing.services.issuing import issue_licenses
from tests import factories

ROOT = Path(__file__).resolve().parents[2]
FUNCTION = catalogue.function("license_api")
MOMENT = datetime.now(UTC).replace(microsecond=0)


def event(
    path: str, body: dict[str, Any] | str, method: str = "POST", request_id: str = "req-validate-path"
) -> dict[str, Any]:
    """A request as API Gateway's HTTP API delivers it (payload format 2.0)."""
    return json_request_event(
        path,
        body,
        route_key="ANY /v1/{proxy+}",
        path_parameters={"proxy": path.removeprefix("/v1/")},
        method=method,
        request_id=request_id,
        host="api.test",
    )


@pytest.fixture
def handler(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    load_handler(FUNCTION, ROOT)
    # One moment for both answers, so that their timestamps (and so their bytes) can be compared.
    monkeypatch.setattr(answers, "utc_now", lambda: MOMENT)
    return sys.modules[module_name(FUNCTION)]


def both(handler: ModuleType, request: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The handler's answer to a validation, and the resolver's route's answer to the same one."""
    hot = handler.lambda_handler(event("/v1/licenses/validate", request), LambdaContext(FUNCTION))
    routed = handler.routes().resolve(event("/v1/licenses/validate", request), LambdaContext(FUNCTION))
    return hot, handler.sign(routed, "/v1/licenses/validate")


def issued(**changes: Any) -> Any:
    store = wiring.store()
    product = factories.product()
    store.put_product(product)
    (license,) = issue_licenses(
        store, None, product=product, account=factories.account(), actor="t", **changes
    )
    return license


REQUESTS: list[tuple[str, str, Callable[[Any], dict[str, Any]]]] = [
    (
        "valid, with the versions the site's usage records",
        "VALID",
        lambda license: {
            "key": license.display_key,
            "product": "crm-exporter",
            "site": "localhost",
            "version": "1.2.0",
            "host_version": "8.4.1",
            "nonce": "n-1",
        },
    ),
    ("an unknown key", "NOT_FOUND", lambda license: {"key": "LIC-NOPE-NOPE-NOPE", "product": "crm-exporter"}),
    (
        "another product",
        "PRODUCT_MISMATCH",
        lambda license: {"key": license.display_key, "product": "other-thing"},
    ),
    (
        "a site never activated",
        "SITE_NOT_ACTIVATED",
        lambda license: {"key": license.display_key, "site": "shop.example.com"},
    ),
    ("no nonce, a lowercase key", "VALID", lambda license: {"key": license.display_key.lower()}),
]


@pytest.mark.parametrize(("_", "code", "request_of"), REQUESTS, ids=[name for name, *_ in REQUESTS])
def test_a_validation_answers_what_the_resolvers_route_answers(
    handler: ModuleType, _: str, code: str, request_of: Callable[[Any], dict[str, Any]]
) -> None:
    request = request_of(issued())

    hot, routed = both(handler, request)

    assert hot == routed
    assert hot["statusCode"] == 200
    body = json.loads(hot["body"])
    assert (body["code"], body["timestamp"]) == (code, MOMENT.strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert hot["headers"]["X-Request-Id"] == "req-validate-path"
    assert hot["headers"]["X-Signature"]


def test_a_storage_failure_during_a_validation_is_the_same_signed_500_logged_with_its_request_id(
    handler: ModuleType, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # A table that is not there: the store's call fails below the domain, as an outage would.
    monkeypatch.setenv("LICENSING_TABLE", "licensing-missing")
    wiring.reset()

    failing = event("/v1/licenses/validate", {"key": "LIC-AAAA-BBBB-CCCC"}, request_id="req-outage")
    hot = handler.lambda_handler(failing, LambdaContext(FUNCTION))
    (logged,) = [record for record in caplog.records if record.getMessage() == "unexpected error"]
    # The keys Powertools' formatter adds to every line of the request, of both loggers.
    tagged = [each.get_current_keys().get("request_id") for each in (handler.logger, handler.package_logger)]
    hot["headers"]["X-Request-Id"] = "req-validate-path"  # the id is the one thing that differs
    _, routed = both(handler, {"key": "LIC-AAAA-BBBB-CCCC"})

    assert hot == routed
    assert hot["statusCode"] == 500
    assert json.loads(hot["body"])["error"]["code"] == "INTERNAL_ERROR"
    assert hot["headers"]["X-Signature"]
    assert tagged == ["req-outage", "req-outage"]
    assert "LIC-AAAA" not in str(logged.__dict__)  # no key in the log line


def test_a_body_the_model_refuses_is_the_resolvers_400(handler: ModuleType) -> None:
    answer = handler.lambda_handler(
        event("/v1/licenses/validate", {"key": "", "product": "crm-exporter"}), LambdaContext(FUNCTION)
    )

    assert answer["statusCode"] == 400
    error = json.loads(answer["body"])["error"]
    assert (error["code"], error["details"][0]["field"]) == ("INVALID_REQUEST", "key")
    assert answer["headers"]["X-Signature"]


COLD = """
import json, sys
from licensing import catalogue
from licensing.devserver.functions import LambdaContext, load_handler
from pathlib import Path

validation, health_check = json.loads(sys.argv[1])  # built by the test: the builder imports the gateway
handler = load_handler(catalogue.function("license_api"), Path.cwd())
context = LambdaContext(catalogue.function("license_api"))
answer = handler(validation, context)
resolver = "aws_lambda_powertools.event_handler" in sys.modules
health = handler(health_check, context)
print(json.dumps([answer["statusCode"], json.loads(answer["body"])["valid"], resolver,
                  health["statusCode"], "aws_lambda_powertools.event_handler" in sys.modules]))
"""


def test_a_cold_process_that_validates_never_imports_the_resolver(aws: dict[str, Any]) -> None:
    license = issued()
    assert DynamoStore(aws["names"].table).get_license(license.id) is not None

    events = [
        event("/v1/licenses/validate", {"key": license.display_key, "product": "crm-exporter"}),
        event("/v1/health", "", method="GET"),
    ]
    ran = subprocess.run(
        [sys.executable, "-c", COLD, json.dumps(events)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "layers/licensing/python"), str(ROOT)])},
        timeout=120,
        check=False,
    )

    assert ran.returncode == 0, ran.stderr[-3000:]
    status, valid, resolver_after_validation, health, resolver_after_health = json.loads(ran.stdout)
    assert (status, valid, resolver_after_validation) == (200, True, False)
    # Any other request is the resolver's, imported at the first one.
    assert (health, resolver_after_health) == (200, True)
