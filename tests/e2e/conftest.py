"""The local system as `make run` starts it: `licensing dev` in a subprocess, on free ports."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import ROOT, _free_port


@dataclass(frozen=True)
class LocalSystem:
    url: str
    aws_port: int
    log: Path


def mails_to(system: LocalSystem, address: str, *, wait_seconds: float = 30) -> list[dict[str, Any]]:
    """The dev mailbox's messages to `address`, waiting for the first (the notifier is async)."""
    deadline = time.monotonic() + wait_seconds
    while True:
        found = [
            m for m in requests.get(f"{system.url}/_dev/mail.json", timeout=5).json() if m["to"] == [address]
        ]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.3)


def start_local_system(log: Path) -> tuple[subprocess.Popen[bytes], LocalSystem]:
    """`licensing dev` in a subprocess on free ports, as `make run` starts it, its output in `log`."""
    port, aws_port = _free_port(), _free_port()
    environment = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"}
    licensing = Path(sys.executable).with_name("licensing")
    with log.open("w") as output:
        process = subprocess.Popen(
            [str(licensing), "dev", "--port", str(port), "--aws-port", str(aws_port)],
            cwd=ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    return process, LocalSystem(url=f"http://127.0.0.1:{port}", aws_port=aws_port, log=log)


@contextmanager
def running_local_system(log: Path) -> Iterator[LocalSystem]:
    """The local system, ready (health answers), for the block; stopped cleanly after it."""
    process, system = start_local_system(log)
    url = system.url
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"licensing dev exited early:\n{log.read_text()}")
        try:
            if "Press Ctrl-C" in log.read_text() and requests.get(f"{url}/v1/health", timeout=2).ok:
                break
        except requests.ConnectionError:
            pass
        time.sleep(0.3)
    else:
        process.kill()
        pytest.fail(f"licensing dev did not start in 60 s:\n{log.read_text()}")
    yield system
    process.send_signal(signal.SIGINT)  # Ctrl-C, as a developer stops it
    try:
        code = process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    # A clean shutdown: exit 0, said so, and no traceback.
    printed = log.read_text()
    assert code == 0 and "Stopped." in printed and "Traceback" not in printed, printed


@pytest.fixture(scope="session")
def local_system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSystem]:
    """The local system the e2e tests share (each adds its own accounts and licenses)."""
    with running_local_system(tmp_path_factory.mktemp("devserver") / "devserver.log") as system:
        yield system


@pytest.fixture(scope="module")
def own_local_system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSystem]:
    """A local system of the module's own, for tests that change what the other tests read: the demo
    catalogue (products, releases) or the licenses' days (an expiry job run for a later day)."""
    with running_local_system(tmp_path_factory.mktemp("own-devserver") / "devserver.log") as system:
        yield system
