"""The custom resource that seeds the keys, run against moto's Secrets Manager and a local HTTP
server standing in for CloudFormation's presigned response URL."""

from __future__ import annotations

import importlib.util
import json
import string
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import ModuleType
from typing import Any

import boto3
import pytest

from infra.secrets import SEEDER_SOURCE


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("secret_seeder_handler", SEEDER_SOURCE / "handler.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


seeder = _load()


@pytest.fixture
def client(aws: dict[str, Any]) -> Any:
    # The session's emulator (an in-process mock_aws would reset every backend it shares on exit).
    return boto3.client("secretsmanager", region_name="us-east-1")


@pytest.fixture
def cloudformation() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A URL that records each response body PUT to it, as CloudFormation's presigned URL would."""
    answers: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            answers.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/response", answers
    server.shutdown()


def _event(
    kind: str, secret_id: str, url: str, request_id: str = "6b8a1d2e-0000-4000-8000-000000000001"
) -> dict:
    return {
        "RequestType": kind,
        "ResponseURL": url,
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/prod-licensing/1",
        "RequestId": request_id,
        "LogicalResourceId": "SecretsSigningKeySecretSeed",
        "ResourceType": "Custom::SecretSeed",
        "ResourceProperties": {"SecretId": secret_id},
    }


def _value(client: Any, secret_id: str) -> str:
    return str(client.get_secret_value(SecretId=secret_id)["SecretString"])


def test_an_empty_secret_gets_a_256_bit_hex_value_and_cloudformation_hears_success(
    client: Any, cloudformation: tuple[str, list[dict[str, Any]]]
) -> None:
    url, answers = cloudformation
    arn = client.create_secret(Name="prod-licensing/signing-key")["ARN"]

    seeder.lambda_handler(_event("Create", arn, url), None, client=client)

    value = _value(client, arn)
    assert len(value) == 64 and set(value) <= set(string.hexdigits.lower())
    (answer,) = answers
    assert answer["Status"] == "SUCCESS"
    assert answer["PhysicalResourceId"] == arn
    assert answer["NoEcho"] is True
    assert value not in json.dumps(answer)


def test_a_secret_with_a_value_keeps_it_on_create_and_update(
    client: Any, cloudformation: tuple[str, list[dict[str, Any]]]
) -> None:
    url, answers = cloudformation
    arn = client.create_secret(Name="prod-licensing/token-key", SecretString="a" * 64)["ARN"]

    seeder.lambda_handler(_event("Create", arn, url), None, client=client)
    seeder.lambda_handler(
        _event("Update", arn, url, request_id="6b8a1d2e-0000-4000-8000-000000000002"), None, client=client
    )

    assert _value(client, arn) == "a" * 64
    assert [answer["Status"] for answer in answers] == ["SUCCESS", "SUCCESS"]


def test_a_seeded_secret_is_not_reseeded_by_a_later_update(
    client: Any, cloudformation: tuple[str, list[dict[str, Any]]]
) -> None:
    url, _ = cloudformation
    arn = client.create_secret(Name="prod-licensing/signing-key")["ARN"]
    seeder.lambda_handler(_event("Create", arn, url), None, client=client)
    first = _value(client, arn)

    seeder.lambda_handler(
        _event("Update", arn, url, request_id="6b8a1d2e-0000-4000-8000-000000000003"), None, client=client
    )

    assert _value(client, arn) == first


def test_delete_leaves_the_secret_and_its_value(
    client: Any, cloudformation: tuple[str, list[dict[str, Any]]]
) -> None:
    url, answers = cloudformation
    arn = client.create_secret(Name="prod-licensing/signing-key", SecretString="b" * 64)["ARN"]

    seeder.lambda_handler({**_event("Delete", arn, url), "PhysicalResourceId": arn}, None, client=client)

    assert _value(client, arn) == "b" * 64
    assert answers[0]["Status"] == "SUCCESS"


def test_a_failure_is_reported_to_cloudformation_rather_than_left_to_time_out(
    client: Any, cloudformation: tuple[str, list[dict[str, Any]]]
) -> None:
    url, answers = cloudformation

    seeder.lambda_handler(_event("Create", "prod-licensing/no-such-secret", url), None, client=client)

    (answer,) = answers
    assert answer["Status"] == "FAILED"
    assert "ResourceNotFoundException" in answer["Reason"]
