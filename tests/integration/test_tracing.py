"""Each AWS call of a sampled invocation reaches X-Ray as a subsegment of the function's segment
(licensing/tracing.py): a UDP socket on loopback stands in for the X-Ray daemon Lambda runs."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from licensing.adapters.aws import client, reset_clients
from licensing.adapters.dynamo import DynamoStore
from tests.integration.test_license_api import Api

TRACE = "1-67891233-abcdef012345678912345678"
PARENT = "53995c3f42cd8ad8"


@pytest.fixture
def api(aws: dict[str, Any], gateway_url: str) -> Api:
    return Api(url=gateway_url, store=DynamoStore(aws["names"].table), aws=aws)


@pytest.fixture
def daemon(monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    # Lambda's own form of the address: a UDP and a TCP address.
    monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", f"udp:127.0.0.1:{port} tcp:127.0.0.1:{port}")
    yield listener
    listener.close()


def received(daemon: socket.socket) -> list[dict[str, Any]]:
    documents: list[dict[str, Any]] = []
    while True:
        try:
            data = daemon.recv(65536)
        except TimeoutError:
            return documents
        header, _, body = data.partition(b"\n")
        assert json.loads(header) == {"format": "json", "version": 1}
        documents.append(json.loads(body))


def sampled(monkeypatch: pytest.MonkeyPatch, flag: str = "1") -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", f"Root={TRACE};Parent={PARENT};Sampled={flag}")


def test_a_sampled_validation_shows_its_read_as_a_subsegment(
    api: Api,
    daemon: socket.socket,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    license = api.issue()
    received(daemon)  # whatever setting the license up sent
    sampled(monkeypatch)
    answer = api.post("validate", {"key": license.key, "product": license.product, "site": "localhost"})
    assert answer.json()["valid"] is True
    (read,) = [d for d in received(daemon) if d["aws"]["operation"] == "GetItem"]
    assert read["name"] == "DynamoDB" and read["type"] == "subsegment" and read["namespace"] == "aws"
    assert read["trace_id"] == TRACE and read["parent_id"] == PARENT
    assert read["aws"]["table_name"] == api.aws["names"].table
    assert read["http"]["response"]["status"] == 200
    assert read["start_time"] <= read["end_time"]
    assert "error" not in read and "fault" not in read
    # Names only: neither the key nor the license's item.
    assert license.key not in json.dumps(read) and license.id not in json.dumps(read)


def test_an_unsampled_invocation_sends_nothing(
    api: Api,
    daemon: socket.socket,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    license = api.issue()
    received(daemon)
    sampled(monkeypatch, "0")
    api.post("validate", {"key": license.key, "product": license.product})
    monkeypatch.delenv("_X_AMZN_TRACE_ID")
    api.post("validate", {"key": license.key, "product": license.product})
    assert received(daemon) == []


def test_refused_and_failed_calls_are_marked(
    aws: dict[str, Any], daemon: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    sampled(monkeypatch)
    with pytest.raises(client("dynamodb").exceptions.ResourceNotFoundException):
        client("dynamodb").get_item(TableName="no-such-table", Key={"pk": {"S": "x"}, "sk": {"S": "y"}})
    (refused,) = received(daemon)
    assert refused["error"] is True and refused["http"]["response"]["status"] == 400
    # No answer at all (nothing listens there): a fault, with the exception's type only.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{closed}")
    monkeypatch.setenv("AWS_SDK_MAX_ATTEMPTS", "1")
    reset_clients()
    try:
        with pytest.raises(Exception, match="Could not connect"):
            client("dynamodb").get_item(TableName="t", Key={"pk": {"S": "x"}, "sk": {"S": "y"}})
    finally:
        monkeypatch.undo()
        reset_clients()
    (failed,) = received(daemon)
    assert failed["fault"] is True and failed["cause"]["exceptions"][0]["type"] == "EndpointConnectionError"


def test_a_daemon_that_cannot_be_reached_never_fails_the_call(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    sampled(monkeypatch)
    monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", "udp:256.0.0.1:2000")  # no such address: sendto fails
    assert aws["names"].table in client("dynamodb").list_tables()["TableNames"]
